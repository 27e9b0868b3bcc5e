//! Python's `fnmatch.fnmatch` on POSIX: case-sensitive shell patterns with
//! `*`, `?`, `[seq]` and `[!seq]`, no escaping. The bracket rules follow
//! `fnmatch.translate` of CPython 3.11 (which Salt 3007 runs on) line by
//! line, because its corner cases are observable: an unclosed `[` is a
//! literal, `]` first in a set is a member, a reversed range such as `z-a` is
//! dropped (an empty set never matches; a negated empty set matches any
//! character), and a `-` after a range is a literal.

/// A compiled shell pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
enum Token {
    /// `*` (consecutive stars are one).
    Star,
    /// `?`: any one character, newline included (`translate` uses `(?s:`).
    Any,
    Literal(char),
    Set {
        negated: bool,
        /// Inclusive ranges; a single member `c` is `(c, c)`.
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star => true,
            Token::Any => true,
            Token::Literal(l) => *l == c,
            Token::Set { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        let p: Vec<char> = pattern.chars().collect();
        let n = p.len();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < n {
            let c = p[i];
            i += 1;
            match c {
                '*' => {
                    if !matches!(tokens.last(), Some(Token::Star)) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::Any),
                '[' => match bracket(&p, i) {
                    Some((token, next)) => {
                        tokens.push(token);
                        i = next;
                    }
                    None => tokens.push(Token::Literal('[')),
                },
                c => tokens.push(Token::Literal(c)),
            }
        }
        Glob { tokens }
    }

    /// Whole-string match, as `fnmatch` anchors its regex with `\Z`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let toks = &self.tokens;
        let (mut ti, mut pi) = (0, 0);
        // Classic single-backtrack-point wildcard matching: every token but
        // `*` consumes exactly one character, so retrying only the most
        // recent star is complete (the same argument lets CPython use atomic
        // groups in `translate`).
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match toks.get(pi) {
                Some(Token::Star) => {
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                Some(tok) if tok.matches(t[ti]) => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
            match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        toks[pi.min(toks.len())..]
            .iter()
            .all(|t| matches!(t, Token::Star))
    }
}

/// Parses a `[...]` set whose contents start at `start` (just after `[`).
/// Returns the token and the index after the closing `]`, or None when the
/// set is unclosed and the `[` is therefore a literal.
fn bracket(p: &[char], start: usize) -> Option<(Token, usize)> {
    let n = p.len();
    let mut j = start;
    if j < n && p[j] == '!' {
        j += 1;
    }
    if j < n && p[j] == ']' {
        j += 1;
    }
    while j < n && p[j] != ']' {
        j += 1;
    }
    if j >= n {
        return None;
    }
    let negated = p[start] == '!';
    let stuff = &p[start..j];
    let mut chunks: Vec<Vec<char>> = Vec::new();
    if !stuff.contains(&'-') {
        chunks.push(stuff.to_vec());
    } else {
        // Split at hyphens that form ranges, exactly as `translate` does: the
        // first character (after `!`) is never a range operator, and after a
        // range the search resumes past its end character.
        let mut i = start;
        let mut k = if p[i] == '!' { i + 2 } else { i + 1 };
        while let Some(found) = (k..j).find(|&x| p[x] == '-') {
            chunks.push(p[i..found].to_vec());
            i = found + 1;
            k = found + 3;
        }
        let last = &p[i.min(j)..j];
        if !last.is_empty() {
            chunks.push(last.to_vec());
        } else if let Some(prev) = chunks.last_mut() {
            prev.push('-');
        }
        // Remove reversed ranges (`translate`: "invalid in RE"), dropping
        // both of their end characters.
        for k in (1..chunks.len()).rev() {
            if let (Some(&a), Some(&b)) = (chunks[k - 1].last(), chunks[k].first()) {
                if a > b {
                    let tail: Vec<char> = chunks[k][1..].to_vec();
                    chunks[k - 1].pop();
                    chunks[k - 1].extend(tail);
                    chunks.remove(k);
                }
            }
        }
    }
    // Chunks are joined by range operators: the last character of one chunk
    // and the first of the next bound a range; everything else is literal.
    let mut ranges = Vec::new();
    let count = chunks.len();
    for (idx, chunk) in chunks.iter().enumerate() {
        let skip_bang = usize::from(idx == 0 && negated);
        let lo = usize::from(idx > 0).max(skip_bang);
        let hi = if idx + 1 < count {
            chunk.len().saturating_sub(1)
        } else {
            chunk.len()
        };
        for &c in chunk.get(lo..hi).unwrap_or(&[]) {
            ranges.push((c, c));
        }
        if idx + 1 < count {
            if let (Some(&a), Some(&b)) = (chunk.last(), chunks[idx + 1].first()) {
                ranges.push((a, b));
            }
        }
    }
    Some((Token::Set { negated, ranges }, j + 1))
}

/// `fnmatch.fnmatch(name, pattern)` on POSIX (case-sensitive).
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    Glob::new(pattern).is_match(name)
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn fnmatch_table() {
        // (pattern, text, fnmatch.fnmatch(text, pattern)) — every row was
        // checked against CPython 3.11's fnmatch.
        let table = [
            ("web*", "web1", true),
            ("web*", "web", true),
            ("web*", "xweb", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("**", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("*a", "aaa", true),
            ("*ab*ab", "xabyab", true),
            ("?", "", false),
            ("?", "\n", true),
            ("a*b", "a\nb", true),
            ("web?", "web1", true),
            ("web?", "web10", false),
            ("Web*", "web1", false),
            ("web[0-9]", "web7", true),
            ("web[!0-9]", "web7", false),
            ("web[!0-9]", "webx", true),
            ("[", "[", true),
            ("web[", "web[", true),
            ("[]", "[]", true),
            ("[]]", "]", true),
            ("[]a]", "a", true),
            ("[!]]", "]", false),
            ("[!]]", "a", true),
            ("[!]", "[!]", true),
            ("[a-]", "-", true),
            ("[-a]", "-", true),
            ("[a-c-e]", "-", true),
            ("[a-c-e]", "d", false),
            ("[a-c-e]", "e", true),
            ("[z-a]", "z", false),
            ("[z-a]", "-", false),
            ("[!z-a]", "q", true),
            ("[!z-a]", "\n", true),
            ("[b-a-z]", "-", true),
            ("[b-a-z]", "z", true),
            ("[b-a-z]", "c", false),
            ("[x-cb-a]", "x", false),
            ("[!b-ac-e]", "d", false),
            ("[!b-ac-e]", "a", true),
            ("[--0]", ".", true),
            ("[\\]", "\\", true),
            ("web\\*", "web\\x", true),
            ("[^a]", "^", true),
            ("[^a]", "b", false),
            ("[a&&b]", "&", true),
            ("[[:alpha:]]", ":", false),
            ("[[:alpha:]]", ":]", true),
            ("[[:alpha:]]", "[]", true),
            ("[é-ë]", "ê", true),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(
                Glob::new(pattern).is_match(text),
                expected,
                "fnmatch({text:?}, {pattern:?})"
            );
        }
    }
}
