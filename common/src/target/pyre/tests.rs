use super::*;

/// (pattern, text, re.match(pattern, text) is not None) — checked against
/// CPython 3.11.
#[test]
fn re_match_table() {
    let table = [
        ("web", "web1", true),
        ("eb1", "web1", false),
        ("", "web1", true),
        ("web\\d+$", "web12", true),
        ("web1$", "web1\n", true),
        ("web1$", "web1\nx", false),
        ("web1\\Z", "web1\n", false),
        ("(?m)web1$", "web1\nx", true),
        ("(?i)WEB", "web1", true),
        ("(?i:W)EB", "web", false),
        ("web|db", "db1", true),
        ("x|web", "web", true),
        ("a{,2}b", "aab", true),
        ("a{,}b", "aaaab", true),
        ("a{2}", "a", false),
        ("x{", "x{", true),
        ("x{a}", "x{a}", true),
        ("x{}", "x{}", true),
        ("x{1,2", "x{1,2", true),
        ("a}", "a}", true),
        ("[[]", "[", true),
        ("[a-c&&b]", "&", true),
        ("[--a]", "-", true),
        ("[[:alpha:]]", ":]", true),
        ("[[:alpha:]]", ":", false),
        ("[]a]", "]", true),
        ("[^]a]", "b", true),
        ("[a-]", "-", true),
        ("[\\b]", "\u{8}", true),
        ("[\\d-]", "-", true),
        ("\\<x", "<x", true),
        ("\\bweb", "web", true),
        ("\\x41", "A", true),
        ("\\u00e9", "é", true),
        ("\\U0001F600", "\u{1F600}", true),
        ("\\101", "A", true),
        ("\\0", "\0", true),
        ("[\\101]", "A", true),
        ("[\\1]", "\u{1}", true),
        ("a#b", "a#b", true),
        ("(?x) a b # comment", "ab", true),
        ("(?x)[ ]", " ", true),
        ("(?x)a\\ b", "a b", true),
        ("(?#note)web", "web", true),
        ("(?P<n>web)", "web", true),
        ("(?s).", "\n", true),
        (".", "\n", false),
        ("a.c", "a-c", true),
        ("\\w+\\.example\\.com", "web1.example.com", true),
        ("(?u)x", "x", true),
        ("a*?b", "aab", true),
    ];
    for (pattern, text, expected) in table {
        let re = compile_match(pattern).unwrap_or_else(|e| panic!("{pattern:?}: {e:?}"));
        assert_eq!(
            re.is_match(text),
            expected,
            "re.match({pattern:?}, {text:?})"
        );
    }
}

/// Patterns CPython 3.11 rejects (re.error), and ones it accepts that the
/// regex crate cannot evaluate.
#[test]
fn re_errors_table() {
    let invalid = [
        "(web", "web)", "*", "a**", "^*", "\\z", "\\p{L}", "\\e", "[a", "[]", "[z-a]", "[\\d-z]",
        "\\", "a{3,2}", "(?L)a", "a(?i)", "x|(?i)y", "(?<n>a)", "\\x4", "\\8", "[\\8]", "(a\\1)",
        "\\1(a)", "(?z)", "(?i-i:a)", "(?-:a)", "\\777", "[a--]", "(?P<1>a)",
    ];
    for pattern in invalid {
        assert!(
            matches!(compile_match(pattern), Err(PyReError::Invalid(_))),
            "{pattern:?} should be invalid: {:?}",
            compile_match(pattern)
        );
    }
    let unsupported = [
        "(?=w)",
        "(?!w)",
        "(?<=w)",
        "(?<!w)",
        "(a)\\1",
        "(?P<n>a)(?P=n)",
        "(?>a)",
        "a++",
        "a{2}+",
        "(a)(?(1)b)",
        "\\N{DIGIT ONE}",
        "(?a)\\w",
        "\\ud800",
    ];
    for pattern in unsupported {
        assert!(
            matches!(compile_match(pattern), Err(PyReError::Unsupported(_))),
            "{pattern:?} should be unsupported: {:?}",
            compile_match(pattern)
        );
    }
}
