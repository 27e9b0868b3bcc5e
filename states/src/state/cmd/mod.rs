//! `cmd`: run the operator's commands (salt/states/cmd.py). `cmd.run` and
//! `cmd.script` change something every time they run, so `check` always
//! returns a Change and the command runs in `apply` (never in a dry run).
//! `cmd.wait`/`cmd.wait_script` do nothing until something they watch
//! changes; then `mod_watch` runs them. `unless`/`onlyif`/`creates` are the
//! executor's, for every state.
mod spec;
mod stateful;

// pip and virtualenv run their tools as `user` the way cmd does.
pub(crate) use spec::lookup_user;

use std::io::Write;

use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use spec::{RunSpec, Stateful};

pub struct Cmd;

impl super::StateModule for Cmd {
    fn name(&self) -> &'static str {
        "cmd"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::CMD
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "run" => check_run(args, host),
            "script" => check_script(args, host),
            // Salt: `{"result": True, "comment": "", "changes": {}}` until watched.
            // The arguments are still read (and so checked) now.
            "wait" | "watch" => check_run(args, host).map(|_| Check::clean("")),
            "wait_script" => check_script(args, host).map(|_| Check::clean("")),
            other => Err(StateError::args(format!(
                "cmd.{other} is not a state function"
            ))),
        }
    }

    fn watchable(&self) -> bool {
        true
    }

    fn mod_watch_signature(&self) -> Option<&'static super::Signature> {
        Some(&super::signatures::tables::CMD_MOD_WATCH)
    }

    fn mod_watch(
        &self,
        fun: &str,
        args: &Args,
        host: &HostRead,
    ) -> Option<Result<Check, StateError>> {
        // The executor names the watched function in `sfun`, as Salt does.
        let _ = args.get("sfun");
        Some(match fun {
            "run" | "wait" | "watch" => check_run(args, host),
            "script" | "wait_script" => check_script(args, host),
            other => Ok(Check::fail(format!(
                "cmd.{other} does not work with the watch requisite, please use cmd.wait or cmd.wait_script"
            ))),
        })
    }
}

/// `cmd.run`: comment `Command "NAME" run`, changes `{pid, retcode, stdout,
/// stderr}`, result False when the retcode is not a success.
fn check_run(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let refused = [("template", "templating the command line")];
    let spec = match RunSpec::read(args, host, &refused)? {
        Ok(spec) => spec,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    let (test_changes, test_comment) = test_report(&spec.stateful, &name, '"');
    let done = format!("Command \"{name}\" run");
    Ok(Check::change(
        test_changes,
        test_comment,
        ApplyFn(move |host: &HostWrite| Ok(finish(spec.run(host, &name), &spec.stateful, done))),
    ))
}

/// What a dry run shows: Salt's `{"cmd": name}` and "would have been
/// executed"; a stateful command shows nothing (its output would have said).
fn test_report(stateful: &Stateful, name: &str, quote: char) -> (Map<String, Value>, String) {
    let would = format!("Command {quote}{name}{quote} would have been executed");
    let cmd = || {
        if quote == '"' {
            changes([("cmd", Value::from(name))])
        } else {
            Map::new()
        }
    };
    match stateful {
        Stateful::No => (cmd(), would),
        Stateful::Yes => (Map::new(), String::new()),
        Stateful::TestName(test) => (
            cmd(),
            format!("{would} (stateful test_name {test:?} is not run: a dry run runs no commands)"),
        ),
    }
}

/// Turns a run into the state's result.
fn finish(ran: Result<Map<String, Value>, String>, stateful: &Stateful, done: String) -> Applied {
    let ran = match ran {
        Ok(ran) => ran,
        Err(comment) => return Applied::failed(comment, Map::new()),
    };
    let ok = ran.get("retcode").and_then(Value::as_i64) == Some(0);
    if *stateful == Stateful::No {
        return Applied {
            result: ok,
            comment: done,
            changes: Some(ran),
        };
    }
    let said = stateful::reinterpret(&ran);
    Applied {
        result: ok && !said.failed,
        comment: said.comment,
        changes: Some(said.changes),
    }
}

/// `cmd.script`: fetch (or render) `source`, write it to a private temp file,
/// run it with `args`. Comments use single quotes, as Salt's do here.
fn check_script(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let spec = RunSpec::read(args, host, &[])?;
    let saltenv = args
        .get("saltenv")
        .map(py_str)
        .unwrap_or_else(|| "base".into());
    // Salt: `name` is "script arg1 arg2" when no source/args are given.
    let source = args
        .str("source")?
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| name.split(' ').next().unwrap_or("").to_string());
    let script_args = match args.get("args") {
        None => name.split_once(' ').map(|(_, rest)| rest.to_string()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|a| shell_quote(&py_str(a)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Some(v) => Some(py_str(v)),
    };
    let template = args.str("template")?;
    let spec = match spec {
        Ok(spec) => spec,
        Err(comment) => return Ok(Check::fail(comment)),
    };
    let given = [
        ("defaults", args.get("defaults")),
        ("context", args.get("context")),
    ];
    let mut context = Map::new();
    for (key, value) in given {
        match value {
            None => {}
            Some(Value::Object(m)) => context.extend(m.clone()),
            Some(_) => {
                return Ok(Check::fail(format!(
                    "Invalidly-formatted '{key}' parameter. Must be formed as a dict."
                )))
            }
        }
    }
    let body = match template.as_deref() {
        None | Some("") => host.sources().fetch(&source),
        Some("jinja") => host
            .sources()
            .render(&source, &context)
            .map(String::into_bytes),
        Some(other) => {
            return Err(StateError::args(format!(
                "template {other:?} is not supported for cmd.script (only jinja)"
            )))
        }
    };
    // Fetched now, so a dry run already reports a missing or broken script.
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return Ok(Check::fail(format!(
                "Unable to cache script {source} from saltenv '{saltenv}': {e}"
            )))
        }
    };
    let ext = source
        .split('?')
        .next()
        .and_then(|p| p.rsplit('/').next())
        .and_then(|f| f.rfind('.').filter(|i| *i > 0).map(|i| f[i..].to_string()))
        .unwrap_or_default();
    let (test_changes, test_comment) = test_report(&spec.stateful, &name, '\'');
    let done = format!("Command '{name}' run");
    Ok(Check::change(
        test_changes,
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            let ran = run_script(host, &spec, &body, &ext, script_args.as_deref());
            Ok(finish(ran, &spec.stateful, done))
        }),
    ))
}

