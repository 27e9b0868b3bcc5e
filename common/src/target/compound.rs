//! Compound targets (`G@os:Debian and not web*`), parsed once and evaluated
//! per minion.
//!
//! Salt (`salt.matchers.compound_match`) evaluates every word to `True` or
//! `False`, joins the results with the operators into a Python expression
//! and `eval`s it. Brine reproduces that: the same word handling (including
//! the `and` Salt inserts before a `not` that follows an operand, which makes
//! `a not b` mean `a and not b` and `not not a` a syntax error), then
//! Python's grammar for `or` < `and` < `not` < parentheses, where `( )` is an
//! empty tuple (false).
//!
//! Where Salt's whole match comes out `False` because the expression is
//! broken (syntax errors, unknown engines, bad `E@` regexes), parsing fails
//! with the byte position of the offending word. Where Salt only turns one
//! word false and logs it (`G@` without a delimiter, an invalid `S@`
//! address), that word is false here too and the problem is kept in
//! [`Compound::warnings`].
use super::cidr::CidrTarget;
use super::glob::Glob;
use super::nodegroup::{self, OPERATORS};
use super::py::split_words;
use super::pyre::compile_match;
use super::subdict::{Mode, SubdictMatcher};
use super::{regex_error, Facts, TargetError, TargetKind, Term};
use crate::data::{Map, Value};
use std::collections::VecDeque;

/// Python's tokenizer refuses more nesting than this ("too many nested
/// parentheses"); the limit also bounds recursion here.
const MAX_PARENS: usize = 200;

/// Bound on the words nodegroup expansion may add to one expression.
const MAX_EXPANDED_WORDS: usize = 1_000_000;

/// A parsed compound expression.
#[derive(Debug, Clone)]
pub struct Compound {
    root: Node,
    terms: Vec<Term>,
    warnings: Vec<TargetError>,
}

#[derive(Debug, Clone)]
enum Node {
    Const(bool),
    Term(usize),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

struct Word {
    text: String,
    pos: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `synthetic`: inserted by Salt before a `not`, not written by the user.
    And {
        synthetic: bool,
    },
    Or,
    Not,
    LParen,
    RParen,
    Atom(usize),
}

struct Tok {
    kind: Kind,
    pos: usize,
    text: String,
}

fn syntax(pos: usize, word: &str, message: impl Into<String>) -> TargetError {
    TargetError::Compound {
        position: pos,
        word: word.to_string(),
        message: message.into(),
    }
}

fn in_term(word: &Word, source: TargetError) -> TargetError {
    TargetError::CompoundTerm {
        position: word.pos,
        word: word.text.clone(),
        source: Box::new(source),
    }
}

/// `salt.utils.minions.parse_target` (its `TARGET_REX`): `X@pattern` for the
/// engines G P I J L N S E R, with an optional one-character delimiter for
/// G P I J (`G|@os|Debian`). The pattern is `.+$`: non-empty, no newline
/// except one final newline, which is not part of it.
fn parse_target(word: &str) -> Option<(char, Option<char>, &str)> {
    fn pattern(rest: &str) -> Option<&str> {
        let body = rest.strip_suffix('\n').unwrap_or(rest);
        (!body.is_empty() && !body.contains('\n')).then_some(body)
    }
    let mut chars = word.char_indices();
    let (_, engine) = chars.next()?;
    if !"GPIJLNSER".contains(engine) {
        return None;
    }
    let (i1, c1) = chars.next()?;
    if "GPIJ".contains(engine) && c1 != '\n' {
        if let Some((i2, '@')) = chars.next() {
            if let Some(p) = pattern(&word[i2 + 1..]) {
                return Some((engine, Some(c1), p));
            }
        }
    }
    if c1 == '@' {
        return Some((engine, None, pattern(&word[i1 + 1..])?));
    }
    None
}

impl Compound {
    /// Parses a compound expression, expanding `N@group` from `nodegroups`.
    pub fn parse(expr: &str, nodegroups: &Map<String, Value>) -> Result<Compound, TargetError> {
        let words = split_words(expr)
            .into_iter()
            .map(|(pos, w)| Word {
                text: w.to_string(),
                pos,
            })
            .collect();
        Self::build(words, expr.len(), nodegroups)
    }

