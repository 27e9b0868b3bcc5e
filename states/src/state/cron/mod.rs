//! `cron`: jobs and environment lines in a user's crontab
//! (salt/states/cron.py over salt/modules/cron.py).
//!
//! On a real host (`root` is `/`) the crontab is read with `crontab -l -u
//! USER` and installed with `crontab -u USER -` (so cron's own checks and
//! reload apply); under a test or swarm root it is the spool file
//! `<root>/var/spool/cron/crontabs/USER`, replaced atomically.
mod tab;

use std::path::{Path, PathBuf};

use common::data::Value;
use common::pyfmt::py_str;

use super::accounts::Accounts;
use super::atomic_file::Meta;
use super::{changes, Applied, ApplyFn, Args, Check, Exec, HostRead, HostWrite, StateError};
use tab::{Job, Outcome, Tab, When};

pub struct Cron;

impl super::StateModule for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::CRON
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            "env_present" => env_present(args, host),
            "env_absent" => env_absent(args, host),
            other => Err(StateError::args(format!(
                "cron.{other} is not a state function"
            ))),
        }
    }
}

/// `user`, refusing names that would leave the spool directory.
fn user_arg(args: &Args) -> Result<String, StateError> {
    let user = args.str_or("user", "root")?;
    if user.is_empty() || user.contains(['/', '\0', '\n']) || user.starts_with(['.', '-']) {
        return Err(StateError::args(format!("{user:?} is not a user name")));
    }
    Ok(user)
}

/// A cron time field as Salt keeps it: `str(v).lower()`.
fn time_field(args: &Args, key: &str) -> Result<String, StateError> {
    Ok(args
        .get(key)
        .map(py_str)
        .unwrap_or_else(|| "*".into())
        .to_lowercase())
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name().trim().to_string();
    let user = user_arg(args)?;
    let when = [
        time_field(args, "minute")?,
        time_field(args, "hour")?,
        time_field(args, "daymonth")?,
        time_field(args, "month")?,
        time_field(args, "dayweek")?,
    ];
    let special = args.str("special")?.filter(|s| !s.is_empty());
    let job = Job {
        when: match special {
            Some(s) => When::Special(s),
            None => When::Timed(when),
        },
        identifier: Some(identifier(args, &name)),
        comment: args.get("comment").map(py_str),
        commented: args.bool_or("commented", false)?,
        cmd: name.clone(),
    };
    let crontab = Crontab::new(host, &user);
    let mut tab = Tab::parse(&crontab.read(host)?);
    let (test_comment, done) = match tab.set(job) {
        Outcome::Present => return Ok(Check::clean(format!("Cron {name} already present"))),
        Outcome::Updated => (
            format!("Cron {name} is set to be updated"),
            format!("Cron {name} updated"),
        ),
        _ => (
            format!("Cron {name} is set to be added"),
            format!("Cron {name} added to {user}'s crontab"),
        ),
    };
    Ok(crontab.change(
        tab,
        test_comment,
        done,
        &name,
        "failed to commit with error \n",
    ))
}

/// Salt's default identifier is the command itself.
fn identifier(args: &Args, name: &str) -> String {
    match args.get("identifier") {
        None | Some(Value::Bool(false)) => name.to_string(),
        Some(v) => py_str(v),
    }
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name().trim().to_string();
    let user = user_arg(args)?;
    let id = identifier(args, &name);
    let special = args.str("special")?.filter(|s| !s.is_empty());
    // Taken and ignored, as Salt's **kwargs: a present flipped to absent works.
    for ignored in [
        "minute",
        "hour",
        "daymonth",
        "month",
        "dayweek",
        "comment",
        "commented",
    ] {
        let _ = args.get(ignored);
    }
    let crontab = Crontab::new(host, &user);
    let mut tab = Tab::parse(&crontab.read(host)?);
    let outcome = match &special {
        None => tab.rm_job(&name, Some(&id)),
        Some(s) => tab.rm_special(&name, Some(s), Some(&id)),
    };
    if outcome == Outcome::Absent {
        return Ok(Check::Clean {
            comment: format!("Cron {name} already absent"),
            test_comment: Some(format!("Cron {name} is absent")),
        });
    }
    Ok(crontab.change(
        tab,
        format!("Cron {name} is set to be removed"),
        format!("Cron {name} removed from {user}'s crontab"),
        &name,
        "failed to commit with error ",
    ))
}

