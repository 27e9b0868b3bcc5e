//! What each state function accepts: one table per module (in [`tables`]),
//! returned by [`StateModule::signatures`](super::StateModule::signatures),
//! plus [`COMMON_ARGS`], the arguments every state takes because the
//! executor handles them.
//!
//! Salt passes a misspelt argument to a state function's `**kwargs` and
//! ignores it; these tables are what lets Brine name it instead
//! ([`unknown_args`]). They stay complete because [`Args`](super::Args)
//! refuses, in debug builds, to read an argument its function's table does
//! not list, so every state test that reads an argument proves its entry.
pub(super) mod tables;

use common::data::{Map, Value};

/// One state function: its name and the arguments it accepts besides
/// [`COMMON_ARGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub name: &'static str,
    pub args: &'static [&'static str],
    /// Takes any keyword argument (Salt's `**kwargs` that the function
    /// really uses or deliberately ignores), so nothing given is unknown.
    pub any_args: bool,
}

impl Signature {
    /// A function that accepts exactly `args` (and the common ones).
    pub const fn new(name: &'static str, args: &'static [&'static str]) -> Self {
        Signature {
            name,
            args,
            any_args: false,
        }
    }

    /// A function that documents `args` but takes any keyword argument.
    pub const fn any(name: &'static str, args: &'static [&'static str]) -> Self {
        Signature {
            name,
            args,
            any_args: true,
        }
    }

    /// Whether `arg` is one this function documents or every state takes.
    pub fn documents(&self, arg: &str) -> bool {
        is_common(arg) || self.args.contains(&arg)
    }

    /// Whether giving `arg` is accepted: documented, or `**kwargs`.
    pub fn accepts(&self, arg: &str) -> bool {
        self.any_args || self.documents(arg)
    }
}

/// The arguments every state takes, handled by the executor rather than the
/// state function: Salt's requisites (`STATE_REQUISITE_KEYWORDS` and their
/// `_in` forms) and the runtime keywords Brine implements
/// (`STATE_RUNTIME_KEYWORDS` of Salt 3007's `salt/state.py`). Salt's runtime
/// keywords Brine does not implement (`reload_grains`, `reload_pillar`,
/// `cmd_opts_exclude`, `umask` outside `cmd`) are deliberately absent, so
/// they are reported rather than silently ignored. Internal keywords
/// (`__id__`, `__sls__`, `__env__`, …) are every `__`-prefixed key; see
/// [`is_common`].
pub const COMMON_ARGS: &[&str] = &[
    "state",
    "fun",
    "name",
    "names",
    "order",
    "require",
    "require_any",
    "require_in",
    "watch",
    "watch_any",
    "watch_in",
    "onchanges",
    "onchanges_any",
    "onchanges_in",
    "onfail",
    "onfail_any",
    "onfail_all",
    "onfail_in",
    "onfail_stop",
    "prereq",
    "prereq_in",
    "prerequired",
    "listen",
    "listen_in",
    "use",
    "use_in",
    "unless",
    "onlyif",
    "creates",
    "failhard",
    "retry",
    "check_cmd",
    "reload_modules",
    "saltenv",
    "parallel",
    "runas",
    "runas_password",
    "fire_event",
];

/// Salt's internal keywords the compiler and executor add to a low chunk
/// (`__id__`, `__sls__`, `__env__`, `__prereq__`, `__reqs_changed__`, …):
/// never a user's argument, so every `__`-prefixed key is accepted.
pub fn is_internal(arg: &str) -> bool {
    arg.starts_with("__")
}

/// Whether every state takes `arg` ([`COMMON_ARGS`] or internal).
pub fn is_common(arg: &str) -> bool {
    is_internal(arg) || COMMON_ARGS.contains(&arg)
}

/// The signature of `module.fun`, if Brine has that state function.
pub fn lookup(module: &str, fun: &str) -> Option<&'static Signature> {
    super::registry()
        .iter()
        .find(|m| m.name() == module)
        .and_then(|m| m.signature(fun))
}

/// The arguments of a low chunk (or of a state's argument map) that
/// `module.fun` does not accept: the misspelt ones Salt would ignore. For a
/// function Brine does not have, every argument not common to all states.
pub fn unknown_args(module: &str, fun: &str, args: &Map<String, Value>) -> Vec<String> {
    let sig = lookup(module, fun);
    args.keys()
        .filter(|k| match sig {
            Some(sig) => !sig.accepts(k),
            None => !is_common(k),
        })
        .cloned()
        .collect()
}

/// The names of a module's functions, for "unknown function" errors.
pub fn names(signatures: &[Signature]) -> Vec<&'static str> {
    signatures.iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests;
