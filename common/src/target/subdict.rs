//! Grain and pillar targets: a port of `salt.utils.data.subdict_match` and
//! `traverse_dict_and_list` (Salt 3007.8).
//!
//! The expression `a:b:c` is ambiguous (key path `a:b` with value `c`, or
//! key `a` with value `b:c`), so Salt tries every split, longest key path
//! first; a key that itself contains the delimiter is unreachable, since the
//! path is split again when traversing. Values are compared as
//! `str(value).lower()` against the lowercased pattern, so `True` grains
//! match `true`, numbers match their decimal spelling and matching is
//! case-insensitive, while dict keys are looked up case-sensitively. The
//! regex is lowercased too, so `\D` means `\d` (Salt's behaviour, kept). A
//! list matches when any element does; a dict matches when the pattern names
//! one of its keys. `*:` as a prefix searches one level of every top-level
//! value.
//!
//! Every pattern handed to the value comparison is a suffix of the
//! expression, so patterns are identified by their byte offset and compiled
//! once per offset (lazily, so 10,000 minions share one compile).
use super::glob::Glob;
use super::py::{py_int, py_str, PyInt};
use super::pyre::{compile_match, translate, PyReError};
use super::TargetError;
use crate::data::Value;
use regex::Regex;
use std::cell::Cell;
use std::sync::OnceLock;

/// How a value is compared with the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `fnmatch` (grain, pillar).
    Glob,
    /// `==` after lowercasing (pillar_exact).
    Exact,
    /// `re.match` (grain_pcre, pillar_pcre).
    Regex,
}

/// Salt's recursion only descends as the data nests, but a hostile pattern
/// like `*:*:*:...` recurses deeply (CPython stops near 1000 frames with a
/// RecursionError) and branches at every level, which takes exponential
/// time in Salt too. Real targets need a few dozen steps; past these bounds
/// the answer is "no match".
const MAX_DEPTH: usize = 400;
const MAX_STEPS: usize = 100_000;

#[derive(Debug, Clone)]
pub(crate) struct SubdictMatcher {
    expr: String,
    delimiter: char,
    mode: Mode,
    /// Byte offsets of every `delimiter` and every `:` in `expr`, the split
    /// points of the top-level and of the recursive calls.
    cuts: Vec<usize>,
    colon_cuts: Vec<usize>,
    /// Compiled value patterns, by the byte offset of the suffix they match.
    candidates: Vec<(usize, OnceLock<Compiled>)>,
}

#[derive(Debug, Clone)]
enum Compiled {
    Glob(Glob),
    Exact(String),
    /// None: Python would raise re.error, which Salt logs and treats as no match.
    Regex(Option<Regex>),
}

impl SubdictMatcher {
    /// Prepares `expr`. Regex mode fails only on constructs Brine cannot
    /// evaluate; patterns Python itself rejects just never match, as in Salt.
    pub(crate) fn new(expr: &str, delimiter: char, mode: Mode) -> Result<Self, TargetError> {
        // Salt's recursive calls use the default ':' even when the top-level
        // delimiter differs, and strip a "*:" prefix, so every offset just
        // past either character can start a pattern.
        let mut offsets = vec![0];
        offsets.extend(
            expr.char_indices()
                .filter(|(_, c)| *c == delimiter || *c == ':')
                .map(|(i, c)| i + c.len_utf8()),
        );
        offsets.dedup();
        if mode == Mode::Regex {
            for &off in &offsets {
                let pattern = expr[off..].to_lowercase();
                if let Err(PyReError::Unsupported(feature)) = translate(&pattern) {
                    return Err(TargetError::UnsupportedRegex {
                        pattern,
                        feature: feature.to_string(),
                    });
                }
            }
        }
        let positions = |d: char| expr.match_indices(d).map(|(i, _)| i).collect::<Vec<_>>();
        Ok(SubdictMatcher {
            expr: expr.to_string(),
            delimiter,
            mode,
            cuts: positions(delimiter),
            colon_cuts: positions(':'),
            candidates: offsets.into_iter().map(|o| (o, OnceLock::new())).collect(),
        })
    }

    /// For grain_pcre/pillar_pcre: an error when no candidate pattern is a
    /// valid regex, so the target can never match by value (Salt logs
    /// "Invalid regex" on each attempt). Compiles the candidates now; they
    /// stay cached for matching.
    pub(crate) fn check_regexes(&self) -> Result<(), TargetError> {
        if self.mode != Mode::Regex {
            return Ok(());
        }
        for (off, slot) in &self.candidates {
            if matches!(
                slot.get_or_init(|| self.compile(*off)),
                Compiled::Regex(Some(_))
            ) {
                return Ok(());
            }
        }
        // Report the value after the last delimiter: what the user most
        // likely meant as the regex.
        let off = self.candidates.last().map_or(0, |(o, _)| *o);
        let pattern = self.expr[off..].to_lowercase();
        match compile_match(&pattern) {
            Err(PyReError::Invalid(message)) => Err(TargetError::BadRegex { pattern, message }),
            Err(PyReError::Unsupported(feature)) => Err(TargetError::UnsupportedRegex {
                pattern,
                feature: feature.to_string(),
            }),
            Ok(_) => Ok(()),
        }
    }

    /// How many value patterns the expression has (one per delimiter, plus one).
    pub(crate) fn candidate_count(&self) -> usize {
        self.candidates.len()
    }

    pub(crate) fn matches(&self, data: &Value) -> bool {
        let walk = Walk {
            m: self,
            steps: Cell::new(0),
        };
        walk.subdict(data, 0, self.delimiter, 0)
    }
}