fn env_present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let user = user_arg(args)?;
    let value = args.get("value").map(py_str).unwrap_or_default();
    let crontab = Crontab::new(host, &user);
    let mut tab = Tab::parse(&crontab.read(host)?);
    let (test_comment, done) = match tab.set_env(&name, &value) {
        Outcome::Present => return Ok(Check::clean(format!("Cron env {name} already present"))),
        Outcome::Updated => (
            format!("Cron env {name} is set to be updated"),
            format!("Cron env {name} updated"),
        ),
        _ => (
            format!("Cron env {name} is set to be added"),
            format!("Cron env {name} added to {user}'s crontab"),
        ),
    };
    Ok(crontab.change(
        tab,
        test_comment,
        done,
        &name,
        "failed to commit with error \n",
    ))
}

fn env_absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name().trim().to_string();
    let user = user_arg(args)?;
    let crontab = Crontab::new(host, &user);
    let mut tab = Tab::parse(&crontab.read(host)?);
    if tab.rm_env(&name) == Outcome::Absent {
        return Ok(Check::Clean {
            comment: format!("Cron env {name} already absent"),
            test_comment: Some(format!("Cron env {name} is absent")),
        });
    }
    Ok(crontab.change(
        tab,
        format!("Cron env {name} is set to be removed"),
        format!("Cron env {name} removed from {user}'s crontab"),
        &name,
        "failed to commit with error ",
    ))
}

/// Where one user's crontab lives.
struct Crontab {
    user: String,
    /// `None` on a real host: go through the `crontab` command.
    spool: Option<PathBuf>,
}

impl Crontab {
    fn new(host: &HostRead, user: &str) -> Self {
        let spool = (host.root() != Path::new("/"))
            .then(|| host.root().join("var/spool/cron/crontabs").join(user));
        Crontab {
            user: user.to_string(),
            spool,
        }
    }

    fn read(&self, host: &HostRead) -> Result<String, StateError> {
        if let Some(path) = &self.spool {
            return match std::fs::read_to_string(path) {
                Ok(text) => Ok(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(e) => Err(StateError::host(format!(
                    "cannot read {}: {e}",
                    path.display()
                ))),
            };
        }
        let out = host
            .query(&["crontab", "-l", "-u", &self.user])
            .map_err(|e| StateError::host(format!("cron: {e} (is cron installed?)")))?;
        if out.retcode == 0 {
            return Ok(out.stdout);
        }
        // No crontab yet, or a user a dry run has not created yet: empty.
        // Anything else must not be taken for an empty crontab and overwritten.
        if out.stderr.contains("no crontab for") || out.stderr.contains("unknown") {
            return Ok(String::new());
        }
        Err(StateError::host(format!(
            "cannot read {}'s crontab: {}",
            self.user,
            out.stderr.trim()
        )))
    }

    /// A Change whose apply installs `tab`. Salt's dry run shows no changes.
    fn change(
        self,
        tab: Tab,
        test_comment: String,
        done: String,
        name: &str,
        err_words: &str,
    ) -> Check {
        let text = tab.render();
        let failed = format!("Cron {name} for user {} {err_words}", self.user);
        let changes = changes([(self.user.as_str(), Value::from(name))]);
        Check::change(
            Default::default(),
            test_comment,
            ApplyFn(move |host: &HostWrite| {
                Ok(match self.install(host, &text) {
                    Ok(()) => Applied::ok_with(done, changes),
                    Err(e) => Applied::failed(format!("{failed}{e}"), Default::default()),
                })
            }),
        )
    }

    fn install(&self, host: &HostWrite, text: &str) -> Result<(), String> {
        match &self.spool {
            Some(path) => write_spool(host, path, &self.user, text).map_err(|e| e.to_string()),
            None => {
                let mut spec = Exec::new(&["crontab", "-u", &self.user, "-"]);
                spec.stdin = Some(text.as_bytes().to_vec());
                let out = host.exec(&spec).map_err(|e| e.to_string())?.run;
                if out.retcode == 0 {
                    Ok(())
                } else {
                    Err(out.stderr.trim().to_string())
                }
            }
        }
    }
}

/// The spool file as cron keeps it: 0600, owned by the user (and group
/// `crontab` when the root has one).
fn write_spool(host: &HostWrite, path: &Path, user: &str, text: &str) -> Result<(), StateError> {
    if let Some(dir) = path.parent() {
        host.create_dir_all(dir)
            .map_err(|e| StateError::host(format!("cannot create {}: {e}", dir.display())))?;
    }
    let accounts = Accounts::read(host)?;
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    let owner = accounts.user(user).filter(|_| is_root).map(|u| {
        let gid = accounts.group("crontab").map_or(u.gid, |g| g.gid);
        (u.uid, gid)
    });
    host.write_file(path, text.as_bytes(), Meta { mode: 0o600, owner })
}

#[cfg(test)]
mod tests;
