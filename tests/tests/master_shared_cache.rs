//! Two real masters sharing one real PostgreSQL for what issue 13 left:
//! grains and mine (`cache: postgres`), the operator ACL (`key_store:
//! postgres`), and the notifications a master's listener missed while its
//! connection was down, replayed once it is back.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};
use tests::postgres::Postgres;

/// A load balancer's backends from the mine, rendered on the master.
const LB: &str = r#"
{%- set backends = salt['mine.get']('role:web', 'network.ip_addrs', tgt_type='grain') %}
{%- set lines = [] %}
{%- for id in backends | sort %}
{%- do lines.append('server ' ~ id ~ ' ' ~ backends[id] | join(',')) %}
{%- endfor %}
/etc/backends.txt:
  file.managed:
    - contents: {{ lines | join('\n') | json }}
"#;

const WEB: &str = "grains:\n  role: web\n\
                   mine_functions:\n  network.ip_addrs:\n    - include_loopback: true\n";

fn shared_master(pg: &Postgres, extra: &str) -> Master {
    Master::start_with(
        &[("salt/top.sls", "base: {}\n"), ("salt/lb.sls", LB)],
        &format!(
            "key_store: postgres\ncache: postgres\npostgres:\n  dsn: \"{}\"\n{extra}",
            pg.dsn()
        ),
    )
}

/// The minions a publish through `master` targets (those that did not
/// return included), by `args`; none when nothing matched.
fn targeted(master: &Master, args: &[&str]) -> Vec<String> {
    let mut all = vec!["run"];
    all.extend(args);
    all.extend(["test.ping", "-t", "2", "--out", "json"]);
    let out = master.cli(&all);
    match serde_json::from_str::<Value>(&out.stdout) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => {
            assert!(out.stderr.contains("No minions matched"), "{out:?}");
            vec![]
        }
    }
}

/// `master render ID lb` through `master`: its output, or the error.
fn render_lb(master: &Master, id: &str) -> Result<String, String> {
    let out = master.cli(&["render", id, "lb", "--out", "json"]);
    match out.code {
        Some(0) => Ok(out.stdout),
        _ => Err(out.stderr),
    }
}

