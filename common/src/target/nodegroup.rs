//! Nodegroup expansion: a port of `salt.utils.minions.nodegroup_comp`.
//!
//! Salt splices a nodegroup's words into the compound expression. The quirks
//! are kept because they change results:
//! - a group without nested `N@` is spliced *without* parentheses, so
//!   `N@g and x` with `g: "a or b"` means `a or (b and x)`;
//! - a group made only of plain words becomes `L@w1,w2` (a list), or
//!   `E@w1,w2` (a regex!) if any word contains one of `( [ { \ ? } ] )`;
//! - nested groups are wrapped in parentheses.
//!
//! Where Salt logs an error and drops the word (unknown group, a group that
//! includes itself, a value that is neither string nor list), Brine fails.
use super::py::{py_str, split_words};
use super::TargetError;
use crate::data::{Map, Value};

pub(crate) const OPERATORS: [&str; 5] = ["and", "or", "not", "(", ")"];

/// Expanding nested groups can multiply words exponentially; Salt would
/// grind on, Brine refuses past this many.
const MAX_WORDS: usize = 100_000;

/// `nodegroup_comp(name, nodegroups)`: the words replacing `N@name`.
pub(crate) fn expand(
    name: &str,
    nodegroups: &Map<String, Value>,
) -> Result<Vec<String>, TargetError> {
    comp(name, nodegroups, &mut Vec::new(), true)
}

fn comp(
    name: &str,
    nodegroups: &Map<String, Value>,
    chain: &mut Vec<String>,
    first_call: bool,
) -> Result<Vec<String>, TargetError> {
    if chain.iter().any(|n| n == name) {
        let mut cycle = chain.clone();
        cycle.push(name.to_string());
        return Err(TargetError::NodegroupCycle {
            name: name.to_string(),
            chain: cycle,
        });
    }
    let words: Vec<String> = match nodegroups.get(name) {
        None => return Err(TargetError::UnknownNodegroup(name.to_string())),
        Some(Value::String(s)) => split_words(s)
            .into_iter()
            .map(|(_, w)| w.to_string())
            .collect(),
        // List items are words as they are (not split), stringified.
        Some(Value::Array(items)) => items.iter().map(py_str).collect(),
        Some(_) => return Err(TargetError::BadNodegroup(name.to_string())),
    };
    chain.push(name.to_string());
    let mut ret = Vec::with_capacity(words.len() + 2);
    let mut expanded = false;
    for word in &words {
        if OPERATORS.contains(&word.as_str()) {
            ret.push(word.clone());
        } else if word.chars().count() >= 3 && word.starts_with("N@") {
            expanded = true;
            let inner = comp(&word[2..], nodegroups, chain, false)?;
            ret.extend(inner);
        } else {
            ret.push(word.clone());
        }
        // Every nested call returns at least one word, so bounding each
        // result also bounds the number of calls.
        if ret.len() > MAX_WORDS {
            return Err(TargetError::NodegroupTooLarge(name.to_string()));
        }
    }
    if !ret.is_empty() {
        ret.insert(0, "(".to_string());
        ret.push(")".to_string());
    }
    chain.pop();
    if expanded || !first_call {
        if !first_call {
            if let Some(joined) = as_list_or_regex(&words) {
                return Ok(joined);
            }
        }
        Ok(ret)
    } else {
        Ok(as_list_or_regex(&words).unwrap_or(words))
    }
}

/// `_nodegroup_regex`: a group of plain words (no operators, no `*`, no
/// `X@` prefixes) is a list of minion ids, or a regex if a word has regex
/// punctuation in it.
fn as_list_or_regex(words: &[String]) -> Option<Vec<String>> {
    if words.iter().any(|w| OPERATORS.contains(&w.as_str())) {
        return None;
    }
    let typed = |w: &String| {
        let b = w.as_bytes();
        b.len() >= 2 && b[0].is_ascii_uppercase() && b[1] == b'@'
    };
    if words.iter().any(|w| w.contains('*') || typed(w)) {
        return None;
    }
    const REGEX_CHARS: [char; 8] = ['(', '[', '{', '\\', '?', '}', ']', ')'];
    let engine = if words.iter().any(|w| w.contains(REGEX_CHARS)) {
        "E@"
    } else {
        "L@"
    };
    Some(vec![format!("{engine}{}", words.join(","))])
}
