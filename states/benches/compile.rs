//! Compiling one minion's lowstate for benches/tree50 (50 SLS files, 10 map.jinja
//! imports with import_yaml, filter_by and pillar merges).
//!
//! `cold`: a new Compiler per minion (templates parsed again), as a one-shot CLI run.
//! `warm`: one Compiler reused across minions (templates cached), as the master will.
//! `with_pillar`: warm, plus compiling that minion's pillar.
use std::path::PathBuf;
use std::sync::Arc;

use common::render::NoHost;
use criterion::{criterion_group, criterion_main, Criterion};

// The same allocator the binaries use, so the figures match what users run.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use serde_json::{json, Value};
use states::compile::{Compiler, Minion};

fn tree() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/tree50")
}

fn grains() -> Value {
    json!({"id": "bench01", "os": "Debian", "os_family": "Debian", "osmajorrelease": 12})
}

fn pillar_for(grains: &Value, opts: &Value) -> Value {
    let tree = pillar::PillarTree::new(vec![tree().join("pillar")], "base");
    tree.compile(&Minion {
        id: "bench01",
        grains,
        opts,
        probe: Arc::new(NoHost),
    })
    .expect("bench pillar compiles")
}

fn bench(c: &mut Criterion) {
    let grains = grains();
    let opts = json!({"id": "bench01"});
    let pillar = pillar_for(&grains, &opts);
    let minion = Minion {
        id: "bench01",
        grains: &grains,
        opts: &opts,
        probe: Arc::new(NoHost),
    };
    let roots = vec![tree().join("salt")];
    let chunks = Compiler::new(roots.clone(), "base")
        .lowstate(&minion, &pillar)
        .expect("bench tree compiles");
    assert_eq!(chunks.len(), 80);

    let mut g = c.benchmark_group("lowstate_tree50");
    g.bench_function("cold", |b| {
        b.iter(|| {
            Compiler::new(roots.clone(), "base")
                .lowstate(&minion, &pillar)
                .unwrap()
        })
    });
    let warm = Compiler::new(roots.clone(), "base");
    g.bench_function("warm", |b| {
        b.iter(|| warm.lowstate(&minion, &pillar).unwrap())
    });
    g.bench_function("warm_with_pillar", |b| {
        b.iter(|| {
            let pillar = pillar_for(&grains, &opts);
            warm.lowstate(&minion, &pillar).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