    /// Parses an expression given as a list of words (Salt accepts a list;
    /// the words are not split further). Error positions are byte offsets in
    /// the words joined with single spaces.
    pub fn parse_words(
        words: &[String],
        nodegroups: &Map<String, Value>,
    ) -> Result<Compound, TargetError> {
        let mut pos = 0;
        let mut list = Vec::with_capacity(words.len());
        for w in words {
            list.push(Word {
                text: w.clone(),
                pos,
            });
            pos += w.len() + 1;
        }
        Self::build(list, pos.saturating_sub(1), nodegroups)
    }

    /// The expression a nodegroup stands for, as Salt's `nodegroup` matcher
    /// (and `salt -N`) evaluates it.
    pub fn nodegroup(name: &str, nodegroups: &Map<String, Value>) -> Result<Compound, TargetError> {
        let words = nodegroup::expand(name, nodegroups)?;
        Self::parse_words(&words, nodegroups)
    }

    /// Problems Salt tolerates by treating one word as false (see the module docs).
    pub fn warnings(&self) -> &[TargetError] {
        &self.warnings
    }

    pub fn matches(&self, facts: &Facts) -> bool {
        self.eval(&self.root, facts)
    }

    /// Does any word match on pillar (`I@`, `J@`, nodegroups expanded)?
    pub fn needs_pillar(&self) -> bool {
        self.terms.iter().any(Term::reads_pillar)
    }

    fn eval(&self, node: &Node, facts: &Facts) -> bool {
        match node {
            Node::Const(b) => *b,
            Node::Term(i) => self.terms.get(*i).is_some_and(|t| t.matches(facts)),
            Node::Not(inner) => !self.eval(inner, facts),
            Node::And(items) => items.iter().all(|n| self.eval(n, facts)),
            Node::Or(items) => items.iter().any(|n| self.eval(n, facts)),
        }
    }

