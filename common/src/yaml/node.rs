//! The composed document: nodes with resolved tags and their positions.
use super::resolve::Implicit;
use super::YamlError;

pub(crate) type NodeId = usize;

/// A node's tag after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Timestamp,
    Merge,
    Value,
    Binary,
    Omap,
    Pairs,
    Set,
    Seq,
    Map,
    PyUnicode,
    Other(String),
}

impl Tag {
    pub(crate) fn from_full(full: &str) -> Tag {
        let Some(core) = full.strip_prefix("tag:yaml.org,2002:") else {
            return Tag::Other(full.to_string());
        };
        match core {
            "null" => Tag::Null,
            "bool" => Tag::Bool,
            "int" => Tag::Int,
            "float" => Tag::Float,
            "str" => Tag::Str,
            "timestamp" => Tag::Timestamp,
            "merge" => Tag::Merge,
            "value" => Tag::Value,
            "binary" => Tag::Binary,
            "omap" => Tag::Omap,
            "pairs" => Tag::Pairs,
            "set" => Tag::Set,
            "seq" => Tag::Seq,
            "map" => Tag::Map,
            "python/unicode" => Tag::PyUnicode,
            _ => Tag::Other(full.to_string()),
        }
    }

    /// The full tag text, as PyYAML prints it in messages.
    pub(crate) fn full(&self) -> String {
        let core = match self {
            Tag::Null => "null",
            Tag::Bool => "bool",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Str => "str",
            Tag::Timestamp => "timestamp",
            Tag::Merge => "merge",
            Tag::Value => "value",
            Tag::Binary => "binary",
            Tag::Omap => "omap",
            Tag::Pairs => "pairs",
            Tag::Set => "set",
            Tag::Seq => "seq",
            Tag::Map => "map",
            Tag::PyUnicode => "python/unicode",
            Tag::Other(s) => return s.clone(),
        };
        format!("tag:yaml.org,2002:{core}")
    }

    pub(crate) fn from_implicit(i: Implicit) -> Tag {
        match i {
            Implicit::Bool => Tag::Bool,
            Implicit::Float => Tag::Float,
            Implicit::Int => Tag::Int,
            Implicit::Merge => Tag::Merge,
            Implicit::Null => Tag::Null,
            Implicit::Timestamp => Tag::Timestamp,
            Implicit::Value => Tag::Value,
            Implicit::Str => Tag::Str,
        }
    }
}

/// A 1-based position in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub line: usize,
    pub column: usize,
}

impl Mark {
    pub(crate) fn error(self, message: impl Into<String>) -> YamlError {
        YamlError::new(self.line, self.column, message)
    }
}

#[derive(Debug)]
pub(crate) enum Kind {
    Scalar(String),
    Seq(Vec<NodeId>),
    Map(Vec<(NodeId, NodeId)>),
}

impl Kind {
    /// PyYAML's node ids, used in its messages.
    pub(crate) fn id(&self) -> &'static str {
        match self {
            Kind::Scalar(_) => "scalar",
            Kind::Seq(_) => "sequence",
            Kind::Map(_) => "mapping",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Node {
    pub tag: Tag,
    pub kind: Kind,
    pub mark: Mark,
}

/// A composed document: the nodes (a graph: aliases share nodes and may
/// point back at a node that contains them) and the root if any.
#[derive(Debug)]
pub(crate) struct Document {
    pub nodes: Vec<Node>,
    pub root: Option<NodeId>,
}
