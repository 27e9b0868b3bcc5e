//! `gem.installed` and `gem.removed` (salt/states/gem.py over
//! salt/modules/gem.py): `gem list` / `gem install` / `gem uninstall` argv.
//!
//! Under a state root the gems are the root's own: `GEM_HOME` and
//! `GEM_PATH` are `<root>/var/lib/gems` (Debian's system gem directory)
//! and executables go to `<root>/usr/local/bin`, so a test or swarm run
//! never installs into this host's Ruby. On `/` the `gem` program's own
//! defaults apply, as in Salt.
use std::cmp::Ordering;
use std::path::Path;

use common::data::Map;

use super::pkg::version;
use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Gem;

impl super::StateModule for Gem {
    fn name(&self) -> &'static str {
        "gem"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::GEM
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "installed" => installed(args, host),
            "removed" => removed(args, host),
            other => Err(StateError::args(format!(
                "gem.{other} is not a state function"
            ))),
        }
    }
}

/// Salt arguments Brine does not implement (rvm/rbenv rubies, running as
/// another user); refused, not ignored.
const NOT_SUPPORTED: &[&str] = &["ruby", "user"];

/// The `gem` program and the environment it runs in.
struct GemCmd {
    bin: String,
    env: Vec<(String, String)>,
    bindir: Option<String>,
}

impl GemCmd {
    fn new(args: &Args, host: &HostRead, fun: &str) -> Result<Self, StateError> {
        if let Some(k) = NOT_SUPPORTED.iter().find(|k| args.get(k).is_some()) {
            return Err(StateError::args(format!(
                "gem.{fun}: '{k}' is not supported by Brine yet"
            )));
        }
        let bin = args.str_or("gem_bin", "gem")?;
        if host.root() == Path::new("/") {
            return Ok(GemCmd {
                bin,
                env: Vec::new(),
                bindir: None,
            });
        }
        let home = host.path("/var/lib/gems")?.to_string_lossy().into_owned();
        Ok(GemCmd {
            bin,
            env: vec![("GEM_HOME".into(), home.clone()), ("GEM_PATH".into(), home)],
            bindir: Some(host.path("/usr/local/bin")?.to_string_lossy().into_owned()),
        })
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// Salt's `gem.list(name)`: the versions installed of each gem whose
    /// name starts with `name`, newest first.
    fn list(
        &self,
        host: &HostRead,
        name: &str,
    ) -> Result<Map<String, serde_json::Value>, StateError> {
        let mut argv = vec![self.bin.as_str(), "list"];
        argv.push(name);
        let out = host.query_env(&argv, &self.env())?;
        if out.retcode != 0 {
            return Err(StateError::host(out.stderr.trim().to_string()));
        }
        Ok(parse_list(&out.stdout))
    }
}

/// `name (1.2, 1.1)` lines.
fn parse_list(stdout: &str) -> Map<String, serde_json::Value> {
    stdout
        .lines()
        .filter_map(|line| {
            let (gem, rest) = line.split_once(" (")?;
            let versions = rest.strip_suffix(')')?;
            (!gem.contains(' ')).then(|| {
                let v: Vec<serde_json::Value> =
                    versions.split(", ").map(|s| s.to_string().into()).collect();
                (gem.to_string(), v.into())
            })
        })
        .collect()
}

/// Whether the installed versions satisfy `version`: an exact version
/// among them, or `>=`/`>`/`<=`/`<` against the newest.
fn satisfied(installed: &[String], wanted: &str) -> bool {
    use Ordering::{Equal, Greater, Less};
    let ops: [(&str, &[Ordering]); 4] = [
        (">=", &[Greater, Equal]),
        ("<=", &[Less, Equal]),
        (">", &[Greater]),
        ("<", &[Less]),
    ];
    for (op, accept) in ops {
        if let Some(v) = wanted.strip_prefix(op) {
            let newest = installed
                .first()
                .map(|s| s.trim_start_matches("default: ").trim());
            return newest.is_some_and(|n| accept.contains(&version::compare(n, v.trim())));
        }
    }
    installed.iter().any(|v| v == wanted)
}

fn installed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let gem = GemCmd::new(args, host, "installed")?;
    let name = args.name();
    let wanted = args.str("version")?;
    let rdoc = args.bool_or("rdoc", false)?;
    let ri = args.bool_or("ri", false)?;
    let pre = args.bool_or("pre_releases", false)?;
    let proxy = args.str("proxy")?;
    let source = args.str("source")?;

