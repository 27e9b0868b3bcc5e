//! The oracle table (generated from real Salt by scripts/gen-yaml-cases.py)
//! and error-position tests.
use super::*;
use crate::pyfmt::{json_dumps, json_dumps_with, py_repr, py_str, JsonOptions};
use serde_json::json;

const CASES: &str = include_str!("testdata/cases.jsonl");

/// Load cases whose error position may differ from Salt's because
/// saphyr-parser and libyaml stop at different tokens (the error itself must
/// still be an error). Each entry: (input, why). Empty: every error case in
/// the table is at Salt's position.
const POSITION_DIFFERS: &[(&str, &str)] = &[];

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON in cases file: {e}: {text}"))
}

fn check_load(input: &str, expect: &Value, failures: &mut Vec<String>) {
    let got = load(input);
    match (expect, got) {
        (Value::String(want), Ok(v)) => {
            let text = json_dumps(&v, false, None);
            if &text != want {
                failures.push(format!("load {input:?}: got {text}, Salt {want}"));
            }
        }
        (Value::String(want), Err(e)) => {
            failures.push(format!("load {input:?}: got error {e}, Salt {want}"));
        }
        (Value::Object(o), Ok(v)) => failures.push(format!(
            "load {input:?}: got {}, Salt error {}",
            json_dumps(&v, false, None),
            o["error"]
        )),
        (Value::Object(o), Err(e)) => {
            let err = &o["error"];
            let (Some(line), Some(column)) = (err["line"].as_u64(), err["column"].as_u64()) else {
                return;
            };
            let same = e.line as u64 == line && e.column as u64 == column;
            if !same && !POSITION_DIFFERS.iter().any(|(i, _)| *i == input) {
                failures.push(format!(
                    "load {input:?}: error at {}:{} ({}), Salt at {line}:{column} ({})",
                    e.line, e.column, e.message, err["problem"]
                ));
            }
        }
        (other, _) => failures.push(format!("load {input:?}: bad expectation {other}")),
    }
}

fn expect_eq(failures: &mut Vec<String>, what: &str, input: &str, got: &str, want: &Value) {
    if Some(got) != want.as_str() {
        failures.push(format!("{what} {input}: got {got:?}, Salt {want}"));
    }
}

#[test]
fn oracle_table() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in CASES.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let case = parse_json(line);
        let kind = case["kind"].as_str().unwrap_or("");
        let input = case["input"].as_str().unwrap_or("");
        let expect = &case["expect"];
        match kind {
            "load" => check_load(input, expect, &mut failures),
            "dump" => {
                let v = parse_json(input);
                let f = &mut failures;
                expect_eq(f, "dump_flow", input, &dump_flow(&v), &expect["flow"]);
                expect_eq(f, "dump_block", input, &dump_block(&v), &expect["block"]);
                expect_eq(f, "serialize", input, &serialize(&v), &expect["serialize"]);
                let sorted = DumpOptions {
                    default_flow_style: Some(true),
                    sort_keys: true,
                    allow_unicode: true,
                };
                expect_eq(
                    f,
                    "dump sorted",
                    input,
                    &dump(&v, &sorted),
                    &expect["flow_sorted"],
                );
            }
            "encode" => {
                let v = parse_json(input);
                match (encode_scalar(&v), expect) {
                    (Ok(s), Value::String(_)) => {
                        expect_eq(&mut failures, "encode", input, &s, expect)
                    }
                    (Err(_), Value::Object(_)) => {}
                    (got, _) => {
                        failures.push(format!("encode {input}: got {got:?}, Salt {expect}"))
                    }
                }
            }
            "quote" => {
                expect_eq(
                    &mut failures,
                    "dquote",
                    input,
                    &dquote(input),
                    &expect["dquote"],
                );
                expect_eq(
                    &mut failures,
                    "squote",
                    input,
                    &squote(input),
                    &expect["squote"],
                );
            }
            "pyfmt" => {
                let v = parse_json(input);
                let f = &mut failures;
                expect_eq(f, "py_str", input, &py_str(&v), &expect["str"]);
                expect_eq(f, "py_repr", input, &py_repr(&v), &expect["repr"]);
                expect_eq(
                    f,
                    "json_dumps",
                    input,
                    &json_dumps(&v, false, None),
                    &expect["json"],
                );
                let indented = json_dumps(&v, true, Some(2));
                expect_eq(
                    f,
                    "json_dumps indent",
                    input,
                    &indented,
                    &expect["json_sorted_indent"],
                );
                let salt = json_dumps_with(
                    &v,
                    &JsonOptions {
                        sort_keys: false,
                        indent: None,
                        ensure_ascii: false,
                    },
                );
                expect_eq(f, "salt json", input, &salt, &expect["json_salt"]);
            }
            other => failures.push(format!("unknown case kind {other:?}")),
        }
    }
    assert!(count >= 300, "only {count} cases in the table");
    assert!(
        failures.is_empty(),
        "{} of {count} oracle cases differ from Salt:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn err(text: &str) -> YamlError {
    match load(text) {
        Ok(v) => panic!("{text:?} loaded as {v}, expected an error"),
        Err(e) => e,
    }
}

