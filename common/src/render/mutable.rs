//! Python-like mutable containers for templates.
//!
//! Salt's templates change dicts and lists in place (`{% do d.update(x) %}`,
//! `{% do l.append(x) %}`, `salt['defaults.merge'](d, x)`), and a change made
//! through one name is seen through every other name for the same object, as in
//! Python. MiniJinja's own containers are immutable, so data handed to templates
//! and every `{...}`/`[...]` literal (through the vendored hook) become these.
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};

use super::convert::{py_repr_jinja, to_data};

/// A Python `dict`: insertion-ordered, shared, mutable. `ordered` marks the
/// `OrderedDict`s Salt makes of SLS and pillar data: its `yaml` filter keeps
/// their key order but sorts every other dict's keys.
#[derive(Default)]
pub struct MutMap(Mutex<IndexMap<Value, Value>>, bool);

/// A Python `list`: shared and mutable.
#[derive(Default)]
pub struct MutList(Mutex<Vec<Value>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these containers in a state
    // worse than Python's, so a poisoned lock is simply taken over.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[allow(clippy::len_without_is_empty)]
impl MutMap {
    pub fn new_value(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::from_object(MutMap(Mutex::new(entries.into_iter().collect()), false))
    }
    /// An `OrderedDict` (data from SLS and pillar files).
    pub fn new_ordered(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::from_object(MutMap(Mutex::new(entries.into_iter().collect()), true))
    }
    pub fn is_ordered(&self) -> bool {
        self.1
    }
    pub fn entries(&self) -> Vec<(Value, Value)> {
        lock(&self.0)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    pub fn get(&self, key: &Value) -> Option<Value> {
        lock(&self.0).get(key).cloned()
    }
    pub fn insert(&self, key: Value, value: Value) {
        lock(&self.0).insert(key, value);
    }
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }
}

impl MutList {
    pub fn new_value(items: Vec<Value>) -> Value {
        Value::from_object(MutList(Mutex::new(items)))
    }
    pub fn items(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }
}

impl fmt::Debug for MutMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl fmt::Debug for MutList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.items()).finish()
    }
}

/// Any mapping a template can hand us (ours, or MiniJinja's own) as ordered pairs.
pub fn map_pairs(v: &Value) -> Option<Vec<(Value, Value)>> {
    if let Some(m) = v.downcast_object_ref::<MutMap>() {
        return Some(m.entries());
    }
    let obj = v.as_object()?;
    if obj.repr() != ObjectRepr::Map {
        return None;
    }
    Some(obj.try_iter_pairs()?.collect())
}

/// Any sequence as a vector of items (not strings, not maps).
pub fn seq_items(v: &Value) -> Option<Vec<Value>> {
    if let Some(l) = v.downcast_object_ref::<MutList>() {
        return Some(l.items());
    }
    let obj = v.as_object()?;
    match obj.repr() {
        ObjectRepr::Seq | ObjectRepr::Iterable => Some(obj.try_iter()?.collect()),
        _ => None,
    }
}

fn bad_args(method: &str, want: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{method}() takes {want}"),
    )
}

/// `dict.update(other)` / `dict.update(k=v)`: shallow, as Python does.
/// Charges the render's fuel for the items a method creates or walks.
/// MiniJinja charges its own containers as they grow but cannot see inside
/// these, so without this a loop doubling a list (`l.extend(l)`) or copying
/// it would grow without bound before the fuel ran out.
fn charge_items(state: &State, items: usize) -> Result<(), Error> {
    state.consume_fuel(items as u64)
}

/// The items of a method's first argument, for [`charge_items`].
fn first_len(args: &[Value]) -> usize {
    args.first().and_then(Value::len).unwrap_or(0)
}

fn dict_update(map: &MutMap, args: &[Value]) -> Result<(), Error> {
    let (pos, kwargs): (&[Value], minijinja::value::Kwargs) = minijinja::value::from_args(args)?;
    if pos.len() > 1 {
        return Err(bad_args("update", "at most 1 positional argument"));
    }
    if let Some(other) = pos.first() {
        let pairs = map_pairs(other).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("dict.update() needs a dict, got {}", other.kind()),
            )
        })?;
        let mut guard = lock(&map.0);
        for (k, v) in pairs {
            guard.insert(k, v);
        }
    }
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        lock(&map.0).insert(Value::from(key), value);
    }
    Ok(())
}