    let gems = gem.list(host, &name)?;
    if let Some(versions) = gems.get(&name).and_then(|v| v.as_array()) {
        let versions: Vec<String> = versions
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        match wanted.as_deref() {
            None => return Ok(Check::clean("Gem is already installed.")),
            Some(w) if satisfied(&versions, w) => {
                let ranged = [">", "<"].iter().any(|op| w.starts_with(op));
                return Ok(Check::clean(if ranged {
                    "Installed Gem meets version requirements."
                } else {
                    "Gem is already installed."
                }));
            }
            Some(_) => {}
        }
    }

    let mut argv = vec![gem.bin.clone(), "install".into(), name.clone()];
    if let Some(v) = &wanted {
        argv.extend(["--version".into(), v.clone()]);
    }
    // RubyGems 3 (every supported Debian) has one switch for both.
    if !rdoc || !ri {
        argv.push("--no-document".into());
    }
    if pre {
        argv.push("--prerelease".into());
    }
    if let Some(p) = proxy {
        argv.extend(["-p".into(), p]);
    }
    if let Some(s) = source {
        argv.extend(["--source".into(), s]);
    }
    if let Some(dir) = &gem.bindir {
        argv.extend(["--bindir".into(), dir.clone()]);
    }
    Ok(Check::change(
        Map::new(),
        format!("The gem {name} would have been installed"),
        ApplyFn(move |host: &HostWrite| {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = host.run(&argv, &gem.env(), None)?;
            Ok(if out.retcode == 0 {
                Applied::ok_with(
                    "Gem was successfully installed",
                    changes([(name.as_str(), "Installed".into())]),
                )
            } else {
                Applied::failed(
                    format!("Could not install gem. {}", out.stderr.trim()),
                    Map::new(),
                )
            })
        }),
    ))
}

