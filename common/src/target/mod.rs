//! Target expressions, matched exactly as Salt 3007 matches them on a
//! minion (`salt/matchers/*.py`). The same code serves `top.sls` (`match:`)
//! and the master's targeting flags.
//!
//! | kind | Salt | what is compared |
//! |---|---|---|
//! | `glob` | `fnmatch` | minion id, case-sensitive |
//! | `pcre` | `re.match` | minion id, anchored at the start only |
//! | `list` | `list_match` | minion id in a comma-separated string (or a list) |
//! | `grain`, `grain_pcre` | `subdict_match` | `key:sub:value` in grains |
//! | `pillar`, `pillar_pcre`, `pillar_exact` | `subdict_match` | same, in pillar |
//! | `ipcidr` | `ipcidr_match` | `ipv4`/`ipv6` grains in a network, or equal to an address |
//! | `compound` | `compound_match` | `G@ P@ I@ J@ L@ E@ S@ N@` words with `and`/`or`/`not`/`( )` |
//! | `nodegroup` | `nodegroup_match` | the compound a master nodegroup stands for |
//!
//! **Errors.** An `Err` means the target is unusable. Salt does not raise
//! for most of these: it logs an error and treats the target as not
//! matching (only an invalid `pcre`/`E@` regex raises). A caller wanting
//! Salt's leniency logs the error and treats it as no match. Inside a
//! compound, problems Salt confines to one word are not errors: see
//! [`Compound::warnings`].
//!
//! **Known differences from Salt**, all in input Salt mishandles anyway:
//! unknown or self-including nodegroups are errors (Salt silently drops the
//! word, which usually breaks the expression); `word ( ... )` is a syntax
//! error (Salt evaluates it as a Python call, which fails unless
//! short-circuited); Python regex features the `regex` crate lacks
//! (look-around, backreferences, possessive/atomic) are errors; Salt's
//! YAML-reparse of missing dict keys (`"1"` → `1`) is not ported because
//! Brine's keys are strings; `str()` of non-ASCII characters Python deems
//! unprintable is approximated; unparsable addresses in the `ipv4`/`ipv6`
//! grains do not match (Salt raises); grain/pillar matching gives up ("no
//! match") after 100,000 steps, where Salt's recursion on patterns like
//! `*:*:*:...` would take exponential time.
//!
//! **Targets given as data.** A top.sls `list` target may be a YAML list:
//! use [`matches_value`] / [`Target::parse_value`] (or [`matches_list`]);
//! a list is also accepted for `compound` (one word per item, as Salt does).
mod cidr;
mod compound;
mod glob;
mod nodegroup;
mod py;
mod pyre;
mod subdict;
#[cfg(test)]
mod tests;

pub use compound::Compound;
pub use glob::fnmatch;

use crate::data::{Map, Value};
use cidr::CidrTarget;
use glob::Glob;
use pyre::{compile_match, PyReError};
use regex::Regex;
use subdict::{Mode, SubdictMatcher};

/// The matcher named by top.sls `match:` or by the master's `tgt_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Glob,
    Pcre,
    List,
    Grain,
    GrainPcre,
    Pillar,
    PillarPcre,
    PillarExact,
    Ipcidr,
    Compound,
    Nodegroup,
}

impl TargetKind {
    /// Every kind with its Salt matcher name, in a fixed order (the fuzz
    /// targets index it).
    pub const NAMES: [(&'static str, TargetKind); 11] = [
        ("glob", TargetKind::Glob),
        ("pcre", TargetKind::Pcre),
        ("list", TargetKind::List),
        ("grain", TargetKind::Grain),
        ("grain_pcre", TargetKind::GrainPcre),
        ("pillar", TargetKind::Pillar),
        ("pillar_pcre", TargetKind::PillarPcre),
        ("pillar_exact", TargetKind::PillarExact),
        ("ipcidr", TargetKind::Ipcidr),
        ("compound", TargetKind::Compound),
        ("nodegroup", TargetKind::Nodegroup),
    ];

    /// The kind for a Salt matcher name (`"grain_pcre"`...); None for names
    /// Brine does not implement (`range`, `data`, `pillar_exact` prefixes...).
    pub fn from_salt_name(s: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }

    pub fn salt_name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("glob", |(n, _)| n)
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.salt_name())
    }
}

/// Serialized as Salt's matcher name, the way `tgt_type` travels.
impl serde::Serialize for TargetKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.salt_name())
    }
}

impl<'de> serde::Deserialize<'de> for TargetKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        TargetKind::from_salt_name(&name).ok_or_else(|| {
            let shown: String = name.chars().take(40).collect();
            serde::de::Error::custom(format!("unknown target type {shown:?}"))
        })
    }
}

