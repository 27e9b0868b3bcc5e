//! The constructor: composed nodes into Python-like objects, exactly as
//! PyYAML's `SafeConstructor` with Salt's `SaltYamlSafeLoader` overrides does
//! it, then into a JSON value as `json.dumps` would print them.
//!
//! Like PyYAML (which builds collections lazily, `deep=False`), a collection's
//! contents are built from a first-in first-out work queue after its parent,
//! so when a document has several errors the one reported is the one Salt
//! reports; it also keeps deep documents off the call stack.
use std::collections::{HashMap, VecDeque};

use super::node::{Document, Kind, Mark, Node, NodeId, Tag};
use super::number::{construct_float, construct_int, float_to_json, PyInt};
use super::{YamlError, MAX_DEPTH, MAX_NODES};
use crate::data::{KeyKind, Map, Value};

type ObjId = usize;

/// A Python object as PyYAML would build it.
#[derive(Debug)]
enum Obj {
    None,
    Bool(bool),
    Int(PyInt),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// A list, or an `!!omap`/`!!pairs` item tuple.
    List(Vec<ObjId>),
    Dict(Vec<(ObjId, ObjId)>),
    Set(Vec<ObjId>),
}

impl Obj {
    fn hashable(&self) -> bool {
        !matches!(self, Obj::List(_) | Obj::Dict(_) | Obj::Set(_))
    }
}

/// What makes two keys "the same" in a Python dict: `1`, `1.0` and `True`
/// are one key; `"1"` is another.
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyIdentity {
    None,
    Int(PyInt),
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
    /// NaN equals nothing, not even another NaN.
    Unique(usize),
}

/// Which deferred collection a queued job fills.
#[derive(Debug, Clone, Copy)]
enum Job {
    Seq,
    Map,
    Set,
    Omap(&'static str),
}

/// The key text PyYAML's merge code compares: a scalar's raw text, or for
/// collections the node itself.
#[derive(PartialEq, Eq, Hash)]
enum RawKey<'a> {
    Scalar(&'a str),
    Node(NodeId),
}

struct Constructor {
    nodes: Vec<Node>,
    objs: Vec<Obj>,
    /// The node each object was built from, for messages.
    origin: Vec<Mark>,
    cache: Vec<Option<ObjId>>,
    queue: VecDeque<(NodeId, ObjId, Job)>,
    nan_count: usize,
}

/// PyYAML's `construct_scalar`: a scalar's text, or for a mapping with a
/// `=` (YAML 1.1 "value") key, that key's value's text. Salt's override for
/// integers reads the node's text before that, so `!!int {=: 1}` fails there.
fn scalar_text<'n>(nodes: &'n [Node], n: NodeId, what: &str) -> Result<&'n str, YamlError> {
    let node = &nodes[n];
    match &node.kind {
        Kind::Scalar(s) => return Ok(s),
        Kind::Map(entries) if node.tag != Tag::Int => {
            if let Some((_, v)) = entries.iter().find(|(k, _)| nodes[*k].tag == Tag::Value) {
                // The value key may itself be a mapping: PyYAML recurses the same way.
                if *v != n && matches!(nodes[*v].kind, Kind::Scalar(_)) {
                    return scalar_text(nodes, *v, what);
                }
            }
        }
        Kind::Map(_) | Kind::Seq(_) => {}
    }
    Err(node.mark.error(format!(
        "expected a scalar node for {what}, but found {}",
        node.kind.id()
    )))
}

impl Constructor {
    fn push(&mut self, obj: Obj, mark: Mark) -> ObjId {
        self.objs.push(obj);
        self.origin.push(mark);
        self.objs.len() - 1
    }