#[test]
fn a_minion_on_one_master_is_targeted_and_mined_through_the_other() {
    let pg = Postgres::start();
    let a = shared_master(&pg, "auto_accept: true\n");
    let mut b = shared_master(&pg, "");
    // Its config lists only A.
    let web1 = Minion::start("web1", a.ret_port, WEB);
    a.wait_connected(&["web1"]);

    // B never saw web1, yet targets it by its grains...
    wait_until(Duration::from_secs(10), "B targets web1 by grain", || {
        targeted(&b, &["-G", "role:web"]) == ["web1"]
    });
    assert_eq!(targeted(&b, &["-C", "G@role:web and web*"]), ["web1"]);
    assert!(targeted(&b, &["-G", "role:db"]).is_empty());
    // ...and renders from its mine.
    wait_until(
        Duration::from_secs(10),
        "B renders from web1's mine",
        || render_lb(&b, "web1").is_ok_and(|r| r.contains("server web1 127.0.0.1")),
    );
    // Kept in PostgreSQL, not in files.
    assert!(!a.dir.path().join("cache/minions/web1").exists());
    assert_eq!(
        pg.psql(
            "brine",
            "SELECT count(*) FROM brine_minion_cache WHERE mine IS NOT NULL"
        ),
        "1\n"
    );
    // A master starting loads it.
    b.restart();
    let rendered = render_lb(&b, "web1").unwrap();
    assert!(rendered.contains("server web1 127.0.0.1"), "{rendered}");

    // Its key deleted on B: its cache is gone on A at once.
    drop(web1);
    let (code, v) = b.json(&["keys", "delete", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    wait_until(Duration::from_secs(5), "web1's grains gone on A", || {
        render_lb(&a, "web1").is_err_and(|e| e.contains("no cached grains for web1"))
    });
    assert_eq!(
        pg.psql("brine", "SELECT count(*) FROM brine_minion_cache"),
        "0\n"
    );
}

fn write_acl(master: &Master, functions: &str) -> String {
    let path = master.dir.path().join("acl.yaml");
    std::fs::write(
        &path,
        format!("local:\n  - targets: '*'\n    functions: [{functions}]\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn refused(master: &Master, args: &[&str], function: &str) -> bool {
    let out = master.cli(args);
    out.code != Some(0)
        && out
            .stderr
            .contains(&format!("operator local may not run {function}"))
}

#[test]
fn the_acl_is_shared_seeded_once_and_set_on_every_master_at_once() {
    let pg = Postgres::start();
    // A's config seeds the shared ACL; B, without one, applies it.
    let a = shared_master(
        &pg,
        "acl:\n  local:\n    - targets: '*'\n      functions: [keys, jobs, acl]\n",
    );
    let b = shared_master(&pg, "");
    assert!(
        a.log().contains("seeded from this master's acl"),
        "{}",
        a.log()
    );
    let (code, shown) = b.json(&["acl", "show"]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(shown["source"], "postgres");
    assert_eq!(shown["acl"]["local"][0]["functions"][1], "jobs");
    assert!(refused(&b, &["fileserver", "status"], "fileserver"));
    assert_eq!(b.cli(&["jobs", "list"]).code, Some(0));

    // Set on A: B refuses `jobs` at once.
    let file = write_acl(&a, "keys, acl");
    let (code, set) = a.json(&["acl", "set", &file]);
    assert_eq!(code, Some(0), "{set}");
    assert_eq!(set["acl"]["local"][0]["functions"][1], "acl");
    wait_until(Duration::from_secs(3), "B refuses jobs", || {
        refused(&b, &["jobs", "list"], "jobs")
    });
    assert!(refused(&a, &["jobs", "list"], "jobs"));
    // An ACL that does not parse is refused, naming what is wrong.
    std::fs::write(&file, "local: [{targets: '*'}]\n").unwrap();
    let out = a.cli(&["acl", "set", &file]);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("functions"), "{out:?}");

    // A master whose config's acl differs refuses to start, saying where
    // the ACL lives.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("master.yaml");
    std::fs::write(
        &config,
        format!(
            "pki_dir: {d}/pki\ncachedir: {d}/cache\nret_port: 1\noperator_port: 2\n\
             key_store: postgres\npostgres:\n  dsn: \"{dsn}\"\n\
             acl:\n  local:\n    - targets: '*'\n      functions: ['*']\n",
            d = dir.path().display(),
            dsn = pg.dsn()
        ),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(tests::bin("master"));
    cmd.args(["serve", "--config"]).arg(&config);
    let out = tests::run(cmd, Duration::from_secs(60)).unwrap();
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("the ACL lives in PostgreSQL") && out.stderr.contains("acl set"),
        "{out:?}"
    );
}

/// Takes every master's listener down and keeps it down (new connections
/// to `brine` refused; the masters' other connections stay up).
fn cut_listeners(pg: &Postgres) {
    const LISTENERS: &str =
        "FROM pg_stat_activity WHERE datname = 'brine' AND query LIKE 'LISTEN%'";
    wait_until(Duration::from_secs(10), "both masters listening", || {
        pg.psql("postgres", &format!("SELECT count(*) {LISTENERS}")) == "2\n"
    });
    pg.psql("postgres", "ALTER DATABASE brine ALLOW_CONNECTIONS false");
    let killed = pg.psql(
        "postgres",
        &format!("SELECT count(pg_terminate_backend(pid)) {LISTENERS}"),
    );
    assert_eq!(killed, "2\n", "one listener per master");
}

fn restore_listeners(pg: &Postgres) {
    pg.psql("postgres", "ALTER DATABASE brine ALLOW_CONNECTIONS true");
}

#[test]
fn a_master_replays_what_it_missed_while_its_listener_was_down() {
    let pg = Postgres::start();
    let a = shared_master(&pg, "");
    let b = shared_master(&pg, "");
    // Connected to A only, and retrying only after ten minutes: only A's
    // admission of its held session gets it in soon.
    let web1 = Minion::start_waiting("web1", a.ret_port, 600, "grains:\n  role: web\n");
    wait_until(Duration::from_secs(20), "web1 pending", || {
        a.pending() == ["web1"]
    });

    // Accepted on B while A hears nothing: A admits it once it listens again.
    cut_listeners(&pg);
    let (code, v) = b.json(&["keys", "accept", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    restore_listeners(&pg);
    a.wait_connected(&["web1"]);
    let rendered = a.cli(&["render", "web1", "--out", "json"]);
    assert_eq!(rendered.code, Some(0), "{rendered:?}");

    // Deleted on B while A hears nothing: A closes its session, and its
    // grains are gone, once it listens again.
    cut_listeners(&pg);
    let (code, v) = b.json(&["keys", "delete", "web1"]);
    assert_eq!(code, Some(0), "{v}");
    restore_listeners(&pg);
    wait_until(
        Duration::from_secs(10),
        "web1 told by A its key was deleted",
        || web1.log().contains("this minion's key was deleted"),
    );
    wait_until(Duration::from_secs(10), "web1's grains gone on A", || {
        a.cli(&["render", "web1"])
            .stderr
            .contains("no cached grains for web1")
    });
    assert!(a.log().contains("replaying what was missed"), "{}", a.log());
}