/// What a target is matched against: one minion's id, grains and pillar.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub id: &'a str,
    pub grains: &'a Value,
    pub pillar: &'a Value,
}

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// A regex Python rejects too.
    #[error("invalid regular expression {pattern:?}: {message}")]
    BadRegex { pattern: String, message: String },
    /// Valid Python regex syntax the `regex` crate cannot evaluate.
    #[error("regular expression {pattern:?} uses {feature}, which Brine cannot evaluate")]
    UnsupportedRegex { pattern: String, feature: String },
    /// A grain/pillar target without the `key<delimiter>value` separator.
    #[error("{kind} target {expr:?} has no {delimiter:?} between key and value")]
    MissingDelimiter {
        kind: TargetKind,
        expr: String,
        delimiter: char,
    },
    #[error("invalid IP address or network {0:?}")]
    BadCidr(String),
    /// Malformed compound syntax; `position` is the byte offset of `word`.
    #[error("invalid compound target at byte {position} ({word:?}): {message}")]
    Compound {
        position: usize,
        word: String,
        message: String,
    },
    /// A word of a compound target that cannot be used.
    #[error("compound target word {word:?} at byte {position}: {source}")]
    CompoundTerm {
        position: usize,
        word: String,
        source: Box<TargetError>,
    },
    /// `X@` with an engine Salt knows but Brine does not (`R@`, range).
    #[error("unsupported target engine {0}@")]
    UnknownEngine(char),
    #[error("unknown nodegroup {0:?}")]
    UnknownNodegroup(String),
    #[error("nodegroup {name:?} includes itself: {}", chain.join(" -> "))]
    NodegroupCycle { name: String, chain: Vec<String> },
    #[error("nodegroup {0:?} is neither a string nor a list")]
    BadNodegroup(String),
    #[error("nodegroup {0:?} expands to too many words")]
    NodegroupTooLarge(String),
    /// A non-string target where the kind needs one (lists are accepted by
    /// `list` and `compound` only).
    #[error("a {kind} target must be a string")]
    NotAString { kind: TargetKind },
}

/// A Python `re` pattern rewritten in `regex`-crate syntax (unanchored), for
/// state functions that take Python patterns (`file.replace`, `file.line`).
/// Constructs the `regex` crate cannot evaluate are refused, not approximated.
pub fn python_regex(pattern: &str) -> Result<String, TargetError> {
    pyre::translate(pattern).map_err(|e| regex_error(pattern, e))
}

pub(crate) fn regex_error(pattern: &str, e: PyReError) -> TargetError {
    match e {
        PyReError::Invalid(message) => TargetError::BadRegex {
            pattern: pattern.to_string(),
            message,
        },
        PyReError::Unsupported(feature) => TargetError::UnsupportedRegex {
            pattern: pattern.to_string(),
            feature: feature.to_string(),
        },
    }
}

/// One non-compound matcher, ready to run.
#[derive(Debug, Clone)]
pub(crate) enum Term {
    Glob(Glob),
    Pcre(Regex),
    /// Comma-separated ids, matched the way Salt's `list_match` does.
    List(String),
    /// A list target given as a list.
    ListItems(Vec<String>),
    Grain(SubdictMatcher),
    Pillar(SubdictMatcher),
    Cidr(CidrTarget),
}

impl Term {
    pub(crate) fn matches(&self, facts: &Facts) -> bool {
        match self {
            Term::Glob(g) => g.is_match(facts.id),
            Term::Pcre(r) => r.is_match(facts.id),
            Term::List(list) => list_contains(list, facts.id),
            Term::ListItems(items) => matches_list(items, facts.id),
            Term::Grain(m) => m.matches(facts.grains),
            Term::Pillar(m) => m.matches(facts.pillar),
            Term::Cidr(c) => c.matches(facts.grains),
        }
    }

    pub(crate) fn reads_pillar(&self) -> bool {
        matches!(self, Term::Pillar(_))
    }
}

/// Salt's `list_match` on a string: substring tests for `,id,`, `id,` at the
/// start and `,id` at the end, or equality. (So spaces are significant.)
fn list_contains(list: &str, id: &str) -> bool {
    if list == id {
        return true;
    }
    if let Some(rest) = list.strip_prefix(id) {
        if rest.starts_with(',') {
            return true;
        }
    }
    if let Some(head) = list.strip_suffix(id) {
        if head.ends_with(',') {
            return true;
        }
    }
    list.match_indices(',').any(|(i, _)| {
        list[i + 1..]
            .strip_prefix(id)
            .is_some_and(|rest| rest.starts_with(','))
    })
}

