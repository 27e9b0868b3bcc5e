//! Brine patch: hooks that let an embedder decide what map and list literals
//! become, and what `str % value` means. Salt templates mutate literals in place
//! (`{% do d.update(...) %}`, `{% do l.append(x) %}`) and format with `'%s' % x`;
//! upstream MiniJinja has neither, so the embedder installs both once per process.
use std::sync::OnceLock;

use crate::error::Error;
use crate::value::{Value, ValueMap};

/// A map literal's entries, in source order.
pub type MapEntries = Vec<(Value, Value)>;

/// What an embedder installs.
pub struct Hooks {
    /// Builds the value of a `{...}` literal.
    pub map_literal: fn(MapEntries) -> Value,
    /// Builds the value of a `[...]` literal.
    pub list_literal: fn(Vec<Value>) -> Value,
    /// Evaluates `"fmt" % arg`.
    pub string_format: fn(&str, &Value) -> Result<Value, Error>,
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Installs the hooks; the first call wins for the life of the process.
pub fn install(hooks: Hooks) {
    let _ = HOOKS.set(hooks);
}

pub(crate) fn map_literal(map: ValueMap) -> Value {
    match HOOKS.get() {
        Some(h) => (h.map_literal)(map.into_iter().collect()),
        None => Value::from_object(map),
    }
}

pub(crate) fn map_literal_pairs(pairs: MapEntries) -> Value {
    match HOOKS.get() {
        Some(h) => (h.map_literal)(pairs),
        None => Value::from_object(pairs.into_iter().collect::<ValueMap>()),
    }
}

pub(crate) fn list_literal(list: Vec<Value>) -> Value {
    match HOOKS.get() {
        Some(h) => (h.list_literal)(list),
        None => Value::from_object(list),
    }
}

pub(crate) fn string_format(fmt: &str, arg: &Value) -> Option<Result<Value, Error>> {
    HOOKS.get().map(|h| (h.string_format)(fmt, arg))
}