    fn build(
        words: Vec<Word>,
        end: usize,
        nodegroups: &Map<String, Value>,
    ) -> Result<Compound, TargetError> {
        let mut queue: VecDeque<Word> = words.into();
        let mut toks: Vec<Tok> = Vec::new();
        let mut atoms: Vec<Node> = Vec::new();
        let mut terms = Vec::new();
        let mut warnings = Vec::new();
        let mut expanded = 0usize;
        while let Some(word) = queue.pop_front() {
            if OPERATORS.contains(&word.text.as_str()) {
                let kind = match word.text.as_str() {
                    "and" => Kind::And { synthetic: false },
                    "or" => Kind::Or,
                    "not" => Kind::Not,
                    "(" => Kind::LParen,
                    _ => Kind::RParen,
                };
                match toks.last().map(|t| t.kind) {
                    None if !matches!(kind, Kind::LParen | Kind::Not) => {
                        return Err(syntax(
                            word.pos,
                            &word.text,
                            format!("a compound target cannot start with '{}'", word.text),
                        ));
                    }
                    Some(Kind::LParen) if matches!(kind, Kind::And { .. } | Kind::Or) => {
                        return Err(syntax(
                            word.pos,
                            &word.text,
                            format!("'{}' cannot follow '('", word.text),
                        ));
                    }
                    Some(last)
                        if kind == Kind::Not
                            && !matches!(last, Kind::And { .. } | Kind::Or | Kind::LParen) =>
                    {
                        toks.push(Tok {
                            kind: Kind::And { synthetic: true },
                            pos: word.pos,
                            text: word.text.clone(),
                        });
                    }
                    _ => {}
                }
                toks.push(Tok {
                    kind,
                    pos: word.pos,
                    text: word.text,
                });
                continue;
            }
            let node = match parse_target(&word.text) {
                Some(('N', _, group)) => {
                    let words =
                        nodegroup::expand(group, nodegroups).map_err(|e| in_term(&word, e))?;
                    expanded += words.len();
                    if expanded > MAX_EXPANDED_WORDS {
                        let e = TargetError::NodegroupTooLarge(group.to_string());
                        return Err(in_term(&word, e));
                    }
                    for text in words.into_iter().rev() {
                        queue.push_front(Word {
                            text,
                            pos: word.pos,
                        });
                    }
                    continue;
                }
                Some((engine, delimiter, pattern)) => match engine_term(engine, delimiter, pattern)
                {
                    Ok((term, warning)) => {
                        if let Some(w) = warning {
                            warnings.push(in_term(&word, w));
                        }
                        terms.push(term);
                        Node::Term(terms.len() - 1)
                    }
                    Err(Failure::Soft(e)) => {
                        warnings.push(in_term(&word, e));
                        Node::Const(false)
                    }
                    Err(Failure::Hard(e)) => return Err(in_term(&word, e)),
                },
                None => {
                    terms.push(Term::Glob(Glob::new(&word.text)));
                    Node::Term(terms.len() - 1)
                }
            };
            atoms.push(node);
            toks.push(Tok {
                kind: Kind::Atom(atoms.len() - 1),
                pos: word.pos,
                text: word.text,
            });
        }
        let mut parser = Parser {
            toks,
            atoms,
            i: 0,
            depth: 0,
            end,
        };
        let root = parser.parse()?;
        Ok(Compound {
            root,
            terms,
            warnings,
        })
    }
}

enum Failure {
    /// Salt evaluates the word as false and logs an error.
    Soft(TargetError),
    /// Salt's whole match fails (or raises).
    Hard(TargetError),
}

/// Regex grain/pillar words with at most this many candidate patterns are
/// test-compiled at parse time to warn about hopeless regexes; longer ones
/// (never seen in practice) are compiled lazily only, to keep parsing cheap.
const MAX_CHECKED_CANDIDATES: usize = 32;

/// The matcher for one `X@pattern` word, with a warning when Salt would log
/// an error for it on every minion while still evaluating it.
fn engine_term(
    engine: char,
    delimiter: Option<char>,
    pattern: &str,
) -> Result<(Term, Option<TargetError>), Failure> {
    let subdict = |kind: TargetKind, mode: Mode| -> Result<SubdictMatcher, Failure> {
        let d = delimiter.unwrap_or(':');
        if !pattern.contains(d) {
            return Err(Failure::Soft(TargetError::MissingDelimiter {
                kind,
                expr: pattern.to_string(),
                delimiter: d,
            }));
        }
        SubdictMatcher::new(pattern, d, mode).map_err(Failure::Hard)
    };
    let regex_warning = |m: &SubdictMatcher| {
        (m.candidate_count() <= MAX_CHECKED_CANDIDATES)
            .then(|| m.check_regexes().err())
            .flatten()
    };
    Ok(match engine {
        'G' => (Term::Grain(subdict(TargetKind::Grain, Mode::Glob)?), None),
        'I' => (Term::Pillar(subdict(TargetKind::Pillar, Mode::Glob)?), None),
        'P' => {
            let m = subdict(TargetKind::GrainPcre, Mode::Regex)?;
            let warning = regex_warning(&m);
            (Term::Grain(m), warning)
        }
        'J' => {
            let m = subdict(TargetKind::PillarPcre, Mode::Regex)?;
            let warning = regex_warning(&m);
            (Term::Pillar(m), warning)
        }
        _ => (plain_term(engine, pattern)?, None),
    })
}

/// Engines without a key path.
fn plain_term(engine: char, pattern: &str) -> Result<Term, Failure> {
    Ok(match engine {
        'L' => Term::List(pattern.to_string()),
        'S' => Term::Cidr(CidrTarget::parse(pattern).map_err(Failure::Soft)?),
        'E' => {
            Term::Pcre(compile_match(pattern).map_err(|e| Failure::Hard(regex_error(pattern, e)))?)
        }
        other => return Err(Failure::Hard(TargetError::UnknownEngine(other))),
    })
}

/// Python's expression grammar restricted to what Salt produces:
/// `or_test := and_test ('or' and_test)*`, `and_test := not_test ('and'
/// not_test)*`, `not_test := 'not' not_test | atom`, `atom := bool | '(' ')'
/// | '(' or_test ')'`.
struct Parser {
    toks: Vec<Tok>,
    atoms: Vec<Node>,
    i: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn parse(&mut self) -> Result<Node, TargetError> {
        if self.toks.is_empty() {
            return Err(syntax(0, "", "empty compound target"));
        }
        let node = self.or_test()?;
        match self.toks.get(self.i) {
            None => Ok(node),
            Some(t) => Err(match t.kind {
                Kind::RParen => syntax(t.pos, &t.text, "unmatched ')'"),
                Kind::Atom(_) => syntax(t.pos, &t.text, "missing 'and' or 'or' before this target"),
                _ => syntax(t.pos, &t.text, format!("unexpected '{}'", t.text)),
            }),
        }
    }