/// A `list` target given as a list (top.sls YAML list): exact membership.
pub fn matches_list(items: &[String], id: &str) -> bool {
    items.iter().any(|i| i == id)
}

/// A target parsed once, to be matched against many minions.
#[derive(Debug, Clone)]
pub struct Target(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Term(Term),
    Compound(Compound),
}

impl Target {
    /// Parses `expr` as a target of `kind`. `nodegroups` is the master's
    /// `nodegroups` map (used by `compound` and `nodegroup`).
    pub fn parse(
        expr: &str,
        kind: TargetKind,
        nodegroups: &Map<String, Value>,
    ) -> Result<Target, TargetError> {
        let subdict = |mode: Mode| -> Result<SubdictMatcher, TargetError> {
            if !expr.contains(':') {
                return Err(TargetError::MissingDelimiter {
                    kind,
                    expr: expr.to_string(),
                    delimiter: ':',
                });
            }
            let m = SubdictMatcher::new(expr, ':', mode)?;
            m.check_regexes()?;
            Ok(m)
        };
        let term = match kind {
            TargetKind::Glob => Term::Glob(Glob::new(expr)),
            TargetKind::Pcre => Term::Pcre(compile_match(expr).map_err(|e| regex_error(expr, e))?),
            TargetKind::List => Term::List(expr.to_string()),
            TargetKind::Grain => Term::Grain(subdict(Mode::Glob)?),
            TargetKind::GrainPcre => Term::Grain(subdict(Mode::Regex)?),
            TargetKind::Pillar => Term::Pillar(subdict(Mode::Glob)?),
            TargetKind::PillarPcre => Term::Pillar(subdict(Mode::Regex)?),
            TargetKind::PillarExact => Term::Pillar(subdict(Mode::Exact)?),
            TargetKind::Ipcidr => Term::Cidr(CidrTarget::parse(expr)?),
            TargetKind::Compound => {
                return Ok(Target(Inner::Compound(Compound::parse(expr, nodegroups)?)))
            }
            TargetKind::Nodegroup => {
                return Ok(Target(Inner::Compound(Compound::nodegroup(
                    expr, nodegroups,
                )?)))
            }
        };
        Ok(Target(Inner::Term(term)))
    }

    /// Like [`Target::parse`] for a target given as data: a string, or a
    /// list of strings for `list` (ids) and `compound` (words).
    pub fn parse_value(
        expr: &Value,
        kind: TargetKind,
        nodegroups: &Map<String, Value>,
    ) -> Result<Target, TargetError> {
        match (expr, kind) {
            (Value::String(s), _) => Target::parse(s, kind, nodegroups),
            // Python's `id in [...]`: non-string items never equal an id.
            (Value::Array(items), TargetKind::List) => Ok(Target(Inner::Term(Term::ListItems(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
            )))),
            (Value::Array(items), TargetKind::Compound) => {
                let words: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect();
                let words = words.ok_or(TargetError::NotAString { kind })?;
                Ok(Target(Inner::Compound(Compound::parse_words(
                    &words, nodegroups,
                )?)))
            }
            _ => Err(TargetError::NotAString { kind }),
        }
    }

    pub fn matches(&self, facts: &Facts) -> bool {
        match &self.0 {
            Inner::Term(t) => t.matches(facts),
            Inner::Compound(c) => c.matches(facts),
        }
    }

    /// Does matching read the minion's pillar? True for the pillar kinds and
    /// for a compound (or nodegroup, once expanded) with an `I@` or `J@`
    /// word; a caller that answers false may match with an empty pillar.
    pub fn needs_pillar(&self) -> bool {
        match &self.0 {
            Inner::Term(t) => t.reads_pillar(),
            Inner::Compound(c) => c.needs_pillar(),
        }
    }

    /// Compound problems Salt tolerates (see [`Compound::warnings`]).
    pub fn warnings(&self) -> &[TargetError] {
        match &self.0 {
            Inner::Term(_) => &[],
            Inner::Compound(c) => c.warnings(),
        }
    }
}

/// Does the minion described by `facts` match `expr` as a `kind` target?
pub fn matches(
    expr: &str,
    kind: TargetKind,
    facts: &Facts,
    nodegroups: &Map<String, Value>,
) -> Result<bool, TargetError> {
    Ok(Target::parse(expr, kind, nodegroups)?.matches(facts))
}

/// [`matches`] for a target given as data (see [`Target::parse_value`]).
pub fn matches_value(
    expr: &Value,
    kind: TargetKind,
    facts: &Facts,
    nodegroups: &Map<String, Value>,
) -> Result<bool, TargetError> {
    Ok(Target::parse_value(expr, kind, nodegroups)?.matches(facts))
}
