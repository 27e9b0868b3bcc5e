//! The composer: saphyr-parser's events into a node graph, as libyaml's
//! `CParser` composes it for PyYAML. Aliases point at the anchored node (a
//! graph, not copies), scalar tags are resolved with PyYAML's 1.1 rules, and
//! the checks libyaml/PyYAML make here but a YAML 1.2 parser does not
//! (control characters, one document only, duplicate anchors, anchor names,
//! YAML 1.1 flow indicators) are done here.
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag as ParserTag};

use super::errors::{check_characters, scan_error};
use super::node::{Document, Kind, Mark, Node, NodeId, Tag};
use super::patch::{self, Refusal, DASH_STAND_IN};
use super::resolve::resolve_plain;
use super::source::{alias_name, anchor_name, mark_of, Source};
use super::{YamlError, MAX_DEPTH};

/// An open collection; its node id is reserved when it starts, so aliases
/// inside it can refer to it as they can in PyYAML.
enum Frame {
    Seq {
        id: NodeId,
        tag: Tag,
        mark: Mark,
        items: Vec<NodeId>,
    },
    Map {
        id: NodeId,
        tag: Tag,
        mark: Mark,
        entries: Vec<(NodeId, NodeId)>,
        key: Option<NodeId>,
    },
}
struct Composer<'a> {
    src: Source<'a>,
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    root: Option<NodeId>,
    /// Parser anchor id → the node.
    anchors: HashMap<usize, NodeId>,
    /// Anchor name → where it was first defined.
    anchor_names: HashMap<&'a str, Mark>,
    /// For each open collection: for flow ones (`[...]`, `{...}` and the
    /// single pairs inside them) the character index of the outermost flow
    /// collection's opening bracket, for block ones `None`.
    flow: Vec<Option<usize>>,
    /// Character ranges of quoted and block scalars, when asked for.
    content_spans: Option<Vec<(usize, usize)>>,
    /// A rewrite for the error `event` returned, when it has one.
    refusal: Option<Refusal>,
}

impl<'a> Composer<'a> {
    /// Checks the anchor's name and points the parser's anchor id at `node`.
    fn register_anchor(&mut self, id: usize, span: &Span, node: NodeId) -> Result<(), YamlError> {
        if id == 0 {
            return Ok(());
        }
        let (name, mark) = anchor_name(&self.src, span).map_err(|(error, end)| {
            self.refusal = end.map(Refusal::AnchorNameEnd);
            error
        })?;
        if let Some(first) = self.anchor_names.get(name) {
            return Err(mark.error(format!(
                "found duplicate anchor '{name}'; first occurrence on line {}, column {}",
                first.line, first.column
            )));
        }
        self.anchor_names.insert(name, mark);
        self.anchors.insert(id, node);
        Ok(())
    }

