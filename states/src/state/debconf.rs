//! `debconf.set` (salt/states/debconfmod.py over salt/modules/debconfmod.py):
//! answers read with `debconf-get-selections`, written by feeding
//! `package question type value` lines to `debconf-set-selections` on its
//! stdin (Salt writes a temp file; stdin keeps passwords out of files and
//! argv alike).
//!
//! Under a state root both tools run with `DPKG_ROOT=<root>`, debconf's own
//! switch for a Debian tree that is not `/`: it reads the root's
//! `/etc/debconf.conf` and its databases under `<root>/var/cache/debconf`,
//! so the host's answers are never read or changed. A root without a
//! `config.dat` has no answers yet; the tools are not asked, since they
//! would create the files.
use std::path::Path;

use common::data::{is_truthy, Map, Value};
use common::pyfmt::py_str;

use super::{Applied, ApplyFn, Args, Check, Exec, HostRead, HostWrite, StateError};

pub struct Debconf;

impl super::StateModule for Debconf {
    fn name(&self) -> &'static str {
        "debconf"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::DEBCONF
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "set" => set(args, host),
            other => Err(StateError::args(format!(
                "debconf.{other} is not a state function"
            ))),
        }
    }
}

fn env(host: &HostRead) -> Vec<(String, String)> {
    if host.root() == Path::new("/") {
        return Vec::new();
    }
    vec![(
        "DPKG_ROOT".into(),
        host.root().to_string_lossy().into_owned(),
    )]
}

/// Salt's `_unpack_lines` of `debconf-get-selections`: `(question, type,
/// value)` of `package`'s answers.
fn selections(stdout: &str, package: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(4, ['\t', ' ']);
            let (p, q, t) = (parts.next()?, parts.next()?, parts.next()?);
            let value = parts.next()?.trim_start_matches(['\t', ' ']);
            (p == package && !q.is_empty() && !t.is_empty())
                .then(|| (q.to_string(), t.to_string(), value.to_string()))
        })
        .collect()
}

/// The database files of Debian's `/etc/debconf.conf`.
const DATABASE: [&str; 3] = [
    "/var/cache/debconf/config.dat",
    "/var/cache/debconf/passwords.dat",
    "/var/cache/debconf/templates.dat",
];

enum Database {
    Empty,
    Present,
}

/// debconf's tools create missing database files even to read, which a
/// dry run must not do: no `config.dat` is no answers, without asking.
fn database_state(host: &HostRead) -> Result<Database, StateError> {
    let mut present = Vec::new();
    for f in DATABASE {
        present.push(host.path(f)?.exists());
    }
    if !present[0] {
        return Ok(Database::Empty);
    }
    if present.contains(&false) {
        return Err(StateError::host(format!(
            "the debconf database under {} is incomplete: it needs {}",
            host.root().display(),
            DATABASE.join(", ")
        )));
    }
    Ok(Database::Present)
}

/// One answer asked for.
struct Answer {
    question: String,
    kind: String,
    value: String,
}

/// A word of a selections line: no blanks, nothing empty.
fn word(s: &str, what: &str) -> Result<String, StateError> {
    if s.is_empty() || s.contains(char::is_whitespace) {
        return Err(StateError::args(format!(
            "debconf {what} {s:?} must be one word"
        )));
    }
    Ok(s.to_string())
}

fn answers(args: &Args) -> Result<Vec<Answer>, StateError> {
    let Some(Value::Object(data)) = args.get("data") else {
        return Err(StateError::args(
            "debconf.set needs 'data': a mapping of question to {type, value}",
        ));
    };
    data.iter()
        .map(|(question, spec)| {
            let (Some(kind), Some(value)) =
                (spec.get("type").and_then(Value::as_str), spec.get("value"))
            else {
                return Err(StateError::args(format!(
                    "debconf answer {question:?} needs a 'type' and a 'value'"
                )));
            };
            // Salt's `"true" if value else "false"`, except that the words
            // true and false keep their meaning (Python would call the
            // string "false" true).
            let value = match (kind, value) {
                ("boolean", Value::String(s)) if s == "true" || s == "false" => s.clone(),
                ("boolean", v) => if is_truthy(v) { "true" } else { "false" }.to_string(),
                (_, v) => py_str(v),
            };
            if value.contains('\n') {
                return Err(StateError::args(format!(
                    "debconf answer {question:?} has a line break in its value"
                )));
            }
            Ok(Answer {
                question: word(question, "question")?,
                kind: word(kind, "type")?,
                value,
            })
        })
        .collect()
}