    fn construct(&mut self, n: NodeId) -> Result<ObjId, YamlError> {
        if let Some(o) = self.cache[n] {
            return Ok(o);
        }
        let node = &self.nodes[n];
        let mark = node.mark;
        let obj = match &node.tag {
            Tag::Null => {
                scalar_text(&self.nodes, n, "a null")?;
                Obj::None
            }
            Tag::Bool => {
                let text = scalar_text(&self.nodes, n, "a boolean")?;
                match text.to_lowercase().as_str() {
                    "yes" | "true" | "on" => Obj::Bool(true),
                    "no" | "false" | "off" => Obj::Bool(false),
                    _ => {
                        return Err(mark.error(format!(
                        "cannot read '{text}' as a boolean (expected yes/no, true/false or on/off)"
                    )))
                    }
                }
            }
            Tag::Int => {
                let text = scalar_text(&self.nodes, n, "an integer")?;
                Obj::Int(construct_int(text).map_err(|m| mark.error(m))?)
            }
            Tag::Float => {
                let text = scalar_text(&self.nodes, n, "a float")?;
                Obj::Float(construct_float(text).map_err(|m| mark.error(m))?)
            }
            // Salt constructs timestamps as their text.
            Tag::Str | Tag::Timestamp | Tag::PyUnicode => {
                Obj::Str(scalar_text(&self.nodes, n, "a string")?.to_string())
            }
            Tag::Binary => {
                let text = scalar_text(&self.nodes, n, "binary data")?;
                Obj::Bytes(decode_base64(text).map_err(|m| mark.error(m))?)
            }
            Tag::Seq => return Ok(self.defer(n, Obj::List(Vec::new()), Job::Seq)),
            Tag::Map => return Ok(self.defer(n, Obj::Dict(Vec::new()), Job::Map)),
            Tag::Set => return Ok(self.defer(n, Obj::Set(Vec::new()), Job::Set)),
            Tag::Omap => {
                return Ok(self.defer(n, Obj::List(Vec::new()), Job::Omap("an ordered map")))
            }
            Tag::Pairs => return Ok(self.defer(n, Obj::List(Vec::new()), Job::Omap("pairs"))),
            Tag::Merge | Tag::Value | Tag::Other(_) => {
                let hint = match &node.tag {
                    Tag::Merge => {
                        " ('<<' merges mappings only as a mapping key; quote it to use the text)"
                    }
                    Tag::Value => {
                        " (a plain '=' is only allowed as a mapping key; quote it to use the text)"
                    }
                    _ => "",
                };
                return Err(mark.error(format!(
                    "could not determine a constructor for the tag '{}'{hint}",
                    node.tag.full()
                )));
            }
        };
        let id = self.push(obj, mark);
        self.cache[n] = Some(id);
        Ok(id)
    }

    fn defer(&mut self, n: NodeId, placeholder: Obj, job: Job) -> ObjId {
        let id = self.push(placeholder, self.nodes[n].mark);
        self.cache[n] = Some(id);
        self.queue.push_back((n, id, job));
        id
    }

    fn run_queue(&mut self) -> Result<(), YamlError> {
        while let Some((n, id, job)) = self.queue.pop_front() {
            let filled = match job {
                Job::Seq => Obj::List(self.sequence(n)?),
                Job::Map => Obj::Dict(self.mapping(n)?),
                Job::Set => Obj::Set(self.mapping(n)?.into_iter().map(|(k, _)| k).collect()),
                Job::Omap(what) => Obj::List(self.ordered_pairs(n, what)?),
            };
            self.objs[id] = filled;
        }
        Ok(())
    }

    fn sequence(&mut self, n: NodeId) -> Result<Vec<ObjId>, YamlError> {
        let node = &self.nodes[n];
        let Kind::Seq(items) = &node.kind else {
            return Err(node.mark.error(format!(
                "expected a sequence node, but found {}",
                node.kind.id()
            )));
        };
        let items = items.clone();
        items.into_iter().map(|i| self.construct(i)).collect()
    }

    /// `!!omap` and `!!pairs`: a sequence of one-item mappings, kept as a
    /// list of (key, value) tuples.
    fn ordered_pairs(&mut self, n: NodeId, what: &str) -> Result<Vec<ObjId>, YamlError> {
        let node = &self.nodes[n];
        let Kind::Seq(items) = &node.kind else {
            return Err(node.mark.error(format!(
                "while constructing {what}: expected a sequence, but found {}",
                node.kind.id()
            )));
        };
        let mut out = Vec::new();
        for sub in items.clone() {
            let subnode = &self.nodes[sub];
            let entries = match &subnode.kind {
                Kind::Map(e) if e.len() == 1 => e,
                Kind::Map(e) => {
                    return Err(subnode.mark.error(format!(
                    "while constructing {what}: expected a single mapping item, but found {} items",
                    e.len()
                )))
                }
                other => {
                    return Err(subnode.mark.error(format!(
                        "while constructing {what}: expected a mapping of length 1, but found {}",
                        other.id()
                    )))
                }
            };
            let (k, v) = entries[0];
            let subnode_mark = subnode.mark;
            let key = self.construct(k)?;
            let value = self.construct(v)?;
            out.push(self.push(Obj::List(vec![key, value]), subnode_mark));
        }
        Ok(out)
    }

