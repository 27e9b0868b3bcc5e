//! `module`: run execution functions as a state (salt/states/module.py).
//! `module.run` runs every time, so `check` always returns a Change and the
//! functions run in `apply`, never in a dry run (even read-only ones, as in
//! Salt). `module.wait` does nothing until something it watches changes;
//! then `mod_watch` (Salt's alias of `run`) runs it.
//!
//! Both of Salt 3007's syntaxes: the new one names the functions as the
//! state's keys (`- test.echo: [text]`, several per state, each a list of
//! positional values and one-key maps as keyword arguments); the legacy one
//! names the function in `name` and passes its arguments by name (`m_name`
//! for an argument called `name`, and the other `m_` names Salt reserves).
//! Salt picks legacy when any key has no `.` in it, or when there is none.
//! The functions are the rows of [`crate::exec::FUNCTIONS`].
use common::data::{Map, Value};
use common::pyfmt::py_str;

use super::{Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};
use crate::exec::{Call, ExecCall, ExecEnv, ExecError};

pub struct Module;

impl super::StateModule for Module {
    fn name(&self) -> &'static str {
        "module"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::MODULE
    }

    fn check(&self, fun: &str, args: &Args, _host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "run" => Ok(check_run(args)),
            // Salt: `{"result": True, "comment": ""}` until watched. The
            // functions are still looked up (and so checked) now.
            "wait" | "watch" => Ok(match check_run(args) {
                Check::Fail { comment, .. } => Check::fail(comment),
                _ => Check::clean(""),
            }),
            other => Err(StateError::args(format!(
                "module.{other} is not a state function"
            ))),
        }
    }

    fn watchable(&self) -> bool {
        true
    }

    fn mod_watch_signature(&self) -> Option<&'static super::Signature> {
        Some(&super::signatures::tables::MODULE_MOD_WATCH)
    }

    fn mod_watch(
        &self,
        _fun: &str,
        args: &Args,
        _host: &HostRead,
    ) -> Option<Result<Check, StateError>> {
        Some(Ok(check_run(args)))
    }
}

/// The keys Salt's `run` sets aside before choosing a syntax.
const SET_ASIDE: [&str; 2] = ["sfun", "__reqs__"];

fn check_run(args: &Args) -> Check {
    let mut kwargs = args.kwargs();
    for key in SET_ASIDE {
        kwargs.remove(key);
    }
    let legacy = kwargs.is_empty() || kwargs.keys().any(|k| !k.contains('.'));
    if legacy {
        legacy_run(args.name(), kwargs)
    } else {
        new_run(kwargs)
    }
}

/// Why a parsed call cannot run inside a state, if it cannot.
fn not_runnable(call: &Call) -> Option<String> {
    let name = call.function.name;
    match call.call {
        ExecCall::Master(_) => Some(ExecError::AnsweredByMaster(name).to_string()),
        // A state run carries the minion's pillar but not its grains.
        ExecCall::GrainsItems | ExecCall::GrainsGet { .. } => Some(format!(
            "{name} is not available inside module.run (a state run has no grains here; use {{{{ grains }}}} in the SLS)"
        )),
        _ => None,
    }
}

/// Runs a parsed call on the host being applied.
fn call(call: &Call, host: &HostWrite) -> Result<Value, ExecError> {
    call.run(&ExecEnv {
        host: host.read(),
        grains: &Value::Null,
        // grains.setval in a state run is refused by the call naming why.
        grains_file: None,
    })
}

/// Salt's `_legacy_run`: `name` is the function, the other keys its
/// arguments by name.
fn legacy_run(name: String, mut kwargs: Map<String, Value>) -> Check {
    let function = match crate::exec::lookup(&name) {
        Ok(f) => f,
        Err(_) => return Check::fail(format!("Module function {name} is not available")),
    };
    if kwargs.contains_key("returner") {
        return Check::fail(format!(
            "Module function {name}: Brine does not implement the argument 'returner'"
        ));
    }
    // Salt's `**kwargs` of the function, given as a map named `kwargs`.
    if function.params.iter().any(|p| p.keyword_only) {
        if let Some(Value::Object(extra)) = kwargs.get("kwargs").cloned() {
            kwargs.remove("kwargs");
            kwargs.extend(extra);
        }
    }
    let mut bound = Map::new();
    for (key, value) in kwargs {
        let param = match key.as_str() {
            "m_name" | "m_fun" | "m_names" | "m_state" | "m_saltenv" => key[2..].to_string(),
            // Salt reserves these for the state itself: only `m_` reaches
            // the function.
            "name" | "fun" | "names" | "state" | "saltenv" => continue,
            _ => key,
        };
        bound.insert(param, value);
    }
    let parsed = match Call::parse(&name, &[], &bound) {
        Ok(c) => c,
        Err(ExecError::MissingArgument { argument, .. }) => {
            let shown = match argument.as_str() {
                "name" | "fun" | "names" | "state" | "saltenv" => format!("m_{argument}"),
                _ => argument,
            };
            return Check::fail(format!("The following arguments are missing: {shown}"));
        }
        Err(e) => return Check::fail(format!("Module function {name}: {e}")),
    };
    if let Some(why) = not_runnable(&parsed) {
        return Check::fail(format!("Module function {name} is not available: {why}"));
    }
    Check::change(
        Map::new(),
        format!("Module function {name} is set to execute"),
        ApplyFn(move |host: &HostWrite| {
            Ok(match call(&parsed, host) {
                Ok(ret) => Applied {
                    result: get_result(&ret),
                    comment: format!("Module function {name} executed"),
                    changes: Some(super::changes([("ret", ret)])),
                },
                Err(e) => Applied::failed(
                    format!("Module function {name} threw an exception. Exception: {e}"),
                    Map::new(),
                ),
            })
        }),
    )
}