fn run_script(
    host: &HostWrite,
    spec: &RunSpec,
    body: &[u8],
    ext: &str,
    script_args: Option<&str>,
) -> Result<Map<String, Value>, String> {
    let owner = match &spec.runas {
        Some(user) => Some(spec::lookup_user(host, user)?.uid),
        None => None,
    };
    let path = write_script(host, body, ext, owner)
        .map_err(|e| format!("cannot write the script to a temp file: {e}"))?;
    let mut line = shell_quote(&path.to_string_lossy());
    if let Some(a) = script_args.filter(|a| !a.is_empty()) {
        line.push(' ');
        line.push_str(a);
    }
    // Another thread forking while we held the script open for writing leaves
    // a child with that fd until it execs, and exec of our script then fails
    // with ETXTBSY (the shell exits 126). The script has not run: try again.
    let mut plain = spec.clone();
    plain.hide_output = false;
    let mut attempt = 0;
    let mut ran = plain.run(host, &line)?;
    while attempt < 20 && is_text_file_busy(&ran) {
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_millis(5 * attempt));
        ran = plain.run(host, &line)?;
    }
    if spec.hide_output {
        ran.insert("stdout".into(), Value::from(""));
        ran.insert("stderr".into(), Value::from(""));
    }
    Ok(ran)
    // `path` is removed when dropped here.
}

fn is_text_file_busy(ran: &Map<String, Value>) -> bool {
    ran.get("retcode").and_then(Value::as_i64) == Some(126)
        && ran
            .get("stderr")
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("Text file busy"))
}

/// A private (0700) temp copy of the script, closed before it is run (a file
/// still open for writing cannot be executed).
fn write_script(
    host: &HostWrite,
    body: &[u8],
    ext: &str,
    owner: Option<u32>,
) -> std::io::Result<tempfile::TempPath> {
    let mut file = host.private_temp_file("brine-script-", ext, 0o700)?;
    file.write_all(body)?;
    if let Some(uid) = owner {
        host.fchown(file.as_file(), Some(uid), None)?;
    }
    file.as_file().sync_all()?;
    Ok(file.into_temp_path())
}

/// Single-quotes a word for `sh -c`.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests;