    fn attach(&mut self, id: NodeId) {
        match self.stack.last_mut() {
            None => self.root = Some(id),
            Some(Frame::Seq { items, .. }) => items.push(id),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(id),
                Some(k) => entries.push((k, id)),
            },
        }
    }

    fn open(&mut self, frame: Frame, span: &Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(mark_of(span).error(format!(
                "exceeded maximum nesting depth ({MAX_DEPTH} nested sequences and mappings)"
            )));
        }
        // A flow collection's event span ends with its opening bracket.
        let last = span
            .end
            .index()
            .checked_sub(1)
            .map(|i| self.src.rest_at(i).chars().next());
        let flow = match self.flow.last() {
            Some(Some(outer)) => Some(*outer),
            _ if matches!(last, Some(Some('[' | '{'))) => span.end.index().checked_sub(1),
            _ => None,
        };
        self.flow.push(flow);
        self.stack.push(frame);
        Ok(())
    }

    /// Whether `event` happens inside a flow collection.
    fn in_flow(&self, event: &Event) -> bool {
        // For an end event the innermost open collection is the one ending.
        match event {
            Event::Scalar(..)
            | Event::Alias(_)
            | Event::SequenceStart(..)
            | Event::MappingStart(..)
            | Event::SequenceEnd
            | Event::MappingEnd => self.flow_opener().is_some(),
            _ => true,
        }
    }

    /// Where the outermost open flow collection starts, if inside one.
    pub(crate) fn flow_opener(&self) -> Option<usize> {
        self.flow.last().copied().flatten()
    }

    /// libyaml (YAML 1.1) treats `?`, `:`, `|` and `>` at the start of a
    /// token inside a flow collection as indicators, where saphyr-parser
    /// (YAML 1.2) reads plain text. Returns the scalar to use instead, or
    /// `None` when the scalar stands as it is.
    fn flow_indicator(&mut self, value: &str, span: &Span) -> Result<Option<NodeId>, YamlError> {
        if self.flow_opener().is_none() {
            return Ok(None);
        }
        // Plain scalars cannot start with '&' or '!', so those are properties.
        let has_properties = self.src.rest_at(span.start.index()).starts_with(['&', '!']);
        let mark = mark_of(span);
        match value.chars().next() {
            Some(c @ ('|' | '>')) => Err(mark.error(format!(
                "found character '{c}' that cannot start any token (block scalars are not \
                 allowed inside [...] or {{...}}; quote the text)"
            ))),
            // After an anchor or tag libyaml reads `:x` as a pair with an empty
            // key; saphyr-parser's text is kept there, as rare as that is.
            Some(':') if has_properties => Ok(None),
            Some('?') if has_properties => Err(mark.error(
                "did not find expected ',' or ']' (a '?' after an anchor or tag starts a key; \
                 quote the text)",
            )),
            Some(':') => Err(mark.error(
                "while parsing a flow node: did not find expected node content \
                 (a ':' that starts an item is read as a value indicator; quote the text)",
            )),
            Some('?') => {
                let rest = value[1..].trim_start();
                let key = Node {
                    tag: Tag::from_implicit(resolve_plain(rest)),
                    kind: Kind::Scalar(rest.to_string()),
                    mark,
                };
                match self.stack.last() {
                    // `{?x: v}`: the `?` only marks the key.
                    Some(Frame::Map { key: None, .. }) => Ok(Some(self.push_node(key))),
                    // `[?x]`: a single-pair mapping with a null value.
                    Some(Frame::Seq { .. }) => {
                        let key = self.push_node(key);
                        let null = self.push_node(Node {
                            tag: Tag::Null,
                            kind: Kind::Scalar(String::new()),
                            mark,
                        });
                        Ok(Some(self.push_node(Node {
                            tag: Tag::Map,
                            kind: Kind::Map(vec![(key, null)]),
                            mark,
                        })))
                    }
                    _ => Err(mark.error(
                        "while parsing a flow node: did not find expected node content \
                         (a '?' that starts a value is read as a key indicator; quote the text)",
                    )),
                }
            }
            _ => Ok(None),
        }
    }

    /// A node id for a collection that is still being read.
    fn reserve(&mut self, mark: Mark) -> NodeId {
        self.push_node(Node {
            tag: Tag::Null,
            kind: Kind::Scalar(String::new()),
            mark,
        })
    }

    /// libyaml refuses a mapping entry that starts with `:` unless an
    /// explicit `?` key came before it; saphyr-parser gives it a null key.
    fn check_empty_key(&self, span: &Span) -> Result<(), YamlError> {
        let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        let rest = self.src.rest_at(span.start.index());
        if !is_key || !rest.starts_with(':') {
            return Ok(());
        }
        let before = &self.src.text[..self.src.byte_offset(span.start.index())];
        if before.trim_end().ends_with('?') {
            return Ok(());
        }
        Err(mark_of(span).error(if self.flow_opener().is_some() {
            "while parsing a flow node: did not find expected node content \
             (found ':' with no key before it)"
        } else {
            "while parsing a block mapping: did not find expected key \
             (found ':' with no key before it)"
        }))
    }

    fn push_node(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn event(&mut self, event: Event<'a>, span: Span) -> Result<(), YamlError> {
        let mark = mark_of(&span);
        match event {
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let node = *node;
                    self.attach(node);
                }
                None => {
                    let name = alias_name(&self.src, &span);
                    return Err(mark.error(format!("found undefined alias '{name}'")));
                }
            },
            Event::Scalar(value, style, anchor, tag) => {
                if let Some(spans) = &mut self.content_spans {
                    if style != ScalarStyle::Plain {
                        spans.push((span.start.index(), span.end.index()));
                    }
                }
                if style == ScalarStyle::Plain && value.is_empty() && span.is_empty() {
                    self.check_empty_key(&span)?;
                }
                if style == ScalarStyle::Plain {
                    if let Some(node) = self.flow_indicator(&value, &span)? {
                        self.attach(node);
                        return Ok(());
                    }
                }
                let tag = scalar_tag(&value, style, tag);
                // The scanner grows its strings in steps; a tree of a big
                // rendered SLS holds thousands, so keep only what is used.
                let mut value = value.into_owned();
                value.shrink_to_fit();
                let id = self.push_node(Node {
                    tag,
                    kind: Kind::Scalar(value),
                    mark,
                });
                self.register_anchor(anchor, &span, id)?;
                self.attach(id);
            }
            Event::SequenceStart(anchor, tag) => {
                let id = self.reserve(mark);
                self.register_anchor(anchor, &span, id)?;
                let frame = Frame::Seq {
                    id,
                    tag: collection_tag(tag, Tag::Seq),
                    mark,
                    items: Vec::new(),
                };
                self.open(frame, &span)?;
            }
            Event::MappingStart(anchor, tag) => {
                let id = self.reserve(mark);
                self.register_anchor(anchor, &span, id)?;
                let frame = Frame::Map {
                    id,
                    tag: collection_tag(tag, Tag::Map),
                    mark,
                    entries: Vec::new(),
                    key: None,
                };
                self.open(frame, &span)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.flow.pop();
                let (id, node) = match self.stack.pop() {
                    Some(Frame::Seq {
                        id,
                        tag,
                        mark,
                        items,
                    }) => (
                        id,
                        Node {
                            tag,
                            kind: Kind::Seq(items),
                            mark,
                        },
                    ),
                    Some(Frame::Map {
                        id,
                        tag,
                        mark,
                        entries,
                        ..
                    }) => (
                        id,
                        Node {
                            tag,
                            kind: Kind::Map(entries),
                            mark,
                        },
                    ),
                    None => {
                        return Err(
                            mark.error("found the end of a collection that was never started")
                        )
                    }
                };
                self.nodes[id] = node;
                self.attach(id);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd => {}
        }
        Ok(())
    }
}

