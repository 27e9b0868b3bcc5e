//! End to end: a job's saltenv, pillarenv and command-line `pillar=` from
//! the operator (`master apply ... saltenv=X pillar='{...}'`, `master run ...
//! state.apply pillar=...`) through the master's compile to the minion, and
//! into the job cache. Real `master serve` and `minion serve` on loopback.
//!
//! Each case starts from [`Fixture::start`] with its own files and config
//! lines. `tests::daemons` writes saltenv `base`'s `file_roots` and
//! `pillar_roots` (`salt/`, `pillar/`); a case with more environments needs
//! it to take the roots whole, since a second `file_roots:` key is refused.
use std::time::Duration;

use serde_json::Value;
use tests::daemons::{wait_until, Master, Minion};

/// A command-line pillar value that must reach the file and never the job
/// record or a log.
const CLI_VALUE: &str = "cli-override-7f3a";

const TOP: &str = "base:\n  '*':\n    - app\n";
const APP: &str = "\
/etc/app.conf:
  file.managed:
    - source: salt://app.conf.j2
    - template: jinja
";

struct Fixture {
    master: Master,
    minion: Minion,
}

impl Fixture {
    /// One master with `files`, one accepted and connected minion `web1`.
    fn start(files: &[(&str, &str)], extra_config: &str) -> Fixture {
        let master = Master::start_with(files, extra_config);
        let minion = master.minion("web1");
        std::fs::create_dir_all(minion.root().join("etc")).unwrap();
        wait_until(Duration::from_secs(20), "web1 pending", || {
            !master.pending().is_empty()
        });
        master.cli(&["keys", "accept", "--all"]);
        master.wait_connected(&["web1"]);
        Fixture { master, minion }
    }

    /// The base tree: a template showing the pillar's `greeting`.
    fn greeting() -> Fixture {
        Fixture::start(
            &[
                ("salt/top.sls", TOP),
                ("salt/app.sls", APP),
                ("salt/app.conf.j2", "greeting={{ pillar['greeting'] }}\n"),
                ("pillar/top.sls", "base:\n  '*':\n    - common\n"),
                ("pillar/common.sls", "greeting: default\n"),
            ],
            "",
        )
    }

    fn app_conf(&self) -> String {
        std::fs::read_to_string(self.minion.root().join("etc/app.conf")).unwrap_or_default()
    }

    /// The newest job's record, as `jobs show --out json` prints it.
    fn newest_job(&self) -> Value {
        let (_, jobs) = self.master.json(&["jobs", "list"]);
        let jid = jobs[0]["jid"].as_str().unwrap().to_string();
        let (code, shown) = self.master.json(&["jobs", "show", &jid]);
        assert_eq!(code, Some(0), "{shown:#}");
        shown
    }

    fn job_count(&self) -> usize {
        let (_, jobs) = self.master.json(&["jobs", "list"]);
        jobs.as_array().unwrap().len()
    }
}

