use std::time::Duration;

use serde_json::json;

use super::*;
use crate::pg_acl::PgAcl;
use crate::pgstore::{listen, Heard};

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn next(rx: &std::sync::mpsc::Receiver<Heard>) -> Heard {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a change announced")
}

fn note(channel: &str, payload: &str) -> Heard {
    Heard::Note {
        channel: channel.into(),
        payload: payload.into(),
    }
}

/// Two masters' caches on one PostgreSQL: what one stores the other loads,
/// every change is announced once, the mine merges across both, and a
/// delete takes the row.
#[test]
fn grains_and_mine_are_stored_merged_announced_and_deleted() {
    let pg = ::tests::postgres::Postgres::start();
    let a = PgCache::open(&pg.dsn()).unwrap();
    let b = PgCache::open(&pg.dsn()).unwrap();
    let heard = listen(&pg.dsn(), &[CHANNEL]).unwrap();

    a.set_grains("web1", r#"{"id":"web1","os":"Debian"}"#)
        .unwrap();
    let digest = grains_digest(r#"{"id":"web1","os":"Debian"}"#);
    assert_eq!(
        next(&heard),
        note(CHANNEL, &format!("grains web1 {digest}"))
    );
    assert_eq!(
        CacheChange::parse(&format!("grains web1 {digest}")),
        Some(CacheChange::Grains {
            id: "web1".into(),
            digest: Some(digest)
        })
    );
    // The same grains again are no change, and not announced.
    b.set_grains("web1", r#"{"id":"web1","os":"Debian"}"#)
        .unwrap();
    let merged = a
        .merge_mine("web1", map(json!({"ip": ["10.0.0.1"]})))
        .unwrap();
    assert_eq!(merged, map(json!({"ip": ["10.0.0.1"]})));
    assert_eq!(next(&heard), note(CHANNEL, "mine web1"));
    // Merged over what the other master stored (Salt's clear=False).
    let merged = b.merge_mine("web1", map(json!({"disk": 1}))).unwrap();
    assert_eq!(merged, map(json!({"ip": ["10.0.0.1"], "disk": 1})));
    assert_eq!(next(&heard), note(CHANNEL, "mine web1"));
    b.merge_mine("web1", map(json!({"disk": 1}))).unwrap();

    let rows = b.load_all().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "web1");
    assert_eq!(
        rows[0].1.grains.as_deref(),
        Some(r#"{"id":"web1","os":"Debian"}"#)
    );
    let mine: Value = serde_json::from_str(rows[0].1.mine.as_deref().unwrap()).unwrap();
    assert_eq!(mine, json!({"ip": ["10.0.0.1"], "disk": 1}));

    b.delete("web1").unwrap();
    assert_eq!(next(&heard), note(CHANNEL, "deleted web1"));
    assert_eq!(a.row("web1").unwrap(), None);
    assert!(a.load_all().unwrap().is_empty());
    // Nothing else was announced: no-op writes and deletes stay quiet.
    a.delete("web1").unwrap();
    assert!(heard.recv_timeout(Duration::from_millis(300)).is_err());
    assert_eq!(
        CacheChange::parse("mine db1"),
        Some(CacheChange::Mine("db1".into()))
    );
    assert_eq!(CacheChange::parse("other db1"), None);
    assert_eq!(CacheChange::parse("mine db1 extra"), None);
    // A note from a master that sends no digest is read back as before.
    assert_eq!(
        CacheChange::parse("grains db1"),
        Some(CacheChange::Grains {
            id: "db1".into(),
            digest: None
        })
    );
}

/// The shared ACL: the first seed wins (a second master's differing seed
/// reads the first), a set replaces it, both announced.
#[test]
fn the_acl_is_seeded_once_and_replaced_by_set() {
    let pg = ::tests::postgres::Postgres::start();
    let a = PgAcl::open(&pg.dsn()).unwrap();
    let b = PgAcl::open(&pg.dsn()).unwrap();
    let heard = listen(&pg.dsn(), &[crate::pg_acl::CHANNEL]).unwrap();
    assert_eq!(a.get().unwrap(), None);
    assert_eq!(a.seed(r#"{"alice":[]}"#).unwrap(), r#"{"alice":[]}"#);
    assert_eq!(next(&heard), note(crate::pg_acl::CHANNEL, ""));
    assert_eq!(b.seed(r#"{"bob":[]}"#).unwrap(), r#"{"alice":[]}"#);
    b.set(r#"{"bob":[]}"#).unwrap();
    assert_eq!(next(&heard), note(crate::pg_acl::CHANNEL, ""));
    assert_eq!(a.get().unwrap().as_deref(), Some(r#"{"bob":[]}"#));
    assert!(heard.recv_timeout(Duration::from_millis(300)).is_err());
}

/// A listener whose connection is killed says so once it listens again,
/// and hears what comes after.
#[test]
fn the_listener_reconnects_and_says_so() {
    let pg = ::tests::postgres::Postgres::start();
    let cache = PgCache::open(&pg.dsn()).unwrap();
    let heard = listen(&pg.dsn(), &[CHANNEL, crate::pg_acl::CHANNEL]).unwrap();
    pg.psql(
        "brine",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert_eq!(next(&heard), Heard::Reconnected);
    cache.set_grains("db1", "{}").unwrap();
    let digest = grains_digest("{}");
    assert_eq!(next(&heard), note(CHANNEL, &format!("grains db1 {digest}")));
}