fn full_tag(tag: &ParserTag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

/// libyaml marks a scalar "plain implicit" when it is untagged and plain, or
/// tagged with the bare `!` and not empty; only those go through the
/// implicit resolver (so `! ` alone is an empty string, not null).
fn scalar_tag(value: &str, style: ScalarStyle, tag: Option<Cow<'_, ParserTag>>) -> Tag {
    match tag.map(|t| full_tag(&t)) {
        None if style == ScalarStyle::Plain => Tag::from_implicit(resolve_plain(value)),
        None => Tag::Str,
        Some(t) if t == "!" && style == ScalarStyle::Plain && value.is_empty() => Tag::Str,
        Some(t) if t == "!" => Tag::from_implicit(resolve_plain(value)),
        Some(t) => Tag::from_full(&t),
    }
}

fn collection_tag(tag: Option<Cow<'_, ParserTag>>, default: Tag) -> Tag {
    match tag.map(|t| full_tag(&t)) {
        None => default,
        Some(t) if t == "!" => default,
        Some(t) => Tag::from_full(&t),
    }
}

/// Each rewrite of text libyaml accepts but saphyr-parser refuses (see
/// patch.rs) costs a re-parse from the start, so a file needing very many is
/// refused rather than crawled through: at most this many bytes are parsed
/// in all (some thousand rewrites of a typical SLS file).
const MAX_REPARSED_BYTES: usize = 64 << 20;

enum Failure {
    Error(YamlError),
    /// An error there is a rewrite for.
    Refused(YamlError, Refusal),
    /// A line indented by a rewrite turned out not to be inside a flow
    /// collection, so the rewrite was not the harmless one it was meant to be.
    NotFlow(usize),
}

impl From<YamlError> for Failure {
    fn from(error: YamlError) -> Self {
        Failure::Error(error)
    }
}

/// Composes the single document in `text` (none → `root: None`).
pub(crate) fn compose(text: &str) -> Result<Document, YamlError> {
    check_characters(text)?;
    let mut source = Cow::Borrowed(text);
    // Lines a rewrite indented, each with the error the rewrite answered.
    let mut flow_lines: HashMap<usize, YamlError> = HashMap::new();
    // Tabs after a ':' a rewrite made spaces, assuming they were separators.
    let mut tab_bytes: Vec<usize> = Vec::new();
    let mut parsed = 0usize;
    while parsed <= MAX_REPARSED_BYTES {
        parsed += source.len();
        let lines: HashSet<usize> = flow_lines.keys().copied().collect();
        let (error, refusal) = match compose_once(&source, &lines, !tab_bytes.is_empty()) {
            Ok((mut doc, content_spans)) => {
                // A tab inside a quoted or block scalar is text: put it back.
                let src = Source::new(&source);
                let inside: Vec<usize> = tab_bytes
                    .iter()
                    .copied()
                    .filter(|b| {
                        let at = src.char_index(*b);
                        content_spans.iter().any(|(s, e)| *s <= at && at < *e)
                    })
                    .collect();
                if !inside.is_empty() {
                    let mut restored = source.into_owned();
                    for b in &inside {
                        restored.replace_range(*b..=*b, "\t");
                    }
                    tab_bytes.retain(|b| !inside.contains(b));
                    source = Cow::Owned(restored);
                    continue;
                }
                if source.contains(DASH_STAND_IN) {
                    for node in &mut doc.nodes {
                        if let Kind::Scalar(s) = &mut node.kind {
                            if s.contains(DASH_STAND_IN) {
                                *s = s.replace(DASH_STAND_IN, "-");
                            }
                        }
                    }
                }
                return Ok(doc);
            }
            Err(Failure::Error(e)) => return Err(e),
            Err(Failure::NotFlow(line)) => {
                return Err(flow_lines
                    .remove(&line)
                    .unwrap_or_else(|| YamlError::new(line, 1, "invalid indentation")));
            }
            // The stand-in must not occur in the text already.
            Err(Failure::Refused(e, Refusal::DashInFlow(_))) if text.contains(DASH_STAND_IN) => {
                return Err(e)
            }
            Err(Failure::Refused(e, r)) => (e, r),
        };
        let Some(rewrite) = patch::apply(&source, refusal) else {
            return Err(error);
        };
        for b in &mut tab_bytes {
            let shift: usize = rewrite
                .insertions
                .iter()
                .filter(|(at, _)| *at <= *b)
                .map(|(_, n)| n)
                .sum();
            *b += shift;
        }
        tab_bytes.extend(rewrite.tab_bytes);
        for line in rewrite.flow_lines {
            flow_lines.entry(line).or_insert_with(|| error.clone());
        }
        source = Cow::Owned(rewrite.text);
    }
    Err(YamlError::new(
        1,
        1,
        "gave up: too many tabs after ':', flow items left of the indentation or similar \
         constructs to work around (each needs a re-parse); use spaces and indent flow items",
    ))
}

/// One parse. With `want_spans`, also the character ranges of the quoted
/// and block scalars.
fn compose_once(
    text: &str,
    flow_lines: &HashSet<usize>,
    want_spans: bool,
) -> Result<(Document, Vec<(usize, usize)>), Failure> {
    let mut composer = Composer {
        src: Source::new(text),
        nodes: Vec::new(),
        stack: Vec::new(),
        root: None,
        anchors: HashMap::new(),
        anchor_names: HashMap::new(),
        flow: Vec::new(),
        content_spans: want_spans.then(Vec::new),
        refusal: None,
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    let mut first_document = Mark { line: 1, column: 1 };
    while let Some(next) = parser.next_event() {
        let (event, span) = match next {
            Ok(x) => x,
            Err(e) => {
                let at = e.marker().index();
                let error = scan_error(&e, &composer.src);
                return Err(
                    match Refusal::from_message(e.info(), at, composer.flow_opener()) {
                        Some(r) => Failure::Refused(error, r),
                        None => Failure::Error(error),
                    },
                );
            }
        };
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let mark = mark_of(&span);
                if documents > 0 {
                    return Err(mark
                        .error(format!(
                            "expected a single document in the stream, but found another document \
                             (the first one started on line {})",
                            first_document.line
                        ))
                        .into());
                }
                first_document = mark;
                documents += 1;
            }
            event => {
                if flow_lines.contains(&span.start.line()) && !composer.in_flow(&event) {
                    return Err(Failure::NotFlow(span.start.line()));
                }
                if let Err(error) = composer.event(event, span) {
                    return Err(match composer.refusal.take() {
                        Some(r) => Failure::Refused(error, r),
                        None => Failure::Error(error),
                    });
                }
            }
        }
    }
    let spans = composer.content_spans.unwrap_or_default();
    Ok((
        Document {
            nodes: composer.nodes,
            root: composer.root,
        },
        spans,
    ))
}
