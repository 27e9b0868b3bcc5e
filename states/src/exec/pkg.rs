//! `pkg.*`: Debian packages through dpkg and apt.
use common::data::Value;
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::{HostRead, HostWrite};

pub const VERSION: ExecFunction = ExecFunction {
    name: "pkg.version",
    params: &[Param::required("name")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "the installed version of a package, '' when not installed",
    parse: |a| {
        Ok(ExecCall::PkgVersion {
            name: a.str("name")?,
        })
    },
};

pub const INSTALL: ExecFunction = ExecFunction {
    name: "pkg.install",
    params: &[Param::required("name")],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "installs a package; {name: {old, new}} when that changed it",
    parse: |a| {
        Ok(ExecCall::PkgInstall {
            name: a.str("name")?,
        })
    },
};

pub fn version(host: &HostRead, name: &str) -> Result<String, ExecError> {
    let out = host.query(&[
        "dpkg-query",
        "-W",
        "-f",
        "${db:Status-Abbrev}${Version}",
        name,
    ])?;
    Ok(out
        .stdout
        .strip_prefix("ii ")
        .map(str::to_string)
        .unwrap_or_default())
}

pub fn install(host: &HostWrite, name: &str) -> Result<Value, ExecError> {
    let before = version(host, name)?;
    let out = host.run(
        &["apt-get", "install", "-y", "-q", "--", name],
        &[("DEBIAN_FRONTEND", "noninteractive")],
        None,
    )?;
    if out.retcode != 0 {
        return Err(ExecError::Failed(out.stderr.trim().to_string()));
    }
    let after = version(host, name)?;
    if before == after {
        return Ok(json!({}));
    }
    Ok(json!({ name: {"old": before, "new": after} }))
}
