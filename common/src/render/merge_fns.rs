//! Salt's merging helpers as templates reach them: `grains.filter_by`
//! (`salt.utils.data.filter_by`) and `slsutil.merge`'s strategies.
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::Error;

use super::convert::py_str_jinja;
use super::dictupdate::{deep_copy, traverse, update};
use super::mutable::map_pairs;
use super::salt_fns::{fail, kw_or, SaltContext};
use crate::data::DEFAULT_DELIMITER;

/// `salt.utils.dictupdate.merge` with the renderer fixed to yaml (so `smart` is `recurse`).
pub(super) fn merge_with_strategy(
    a: &Value,
    b: &Value,
    strategy: &str,
    merge_lists: bool,
) -> Result<Value, Error> {
    match strategy {
        "smart" | "recurse" | "none" => Ok(update(&deep_copy(a), b, merge_lists)),
        "list" => {
            // merge_list: keys of a only; a key in both becomes [a_val, b_val].
            let b_pairs = map_pairs(b).unwrap_or_default();
            let pairs = map_pairs(a).unwrap_or_default().into_iter().map(|(k, v)| {
                match b_pairs.iter().find(|(bk, _)| bk == &k) {
                    Some((_, bv)) => (k, Value::from(vec![v, bv.clone()])),
                    None => (k, v),
                }
            });
            Ok(super::mutable::MutMap::new_value(pairs.collect::<Vec<_>>()))
        }
        "overwrite" => {
            // merge_overwrite replaces a's shared top-level keys in place first.
            if let Some(map) = a.downcast_object_ref::<super::mutable::MutMap>() {
                for (k, v) in map_pairs(b).unwrap_or_default() {
                    if map.get(&k).is_some() {
                        map.insert(k, v);
                    }
                }
            }
            Ok(update(&deep_copy(a), b, merge_lists))
        }
        "aggregate" => Err(fail(
            "merge strategy 'aggregate' (yamlex) is not supported by Brine",
        )),
        other => {
            tracing::warn!("Unknown merging strategy '{other}', fallback to recurse");
            Ok(update(&deep_copy(a), b, merge_lists))
        }
    }
}

/// `salt.utils.data.filter_by`, reached through `grains.filter_by`.
pub(super) fn filter_by(ctx: &SaltContext, pos: &[Value], kw: &Kwargs) -> Result<Value, Error> {
    let lookup = pos
        .first()
        .cloned()
        .or(kw.get::<Option<Value>>("lookup_dict")?)
        .ok_or_else(|| fail("grains.filter_by needs lookup_dict"))?;
    let grain: String = kw_or(kw, "grain", pos.get(1), "os_family".to_string())?;
    let merge: Option<Value> = pos.get(2).cloned().or(kw.get::<Option<Value>>("merge")?);
    // Salt looks `default` up as given: `default=3` finds the int key 3.
    let default: Value = match pos.get(3) {
        Some(v) => v.clone(),
        None => kw
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from("default")),
    };
    let base: Option<Value> = pos.get(4).cloned().or(kw.get::<Option<Value>>("base")?);
    let pairs =
        map_pairs(&lookup).ok_or_else(|| fail("grains.filter_by: lookup_dict must be a dict"))?;
    let val = traverse(&ctx.grains, &grain, DEFAULT_DELIMITER);
    let candidates: Vec<Value> = match &val {
        Some(v) if v.kind() == ValueKind::Seq => v.try_iter()?.collect(),
        Some(v) => vec![v.clone()],
        None => vec![],
    };
    let mut ret: Option<Value> = None;
    for each in &candidates {
        let each = py_str_jinja(each);
        // The first matching key ends the look-up for this grain value; a
        // match whose value is None lets the next grain value try, as in Salt.
        if let Some((_, v)) = pairs
            .iter()
            .find(|(k, _)| crate::target::fnmatch(&each, &py_str_jinja(k)))
        {
            ret = Some(v.clone()).filter(|v| !v.is_none());
        }
        if ret.is_some() {
            break;
        }
    }
    if ret.is_none() {
        ret = pairs
            .iter()
            .find(|(k, _)| k == &default)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_none());
    }
    if let Some(base) = base.filter(|b| b.is_true()) {
        if let Some((_, base_values)) = pairs.iter().find(|(k, _)| k == &base) {
            ret = Some(match ret {
                None => base_values.clone(),
                Some(r) if base_values.kind() == ValueKind::Map => {
                    if r.kind() != ValueKind::Map {
                        return Err(fail(
                            "filter_by default and look-up values must both be dictionaries.",
                        ));
                    }
                    update(&deep_copy(base_values), &r, false)
                }
                Some(r) => r,
            });
        }
    }
    // `if merge:`: a falsy merge ('' or {} from a missing pillar key) is skipped.
    if let Some(merge) = merge.filter(|m| m.is_true()) {
        if merge.kind() != ValueKind::Map {
            return Err(fail("filter_by merge argument must be a dictionary."));
        }
        ret = Some(match ret {
            None => merge,
            Some(r) => update(&r, &deep_copy(&merge), false),
        });
    }
    Ok(ret.unwrap_or(Value::from(())))
}
