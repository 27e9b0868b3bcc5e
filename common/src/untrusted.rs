//! Text from someone else (a minion's id or request, a URL from state data)
//! on its way into a log line, an error or a terminal.

/// How much of such a text is shown.
const SHOWN_CHARS: usize = 200;

/// `s` quoted and escaped (`"../x\0y"`: NUL, newlines and terminal escapes
/// as `\0`, `\n`, `\u{1b}`), cut to [`SHOWN_CHARS`] characters, so a
/// hostile value can neither forge log lines nor drive a terminal.
pub fn shown(s: &str) -> String {
    let mut cut: String = s.chars().take(SHOWN_CHARS).collect();
    if cut.len() < s.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(shown("../x"), "\"../x\"");
        assert_eq!(shown("x\0y\n\u{1b}[2J"), "\"x\\0y\\n\\u{1b}[2J\"");
        let long = shown(&"a".repeat(1000));
        assert_eq!(long.chars().count(), SHOWN_CHARS + 3);
        assert!(long.ends_with("…\""));
    }
}
