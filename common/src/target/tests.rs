//! Table-driven tests. `testdata/cases.json` holds minion fixtures, master
//! nodegroups and 220+ cases covering every target kind; each expectation
//! was derived by running Salt 3007.8's own matchers on the same data with
//! `testdata/check_with_salt.py` (which also documents, per case, where
//! Brine deliberately differs). The tests here read only that file.
use super::*;
use serde_json::json;

type ErrorCheck = fn(&TargetError) -> bool;
type Truth = fn(bool, bool, bool) -> bool;

struct Fixture {
    minions: Map<String, Value>,
    nodegroups: Map<String, Value>,
    cases: Vec<Value>,
}

fn fixture() -> Fixture {
    let data: Value =
        serde_json::from_str(include_str!("testdata/cases.json")).expect("cases.json parses");
    let obj = |k: &str| data[k].as_object().cloned().unwrap_or_default();
    Fixture {
        minions: obj("minions"),
        nodegroups: obj("nodegroups"),
        cases: data["cases"].as_array().cloned().unwrap_or_default(),
    }
}

fn facts_for<'a>(minions: &'a Map<String, Value>, id: &'a str, empty: &'a Value) -> Facts<'a> {
    let m = minions.get(id);
    Facts {
        id,
        grains: m.and_then(|m| m.get("grains")).unwrap_or(empty),
        pillar: m.and_then(|m| m.get("pillar")).unwrap_or(empty),
    }
}