fn removed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let gem = GemCmd::new(args, host, "removed")?;
    let name = args.name();
    if !gem.list(host, &name)?.contains_key(&name) {
        return Ok(Check::clean("Gem is not installed."));
    }
    Ok(Check::change(
        Map::new(),
        format!("The gem {name} would have been removed"),
        ApplyFn(move |host: &HostWrite| {
            let mut argv = vec![gem.bin.as_str(), "uninstall", name.as_str(), "-a", "-x"];
            if let Some(dir) = &gem.bindir {
                argv.extend(["--bindir", dir]);
            }
            let out = host.run(&argv, &gem.env(), None)?;
            Ok(if out.retcode == 0 {
                Applied::ok_with(
                    "Gem was successfully removed.",
                    changes([(name.as_str(), "Removed".into())]),
                )
            } else {
                Applied::failed(
                    format!("Could not remove gem. {}", out.stderr.trim()),
                    Map::new(),
                )
            })
        }),
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    #[test]
    fn list_output_and_version_specs() {
        let gems =
            parse_list("\n*** LOCAL GEMS ***\n\nrake (13.0.6, 12.3.3)\njson (default: 2.6.1)\n");
        assert_eq!(gems["rake"], json!(["13.0.6", "12.3.3"]));
        assert_eq!(gems["json"], json!(["default: 2.6.1"]));
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(satisfied(&v(&["13.0.6", "12.3.3"]), "12.3.3"));
        assert!(!satisfied(&v(&["13.0.6"]), "13.0"));
        assert!(satisfied(&v(&["13.0.6"]), ">=13.0"));
        assert!(satisfied(&v(&["default: 2.6.1"]), "<= 2.6.1"));
        assert!(!satisfied(&v(&["2.6.1"]), ">2.6.1"));
    }

    /// A local gem repository (`gem build` + `gem generate_index`) to
    /// install from without the internet.
    pub(crate) fn local_repo(dir: &Path, version: &str) -> Option<String> {
        if std::process::Command::new("gem")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no gem (apt-get install ruby)");
            return None;
        }
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("lib")).unwrap();
        std::fs::write(src.join("lib/brinetiny.rb"), "module Brinetiny; end\n").unwrap();
        std::fs::write(
            src.join("brinetiny.gemspec"),
            format!(
                "Gem::Specification.new do |s|\n  s.name = 'brinetiny'\n  s.version = '{version}'\n  \
                 s.summary = 'tiny'\n  s.authors = ['brine']\n  s.files = ['lib/brinetiny.rb']\nend\n"
            ),
        )
        .unwrap();
        let run = |argv: &[&str], cwd: &Path| {
            let st = std::process::Command::new(argv[0])
                .args(&argv[1..])
                .current_dir(cwd)
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{argv:?}: {}",
                String::from_utf8_lossy(&st.stderr)
            );
        };
        run(&["gem", "build", "brinetiny.gemspec"], &src);
        let repo = dir.join("repo");
        std::fs::create_dir_all(repo.join("gems")).unwrap();
        let file = format!("brinetiny-{version}.gem");
        std::fs::rename(src.join(&file), repo.join("gems").join(&file)).unwrap();
        run(
            &[
                "gem",
                "generate_index",
                "--directory",
                &repo.to_string_lossy(),
            ],
            dir,
        );
        Some(format!("file://{}", repo.display()))
    }

    #[test]
    fn installs_from_a_local_source_then_is_clean_then_removes() {
        let work = tempfile::tempdir().unwrap();
        let Some(source) = local_repo(work.path(), "0.1.0") else {
            return;
        };
        let t = TestHost::new();
        let args = json!({"name": "brinetiny", "source": source, "version": "0.1.0"});
        let before = t.snapshot();
        let check = t.check(&Gem, "installed", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            comment_of(&check),
            "The gem brinetiny would have been installed"
        );
        assert!(changes_of(&check).unwrap().is_empty());
        let applied = t.apply(check);
        assert!(applied.result, "{}", applied.comment);
        assert_eq!(applied.comment, "Gem was successfully installed");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("brinetiny", json!("Installed"))])
        );
        assert!(t
            .path("/var/lib/gems/gems/brinetiny-0.1.0/lib/brinetiny.rb")
            .exists());

        let again = t.check(&Gem, "installed", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "Gem is already installed.");
        let ranged = t
            .check(
                &Gem,
                "installed",
                json!({"name": "brinetiny", "version": ">=0.1"}),
            )
            .unwrap();
        assert_eq!(
            comment_of(&ranged),
            "Installed Gem meets version requirements."
        );

        let before = t.snapshot();
        let check = t
            .check(&Gem, "removed", json!({"name": "brinetiny"}))
            .unwrap();
        assert_eq!(t.snapshot(), before);
        assert_eq!(
            comment_of(&check),
            "The gem brinetiny would have been removed"
        );
        let applied = t.apply(check);
        assert!(applied.result, "{}", applied.comment);
        assert_eq!(applied.comment, "Gem was successfully removed.");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("brinetiny", json!("Removed"))])
        );
        let gone = t
            .check(&Gem, "removed", json!({"name": "brinetiny"}))
            .unwrap();
        assert!(is_clean(&gone));
        assert_eq!(comment_of(&gone), "Gem is not installed.");
        assert!(t
            .check(&Gem, "installed", json!({"name": "x", "ruby": "3.1"}))
            .is_err());
    }
}