/// Salt's `_run`: every key is a function (`mod.fun`, or `mod.fun:tag` to
/// call one twice), its value the list of its arguments.
fn new_run(kwargs: Map<String, Value>) -> Check {
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    let mut calls = Vec::new();
    for (key, given) in kwargs {
        let fun = key.split(':').next().unwrap_or_default().to_string();
        let (args, kw) = match split_args(&given) {
            Ok(split) => split,
            Err(why) => {
                failed.push(format!("'{key}' failed: {why}"));
                continue;
            }
        };
        match Call::parse(&fun, &args, &kw) {
            Err(ExecError::UnknownFunction(_)) => missing.push(fun),
            Err(e) => failed.push(format!("'{key}' failed: {e}")),
            Ok(c) => match not_runnable(&c) {
                Some(why) => failed.push(format!("'{key}' failed: {why}")),
                None => calls.push((key, fun, c)),
            },
        }
    }
    // Salt's wording, down to its plural (`len(x) > 1 or ""` prints True).
    let plural = |n: usize| if n > 1 { "True" } else { "" };
    let to_run: Vec<&str> = calls.iter().map(|(_, f, _)| f.as_str()).collect();
    let tests = format!(
        "Function{} {} to be executed.",
        plural(to_run.len()),
        to_run.join(", ")
    );
    if !missing.is_empty() {
        let comment = format!(
            "Unavailable function{}: {}.",
            plural(missing.len()),
            missing.join(", ")
        );
        let test_comment = if to_run.is_empty() {
            comment.clone()
        } else {
            format!("{comment} {tests}")
        };
        return Check::Fail {
            comment,
            test_comment: Some(test_comment),
        };
    }
    if !failed.is_empty() {
        return Check::fail(failed.join(", "));
    }
    Check::change(
        Map::new(),
        tests,
        ApplyFn(move |host: &HostWrite| {
            let mut failures = Vec::new();
            let mut success = Vec::new();
            let mut changes = Map::new();
            for (key, _, parsed) in calls {
                match call(&parsed, host) {
                    Ok(ret) if !get_result(&ret) => match &ret {
                        Value::Object(m) => failures.push(format!(
                            "'{key}' failed: {}",
                            m.get("comment")
                                .map(py_str)
                                .unwrap_or_else(|| "(error message N/A)".into())
                        )),
                        _ => failures.push(format!("'{key}': False")),
                    },
                    Ok(ret) => {
                        let said = match &ret {
                            Value::Object(m) => {
                                m.get("comment").map(py_str).unwrap_or("Success".into())
                            }
                            other => py_str(other),
                        };
                        success.push(format!("{key}: {said}"));
                        changes.insert(key, ret);
                    }
                    Err(e) => failures.push(format!("'{key}' failed: {e}")),
                }
            }
            let result = failures.is_empty();
            failures.extend(success);
            Ok(Applied {
                result,
                comment: failures.join(", "),
                changes: Some(changes),
            })
        }),
    )
}

/// A new-syntax argument list: plain values are positional, maps keyword
/// arguments (Salt's `call_function`). No value at all is no arguments.
fn split_args(given: &Value) -> Result<(Vec<Value>, Map<String, Value>), String> {
    let mut args = Vec::new();
    let mut kwargs = Map::new();
    match given {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) => kwargs.extend(m.clone()),
                    other => args.push(other.clone()),
                }
            }
        }
        other => {
            return Err(format!(
                "its arguments must be a list, got {}",
                common::pyfmt::py_repr(other)
            ))
        }
    }
    Ok((args, kwargs))
}

/// Salt's `_get_result`: a boolean return is the result; a map fails when
/// it holds `result: False` or a non-zero `retcode`, at any depth.
fn get_result(ret: &Value) -> bool {
    match ret {
        Value::Bool(b) => *b,
        Value::Object(m) => dict_result(m),
        _ => true,
    }
}

fn dict_result(node: &Map<String, Value>) -> bool {
    for (key, val) in node {
        // Python's `val != 0`: False and 0.0 equal 0 too.
        let zero = *val == Value::Bool(false) || val.as_f64() == Some(0.0);
        if (key == "result" && *val == Value::Bool(false)) || (key == "retcode" && !zero) {
            return false;
        }
        if let Value::Object(m) = val {
            if !dict_result(m) {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests;
