//! `alternatives.install|remove|auto|set` (salt/states/alternatives.py over
//! salt/modules/alternatives.py): the link groups `update-alternatives`
//! keeps. Debian's tool, which Red Hat's chkconfig also installs under that
//! name, so one argv serves both.
//!
//! Under a state root other than `/` every command gets `--root ROOT`
//! (dpkg's update-alternatives reads and writes its admin dir, the
//! `/etc/alternatives` links and the group's link under it), so the tests
//! run the real tool on a throwaway tree. Output is parsed in the C locale,
//! as Salt's `cmd.run_all` resets the locale before it runs a command.
use common::data::Value;
use common::pyfmt::py_str;

use super::{changes, Applied, ApplyFn, Args, Check, CmdRun, HostRead, HostWrite, StateError};

pub struct Alternatives;

const TOOL: &str = "update-alternatives";

impl super::StateModule for Alternatives {
    fn name(&self) -> &'static str {
        "alternatives"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::ALTERNATIVES
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "install" => install(args, host),
            "remove" => remove(args, host),
            "auto" => auto(args, host),
            "set" => set(args, host),
            other => Err(StateError::args(format!(
                "alternatives.{other} is not a state function"
            ))),
        }
    }
}

/// `update-alternatives [--root ROOT] ARGS...`.
fn argv(host: &HostRead, args: &[&str]) -> Vec<String> {
    let mut v = vec![TOOL.to_string()];
    if host.root() != std::path::Path::new("/") {
        v.push("--root".into());
        v.push(host.root().display().to_string());
    }
    v.extend(args.iter().map(|a| a.to_string()));
    v
}

fn query(host: &HostRead, args: &[&str]) -> Result<CmdRun, StateError> {
    let v = argv(host, args);
    let v: Vec<&str> = v.iter().map(String::as_str).collect();
    host.query_env(&v, &[("LC_ALL", "C")])
}

fn change(host: &HostWrite, args: &[&str]) -> Result<CmdRun, StateError> {
    let v = argv(host, args);
    let v: Vec<&str> = v.iter().map(String::as_str).collect();
    host.run(&v, &[("LC_ALL", "C")], None)
}

/// Salt's `alternatives.display`: stdout, or stderr when it failed saying why.
fn display(host: &HostRead, name: &str) -> Result<String, StateError> {
    let out = query(host, &["--display", name])?;
    Ok(if out.retcode > 0 && !out.stderr.is_empty() {
        out.stderr
    } else {
        out.stdout
    })
}

/// Salt's `check_exists`: `path` is one of the group's alternatives.
fn registered(host: &HostRead, name: &str, path: &str) -> Result<bool, StateError> {
    let out = query(host, &["--display", name])?;
    if out.retcode > 0 && !out.stderr.is_empty() {
        return Ok(false);
    }
    Ok(out.stdout.lines().any(|l| l.starts_with(path)))
}

/// Salt's `show_current`: where `/etc/alternatives/NAME` points, if anywhere.
fn current(host: &HostRead, name: &str) -> Result<Option<String>, StateError> {
    if name.contains('/') || name.is_empty() {
        return Err(StateError::args(format!(
            "{name:?} is not an alternatives group name"
        )));
    }
    let link = host.path(&format!("/etc/alternatives/{name}"))?;
    Ok(std::fs::read_link(link)
        .ok()
        .map(|p| p.display().to_string()))
}

fn required(args: &Args, key: &str, fun: &str) -> Result<String, StateError> {
    match args.get(key) {
        Some(Value::Null) | None => Err(StateError::args(format!(
            "alternatives.{fun} needs '{key}'"
        ))),
        Some(v) => Ok(py_str(v)),
    }
}

fn install(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let link = required(args, "link", "install")?;
    let path = required(args, "path", "install")?;
    let priority = required(args, "priority", "install")?;
    if registered(host, &name, &path)? {
        return Ok(Check::clean(format!(
            "Alternative {path} for {name} is already registered"
        )));
    }
    let shown = changes([
        ("name", Value::from(name.clone())),
        ("link", Value::from(link.clone())),
        ("path", Value::from(path.clone())),
        (
            "priority",
            args.get("priority").cloned().unwrap_or(Value::Null),
        ),
    ]);
    let comment = format!("Alternative will be set for {name} to {path} with priority {priority}");
    Ok(Check::change(
        shown.clone(),
        comment,
        ApplyFn(move |w: &HostWrite| {
            let out = change(w, &["--install", &link, &name, &path, &priority])?;
            let said = if out.retcode > 0 && !out.stderr.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            if !registered(w, &name, &path)? {
                return Ok(Applied::failed(
                    format!("Alternative for {name} not installed: {said}"),
                    Default::default(),
                ));
            }
            let comment = if current(w, &name)?.as_deref() == Some(path.as_str()) {
                format!("Alternative for {name} set to path {path} with priority {priority}")
            } else {
                format!(
                    "Alternative {path} for {name} registered with priority {priority} and not set to default"
                )
            };
            Ok(Applied::ok_with(comment, shown))
        }),
    ))
}

fn remove(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let path = required(args, "path", "remove")?;
    if !registered(host, &name, &path)? {
        return Ok(match current(host, &name)? {
            Some(cur) => Check::clean(format!(
                "Alternative for {name} is set to it's default path {cur}"
            )),
            None => Check::fail(format!("Alternative for {name} doesn't exist")),
        });
    }
    Ok(Check::change(
        Default::default(),
        format!("Alternative for {name} will be removed"),
        ApplyFn(move |w: &HostWrite| {
            change(w, &["--remove", &name, &path])?;
            Ok(match current(w, &name)? {
                Some(cur) => Applied::ok_with(
                    format!("Alternative for {name} removed. Falling back to path {cur}"),
                    changes([("path", Value::from(cur))]),
                ),
                None => Applied::ok(format!("Alternative for {name} removed")),
            })
        }),
    ))
}

fn auto(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let shown = display(host, &name)?;
    if shown.lines().next().unwrap_or("").ends_with(" auto mode") {
        return Ok(Check::clean(format!("{name} already in auto mode")));
    }
    Ok(Check::change(
        Default::default(),
        format!("{name} will be put in auto mode"),
        ApplyFn(move |w: &HostWrite| {
            let out = change(w, &["--auto", &name])?;
            let said = if out.retcode > 0 {
                out.stderr
            } else {
                out.stdout
            };
            Ok(Applied::ok_with(
                String::new(),
                changes([("result", Value::from(said))]),
            ))
        }),
    ))
}

fn set(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let path = required(args, "path", "set")?;
    if current(host, &name)?.as_deref() == Some(path.as_str()) {
        return Ok(Check::clean(format!(
            "Alternative for {name} already set to {path}"
        )));
    }
    if !display(host, &name)?.lines().any(|l| l.starts_with(&path)) {
        return Ok(Check::fail(format!(
            "Alternative {path} for {name} doesn't exist"
        )));
    }
    Ok(Check::change(
        changes([("path", Value::from(path.clone()))]),
        format!("Alternative for {name} will be set to path {path}"),
        ApplyFn(move |w: &HostWrite| {
            change(w, &["--set", &name, &path])?;
            let now = current(w, &name)?;
            Ok(if now.as_deref() == Some(path.as_str()) {
                Applied::ok_with(
                    format!("Alternative for {name} set to path {path}"),
                    changes([("path", Value::from(path))]),
                )
            } else {
                Applied::ok_with(
                    format!("Alternative for {name} not updated"),
                    Default::default(),
                )
            })
        }),
    ))
}

#[cfg(test)]
mod tests;
