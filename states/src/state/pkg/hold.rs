//! `hold:` of `pkg.installed`: what apt-mark would change, and running it.
use super::apt;
use super::dpkg::Db;
use super::request::Wanted;
use crate::state::{HostWrite, StateError};

/// What `hold:` asks for one package.
pub(super) struct HoldPlan {
    pub(super) name: String,
    /// apt-mark action to run, if any.
    pub(super) action: Option<&'static str>,
    /// Selection before (Salt reports it as `old`).
    pub(super) old: Option<String>,
    pub(super) comment_test: String,
    pub(super) comment_done: String,
    /// Salt's failed holds (unhold of a package dpkg does not know).
    pub(super) failed: bool,
}

pub(super) fn plan_holds(
    hold: Option<bool>,
    wanted: &[Wanted],
    db: &Db,
    targets: &[String],
) -> Vec<HoldPlan> {
    let Some(hold) = hold else {
        return Vec::new();
    };
    wanted
        .iter()
        .map(|(name, _)| {
            let will_install = targets.contains(name);
            let selection = db
                .selection(name)
                .map(str::to_string)
                .or_else(|| will_install.then(|| "install".to_string()));
            let held = db.is_held(name);
            let plan = |action, test: String, done: String, failed| HoldPlan {
                name: name.clone(),
                action,
                old: selection.clone(),
                comment_test: test,
                comment_done: done,
                failed,
            };
            match (hold, held) {
                (true, true) => {
                    let c = format!("Package {name} is already set to be held.");
                    plan(None, c.clone(), c, false)
                }
                (true, false) => plan(
                    Some("hold"),
                    format!("Package {name} is set to be held."),
                    format!("Package {name} is now being held."),
                    false,
                ),
                (false, true) => plan(
                    Some("unhold"),
                    format!("Package {name} is set not to be held."),
                    format!("Package {name} is no longer being held."),
                    false,
                ),
                (false, false) if selection.is_none() => {
                    let c = format!("Package {name} does not have a state.");
                    plan(None, c.clone(), c, true)
                }
                (false, false) => {
                    let c = format!("Package {name} is already set not to be held.");
                    plan(None, c.clone(), c, false)
                }
            }
        })
        .collect()
}

/// Runs the planned apt-mark calls (one per action, all names at once).
pub(super) fn apply_holds(host: &HostWrite, plans: &[HoldPlan]) -> Result<(), StateError> {
    for action in ["hold", "unhold"] {
        let names: Vec<String> = plans
            .iter()
            .filter(|p| p.action == Some(action))
            .map(|p| p.name.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        let out = apt::run(host, &apt::mark_argv(action, &names))?;
        if out.retcode != 0 {
            return Err(StateError::host(format!(
                "An error was encountered while holding/unholding package(s): {}",
                out.stderr.trim()
            )));
        }
    }
    Ok(())
}
