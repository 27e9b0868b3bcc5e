//! PyYAML's YAML 1.1 implicit resolver: which tag a plain scalar gets.
//!
//! The patterns are PyYAML's own (yaml/resolver.py), tried in its order for
//! the scalar's first character. The loader uses this for plain scalars and
//! the dumper uses it to decide whether a string can be written unquoted.
use regex::Regex;
use std::sync::LazyLock;

/// The tags a plain scalar can resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Implicit {
    Bool,
    Float,
    Int,
    Merge,
    Null,
    Timestamp,
    Value,
    Str,
}

static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN))$"
    ))
    .expect("valid float pattern")
});

static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[-+]?0b[0-1_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
    ))
    .expect("valid int pattern")
});

static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
        r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"
    ))
    .expect("valid timestamp pattern")
});

fn is_bool(v: &str) -> bool {
    matches!(
        v,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_null(v: &str) -> bool {
    matches!(v, "" | "~" | "null" | "Null" | "NULL")
}

/// The tag PyYAML gives a plain (unquoted, untagged) scalar.
pub(crate) fn resolve_plain(v: &str) -> Implicit {
    let Some(first) = v.chars().next() else {
        return Implicit::Null;
    };
    // Same candidates, in the same order, as PyYAML's per-first-character table.
    match first {
        'y' | 'Y' | 'o' | 'O' | 't' | 'T' | 'f' | 'F' if is_bool(v) => Implicit::Bool,
        'n' | 'N' if is_bool(v) => Implicit::Bool,
        'n' | 'N' | '~' if is_null(v) => Implicit::Null,
        '-' | '+' | '.' | '0'..='9' if FLOAT.is_match(v) => Implicit::Float,
        '-' | '+' | '0'..='9' if INT.is_match(v) => Implicit::Int,
        '0'..='9' if TIMESTAMP.is_match(v) => Implicit::Timestamp,
        '<' if v == "<<" => Implicit::Merge,
        '=' if v == "=" => Implicit::Value,
        _ => Implicit::Str,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_pyyaml() {
        let cases = [
            ("", Implicit::Null),
            ("~", Implicit::Null),
            ("NULL", Implicit::Null),
            ("nULL", Implicit::Str),
            ("no", Implicit::Bool),
            ("y", Implicit::Str),
            ("1.0e3", Implicit::Str),
            ("1.0e+3", Implicit::Float),
            ("1e3", Implicit::Str),
            (".5", Implicit::Float),
            ("-.inf", Implicit::Float),
            ("-.nan", Implicit::Str),
            ("1:30", Implicit::Int),
            ("1:30.5", Implicit::Float),
            ("0x1F", Implicit::Int),
            ("0b12", Implicit::Str),
            ("0o17", Implicit::Str),
            ("089", Implicit::Str),
            ("2001-12-14", Implicit::Timestamp),
            ("2001-1-1 1:02:03", Implicit::Timestamp),
            ("2001-1-1", Implicit::Str),
            ("<<", Implicit::Merge),
            ("=", Implicit::Value),
        ];
        for (v, want) in cases {
            assert_eq!(resolve_plain(v), want, "{v:?}");
        }
    }
}