#[test]
fn pillar_on_the_command_line_reaches_that_job_only_and_is_recorded_by_its_keys() {
    let f = Fixture::greeting();
    let pillar = format!(r#"pillar={{"greeting": "{CLI_VALUE}"}}"#);
    let (code, v) = f.master.json(&["apply", "*", &pillar, "saltenv=base"]);
    assert_eq!(code, Some(0), "{v:#}\n{}", f.minion.log());
    assert_eq!(f.app_conf(), format!("greeting={CLI_VALUE}\n"));
    let shown = f.newest_job();
    let record = &shown["record"];
    assert_eq!(record["saltenv"], "base", "{shown:#}");
    assert_eq!(record["pillarenv"], Value::Null, "{shown:#}");
    assert_eq!(
        record["args"]["pillar_keys"],
        serde_json::json!(["greeting"])
    );
    assert!(!record.to_string().contains(CLI_VALUE), "{record:#}");
    let jid = record["jid"].as_str().unwrap();
    let human = f.master.cli(&["jobs", "show", jid]);
    assert!(human.stdout.contains("saltenv: base"), "{human:?}");
    assert!(human.stdout.contains("pillarenv: null"), "{human:?}");

    // The next job without it renders the tree's pillar: the compile made
    // with `pillar=` was neither reused nor kept for it.
    let (code, v) = f.master.json(&["apply", "*"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(f.app_conf(), "greeting=default\n");
    let record = &f.newest_job()["record"];
    assert_eq!(record["saltenv"], "base", "{record:#}");
    assert_eq!(record["args"].get("pillar_keys"), None, "{record:#}");

    // The same through `master run` and the exec table, with the flags.
    let run_pillar = format!(r#"pillar={{"greeting": "{CLI_VALUE}-run"}}"#);
    let (code, v) = f.master.json(&[
        "run",
        "*",
        "state.apply",
        &run_pillar,
        "--saltenv",
        "base",
        "--pillarenv",
        "base",
    ]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(f.app_conf(), format!("greeting={CLI_VALUE}-run\n"));
    let record = &f.newest_job()["record"];
    assert_eq!(record["function"], "state.apply", "{record:#}");
    assert_eq!(record["pillarenv"], "base", "{record:#}");
    assert_eq!(
        record["args"]["pillar_keys"],
        serde_json::json!(["greeting"])
    );
    assert!(!record.to_string().contains(CLI_VALUE), "{record:#}");
    // What the master answers itself takes them too.
    let (code, v) = f
        .master
        .json(&["run", "*", "state.show_lowstate", "saltenv=base"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["web1"][0]["name"], "/etc/app.conf", "{v:#}");

    // `jobs list` shows each job's environments too.
    let (_, jobs) = f.master.json(&["jobs", "list"]);
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["saltenv"] == "base" && j.get("pillarenv").is_some()),
        "{jobs:#}"
    );
    let log = f.master.log();
    assert!(
        !log.contains(CLI_VALUE),
        "the value is in master.log:\n{log}"
    );
    let log = f.minion.log();
    assert!(
        !log.contains(CLI_VALUE),
        "the value is in minion.log:\n{log}"
    );
}

#[test]
fn an_unknown_saltenv_or_a_pillar_that_is_not_a_map_runs_nothing() {
    let f = Fixture::greeting();
    let started = f.minion.jobs_started().len();

    // Not an environment of this master: that minion's compile fails with
    // an error naming it; nothing is sent to the minion.
    let out = f.master.cli(&["apply", "*", "saltenv=nope"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("'nope'"), "{out:?}");
    let out = f
        .master
        .cli(&["run", "*", "state.sls", "app", "saltenv=nope"]);
    assert_ne!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("'nope'"), "{out:?}");
    assert_eq!(f.minion.jobs_started().len(), started);
    assert_eq!(f.newest_job()["record"]["saltenv"], "nope");

    // Refused by the operator's command before anything is published.
    let jobs = f.job_count();
    for args in [
        vec!["apply", "*", "pillar=[1, 2]"],
        vec!["apply", "*", "pillar=not-a-map"],
        vec!["run", "*", "state.apply", "pillar=[1]"],
        vec!["run", "*", "state.show_lowstate", "pillar=5"],
    ] {
        let out = f.master.cli(&args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(
            out.stderr
                .contains("Pillar data must be formatted as a dictionary"),
            "{args:?}: {out:?}"
        );
    }
    for args in [
        vec!["apply", "*", "saltenv=../etc"],
        vec!["apply", "*", "--pillarenv", ""],
        vec!["apply", "*", "saltenv=base", "--saltenv", "base"],
        vec!["run", "*", "state.apply", "saltenv=a/b"],
    ] {
        let out = f.master.cli(&args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("error:"), "{args:?}: {out:?}");
    }
    assert_eq!(f.job_count(), jobs);
    assert_eq!(f.minion.jobs_started().len(), started);
    assert!(!f.minion.root().join("etc/app.conf").exists());
}
