//! `pip`: `pip.installed` and `pip.removed` (salt/states/pip_state.py),
//! running the real pip of a `bin_env` as argv.
//!
//! Salt's check reads `pip list` and compares versions itself; Brine asks
//! pip (`install --dry-run --report -`, pip ≥ 22.2), so version specifiers,
//! `upgrade` and requirements files are judged by pip's own resolver and an
//! unchanged requirements file is a clean re-apply, not a reinstall.
mod installed;
pub(crate) mod tool;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use tool::{normalize, Located, PipRun};

pub struct Pip;

impl super::StateModule for Pip {
    fn name(&self) -> &'static str {
        "pip"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::PIP
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "installed" => installed::check(args, host),
            "removed" => removed(args, host),
            other => Err(StateError::args(format!(
                "pip.{other} is not a state function (Brine has: {})",
                super::signatures::names(super::signatures::tables::PIP).join(", ")
            ))),
        }
    }
}

fn removed(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let run = PipRun::from_args(args, args.str("bin_env")?, false)?;
    if let Some(comment) = run.user_missing(host) {
        return Ok(Check::fail(comment));
    }
    // A virtualenv that does not exist holds no package.
    let pip = match run.locate(host)? {
        Located::Found(pip) => pip,
        Located::Missing(_) => return Ok(Check::clean("Package is not installed.")),
    };
    let listed = match pip.list(host) {
        Ok(l) => l,
        Err(e) => return Ok(Check::fail(format!("Error uninstalling '{name}': {e}"))),
    };
    if !listed.iter().any(|(n, _)| normalize(n) == normalize(&name)) {
        return Ok(Check::clean("Package is not installed."));
    }
    Ok(Check::change(
        Default::default(),
        format!("Package {name} is set to be removed"),
        ApplyFn(move |host: &HostWrite| {
            let args = ["uninstall", "-y", "--disable-pip-version-check", &name].map(String::from);
            let out = host.exec(&pip.exec(&args, None))?.run;
            Ok(if out.retcode == 0 {
                Applied::ok_with(
                    "Package was successfully removed.",
                    changes([(name.as_str(), "Removed".into())]),
                )
            } else {
                Applied::failed("Could not remove package.", Default::default())
            })
        }),
    ))
}

#[cfg(test)]
mod salt_diff;
#[cfg(test)]
pub(crate) mod tests;
