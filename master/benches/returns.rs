//! Returns recorded per second into the job cache (issue 13, BENCHMARKS.md):
//! SQLite (`master_job_cache: sqlite`, the default) against PostgreSQL (a
//! private server on a unix socket, `tests::postgres`), in batches of 100
//! and of 512 returns per transaction (the daemon writes up to 512 at once).
//! Each iteration records 1,000 returns of a 20-state apply into a job that
//! expects them. `cargo bench --workspace --bench returns`; needs
//! `scripts/test-prereqs.sh` (postgresql and its user).
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use master::jobcache::{now_ms, JobCache, JobRecord, NewReturn};
use serde_json::{json, Value};

const RETURNS: usize = 1_000;

fn new_job(cache: &JobCache, ids: &[String]) -> JobRecord {
    let job = JobRecord {
        jid: cache.new_jid().unwrap(),
        operator: "bench".into(),
        target: "swarm-*".into(),
        tgt_type: "glob".into(),
        function: "state.apply".into(),
        args: json!({"args": [], "kwargs": {}}),
        saltenv: "base".into(),
        pillarenv: None,
        expected: ids.to_vec(),
        started: now_ms(),
        finished: None,
        tree_commit: None,
        pillar_commit: None,
    };
    cache.record_job(&job).unwrap();
    job
}

/// What one minion returns for the bench-swarm's 20-state no-op apply.
fn apply_return() -> Value {
    let mut ret = serde_json::Map::new();
    for i in 0..20 {
        let name = format!("/srv/app/conf-{i}.conf");
        ret.insert(
            format!("file_|-{name}_|-{name}_|-managed"),
            json!({"result": true, "changes": {}, "comment": format!("File {name} is in the correct state"),
                   "name": name, "__run_num__": i, "duration": 0.2, "start_time": "12:00:00.000000"}),
        );
    }
    Value::Object(ret)
}

fn record_returns(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let pg = tests::postgres::Postgres::start();
    let caches = [
        (
            "sqlite",
            JobCache::open(&dir.path().join("jobs.sqlite")).unwrap(),
        ),
        (
            "postgres",
            JobCache::open_postgres(&pg.dsn(), "bench").unwrap(),
        ),
    ];
    let ids: Vec<String> = (0..RETURNS).map(|i| format!("swarm-{i:04}")).collect();
    let ret = apply_return();
    let mut group = c.benchmark_group("record_returns");
    group.throughput(Throughput::Elements(RETURNS as u64));
    group.sample_size(20);
    for (store, cache) in &caches {
        for batch in [100, 512] {
            group.bench_function(format!("{store}/batch{batch}"), |b| {
                b.iter_batched(
                    || new_job(cache, &ids),
                    |job| {
                        for chunk in ids.chunks(batch) {
                            let rows: Vec<NewReturn<'_>> = chunk
                                .iter()
                                .map(|m| NewReturn {
                                    minion: m,
                                    success: true,
                                    retcode: 0,
                                    ret: &ret,
                                })
                                .collect();
                            cache.record_returns(&job.jid, &rows).unwrap();
                        }
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, record_returns);
criterion_main!(benches);
