//! Salt's `salt.utils.dictupdate` and `traverse_dict_and_list`, on template values,
//! so in-place merges (`defaults.merge`) are seen through every alias.
use minijinja::value::{Value, ValueKind};

use super::mutable::{map_pairs, seq_items, MutList, MutMap};

/// A deep copy (Python `copy.deepcopy`). An `OrderedDict` stays one, so a
/// pillar mapping merged into a formula's map keeps its key order in Salt's
/// `yaml` filter; keys stay what they were (`{2: ...}` keeps an int key).
pub fn deep_copy(v: &Value) -> Value {
    if let Some(map) = v.downcast_object_ref::<MutMap>() {
        let entries = map.entries().into_iter().map(|(k, v)| (k, deep_copy(&v)));
        return if map.is_ordered() {
            MutMap::new_ordered(entries)
        } else {
            MutMap::new_value(entries)
        };
    }
    match v.kind() {
        ValueKind::Map => MutMap::new_value(
            map_pairs(v)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, deep_copy(&v))),
        ),
        ValueKind::Seq => MutList::new_value(
            seq_items(v)
                .unwrap_or_default()
                .iter()
                .map(deep_copy)
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// `salt.utils.dictupdate.update(dest, upd, recursive_update=True, merge_lists)`.
/// Mutates `dest` when it is one of our maps; returns the updated map.
pub fn update(dest: &Value, upd: &Value, merge_lists: bool) -> Value {
    let Some(upd_pairs) = map_pairs(upd) else {
        return dest.clone();
    };
    let dest = match dest.downcast_object_ref::<MutMap>() {
        Some(_) => dest.clone(),
        None => MutMap::new_value(map_pairs(dest).unwrap_or_default()),
    };
    let map = dest
        .downcast_object_ref::<MutMap>()
        .expect("made a MutMap above");
    // Salt skips the recursive walk when no key is shared; the result is the same
    // shallow assignment either way, so one loop serves both.
    for (key, val) in upd_pairs {
        let existing = map.get(&key);
        let new = match existing {
            Some(d) if d.kind() == ValueKind::Map && val.kind() == ValueKind::Map => {
                update(&d, &val, merge_lists)
            }
            Some(d)
                if merge_lists && d.kind() == ValueKind::Seq && val.kind() == ValueKind::Seq =>
            {
                let mut merged: Vec<Value> = seq_items(&deep_copy(&d)).unwrap_or_default();
                for item in seq_items(&val).unwrap_or_default() {
                    if !merged.contains(&item) {
                        merged.push(item);
                    }
                }
                MutList::new_value(merged)
            }
            _ => val,
        };
        map.insert(key, new);
    }
    dest
}

/// `traverse_dict_and_list(data, "a:b:0", default, delimiter)`.
pub fn traverse(root: &Value, path: &str, delimiter: &str) -> Option<Value> {
    let mut cur = root.clone();
    for part in path.split(delimiter) {
        cur = match cur.kind() {
            ValueKind::Map => match defined(cur.get_item(&Value::from(part)).ok()?) {
                Some(found) => found,
                // Salt YAML-loads a key it did not find, for int and float keys
                // (`ufw:services:139`).
                None => {
                    let loaded = crate::yaml::load(part).ok()?;
                    if loaded.is_string() || loaded.is_array() || loaded.is_object() {
                        return None;
                    }
                    defined(cur.get_item(&super::convert::to_jinja(&loaded)).ok()?)?
                }
            },
            ValueKind::Seq => {
                let idx: i64 = part.parse().ok()?;
                defined(cur.get_item(&Value::from(idx)).ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn defined(v: Value) -> Option<Value> {
    (!v.is_undefined()).then_some(v)
}