fn set(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let package = word(&args.name(), "package")?;
    let wanted = answers(args)?;
    let env = env(host);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let current = match database_state(host)? {
        Database::Empty => Vec::new(),
        Database::Present => {
            let out = host.query_env(&["debconf-get-selections"], &env_refs)?;
            if out.retcode != 0 {
                return Err(StateError::host(format!(
                    "debconf-get-selections failed: {}",
                    out.stderr.trim()
                )));
            }
            selections(&out.stdout, &package)
        }
    };

    let mut unchanged = String::new();
    let mut to_set = Vec::new();
    for a in wanted {
        if current
            .iter()
            .any(|(q, t, v)| *q == a.question && *t == a.kind && *v == a.value)
        {
            if unchanged.is_empty() {
                unchanged.push_str("Unchanged answers: ");
            }
            unchanged.push_str(&format!("{} ", a.question));
        } else {
            to_set.push(a);
        }
    }
    if to_set.is_empty() {
        return Ok(Check::clean("All specified answers are already set"));
    }
    // Salt shows a password's new value in a dry run; Brine never does.
    let shown = |a: &Answer| {
        if a.kind == "password" {
            "(password hidden)".to_string()
        } else {
            a.value.clone()
        }
    };
    let test_changes: Map<String, Value> = to_set
        .iter()
        .map(|a| {
            (
                a.question.clone(),
                format!("New value: {}", shown(a)).into(),
            )
        })
        .collect();
    let comment = unchanged.clone();
    Ok(Check::change(
        test_changes,
        comment,
        ApplyFn(move |host: &HostWrite| {
            let stdin: String = to_set
                .iter()
                .map(|a| format!("{package} {} {} {}\n", a.question, a.kind, a.value))
                .collect();
            let mut exec = Exec::new(&["debconf-set-selections"]);
            exec.env = env;
            exec.stdin = Some(stdin.into_bytes());
            let done = host.exec(&exec)?;
            let ok = done.run.retcode == 0;
            let changes: Map<String, Value> = to_set
                .iter()
                .map(|a| {
                    let v = if ok {
                        shown(a)
                    } else {
                        "Failed to set!".into()
                    };
                    (a.question.clone(), v.into())
                })
                .collect();
            Ok(if ok {
                Applied::ok_with(unchanged, changes)
            } else {
                tracing::error!("debconf-set-selections: {}", done.run.stderr.trim());
                Applied::failed("Some settings failed to be applied.", changes)
            })
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::changes;
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    #[test]
    fn selections_lines() {
        let out = "# Answer?\nbrinetest\tbrinetest/answer\tstring\t42\nbrinetest\tbrinetest/empty\tstring\t\nother\tother/x\tboolean\ttrue\n";
        assert_eq!(
            selections(out, "brinetest"),
            vec![
                ("brinetest/answer".into(), "string".into(), "42".into()),
                ("brinetest/empty".into(), "string".into(), "".into()),
            ]
        );
    }

    /// A root with debconf's own config, as a Debian tree has.
    fn debconf_root() -> Option<TestHost> {
        let has_tools = std::process::Command::new("debconf-get-selections")
            .arg("--help")
            .output()
            .is_ok();
        if !has_tools || !Path::new("/etc/debconf.conf").exists() {
            eprintln!("skipped: no debconf-get-selections (apt-get install debconf-utils)");
            return None;
        }
        let t = TestHost::new();
        t.write(
            "/etc/debconf.conf",
            &std::fs::read_to_string("/etc/debconf.conf").unwrap(),
        );
        std::fs::create_dir_all(t.path("/var/cache/debconf")).unwrap();
        Some(t)
    }

    #[test]
    fn sets_answers_in_the_roots_database_then_is_clean() {
        let Some(t) = debconf_root() else { return };
        let args = json!({"name": "brinetest", "data": {
            "brinetest/answer": {"type": "string", "value": 42},
            "brinetest/flag": {"type": "boolean", "value": true},
            "brinetest/pw": {"type": "password", "value": "s3cret"},
        }});
        let before = t.snapshot();
        let check = t.check(&Debconf, "set", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            changes_of(&check).unwrap(),
            &changes([
                ("brinetest/answer", json!("New value: 42")),
                ("brinetest/flag", json!("New value: true")),
                ("brinetest/pw", json!("New value: (password hidden)")),
            ])
        );
        let applied = t.apply(check);
        assert!(applied.result, "{}", applied.comment);
        assert_eq!(applied.comment, "");
        assert_eq!(
            applied.changes.unwrap(),
            changes([
                ("brinetest/answer", json!("42")),
                ("brinetest/flag", json!("true")),
                ("brinetest/pw", json!("(password hidden)")),
            ])
        );
        assert!(t
            .read("/var/cache/debconf/config.dat")
            .contains("Name: brinetest/answer"));

        let again = t.check(&Debconf, "set", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "All specified answers are already set");

        let partly = json!({"name": "brinetest", "data": {
            "brinetest/answer": {"type": "string", "value": "42"},
            "brinetest/flag": {"type": "boolean", "value": false},
        }});
        let check = t.check(&Debconf, "set", partly.clone()).unwrap();
        assert_eq!(comment_of(&check), "Unchanged answers: brinetest/answer ");
        let applied = t.apply(check);
        assert_eq!(applied.comment, "Unchanged answers: brinetest/answer ");
        assert_eq!(
            applied.changes.unwrap(),
            changes([("brinetest/flag", json!("false"))])
        );
        assert!(is_clean(&t.check(&Debconf, "set", partly).unwrap()));
    }

    #[test]
    fn bad_data_is_refused() {
        let t = TestHost::new();
        for data in [
            json!("x"),
            json!({"q": {"type": "string"}}),
            json!({"q": {"type": "string", "value": "a\nb"}}),
            json!({"q x": {"type": "string", "value": "a"}}),
        ] {
            assert!(t
                .check(&Debconf, "set", json!({"name": "p", "data": data}))
                .is_err());
        }
    }
}
