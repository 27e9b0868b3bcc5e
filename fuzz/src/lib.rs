//! Helpers shared by the fuzz targets and by the seed-corpus generator
//! (`examples/seed_corpus.rs`), so both agree on how an input is laid out.
use common::data::{Map, Value};

/// Splits a fuzz input into parts: each part but the last is a little-endian
/// `u16` length followed by that many bytes; the last part is whatever
/// remains. A length running past the end takes the rest, so every input is
/// valid and the fuzzer never wastes runs on a framing error.
pub fn split(mut data: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(parts);
    for _ in 1..parts {
        if data.len() < 2 {
            out.push(&data[..0]);
            continue;
        }
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        data = &data[2..];
        let (part, rest) = data.split_at(len.min(data.len()));
        out.push(part);
        data = rest;
    }
    out.push(data);
    out
}

/// The inverse of [`split`], for writing seeds.
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let (last, init) = parts.split_last().expect("at least one part");
    for part in init {
        let len = u16::try_from(part.len()).expect("a seed part under 64 KiB");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(last);
    out
}

/// The minions, nodegroups and cases of the target matcher's oracle table
/// (`common/src/target/testdata/cases.json`, generated from Salt).
pub struct TargetFixture {
    /// (id, grains, pillar) of every minion in the table.
    pub minions: Vec<(String, Value, Value)>,
    pub nodegroups: Map<String, Value>,
    /// (kind, expression) of every case.
    pub cases: Vec<(String, String)>,
}

pub fn target_fixture() -> TargetFixture {
    let table: Value =
        serde_json::from_str(include_str!("../../common/src/target/testdata/cases.json"))
            .expect("the oracle table is JSON");
    let minions = table["minions"]
        .as_object()
        .expect("minions is a map")
        .iter()
        .map(|(id, m)| (id.clone(), m["grains"].clone(), m["pillar"].clone()))
        .collect();
    let nodegroups = table["nodegroups"]
        .as_object()
        .expect("nodegroups is a map")
        .clone();
    let cases = table["cases"]
        .as_array()
        .expect("cases is a list")
        .iter()
        .filter_map(|c| Some((c[0].as_str()?.to_string(), c[1].as_str()?.to_string())))
        .collect();
    TargetFixture {
        minions,
        nodegroups,
        cases,
    }
}