#[test]
fn errors_point_at_the_problem() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("a: b: c\n", 1, 5, "mapping values are not allowed"),
        ("a: 1\nb:\n  c: 1\n  c: 2\n", 4, 3, "found conflicting ID 'c'"),
        ("a: 1\na: 2\n", 2, 1, "first defined on line 1"),
        ("1: a\ntrue: b\n", 2, 1, "found conflicting ID 'True'"),
        ("a: [1, 2\n", 2, 1, "did not find expected ',' or ']'"),
        ("a: \"open\n", 2, 1, "unexpected end of stream while scanning a quoted scalar (it starts at line 1, column 4)"),
        ("a: \"\\q\"\n", 1, 5, "unknown escape character 'q'"),
        ("a:\n\t- 1\n", 2, 1, "found a tab character"),
        ("- a\nb: 1\n", 2, 1, "did not find expected '-' indicator"),
        ("a:\n  - b\n  -c\n", 4, 1, "could not find expected ':'"),
        ("a: *nope\n", 1, 4, "found undefined alias 'nope'"),
        ("- &a a\n- &a b\n", 2, 3, "found duplicate anchor 'a'"),
        ("--- 1\n--- 2\n", 2, 1, "expected a single document"),
        ("a: @b\n", 1, 4, "cannot start any token"),
        ("a: \u{1}\n", 1, 4, "control characters are not allowed"),
        ("x: !!int abc\n", 1, 4, "invalid literal for int()"),
        ("x: !foo bar\n", 1, 4, "could not determine a constructor for the tag '!foo'"),
        ("c:\n  <<: 1\n", 2, 7, "expected a mapping or list of mappings for merging"),
        ("[1]: a\n", 1, 1, "found unacceptable key"),
        ("a: &x [1, *x]\n", 1, 4, "recursive structure"),
        ("a: <<\n", 1, 4, "quote it"),
    ];
    for (text, line, column, needle) in cases {
        let e = err(text);
        assert!(
            e.message.contains(needle),
            "{text:?}: message {:?} lacks {needle:?}",
            e.message
        );
        assert_eq!((e.line, e.column), (*line, *column), "{text:?}: {e}");
    }
}

#[test]
fn tabs_after_colons_are_separators_as_in_libyaml() {
    // saphyr-parser refuses these; libyaml (Salt) reads the tab as a space.
    let v = load("a:\t1\nb:\t\"x:\ty\"\nc: |\n  k:\tv\n").unwrap();
    assert_eq!(v, json!({"a": 1, "b": "x:\ty", "c": "k:\tv\n"}));
    let many: String = (0..300).map(|i| format!("k{i}:\tv\n")).collect();
    assert_eq!(load(&many).unwrap().as_object().map(|m| m.len()), Some(300));
}

#[test]
fn alias_bombs_are_refused_quickly() {
    let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        doc.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let started = std::time::Instant::now();
    let e = err(&doc);
    assert!(e.message.contains("expands to more than"), "{e}");
    assert!(
        started.elapsed().as_secs() < 5,
        "took {:?}",
        started.elapsed()
    );

    // Within the limit the copies are real.
    let v = load("a: &a [1, 2]\nb: [*a, *a]\n").unwrap();
    assert_eq!(v, json!({"a": [1, 2], "b": [[1, 2], [1, 2]]}));
}

#[test]
fn nesting_is_limited() {
    // Block nesting goes to libyaml's limit.
    let block = |n: usize| {
        (0..n)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>()
    };
    let deepest = load(&block(MAX_DEPTH)).unwrap();
    // Everything that walks values copes with the deepest loadable one.
    assert!(dump_flow(&deepest).starts_with("{k: {k:"));
    assert!(dump_block(&deepest).contains("k:\n"));
    // Deep down the line is past 80 columns, so libyaml wraps the flow map.
    assert!(serialize(&deepest).ends_with(" k: null}"));
    assert!(py_repr(&deepest).starts_with("{'k': {'k':"));
    assert!(json_dumps(&deepest, true, Some(1)).ends_with('}'));
    assert!(err(&block(MAX_DEPTH + 1)).message.contains("nesting depth"));
    // Flow nesting stops earlier, at saphyr-parser's limit of 255.
    let flow = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(load(&flow(255)).is_ok());
    assert!(err(&flow(256)).message.contains("nesting depth"));
    assert!(load(&"[".repeat(200_000)).is_err());
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic fuzz over YAML-ish fragments; the real fuzzer
    // comes later, this only guards against obvious panics.
    let pieces = [
        "a",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&x ",
        "*x",
        "!!str ",
        "! ",
        "<<: ",
        "\n",
        "  ",
        "\t",
        "'",
        "\"",
        "|",
        ">-",
        "#",
        "? ",
        "---",
        "...",
        "%YAML 1.1",
        "\\",
        "0x",
        "1:2",
        "é",
        "😀",
        "~",
        "\r",
        "&a",
        "*a",
        "!!binary ",
        "!!omap ",
        "!!set ",
        "=",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut doc = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 24) as usize;
        let mut s = seed;
        for _ in 0..len {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            doc.push_str(pieces[(s >> 33) as usize % pieces.len()]);
        }
        if let Ok(v) = load(&doc) {
            // Whatever loads must also dump.
            let _ = dump_flow(&v);
            let _ = dump_block(&v);
            let _ = serialize(&v);
        }
    }
}

#[test]
fn an_anchor_name_ends_where_libyaml_ends_it() {
    // vim-formula's pillar.example has `&colorcolumn: join(...)`: libyaml
    // reads the anchor `colorcolumn` on an empty key. Salt 3007.8's answers:
    let cases = [
        (
            "lets:\n  &cc: join(range(121,121),\",\")\n  b: *cc\n",
            json!({"lets": {"null": "join(range(121,121),\",\")", "b": null}}),
        ),
        ("a: [&x, 1]\n", json!({"a": [null, 1]})),
        ("&k: v\n", json!({"null": "v"})),
    ];
    for (text, want) in cases {
        let got = load(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(
            json_dumps(&got, false, None),
            json_dumps(&want, false, None),
            "{text:?}"
        );
    }
    // A character libyaml never ends a name at is still an error.
    assert!(load("a: &b.c x\n").is_err());
}
