//! Target expressions of every kind (an operator's `master apply -C ...`
//! arrives from the network), parsed and matched against the minions of
//! the matcher's oracle table, with its nodegroups.
//!
//! Input: the first byte picks the kind (`TargetKind` in table order; with
//! the high bit set, the text is given as data: one list item per line, as a
//! top.sls YAML list would); the rest is the expression.
#![no_main]
use std::sync::OnceLock;

use brine_fuzz::{target_fixture, TargetFixture};
use common::data::Value;
use common::target::{self, Facts, Target, TargetKind};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static TargetFixture {
    static FIXTURE: OnceLock<TargetFixture> = OnceLock::new();
    FIXTURE.get_or_init(target_fixture)
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Ok(expr) = std::str::from_utf8(rest) else {
        return;
    };
    let names = &TargetKind::NAMES;
    let (_, kind) = names[usize::from(head & 0x7f) % names.len()];
    let fx = fixture();
    let parsed = if head & 0x80 != 0 {
        let items = expr.lines().map(|l| Value::String(l.into())).collect();
        Target::parse_value(&Value::Array(items), kind, &fx.nodegroups)
    } else {
        if kind == TargetKind::Pcre {
            let _ = target::python_regex(expr);
        }
        Target::parse(expr, kind, &fx.nodegroups)
    };
    let Ok(target) = parsed else {
        return;
    };
    let _ = target.warnings();
    for (id, grains, pillar) in &fx.minions {
        let facts = Facts { id, grains, pillar };
        let _ = target.matches(&facts);
    }
});
