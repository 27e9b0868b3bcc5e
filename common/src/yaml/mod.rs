//! YAML as Salt reads and writes it.
//!
//! Reading: [`load`] returns what `salt.utils.yaml.safe_load` returns (Salt 3007,
//! `SaltYamlSafeLoader` over PyYAML's libyaml `CSafeLoader`), printed the way
//! `json.dumps` would print it.
//!
//! Writing: [`dump_flow`] / [`dump_block`] are `salt.utils.yaml.safe_dump` with
//! `default_flow_style=True/False` (the Jinja `yaml` filter and friends), and
//! [`serialize`] is `salt.serializers.yaml.serialize` (`slsutil.serialize('yaml')`).
//! [`encode_scalar`], [`dquote`] and [`squote`] are the `yaml_encode`,
//! `yaml_dquote` and `yaml_squote` Jinja filters.
//!
//! # Why saphyr-parser events plus our own composer and resolver
//!
//! Salt's meaning of a document is PyYAML's: YAML 1.1 implicit typing (`yes`/`on`
//! are booleans, `1:30` is 90, `1e3` and even `1.0e3` are strings because 1.1
//! floats need a dot and a signed exponent, timestamps stay strings because
//! Salt overrides their constructor, `0644` is 644 because Salt strips leading
//! zeros), `<<` merge keys with Salt's exact precedence, a "found conflicting
//! ID" error for duplicate keys that compares keys as Python does (`1`, `1.0`
//! and `true` collide), non-string keys printed the way `json.dumps` prints
//! them, and explicit tags such as `!!binary` or `!!omap`. serde-saphyr (the
//! serde front end) was checked first: its untyped deserialisation resolves
//! plain scalars by YAML 1.2 rules (it has switches for 1.1 booleans and legacy
//! octal, but none for 1.1 floats, sexagesimals, Salt's zero stripping or
//! Salt's merge order), it hides tags and the original scalar style from a
//! `serde_json::Value` target, and it sits on its own parser fork rather than
//! on saphyr-parser. Getting Salt's answers out of it would mean fighting it at
//! every step, so we take the maintained `saphyr-parser` event stream (which
//! keeps anchors, tags, styles and positions) and do PyYAML's composer,
//! resolver and constructor ourselves, which are small. serde_yaml is
//! deprecated and not used.
//!
//! saphyr-parser follows YAML 1.2 and is stricter than libyaml in places
//! SLS files do reach (`key:<TAB>value`, flow lists whose lines start left of
//! the key, quoted strings continued at column 0, `[-]`, `[a]#comment`); for
//! those the composer rewrites the text the way libyaml reads it and parses
//! again (patch.rs). Where YAML 1.1 reads `?x`, `:x`, `|x` in a flow
//! collection as indicators, the composer does too.
//!
//! Writing is a port of libyaml's emitter (which PyYAML's `CSafeDumper`, and
//! so Salt, uses), driven by PyYAML's `SafeRepresenter` rules, because the
//! output must be byte-identical to Salt's.
//!
//! # Limits
//!
//! Aliases can make a small document expand enormously ("billion laughs"), so
//! a document may expand to at most [`MAX_NODES`] values and nest at most
//! [`MAX_DEPTH`] collections deep (libyaml's own nesting limit is 1000;
//! saphyr-parser stops flow collections at 255 levels).
//!
//! # Known differences from Salt
//!
//! - Values JSON cannot hold: see [`load`].
//! - An alias in PyYAML shares one Python object, and dumping that object
//!   writes `&id001`/`*id001`; a JSON value has no identity, so dumps write
//!   the copies out.
//! - `!!set` keeps document order; Python's set order is its hash order.
//! - libyaml counts U+0085, U+2028 and U+2029 as line breaks (YAML 1.1);
//!   the loader, on saphyr-parser (YAML 1.2), reads them as ordinary
//!   characters, so `k: a<U+2028>b` loads here where libyaml refuses it, and
//!   a quoted scalar the emitter folds at one of them (as libyaml's does)
//!   loads back with the indentation after it. Found by the `yaml_load`
//!   fuzz target; left as is because such text does not occur in state trees.
//! - libyaml refuses tabs that start a line in block context or follow
//!   `- `; this module accepts them. An anchor name containing `:` or other
//!   characters libyaml does not allow is an error here, where libyaml reads
//!   `&a:b` as the anchor `a` before `:b`.
//! - Error positions follow libyaml's where the two parsers stop at the same
//!   token; elsewhere they can differ by a token (the message says what was
//!   expected either way).
use crate::data::Value;

mod compose;
mod construct;
mod dump;
mod emit;
mod encode;
mod errors;
mod node;
mod number;
mod patch;
mod resolve;
mod source;
#[cfg(test)]
mod tests;

pub use dump::{dump, dump_block, dump_flow, serialize, DumpOptions};
pub use encode::{dquote, encode_scalar, squote};

/// The most values one document may expand to once aliases are copied out.
pub const MAX_NODES: usize = 10_000_000;
/// The deepest nesting of sequences and mappings a document may have (also
/// after expanding aliases), matching libyaml's limit.
pub const MAX_DEPTH: usize = 1000;

/// A YAML syntax or construction error, with a 1-based position in the text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl YamlError {
    pub(crate) fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        YamlError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Parses one YAML document the way `salt.utils.yaml.safe_load` does. Empty → `Null`.
///
/// Where Python has values JSON cannot hold, this picks the nearest thing:
/// integers beyond 64 bits become floats, `!!binary`
/// becomes the decoded text (an error if it is not UTF-8, as Salt's
/// `salt.utils.data.decode` would leave bytes), and `!!set` becomes a list.
pub fn load(text: &str) -> Result<Value, YamlError> {
    let doc = compose::compose(text)?;
    construct::construct(doc)
}
