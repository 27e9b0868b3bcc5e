//! What a pkg state asks for: `name`/`version` or `pkgs`, validated and
//! normalized, and how Salt shows a request.
use common::data::Value;

use super::dpkg::Db;
use crate::state::{Args, StateError};

/// One requested package: its name and Salt's version string, if any.
pub(super) type Wanted = (String, Option<String>);

/// Salt's tri-state booleans (`None` = not given).
pub(super) fn opt_bool(args: &Args, key: &str) -> Result<Option<bool>, StateError> {
    match args.get(key) {
        None => Ok(None),
        Some(_) => args.bool_or(key, false).map(Some),
    }
}

/// A package name goes to apt as one argv element; refuse what apt would
/// read as an option, and what no Debian package name contains.
pub(crate) fn validate_name(name: &str) -> Result<(), StateError> {
    if name.is_empty() {
        return Err(StateError::args("package name is empty"));
    }
    if name.starts_with('-') {
        return Err(StateError::args(format!(
            "refusing package name {name:?}: it starts with '-'"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '=')
    {
        return Err(StateError::args(format!("invalid package name {name:?}")));
    }
    Ok(())
}

/// `pkgs` as Salt's `_repack_pkgs` reads it: names, or `{name: version}`
/// maps; duplicate names are an error.
pub(super) fn read_pkgs(args: &Args) -> Result<Option<Vec<Wanted>>, StateError> {
    let Some(value) = args.get("pkgs") else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(StateError::args(format!(
            "Invalidly formatted 'pkgs' parameter: must be a list, got {value}"
        )));
    };
    let mut out: Vec<Wanted> = Vec::new();
    for item in items {
        match item {
            Value::String(_) | Value::Number(_) => out.push((common::pyfmt::py_str(item), None)),
            Value::Object(map) if !map.is_empty() => {
                for (name, ver) in map {
                    let ver = match ver {
                        Value::Null => None,
                        Value::String(_) | Value::Number(_) => Some(common::pyfmt::py_str(ver)),
                        other => {
                            return Err(StateError::args(format!(
                                "Invalidly formatted 'pkgs' parameter: version of {name} must be a string, got {other}"
                            )))
                        }
                    };
                    out.push((name.clone(), ver));
                }
            }
            other => {
                return Err(StateError::args(format!(
                    "Invalidly formatted 'pkgs' parameter: {other}"
                )))
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if out.iter().any(|(n, _)| !seen.insert(n.clone())) {
        return Err(StateError::args(format!(
            "You are passing a list of packages that contains duplicated packages names: {value}. This cannot be processed. In case you are targeting different versions of the same package, please target them individually"
        )));
    }
    Ok(Some(out))
}

/// The requested packages: `pkgs`, else `name` (with `version`); names
/// validated and normalized (`nginx:amd64` → `nginx`).
pub(super) fn wanted(
    args: &Args,
    db: &Db,
    pkgs: Option<Vec<Wanted>>,
    version: Option<String>,
) -> Result<Vec<Wanted>, StateError> {
    let normalize = args.bool_or("normalize", true)?;
    let list = match pkgs {
        Some(list) => list,
        None => vec![(args.name(), version.filter(|v| !v.is_empty()))],
    };
    list.into_iter()
        .map(|(name, ver)| {
            validate_name(&name)?;
            if let Some(v) = &ver {
                if v.starts_with('-') || v.chars().any(char::is_control) {
                    return Err(StateError::args(format!(
                        "invalid version {v:?} for {name}"
                    )));
                }
            }
            let name = if normalize { db.normalize(&name) } else { name };
            Ok((name, ver.filter(|v| !v.is_empty())))
        })
        .collect()
}

/// Salt's `_get_desired_pkg`: `nginx`, `nginx=1.2`, `nginx>=1.2`.
pub(super) fn display(name: &str, ver: Option<&str>) -> String {
    match ver {
        None => name.to_string(),
        Some(v) if v.starts_with(['<', '>', '=']) => format!("{name}{v}"),
        Some(v) => format!("{name}={v}"),
    }
}
