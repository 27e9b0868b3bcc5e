//! Running pip for a `bin_env` the way Salt's `salt/modules/pip.py` does:
//! which program (`_get_pip_bin`), as which user, with which environment,
//! and what it reports (`pip list --format=json`, `pip freeze`, and
//! `pip install --dry-run --report -`, which is how a check learns what an
//! install would do without doing it).
use std::path::PathBuf;

use common::data::Value;

use super::super::{Args, Exec, HostRead, StateError};

/// A pip to run: its argv prefix and the environment Salt gives it.
#[derive(Debug, Clone)]
pub(crate) struct Pip {
    base: Vec<String>,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
}

/// Where a state's pip is, or why there is none (yet).
pub(crate) enum Located {
    Found(Pip),
    /// `bin_env` does not exist: an error when installing, a pending
    /// install in a dry run (an earlier `virtualenv.managed` may create it).
    Missing(String),
}

/// How pip is run, as a state's arguments say.
pub(crate) struct PipRun {
    pub bin_env: Option<String>,
    pub user: Option<String>,
    pub cwd: Option<String>,
    pub env_vars: Vec<(String, String)>,
}

impl PipRun {
    /// `bin_env` (or the given venv), `user`, `cwd` and, where the function
    /// takes it, `env_vars`.
    pub fn from_args(
        args: &Args,
        bin_env: Option<String>,
        with_env_vars: bool,
    ) -> Result<Self, StateError> {
        let env_vars = if with_env_vars {
            env_vars(args)?
        } else {
            Vec::new()
        };
        Ok(PipRun {
            bin_env,
            user: args.str("user")?,
            cwd: args.str("cwd")?,
            env_vars,
        })
    }

    /// Salt's `_get_pip_bin`: a directory is a virtualenv (its
    /// `bin/python -m pip`), a file is a python (`-m pip`) or a pip; no
    /// `bin_env` is the minion's `python3 -m pip`.
    pub fn locate(&self, host: &HostRead) -> Result<Located, StateError> {
        let mut env = self.env_vars.clone();
        let program = match &self.bin_env {
            None => vec!["python3".to_string(), "-m".into(), "pip".into()],
            Some(given) => {
                let path = host.path(given)?;
                if path.is_dir() {
                    let python = path.join("bin/python");
                    if !python.is_file() {
                        return Ok(Located::Missing(format!(
                            "Could not find a pip binary in virtualenv {given}"
                        )));
                    }
                    env.push(("VIRTUAL_ENV".into(), path.display().to_string()));
                    vec![python.display().to_string(), "-m".into(), "pip".into()]
                } else if path.is_file() {
                    let file = path.display().to_string();
                    let is_python = path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().contains("python"));
                    if is_python {
                        vec![file, "-m".into(), "pip".into()]
                    } else {
                        vec![file]
                    }
                } else {
                    return Ok(Located::Missing(format!(
                        "Could not find a pip binary in virtualenv {given}"
                    )));
                }
            }
        };
        let mut base = Vec::new();
        if let Some(user) = &self.user {
            // argv all the way, as cmd's runas: the name is never parsed by a shell.
            base.extend(["runuser".into(), "-u".into(), user.clone(), "--".into()]);
        }
        base.extend(program);
        let cwd = match &self.cwd {
            Some(dir) if dir.starts_with('/') => Some(host.path(dir)?),
            Some(dir) => Some(PathBuf::from(dir)),
            None => None,
        };
        Ok(Located::Found(Pip { base, env, cwd }))
    }

    /// Salt's "User x does not exist", checked before pip runs as `user`.
    pub fn user_missing(&self, host: &HostRead) -> Option<String> {
        let user = self.user.as_ref()?;
        super::super::cmd::lookup_user(host, user)
            .is_err()
            .then(|| format!("User {user} does not exist"))
    }
}

/// `env_vars`: a map of names to values, set for every pip command.
fn env_vars(args: &Args) -> Result<Vec<(String, String)>, StateError> {
    match args.get("env_vars") {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| (k.clone(), common::pyfmt::py_str(v)))
            .collect()),
        Some(v) => Err(StateError::args(format!(
            "'env_vars' must be a mapping of names to values, got {v}"
        ))),
    }
}