    /// Salt's `construct_mapping`: merge keys flattened, unhashable keys and
    /// duplicate keys refused.
    fn mapping(&mut self, n: NodeId) -> Result<Vec<(ObjId, ObjId)>, YamlError> {
        let node = &self.nodes[n];
        if !matches!(node.kind, Kind::Map(_)) {
            return Err(node.mark.error(format!(
                "expected a mapping node, but found {}",
                node.kind.id()
            )));
        }
        self.flatten(n, 0)?;
        let Kind::Map(entries) = &self.nodes[n].kind else {
            return Ok(Vec::new());
        };
        let entries = entries.clone();
        let mut seen: HashMap<KeyIdentity, Mark> = HashMap::new();
        let mut texts: HashMap<String, ObjId> = HashMap::new();
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = self.construct(k)?;
            let key_mark = self.nodes[k].mark;
            if !self.objs[key].hashable() {
                return Err(key_mark.error(format!(
                    "found unacceptable key: a {} cannot be a mapping key",
                    self.nodes[k].kind.id()
                )));
            }
            let value = self.construct(v)?;
            let identity = self.identity(key);
            if let Some(first) = seen.get(&identity) {
                return Err(key_mark.error(format!(
                    "found conflicting ID '{}' (first defined on line {}, column {})",
                    self.py_str(key),
                    first.line,
                    first.column
                )));
            }
            seen.insert(identity, key_mark);
            // Python keeps `139` and `'139'` apart; as JSON text they are one
            // key, and one would silently replace the other.
            if let Ok(text) = self.json_key(key) {
                if let Some(other) = texts.insert(text.clone(), key) {
                    return Err(key_mark.error(format!(
                        "the keys {} and {} are distinct in Python but are the same key {text:?} \
                         in Brine's data, which cannot hold both",
                        self.py_repr(other),
                        self.py_repr(key)
                    )));
                }
            }
            out.push((key, value));
        }
        Ok(out)
    }

    /// Salt's `flatten_mapping`: `<<` entries replaced by the merged
    /// mappings' entries (later sources first, as Salt reverses the list),
    /// minus keys the mapping sets itself. Like Salt it rewrites the node, so
    /// flattening twice is harmless.
    fn flatten(&mut self, n: NodeId, depth: usize) -> Result<(), YamlError> {
        if depth > MAX_DEPTH {
            return Err(self.nodes[n]
                .mark
                .error(format!("merge keys nested deeper than {MAX_DEPTH} levels")));
        }
        let entries = match &mut self.nodes[n].kind {
            Kind::Map(e) => std::mem::take(e),
            _ => return Ok(()),
        };
        let mut merge = Vec::new();
        let mut kept = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match self.nodes[k].tag {
                Tag::Merge => match &self.nodes[v].kind {
                    Kind::Map(_) => {
                        self.flatten(v, depth + 1)?;
                        merge.extend(self.map_entries(v));
                    }
                    Kind::Seq(subs) => {
                        let mut submerge = Vec::new();
                        for sub in subs.clone() {
                            if !matches!(self.nodes[sub].kind, Kind::Map(_)) {
                                let node = &self.nodes[sub];
                                return Err(node.mark.error(format!(
                                    "while constructing a mapping: expected a mapping for merging, but found {}",
                                    node.kind.id()
                                )));
                            }
                            self.flatten(sub, depth + 1)?;
                            submerge.push(self.map_entries(sub));
                        }
                        for entries in submerge.into_iter().rev() {
                            merge.extend(entries);
                        }
                    }
                    Kind::Scalar(_) => {
                        return Err(self.nodes[v].mark.error(
                            "while constructing a mapping: expected a mapping or list of mappings for merging, but found scalar",
                        ))
                    }
                },
                Tag::Value => {
                    self.nodes[k].tag = Tag::Str;
                    kept.push((k, v));
                }
                _ => kept.push((k, v)),
            }
        }
        let mut result = if merge.is_empty() {
            kept
        } else {
            let existing: std::collections::HashSet<RawKey> =
                kept.iter().map(|(k, _)| self.raw_key(*k)).collect();
            let mut all: Vec<(NodeId, NodeId)> = merge
                .into_iter()
                .filter(|(k, _)| !existing.contains(&self.raw_key(*k)))
                .collect();
            all.extend(kept);
            all
        };
        // A mapping with more entries than the document has nodes must repeat
        // a key node, which construction reports as a conflict within this
        // prefix; cutting it here keeps alias-multiplied merges bounded.
        result.truncate(self.nodes.len() + 1);
        if let Kind::Map(e) = &mut self.nodes[n].kind {
            *e = result;
        }
        Ok(())
    }

    fn map_entries(&self, n: NodeId) -> Vec<(NodeId, NodeId)> {
        match &self.nodes[n].kind {
            Kind::Map(e) => e.clone(),
            _ => Vec::new(),
        }
    }

    fn raw_key(&self, k: NodeId) -> RawKey<'_> {
        match &self.nodes[k].kind {
            Kind::Scalar(s) => RawKey::Scalar(s),
            _ => RawKey::Node(k),
        }
    }

    fn identity(&mut self, key: ObjId) -> KeyIdentity {
        match &self.objs[key] {
            Obj::None => KeyIdentity::None,
            Obj::Bool(b) => KeyIdentity::Int(PyInt::from_i128(i128::from(*b))),
            Obj::Int(i) => KeyIdentity::Int(i.clone()),
            Obj::Float(f) if f.is_nan() => {
                self.nan_count += 1;
                KeyIdentity::Unique(self.nan_count)
            }
            Obj::Float(f) if f.fract() == 0.0 && f.abs() < 1e38 => {
                KeyIdentity::Int(PyInt::from_i128(*f as i128))
            }
            Obj::Float(f) => KeyIdentity::Float(f.to_bits()),
            Obj::Str(s) => KeyIdentity::Str(s.clone()),
            Obj::Bytes(b) => KeyIdentity::Bytes(b.clone()),
            Obj::List(_) | Obj::Dict(_) | Obj::Set(_) => KeyIdentity::Unique(usize::MAX),
        }
    }

    /// Python's `str()` of a key, as Salt's message prints it.
    fn py_str(&self, key: ObjId) -> String {
        match &self.objs[key] {
            Obj::None => "None".into(),
            Obj::Bool(true) => "True".into(),
            Obj::Bool(false) => "False".into(),
            Obj::Int(i) => i.to_decimal(),
            Obj::Float(f) => crate::pyfmt::float_repr(*f),
            Obj::Str(s) => s.clone(),
            Obj::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
            Obj::List(_) | Obj::Dict(_) | Obj::Set(_) => "?".into(),
        }
    }

    /// Refuses documents that would expand past the limits once aliases are
    /// copied out, before any copying happens, and structures that contain
    /// themselves (PyYAML builds those, but no JSON value can hold one).
    fn check_expansion(&self, root: ObjId, mark: Mark) -> Result<(), YamlError> {
        // Iterative post-order walk with memoised sizes. An object met again
        // while it is still on the walk's path is its own ancestor.
        let n = self.objs.len();
        let mut size: Vec<u64> = vec![0; n];
        let mut depth: Vec<usize> = vec![0; n];
        let mut state = vec![0u8; n]; // 0 new, 1 on the path, 2 done
        let mut stack = vec![(root, false)];
        while let Some((o, children_done)) = stack.pop() {
            if !children_done {
                match state[o] {
                    2 => continue,
                    1 => {
                        let at = self.origin[o];
                        return Err(at.error(format!(
                            "found a recursive structure: the collection at line {}, column {} \
                             contains an alias to itself, which JSON cannot represent",
                            at.line, at.column
                        )));
                    }
                    _ => {}
                }
                state[o] = 1;
                stack.push((o, true));
                stack.extend(self.children(o).into_iter().map(|c| (c, false)));
                continue;
            }
            let children = self.children(o);
            size[o] = children
                .iter()
                .fold(1u64, |acc, c| acc.saturating_add(size[*c]));
            let collection = !self.objs[o].hashable();
            depth[o] =
                usize::from(collection) + children.iter().map(|c| depth[*c]).max().unwrap_or(0);
            state[o] = 2;
        }
        if size[root] > MAX_NODES as u64 {
            return Err(mark.error(format!(
                "document expands to more than {MAX_NODES} values once aliases are copied out \
                 (an alias bomb?)"
            )));
        }
        if depth[root] > MAX_DEPTH {
            return Err(mark.error(format!(
                "document nests deeper than {MAX_DEPTH} levels once aliases are copied out"
            )));
        }
        Ok(())
    }

    fn children(&self, o: ObjId) -> Vec<ObjId> {
        match &self.objs[o] {
            Obj::List(items) | Obj::Set(items) => items.clone(),
            Obj::Dict(entries) => entries.iter().map(|(_, v)| *v).collect(),
            _ => Vec::new(),
        }
    }

    fn to_value(&self, o: ObjId) -> Result<Value, YamlError> {
        Ok(match &self.objs[o] {
            Obj::None => Value::Null,
            Obj::Bool(b) => Value::Bool(*b),
            Obj::Int(i) => i.to_json(),
            Obj::Float(f) => float_to_json(*f),
            Obj::Str(s) => Value::String(s.clone()),
            Obj::Bytes(b) => Value::String(bytes_to_text(b)?),
            Obj::List(items) | Obj::Set(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.to_value(*i))
                    .collect::<Result<_, _>>()?,
            ),
            Obj::Dict(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (k, v) in entries {
                    let kind = self.key_kind(*k);
                    map.insert_with_kind(self.json_key(*k)?, kind, self.to_value(*v)?);
                }
                Value::Object(map)
            }
        })
    }

    /// What a key was, for a template to get it back (`139`, not `'139'`).
    fn key_kind(&self, k: ObjId) -> KeyKind {
        match &self.objs[k] {
            Obj::None => KeyKind::Null,
            Obj::Bool(_) => KeyKind::Bool,
            Obj::Int(_) => KeyKind::Int,
            Obj::Float(_) => KeyKind::Float,
            _ => KeyKind::Str,
        }
    }

    fn py_repr(&self, k: ObjId) -> String {
        match &self.objs[k] {
            Obj::Str(s) => crate::pyfmt::str_repr(s),
            _ => self.py_str(k),
        }
    }

    /// The key text `json.dumps` prints for a non-string key.
    fn json_key(&self, k: ObjId) -> Result<String, YamlError> {
        Ok(match &self.objs[k] {
            Obj::None => "null".into(),
            Obj::Bool(b) => b.to_string(),
            Obj::Int(i) => i.to_decimal(),
            Obj::Float(f) => crate::pyfmt::json_float(*f),
            Obj::Str(s) => s.clone(),
            Obj::Bytes(b) => bytes_to_text(b)?,
            Obj::List(_) | Obj::Dict(_) | Obj::Set(_) => String::new(),
        })
    }
}