impl Object for MutMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get(key)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).keys().cloned().collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "update" => charge_items(state, first_len(args))?,
            "keys" | "values" | "items" | "iteritems" | "copy" => charge_items(state, self.len())?,
            _ => {}
        }
        match method {
            "update" => {
                dict_update(self, args)?;
                Ok(Value::from(()))
            }
            "get" => {
                let (key, default): (Value, Option<Value>) = minijinja::value::from_args(args)?;
                Ok(self
                    .get(&key)
                    .unwrap_or_else(|| default.unwrap_or(Value::from(()))))
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = minijinja::value::from_args(args)?;
                let mut guard = lock(&self.0);
                Ok(guard
                    .entry(key)
                    .or_insert_with(|| default.unwrap_or(Value::from(())))
                    .clone())
            }
            "pop" => {
                let (key, default): (Value, Option<Value>) = minijinja::value::from_args(args)?;
                // `d.pop(k, None)`: an explicit None is still a default.
                let default = default.or_else(|| (args.len() > 1).then(|| Value::from(())));
                match (lock(&self.0).shift_remove(&key), default) {
                    (Some(v), _) => Ok(v),
                    (None, Some(d)) => Ok(d),
                    (None, None) => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("KeyError: {}", py_repr_jinja(&key)),
                    )),
                }
            }
            "popitem" => match lock(&self.0).pop() {
                Some((k, v)) => Ok(Value::from(vec![k, v])),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "popitem(): dictionary is empty",
                )),
            },
            "keys" => Ok(MutList::new_value(lock(&self.0).keys().cloned().collect())),
            "values" => Ok(MutList::new_value(
                lock(&self.0).values().cloned().collect(),
            )),
            "items" | "iteritems" => Ok(MutList::new_value(
                self.entries()
                    .into_iter()
                    .map(|(k, v)| Value::from(vec![k, v]))
                    .collect(),
            )),
            "copy" => Ok(Value::from_object(MutMap(
                Mutex::new(lock(&self.0).clone()),
                self.1,
            ))),
            "clear" => {
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            "has_key" | "__contains__" => {
                let (key,): (Value,) = minijinja::value::from_args(args)?;
                Ok(Value::from(lock(&self.0).contains_key(&key)))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::pyfmt::py_str(&to_data(&Value::from_dyn_object(
            self.clone(),
        ))))
    }
}

impl Object for MutList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let guard = lock(&self.0);
        let idx = key.as_i64()?;
        let idx = if idx < 0 {
            guard.len().checked_sub(idx.unsigned_abs() as usize)?
        } else {
            idx as usize
        };
        guard.get(idx).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(lock(&self.0).len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "extend" => charge_items(state, first_len(args))?,
            "insert" | "pop" | "remove" | "index" | "count" | "sort" | "reverse" | "copy" => {
                charge_items(state, lock(&self.0).len())?
            }
            _ => {}
        }
        match method {
            "append" => {
                let (item,): (Value,) = minijinja::value::from_args(args)?;
                lock(&self.0).push(item);
                Ok(Value::from(()))
            }
            "extend" => {
                let (other,): (Value,) = minijinja::value::from_args(args)?;
                let items = seq_items(&other).ok_or_else(|| bad_args("extend", "a list"))?;
                lock(&self.0).extend(items);
                Ok(Value::from(()))
            }
            "insert" => {
                let (idx, item): (i64, Value) = minijinja::value::from_args(args)?;
                let mut guard = lock(&self.0);
                let len = guard.len() as i64;
                let at = if idx < 0 {
                    (len + idx).max(0)
                } else {
                    idx.min(len)
                };
                guard.insert(at as usize, item);
                Ok(Value::from(()))
            }
            "pop" => {
                let (idx,): (Option<i64>,) = minijinja::value::from_args(args)?;
                let mut guard = lock(&self.0);
                let len = guard.len() as i64;
                let idx = idx.unwrap_or(-1);
                let at = if idx < 0 { len + idx } else { idx };
                if at < 0 || at >= len {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop index out of range",
                    ));
                }
                Ok(guard.remove(at as usize))
            }
            "remove" => {
                let (item,): (Value,) = minijinja::value::from_args(args)?;
                let mut guard = lock(&self.0);
                match guard.iter().position(|x| x == &item) {
                    Some(at) => {
                        guard.remove(at);
                        Ok(Value::from(()))
                    }
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "list.remove(x): x not in list",
                    )),
                }
            }
            "index" => {
                let (item,): (Value,) = minijinja::value::from_args(args)?;
                match lock(&self.0).iter().position(|x| x == &item) {
                    Some(at) => Ok(Value::from(at)),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "list.index(x): x not in list",
                    )),
                }
            }
            "count" => {
                let (item,): (Value,) = minijinja::value::from_args(args)?;
                Ok(Value::from(
                    lock(&self.0).iter().filter(|x| *x == &item).count(),
                ))
            }
            "sort" => {
                lock(&self.0).sort();
                Ok(Value::from(()))
            }
            "reverse" => {
                lock(&self.0).reverse();
                Ok(Value::from(()))
            }
            "copy" => Ok(MutList::new_value(self.items())),
            "clear" => {
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::pyfmt::py_str(&to_data(&Value::from_dyn_object(
            self.clone(),
        ))))
    }
}