/// A requirements file: a path on the host, or a salt:// file given to pip
/// on its stdin (so a check needs no temporary file).
#[derive(Debug, Clone)]
pub(crate) struct Requirements {
    /// As the state tree wrote it, for comments.
    pub shown: String,
    path: Option<PathBuf>,
    bytes: Option<Vec<u8>>,
}

impl Requirements {
    /// `requirements`, fetched now when it is salt://. `Err(comment)`:
    /// Salt's "pip requirements file 'x' not found".
    pub fn from_args(
        args: &Args,
        host: &HostRead,
    ) -> Result<Option<Result<Self, String>>, StateError> {
        let Some(shown) = args.str("requirements")? else {
            return Ok(None);
        };
        let not_found = || format!("pip requirements file '{shown}' not found");
        let req = if shown.starts_with("salt://") {
            match host.sources().fetch(&shown) {
                Ok(bytes) => Requirements {
                    shown: shown.clone(),
                    path: None,
                    bytes: Some(bytes),
                },
                Err(_) => return Ok(Some(Err(not_found()))),
            }
        } else if shown.starts_with('/') {
            // Not checked here: a checkout an earlier pending state would
            // make holds it (pip says so when installing, as in Salt).
            Requirements {
                shown: shown.clone(),
                path: Some(host.path(&shown)?),
                bytes: None,
            }
        } else {
            // Relative to `cwd`, as pip reads it.
            Requirements {
                path: Some(PathBuf::from(&shown)),
                shown,
                bytes: None,
            }
        };
        Ok(Some(Ok(req)))
    }
}

/// The index options of an install: `upgrade`, `index_url`,
/// `extra_index_url`, `find_links`, `no_index`.
#[derive(Debug, Clone, Default)]
pub(crate) struct IndexOpts {
    pub upgrade: bool,
    args: Vec<String>,
}

impl IndexOpts {
    /// Reads them under the names the state uses (`upgrade` for pip,
    /// `pip_upgrade` for virtualenv).
    pub fn from_args(args: &Args, host: &HostRead, upgrade_key: &str) -> Result<Self, StateError> {
        let upgrade = args.bool_or(upgrade_key, false)?;
        let mut out = Vec::new();
        if let Some(url) = args.str("index_url")? {
            out.extend(["--index-url".to_string(), url]);
        }
        for url in args.str_list("extra_index_url")?.unwrap_or_default() {
            out.extend(["--extra-index-url".to_string(), url]);
        }
        // Salt splits a string on commas; a local directory is a path on
        // the host, so under the run's root.
        let links: Vec<String> = args
            .str_list("find_links")?
            .unwrap_or_default()
            .iter()
            .flat_map(|l| {
                l.split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty())
            .collect();
        for link in links {
            let link = if link.starts_with('/') {
                host.path(&link)?.display().to_string()
            } else {
                link
            };
            out.extend(["--find-links".to_string(), link]);
        }
        if args.bool_or("no_index", false)? {
            out.push("--no-index".into());
        }
        if upgrade {
            out.push("--upgrade".into());
        }
        Ok(IndexOpts { upgrade, args: out })
    }
}

/// One distribution a dry run would install.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WouldInstall {
    pub name: String,
    pub version: String,
}

impl Pip {
    /// An [`Exec`] of `pip <args>` with this pip's user, environment and cwd.
    pub fn exec(&self, args: &[String], stdin: Option<Vec<u8>>) -> Exec {
        let mut argv = self.base.clone();
        argv.extend(args.iter().cloned());
        let mut spec = Exec::new(&argv);
        spec.env = self.env.clone();
        spec.cwd = self.cwd.clone();
        spec.stdin = stdin;
        spec
    }

    /// The arguments and stdin of `pip install` for packages or a
    /// requirements file.
    pub fn install_args(
        &self,
        opts: &IndexOpts,
        pkgs: &[String],
        requirements: Option<&Requirements>,
    ) -> (Vec<String>, Option<Vec<u8>>) {
        let mut args = vec!["install".to_string(), "--disable-pip-version-check".into()];
        args.extend(opts.args.iter().cloned());
        let mut stdin = None;
        if let Some(req) = requirements {
            args.push("-r".into());
            match (&req.path, &req.bytes) {
                (Some(path), _) => args.push(path.display().to_string()),
                (None, bytes) => {
                    args.push("/dev/stdin".into());
                    stdin = bytes.clone();
                }
            }
        }
        args.extend(pkgs.iter().cloned());
        (args, stdin)
    }

