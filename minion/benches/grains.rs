//! How long grains detection takes (it runs at every start and every
//! `grains_refresh_every`): `cargo bench -p minion --bench grains`.
use criterion::{criterion_group, criterion_main, Criterion};

fn detect(c: &mut Criterion) {
    // The first call loads NSS modules; measure the steady state.
    let _ = minion::grains::detect();
    c.bench_function("grains::detect", |b| b.iter(minion::grains::detect));
}

criterion_group!(benches, detect);
criterion_main!(benches);