#[test]
fn salt_checked_cases() {
    let f = fixture();
    assert!(f.cases.len() >= 200, "the table shrank");
    let empty = json!({});
    let mut failures = Vec::new();
    for case in &f.cases {
        let kind_name = case[0].as_str().unwrap_or_default();
        let kind =
            TargetKind::from_salt_name(kind_name).unwrap_or_else(|| panic!("kind {kind_name}"));
        let id = case[2].as_str().unwrap_or_default();
        let facts = facts_for(&f.minions, id, &empty);
        let got = matches_value(&case[1], kind, &facts, &f.nodegroups);
        let ok = match &case[3] {
            Value::Bool(want) => got.as_ref().ok() == Some(want),
            _ => got.is_err(),
        };
        if !ok {
            failures.push(format!("{case}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn kind_names_round_trip() {
    for name in [
        "glob",
        "pcre",
        "list",
        "grain",
        "grain_pcre",
        "pillar",
        "pillar_pcre",
        "pillar_exact",
        "ipcidr",
        "compound",
        "nodegroup",
    ] {
        let kind = TargetKind::from_salt_name(name).expect(name);
        assert_eq!(kind.salt_name(), name);
        assert_eq!(kind.to_string(), name);
    }
    for name in ["range", "data", "Glob", "", "pillar-exact"] {
        assert_eq!(TargetKind::from_salt_name(name), None, "{name}");
    }
}

/// (expression, byte position, offending word) for malformed compounds.
#[test]
fn compound_error_positions() {
    let f = fixture();
    let table: &[(&str, usize, &str)] = &[
        ("", 0, ""),
        ("   ", 0, ""),
        ("and web1", 0, "and"),
        ("or web1", 0, "or"),
        (") web1", 0, ")"),
        ("web1 and", 8, ""),
        ("web1 and not", 12, ""),
        ("( web1", 0, "("),
        ("( ( web1 )", 0, "("),
        ("web1 )", 5, ")"),
        ("( ( web1 ) ) )", 13, ")"),
        ("web1 web2", 5, "web2"),
        ("( web1 web2 )", 7, "web2"),
        ("not not web1", 4, "not"),
        ("web1 ( db1 )", 5, "("),
        ("( web1 ) ( db1 )", 9, "("),
        ("( and web1 )", 2, "and"),
        ("( or web1 )", 2, "or"),
        ("web1 or ( db1 or )", 17, ")"),
        ("web1 and and db1", 9, "and"),
        ("G@os:Debian\tand\t\tor x", 17, "or"),
    ];
    for (expr, position, word) in table {
        match Compound::parse(expr, &f.nodegroups) {
            Err(TargetError::Compound {
                position: p,
                word: w,
                ..
            }) => assert_eq!((p, w.as_str()), (*position, *word), "{expr:?}"),
            other => panic!("{expr:?}: expected a syntax error, got {other:?}"),
        }
    }
}

/// Errors inside one word point at that word and keep the cause.
#[test]
fn compound_term_errors() {
    let f = fixture();
    let table: &[(&str, usize, &str, ErrorCheck)] = &[
        ("web1 or E@(web", 8, "E@(web", |e| {
            matches!(e, TargetError::BadRegex { .. })
        }),
        ("E@(?=x)", 0, "E@(?=x)", |e| {
            matches!(e, TargetError::UnsupportedRegex { .. })
        }),
        ("P@os:(?<=x)y", 0, "P@os:(?<=x)y", |e| {
            matches!(e, TargetError::UnsupportedRegex { .. })
        }),
        ("R@%cluster", 0, "R@%cluster", |e| {
            *e == TargetError::UnknownEngine('R')
        }),
        ("web1 and N@nope", 9, "N@nope", |e| {
            *e == TargetError::UnknownNodegroup("nope".into())
        }),
        (
            "N@cyc_a",
            0,
            "N@cyc_a",
            |e| matches!(e, TargetError::NodegroupCycle { name, .. } if name == "cyc_a"),
        ),
        ("x or N@self", 5, "N@self", |e| {
            matches!(e, TargetError::NodegroupCycle { .. })
        }),
        ("N@bad", 0, "N@bad", |e| {
            *e == TargetError::BadNodegroup("bad".into())
        }),
    ];
    for (expr, position, word, check) in table {
        match Compound::parse(expr, &f.nodegroups) {
            Err(TargetError::CompoundTerm {
                position: p,
                word: w,
                source,
            }) => {
                assert_eq!((p, w.as_str()), (*position, *word), "{expr:?}");
                assert!(check(&source), "{expr:?}: {source:?}");
            }
            other => panic!("{expr:?}: expected a term error, got {other:?}"),
        }
    }
}

#[test]
fn compound_warnings_for_words_salt_turns_false() {
    let f = fixture();
    let c = Compound::parse("G@os or S@bogus or web* or P@os:(deb", &f.nodegroups).expect("parses");
    let w = c.warnings();
    assert_eq!(w.len(), 3);
    assert!(
        matches!(&w[2], TargetError::CompoundTerm { position: 27, source, .. }
        if matches!(&**source, TargetError::BadRegex { pattern, .. } if pattern == "(deb"))
    );
    assert!(
        matches!(&w[0], TargetError::CompoundTerm { position: 0, source, .. }
        if matches!(**source, TargetError::MissingDelimiter { kind: TargetKind::Grain, .. }))
    );
    assert!(
        matches!(&w[1], TargetError::CompoundTerm { position: 8, source, .. }
        if matches!(**source, TargetError::BadCidr(_)))
    );
    let empty = json!({});
    assert!(c.matches(&facts_for(&f.minions, "web1", &empty)));
    assert!(!c.matches(&facts_for(&f.minions, "db1", &empty)));
}

/// Salt's precedence (`not` > `and` > `or`) against every truth assignment
/// (the concrete expressions were also run through Salt's compound matcher).
#[test]
fn compound_precedence_truth_tables() {
    let no = Map::new();
    let empty = json!({});
    let table: &[(&str, Truth)] = &[
        ("a or b and not c", |a, b, c| a || (b && !c)),
        ("not a or b", |a, b, _| !a || b),
        ("not ( a or b )", |a, b, _| !(a || b)),
        ("a and b or c", |a, b, c| (a && b) || c),
        ("a and ( b or c )", |a, b, c| a && (b || c)),
        ("a not b", |a, b, _| a && !b),
        ("( a ) not ( b or c )", |a, b, c| a && !(b || c)),
        ("not a and not b and not c", |a, b, c| !a && !b && !c),
        ("a or not b and c or ( )", |a, b, c| a || (!b && c)),
    ];
    for (expr, truth) in table {
        for bits in 0..8u8 {
            let (a, b, c) = (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0);
            // Each of a, b, c is a list target that includes the id when true.
            let ids: Vec<&str> = [("a", a), ("b", b), ("c", c)]
                .iter()
                .map(|(n, on)| if *on { "me" } else { *n })
                .collect();
            let concrete: String = expr
                .split(' ')
                .map(|w| match w {
                    "a" => format!("L@x,{}", ids[0]),
                    "b" => format!("L@x,{}", ids[1]),
                    "c" => format!("L@x,{}", ids[2]),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            let facts = Facts {
                id: "me",
                grains: &empty,
                pillar: &empty,
            };
            let got = matches(&concrete, TargetKind::Compound, &facts, &no);
            assert_eq!(got, Ok(truth(a, b, c)), "{expr} with a={a} b={b} c={c}");
        }
    }
}

/// One parse, many minions: the master's use.
#[test]
fn parse_once_match_many() {
    let no = Map::new();
    let target = Target::parse(
        "G@os:Debian and E@web\\d+ and not L@web8",
        TargetKind::Compound,
        &no,
    )
    .unwrap();
    let grains = json!({"os": "Debian"});
    let other = json!({"os": "Ubuntu"});
    let pillar = json!({});
    let mut hits = 0;
    for n in 0..10_000 {
        let id = format!("web{n}");
        let g = if n % 2 == 0 { &grains } else { &other };
        if target.matches(&Facts {
            id: &id,
            grains: g,
            pillar: &pillar,
        }) {
            hits += 1;
        }
    }
    assert_eq!(hits, 4_999);
}

#[test]
fn standalone_errors() {
    let no = Map::new();
    let cases: &[(&str, TargetKind, ErrorCheck)] = &[
        ("os", TargetKind::Grain, |e| {
            matches!(e, TargetError::MissingDelimiter { delimiter: ':', .. })
        }),
        ("(x", TargetKind::Pcre, |e| {
            matches!(e, TargetError::BadRegex { .. })
        }),
        ("x(?!y)", TargetKind::Pcre, |e| {
            matches!(e, TargetError::UnsupportedRegex { .. })
        }),
        ("os:(x", TargetKind::GrainPcre, |e| {
            matches!(e, TargetError::BadRegex { .. })
        }),
        ("os:(?=x)", TargetKind::PillarPcre, |e| {
            matches!(e, TargetError::UnsupportedRegex { .. })
        }),
        ("10.0.0.1/8", TargetKind::Ipcidr, |e| {
            matches!(e, TargetError::BadCidr(_))
        }),
        ("nope", TargetKind::Nodegroup, |e| {
            matches!(e, TargetError::UnknownNodegroup(_))
        }),
    ];
    for (expr, kind, check) in cases {
        match Target::parse(expr, *kind, &no) {
            Err(e) => {
                assert!(check(&e), "{kind} {expr:?}: {e:?}");
                assert!(!e.to_string().is_empty());
            }
            Ok(_) => panic!("{kind} {expr:?} should fail"),
        }
    }
    // Non-string targets: only list and compound take a list.
    let list = json!(["a", "b"]);
    assert!(Target::parse_value(&list, TargetKind::Grain, &no).is_err());
    assert!(Target::parse_value(&json!(5), TargetKind::Glob, &no).is_err());
    assert!(Target::parse_value(&json!(["a", 5]), TargetKind::Compound, &no).is_err());
    assert!(Target::parse_value(&list, TargetKind::List, &no).is_ok());
    assert!(matches_list(&["a".into(), "b".into()], "b"));
    assert!(!matches_list(&["a,b".into()], "b"));
}

/// The value-matching ambiguity of `subdict_match`: keys containing the
/// delimiter are unreachable, while values containing it are matched whole.
/// (Each expectation was checked with Salt's compound matcher.)
#[test]
fn grain_with_custom_delimiter_in_compound() {
    let no = Map::new();
    let grains = json!({"a": {"b": "x:y"}, "k:v": "z"});
    let facts = Facts {
        id: "m",
        grains: &grains,
        pillar: &json!({}),
    };
    let check = |expr: &str| Compound::parse(expr, &no).unwrap().matches(&facts);
    assert!(check("G@a:b:x:y"));
    assert!(check("G|@a|b|x:y"));
    assert!(check("G/@a/b/x*"));
    assert!(!check("G@k:v:z"));
    assert!(check("G@*:z"));
}

/// Tiny deterministic generator so the no-panic sweeps need no dependency.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

/// Random compound expressions from a vocabulary of awkward pieces: parsing
/// and matching must never panic, whatever comes back.
#[test]
fn compound_parse_never_panics() {
    let f = fixture();
    let pieces = [
        "and",
        "or",
        "not",
        "(",
        ")",
        "( )",
        "web*",
        "G@",
        "G@os:",
        "G@os:Debian",
        "G|@a|b",
        "P@os:(",
        "P@*:*:*",
        "I@*:x",
        "J@a:[",
        "L@",
        "L@a,,b",
        "S@",
        "S@::/0",
        "S@1.2.3.4/33",
        "E@",
        "E@(",
        "E@[[:x:]]",
        "E@\\",
        "R@x",
        "N@",
        "N@webs",
        "N@all",
        "N@cyc_a",
        "N@nope",
        "N@bad",
        "@",
        "X@",
        "[!",
        "é",
        "\u{1c}",
        "\n",
        "\t",
        " ",
        "*:*:*:*",
        "{,}",
        "$",
        "G@\n",
        "G@x\n",
        "N@\n",
    ];
    let empty = json!({});
    let facts = facts_for(&f.minions, "web1", &empty);
    let mut rng = Lcg(7);
    for _ in 0..20_000 {
        let n = rng.next() % 12;
        let mut expr = String::new();
        for _ in 0..n {
            expr.push_str(pieces[rng.next() % pieces.len()]);
            if !rng.next().is_multiple_of(3) {
                expr.push(' ');
            }
        }
        if let Ok(c) = Compound::parse(&expr, &f.nodegroups) {
            c.matches(&facts);
        }
    }
    // Deep nesting and long inputs stay bounded.
    let deep = "( ".repeat(100_000);
    assert!(Compound::parse(&deep, &f.nodegroups).is_err());
    let long = "web1 or ".repeat(50_000) + "db1";
    assert!(Compound::parse(&long, &f.nodegroups)
        .unwrap()
        .matches(&facts));
    let stars = "G@".to_string() + &"*:".repeat(5_000) + "x";
    assert!(!Compound::parse(&stars, &f.nodegroups)
        .unwrap()
        .matches(&facts));
}

/// Random byte soup as regexes, globs and grain paths.
#[test]
fn patterns_never_panic() {
    let alphabet: Vec<char> = "ab(){}[]^$|*+?.\\-:,!&~#xPZzdDuUN0189<>=' \n\u{e9}"
        .chars()
        .collect();
    let no = Map::new();
    let grains = json!({"a": {"b": ["x", {"c": 1}], "(": true}, "x": [[1], {"y": null}]});
    let facts = Facts {
        id: "a(b",
        grains: &grains,
        pillar: &grains,
    };
    let mut rng = Lcg(11);
    for _ in 0..20_000 {
        let n = rng.next() % 16;
        let s: String = (0..n)
            .map(|_| alphabet[rng.next() % alphabet.len()])
            .collect();
        for kind in [
            TargetKind::Glob,
            TargetKind::Pcre,
            TargetKind::Grain,
            TargetKind::GrainPcre,
            TargetKind::PillarExact,
            TargetKind::Ipcidr,
            TargetKind::List,
        ] {
            let _ = matches(&s, kind, &facts, &no);
        }
    }
}

#[test]
fn parsed_targets_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Target>();
    assert_send_sync::<Compound>();
    assert_send_sync::<TargetError>();
}

#[test]
fn needs_pillar_only_where_a_word_matches_on_pillar() {
    let groups: Map<String, Value> = serde_json::from_value(json!({
        "dbs": "I@role:db or web1",
        "regexed": ["J@role:d.*", "or", "web*"],
        "nested": "N@dbs and G@os:Debian",
        "plain": "G@os:Debian or web*",
        "listed": ["web1", "web2"],
    }))
    .unwrap();
    let needs = |expr: &str, kind: TargetKind| {
        Target::parse(expr, kind, &groups)
            .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
            .needs_pillar()
    };
    for kind in [
        TargetKind::Pillar,
        TargetKind::PillarPcre,
        TargetKind::PillarExact,
    ] {
        assert!(needs("role:db", kind), "{kind}");
    }
    for kind in [TargetKind::Grain, TargetKind::GrainPcre] {
        assert!(!needs("role:db", kind), "{kind}");
    }
    // `I@` that is not a pillar word: a glob, a list, a grain's value.
    assert!(!needs("I@role:db", TargetKind::Glob));
    assert!(!needs("web1,I@role:db", TargetKind::List));
    assert!(!needs("I@.*", TargetKind::Pcre));
    assert!(!needs("G@note:I@x and web*", TargetKind::Compound));
    assert!(!needs("xI@role:db or web*", TargetKind::Compound));
    assert!(!needs("L@web1,I@role:db", TargetKind::Compound));
    // Pillar words, with either engine and a custom delimiter.
    assert!(needs("web* and I@role:db", TargetKind::Compound));
    assert!(needs("not J@role:^d", TargetKind::Compound));
    assert!(needs("G@os:Debian or I|@role|db", TargetKind::Compound));
    // Nodegroups count once expanded, however deep.
    assert!(needs("dbs", TargetKind::Nodegroup));
    assert!(needs("regexed", TargetKind::Nodegroup));
    assert!(needs("nested", TargetKind::Nodegroup));
    assert!(needs("web* or N@nested", TargetKind::Compound));
    assert!(!needs("plain", TargetKind::Nodegroup));
    assert!(!needs("listed", TargetKind::Nodegroup));
    assert!(!needs("N@plain and not N@listed", TargetKind::Compound));
    // A pillar word without its delimiter never matches (Salt turns it
    // false), so it needs no pillar.
    assert!(!needs("I@role or web*", TargetKind::Compound));
}