/// One evaluation against one minion's data, with its step budget.
struct Walk<'a> {
    m: &'a SubdictMatcher,
    steps: Cell<usize>,
}

impl Walk<'_> {
    /// Counts one unit of work; false once the budget is spent.
    fn step(&self, depth: usize) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        n <= MAX_STEPS && depth <= MAX_DEPTH
    }

    /// `subdict_match(data, expr[off..], delimiter)`.
    fn subdict(&self, data: &Value, off: usize, delimiter: char, depth: usize) -> bool {
        let m = self.m;
        let all_cuts = if delimiter == m.delimiter {
            &m.cuts
        } else {
            &m.colon_cuts
        };
        let cuts = &all_cuts[all_cuts.partition_point(|&c| c < off)..];
        // Longest key first: `a:b:c` tries key `a:b`, then key `a`.
        for &abs in cuts.iter().rev() {
            if !self.step(depth) {
                return false;
            }
            let cut = abs - off;
            let expr = &m.expr[off..];
            let key = &expr[..cut];
            let (pattern_off, found) = if key == "*" {
                (off, Some(data))
            } else {
                (
                    off + cut + delimiter.len_utf8(),
                    traverse(data, key, delimiter),
                )
            };
            let Some(found) = found else { continue };
            match found {
                // Salt's "not found" default is `{}`, so an empty dict is
                // indistinguishable from a missing key.
                Value::Object(map) if map.is_empty() => continue,
                Value::Object(_) => {
                    if self.dict_match(found, pattern_off, depth + 1) {
                        return true;
                    }
                }
                Value::Array(members) => {
                    for member in members {
                        if member.is_object() && self.dict_match(member, pattern_off, depth + 1) {
                            return true;
                        }
                        if self.value_match(member, pattern_off) {
                            return true;
                        }
                    }
                }
                scalar => {
                    if self.value_match(scalar, pattern_off) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// `_dict_match(target, expr[off..])`.
    fn dict_match(&self, target: &Value, off: usize, depth: usize) -> bool {
        let Some(map) = target.as_object() else {
            return false;
        };
        if !self.step(depth) {
            return false;
        }
        let wildcard = self.m.expr[off..].starts_with("*:");
        let off = if wildcard { off + 2 } else { off };
        let pattern = &self.m.expr[off..];
        if pattern == "*" || map.contains_key(pattern) {
            return true;
        }
        if self.subdict(target, off, ':', depth + 1) {
            return true;
        }
        if wildcard {
            for value in map.values() {
                if !self.step(depth) {
                    return false;
                }
                let hit = match value {
                    Value::Object(_) => self.dict_match(value, off, depth + 1),
                    Value::Array(items) => items.iter().any(|i| self.value_match(i, off)),
                    other => self.value_match(other, off),
                };
                if hit {
                    return true;
                }
            }
        }
        false
    }

    /// `_match(value, expr[off..])`.
    fn value_match(&self, value: &Value, off: usize) -> bool {
        self.m.value_match(value, off)
    }
}

impl SubdictMatcher {
    fn value_match(&self, value: &Value, off: usize) -> bool {
        let text = py_str(value).to_lowercase();
        let fresh;
        let compiled = match self.candidates.binary_search_by_key(&off, |(o, _)| *o) {
            Ok(i) => self.candidates[i].1.get_or_init(|| self.compile(off)),
            // Unreachable by construction (every reachable offset is listed);
            // compiling on the spot keeps it correct anyway.
            Err(_) => {
                fresh = self.compile(off);
                &fresh
            }
        };
        match compiled {
            Compiled::Glob(g) => g.is_match(&text),
            Compiled::Exact(p) => text == *p,
            Compiled::Regex(Some(r)) => r.is_match(&text),
            Compiled::Regex(None) => false,
        }
    }

    fn compile(&self, off: usize) -> Compiled {
        let pattern = self.expr.get(off..).unwrap_or("").to_lowercase();
        match self.mode {
            Mode::Glob => Compiled::Glob(Glob::new(&pattern)),
            Mode::Exact => Compiled::Exact(pattern),
            Mode::Regex => Compiled::Regex(compile_match(&pattern).ok()),
        }
    }
}

/// `traverse_dict_and_list(data, key, {}, delimiter)`; None is the default.
///
/// Not ported: when a dict key is missing Salt retries with the key
/// YAML-loaded (`"1"` → `1`), which only matters for non-string keys; Brine's
/// data has string keys. Likewise a numeric component is not looked up as an
/// integer key of dicts inside a list.
fn traverse<'a>(data: &'a Value, key: &str, delimiter: char) -> Option<&'a Value> {
    let mut ptr = data;
    for each in key.split(delimiter) {
        ptr = match ptr {
            Value::Array(items) => match py_int(each) {
                // Not an index: the first dict in the list holding that key.
                PyInt::NotInt => items.iter().find_map(|i| i.as_object()?.get(each))?,
                PyInt::Int(idx) => {
                    let len = items.len() as i64;
                    let idx = if idx < 0 { idx + len } else { idx };
                    if idx < 0 || idx >= len {
                        return None;
                    }
                    &items[idx as usize]
                }
                PyInt::Huge => return None,
            },
            Value::Object(map) => map.get(each)?,
            // Strings, numbers, bools and None are not subscriptable by a
            // string key: TypeError, hence the default.
            _ => return None,
        };
    }
    Some(ptr)
}