    /// What `pip install` would install (pip ≥ 22.2's `--dry-run --report`):
    /// `Ok(Err(text))` when pip refused (a package it cannot find, a bad
    /// index), which the install itself will then report.
    pub fn would_install(
        &self,
        host: &HostRead,
        opts: &IndexOpts,
        pkgs: &[String],
        requirements: Option<&Requirements>,
    ) -> Result<Result<Vec<WouldInstall>, String>, StateError> {
        let (mut args, stdin) = self.install_args(opts, pkgs, requirements);
        args.splice(
            1..1,
            ["--dry-run", "--report", "-", "--quiet", "--no-input"].map(String::from),
        );
        let out = host.query_exec(&self.exec(&args, stdin))?.run;
        if out.stderr.contains("no such option: --dry-run")
            || out.stderr.contains("no such option: --report")
        {
            // Without a dry run every check would look like an install.
            return Err(StateError::host(format!(
                "{} is older than pip 22.2, which Brine needs to check what an install would do (pip install --dry-run --report); upgrade pip in that environment",
                self.base.join(" ")
            )));
        }
        if out.retcode != 0 {
            return Ok(Err(format!("{} {}", out.stdout, out.stderr)));
        }
        let report: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| StateError::host(format!("pip's install report is not JSON ({e})")))?;
        let items = report
            .get("install")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(Ok(items
            .iter()
            .filter_map(|i| {
                let meta = i.get("metadata")?;
                Some(WouldInstall {
                    name: meta.get("name")?.as_str()?.to_string(),
                    version: meta.get("version")?.as_str()?.to_string(),
                })
            })
            .collect()))
    }

    /// `pip list --format=json`: installed distributions and versions.
    pub fn list(&self, host: &HostRead) -> Result<Vec<(String, String)>, StateError> {
        let args = ["list", "--format=json", "--disable-pip-version-check"].map(String::from);
        let out = host.query_exec(&self.exec(&args, None))?.run;
        if out.retcode != 0 {
            return Err(StateError::host(out.stderr.trim().to_string()));
        }
        let items: Vec<Value> = serde_json::from_str(&out.stdout)
            .map_err(|e| StateError::host(format!("pip list printed no JSON ({e})")))?;
        Ok(items
            .iter()
            .filter_map(|i| {
                Some((
                    i.get("name")?.as_str()?.to_string(),
                    i.get("version")?.as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// `pip freeze` lines (Salt's `pip.freeze`).
    pub fn freeze(&self, host: &HostRead) -> Result<Vec<String>, StateError> {
        let args = ["freeze", "--disable-pip-version-check"].map(String::from);
        let out = host.query_exec(&self.exec(&args, None))?.run;
        if out.retcode != 0 {
            return Err(StateError::host(out.stderr.trim().to_string()));
        }
        Ok(out.stdout.lines().map(str::to_string).collect())
    }
}

/// PEP 503's normal form of a project name: case and runs of `-_.` do not
/// matter.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The project name a requirement names (`Django>=4`, `requests[socks]`),
/// or `None` for a URL or a path, whose name pip learns only by building it.
pub(crate) fn project_name(spec: &str) -> Option<&str> {
    let spec = spec.trim();
    if spec.contains("://") || spec.starts_with(['.', '/', '~']) || spec.contains(" @ ") {
        return None;
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    (!name.is_empty()).then_some(name)
}

/// Salt's refusal of `pkg=1.0` (one `=`), or `None` when the spec reads.
pub(crate) fn bad_version_spec(spec: &str) -> Option<String> {
    let name = project_name(spec)?;
    let rest = spec.trim()[name.len()..].trim_start();
    (rest.starts_with('=') && !rest.starts_with("==")).then(|| {
        format!("Invalid version specification in package {spec}. '=' is not supported, use '==' instead.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_pip_reads_them() {
        assert_eq!(normalize("Foo__Bar.baz"), "foo-bar-baz");
        assert_eq!(project_name("Django>=4.2"), Some("Django"));
        assert_eq!(project_name("requests[socks] == 2"), Some("requests"));
        assert_eq!(project_name("/srv/pkg.whl"), None);
        assert_eq!(project_name("git+https://x/y.git"), None);
        assert!(bad_version_spec("foo=1.0").is_some());
        assert!(bad_version_spec("foo==1.0").is_none());
        assert!(bad_version_spec("foo>=1.0").is_none());
    }
}
