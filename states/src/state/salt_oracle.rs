//! Real Salt 3007.8 as the oracle for the state tests: `salt-call --local
//! state.single` with a throwaway config dir, so Salt's files (cache, pki,
//! log, and the files a test points `hosts.file` or `aliases.file` at) stay
//! in a temp dir. Tests skip, saying why, where Salt is not installed
//! (`bash scripts/install-salt.sh`).
use std::path::{Path, PathBuf};

use common::data::Value;

const SALT_CALL: &str = "/root/.cache/brine/salt-venv/bin/salt-call";

pub struct Salt {
    dir: tempfile::TempDir,
}

impl Salt {
    /// `None` (and a note on stderr) when Salt is not installed here.
    /// `extra_config` is appended to the minion config (`hosts.file: ...`);
    /// `{dir}` in it stands for the temp dir.
    pub fn new(extra_config: &str) -> Option<Salt> {
        if !Path::new(SALT_CALL).exists() {
            eprintln!("skipped: no Salt at {SALT_CALL} (bash scripts/install-salt.sh)");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        let conf = format!(
            "file_client: local\ncachedir: {d}/cache\npki_dir: {d}/pki\nlog_file: {d}/log\n\
             minion_id_caching: False\nid: brine-test\n{}\n",
            extra_config.replace("{dir}", &d)
        );
        std::fs::write(dir.path().join("minion"), conf).expect("minion config");
        Some(Salt { dir })
    }

    /// A file in the temp dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    /// The return of `state.single <fun> <args...>` (args are `key=value`
    /// words as on salt-call's command line).
    pub fn state(&self, fun: &str, args: &[String], test: bool) -> Value {
        let mut cmd = std::process::Command::new(SALT_CALL);
        cmd.args(["--local", "--config-dir"])
            .arg(self.dir.path())
            .args(["--out", "json", "state.single", fun])
            .args(args);
        if test {
            cmd.arg("test=True");
        }
        let out = cmd.output().expect("run salt-call");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "salt-call {fun}: {e}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        v["local"]
            .as_object()
            .and_then(|m| m.values().next())
            .cloned()
            .unwrap_or_else(|| panic!("salt-call {fun}: no state in {v}"))
    }
}

/// Brine's run of one state as Salt would report it: `{result, comment,
/// changes}`, in test mode or (applying) not.
pub fn brine_state(
    t: &super::testutil::TestHost,
    module: &dyn super::StateModule,
    fun: &str,
    args: Value,
    test: bool,
) -> Value {
    let check = t.check(module, fun, args).expect("check");
    as_salt(check, test, |check| t.apply(check))
}

/// A check's outcome in Salt's terms, as the executor reports it: the
/// test-mode wording in a dry run, a change applied through `apply`
/// otherwise (its changes, else the checked ones).
pub fn as_salt(
    check: super::Check,
    test: bool,
    apply: impl FnOnce(super::Check) -> super::Applied,
) -> Value {
    use super::Check;
    let worded = |c: String, t: Option<String>| if test { t.unwrap_or(c) } else { c };
    let (result, comment, changes) = match check {
        Check::Clean {
            comment,
            test_comment,
        } => (
            Value::Bool(true),
            worded(comment, test_comment),
            Default::default(),
        ),
        Check::Fail {
            comment,
            test_comment,
        } => (
            Value::Bool(false),
            worded(comment, test_comment),
            Default::default(),
        ),
        Check::Reported {
            result,
            comment,
            changes,
        } => (Value::Bool(result), comment, changes),
        Check::Change {
            changes, comment, ..
        } if test => (Value::Null, comment, changes),
        check @ Check::Change { .. } => {
            let Check::Change { changes, .. } = &check else {
                unreachable!("matched above")
            };
            let checked = changes.clone();
            let applied = apply(check);
            (
                Value::Bool(applied.result),
                applied.comment,
                applied.changes.unwrap_or(checked),
            )
        }
    };
    serde_json::json!({"result": result, "comment": comment, "changes": changes})
}

/// The comment's lines, sorted: Salt walks Python sets, Brine sorted lists.
pub fn lines_sorted(comment: &Value) -> Vec<String> {
    let mut lines: Vec<String> = comment
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}