    fn peek(&self) -> Option<Kind> {
        self.toks.get(self.i).map(|t| t.kind)
    }

    fn or_test(&mut self) -> Result<Node, TargetError> {
        let mut items = vec![self.and_test()?];
        while self.peek() == Some(Kind::Or) {
            self.i += 1;
            items.push(self.and_test()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and_test(&mut self) -> Result<Node, TargetError> {
        let mut items = vec![self.not_test()?];
        while matches!(self.peek(), Some(Kind::And { .. })) {
            self.i += 1;
            items.push(self.not_test()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Node::And(items)
        })
    }

    fn not_test(&mut self) -> Result<Node, TargetError> {
        if self.peek() == Some(Kind::Not) {
            self.i += 1;
            return Ok(Node::Not(Box::new(self.not_test()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Node, TargetError> {
        let Some(tok) = self.toks.get(self.i) else {
            return Err(syntax(
                self.end,
                "",
                "the compound target ends where a target is expected",
            ));
        };
        let (pos, kind) = (tok.pos, tok.kind);
        let node = match kind {
            Kind::Atom(a) => {
                self.i += 1;
                std::mem::replace(&mut self.atoms[a], Node::Const(false))
            }
            Kind::LParen => {
                self.i += 1;
                self.depth += 1;
                if self.depth > MAX_PARENS {
                    return Err(syntax(pos, "(", "more than 200 nested parentheses"));
                }
                let node = if self.peek() == Some(Kind::RParen) {
                    // `()` is an empty tuple in Python: false.
                    Node::Const(false)
                } else {
                    self.or_test()?
                };
                if self.peek() != Some(Kind::RParen) {
                    return Err(match self.toks.get(self.i) {
                        None => syntax(pos, "(", "unclosed '('"),
                        Some(t) if matches!(t.kind, Kind::Atom(_)) => {
                            syntax(t.pos, &t.text, "missing 'and' or 'or' before this target")
                        }
                        Some(t) => syntax(
                            t.pos,
                            &t.text,
                            format!("expected ')' but found '{}'", t.text),
                        ),
                    });
                }
                self.i += 1;
                self.depth -= 1;
                node
            }
            Kind::And { synthetic: true } => {
                return Err(syntax(pos, &tok.text, "'not' cannot directly follow 'not'"));
            }
            _ => {
                return Err(syntax(
                    pos,
                    &tok.text,
                    format!("expected a target, 'not' or '(' but found '{}'", tok.text),
                ));
            }
        };
        if let Some(next) = self.toks.get(self.i).filter(|t| t.kind == Kind::LParen) {
            // Python parses `True ( ... )` as a call, which fails at runtime.
            return Err(syntax(
                next.pos,
                "(",
                "'(' directly after a target (use 'and' or 'or')",
            ));
        }
        Ok(node)
    }
}