/// Salt's `salt.utils.data.decode` turns UTF-8 bytes into text; JSON has no
/// bytes, so anything else is refused.
fn bytes_to_text(b: &[u8]) -> Result<String, YamlError> {
    String::from_utf8(b.to_vec()).map_err(|_| {
        YamlError::new(
            1,
            1,
            "!!binary data is not UTF-8 text, which this data model cannot hold",
        )
    })
}

/// Python's lenient `base64.decodebytes`: characters outside the alphabet are
/// skipped and padding ends the data.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    if !text.is_ascii() {
        return Err(
            "failed to convert base64 data into ascii: it contains non-ASCII characters".into(),
        );
    }
    let mut out = Vec::new();
    let mut quad = 0;
    let mut left: u32 = 0;
    let mut pads = 0;
    for b in text.bytes() {
        if b == b'=' {
            pads += 1;
            if quad >= 2 && quad + pads >= 4 {
                return Ok(out);
            }
            continue;
        }
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        let v = u32::from(v);
        match quad {
            0 => left = v,
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => out.push(((left << 6) | v) as u8),
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok(out),
        1 => Err("failed to decode base64 data: the number of data characters cannot be 1 more than a multiple of 4".into()),
        _ => Err("failed to decode base64 data: incorrect padding".into()),
    }
}

/// Builds the value of a composed document.
pub(crate) fn construct(doc: Document) -> Result<Value, YamlError> {
    let Some(root) = doc.root else {
        return Ok(Value::Null);
    };
    let root_mark = doc.nodes[root].mark;
    let mut c = Constructor {
        cache: vec![None; doc.nodes.len()],
        nodes: doc.nodes,
        objs: Vec::new(),
        origin: Vec::new(),
        queue: VecDeque::new(),
        nan_count: 0,
    };
    let obj = c.construct(root)?;
    c.run_queue()?;
    c.check_expansion(obj, root_mark)?;
    c.to_value(obj)
}
