//! `alias.present` / `alias.absent` (salt/states/alias.py over
//! salt/modules/aliases.py): mail aliases in `/etc/aliases` under the root.
//!
//! Lines are parsed with Salt's `__ALIAS_RE` and written back as Salt writes
//! them (`alias: target, target<comment>`), other lines kept. After a write
//! Salt runs `newaliases` when it is on the PATH; Brine looks for it in the
//! PATH directories under the root and runs it as argv. Under a root other
//! than `/` it passes `-oA<root>/etc/aliases` (sendmail's and Postfix's
//! option), so the database built is that root's, not the real host's.
//! When there is no `newaliases`, the comment says the database was not
//! rebuilt (Salt says nothing).
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::data::Value;
use common::pyfmt::{py_repr, py_str};
use regex::Regex;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Alias;

/// Salt's `aliases.file` default; Brine has no per-minion option for it.
const ALIASES_FILE: &str = "/etc/aliases";
/// Where `newaliases` is looked for, under the root.
const PATH_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

impl super::StateModule for Alias {
    fn name(&self) -> &'static str {
        "alias"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::ALIAS
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "present" => present(args, host),
            "absent" => absent(args, host),
            other => Err(StateError::args(format!(
                "alias.{other} is not a state function (Brine has: present, absent)"
            ))),
        }
    }
}

/// One line: `(alias, target, comment)`, or `(None, None, line)` for what
/// the regex does not take.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    alias: Option<String>,
    target: Option<String>,
    comment: String,
}

/// Salt's `__parse_aliases`. Python's `$` also matches before the line's
/// newline; matching the line without it gives the same groups.
fn parse(text: &str) -> Vec<Line> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re =
        RE.get_or_init(|| Regex::new(r"^([^:#]*)\s*:?\s*([^#]*?)(\s+#.*|$)").expect("alias regex"));
    text.lines()
        .map(|line| match re.captures(line) {
            Some(c) => Line {
                alias: Some(c[1].to_string()),
                target: Some(c[2].to_string()),
                comment: c[3].to_string(),
            },
            None => Line {
                alias: None,
                target: None,
                comment: line.trim().to_string(),
            },
        })
        .collect()
}

/// Salt's `list_aliases` lookup: the last line of an alias wins.
fn target_of(lines: &[Line], alias: &str) -> Option<String> {
    lines
        .iter()
        .filter(|l| l.alias.as_deref() == Some(alias) && !alias.is_empty())
        .filter_map(|l| l.target.clone())
        .next_back()
}

/// Salt's `__write_aliases_file` line format.
fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| match (&l.alias, &l.target) {
            (Some(a), Some(t)) if !a.is_empty() && !t.is_empty() => {
                format!("{a}: {t}{}\n", l.comment)
            }
            _ => format!("{}\n", l.comment),
        })
        .collect()
}

fn file(host: &HostRead) -> Result<(PathBuf, Vec<Line>), StateError> {
    let path = host.path(ALIASES_FILE)?;
    let text = super::text_file::read_optional(&path)?.unwrap_or_default();
    Ok((path, parse(&text)))
}

fn present(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    // The file gets a list joined with ", "; Salt's comments show the
    // list as Python prints it.
    let (target, shown) = match args.get("target") {
        Some(Value::Array(items)) => (
            items.iter().map(py_str).collect::<Vec<_>>().join(", "),
            py_repr(&Value::Array(
                items.iter().map(|i| py_str(i).into()).collect(),
            )),
        ),
        Some(v) => (py_str(v), py_str(v)),
        None => return Err(StateError::args("alias.present needs a 'target'")),
    };
    if target.is_empty() {
        return Err(StateError::args("target can not be an empty string"));
    }
    if name.is_empty() {
        return Err(StateError::args("alias can not be an empty string"));
    }
    let (path, lines) = file(host)?;
    if target_of(&lines, &name).as_deref() == Some(target.as_str()) {
        return Ok(Check::clean(format!("Alias {name} already present")));
    }
    // Salt's set_target: the first line of the alias takes the new target
    // (keeping its comment), later ones go; none: a line at the end.
    let mut out = Vec::new();
    let mut replaced = false;
    for line in lines {
        if line.alias.as_deref() == Some(name.as_str()) {
            if !replaced {
                out.push(Line {
                    alias: Some(name.clone()),
                    target: Some(target.clone()),
                    comment: line.comment,
                });
                replaced = true;
            }
        } else {
            out.push(line);
        }
    }
    if !replaced {
        out.push(Line {
            alias: Some(name.clone()),
            target: Some(target.clone()),
            comment: String::new(),
        });
    }
    let text = render(&out);
    let done = format!("Set email alias {name} -> {shown}");
    Ok(Check::change(
        Default::default(),
        format!("Alias {name} -> {shown} is set to be added"),
        ApplyFn(move |host: &HostWrite| write(host, &path, &text, done, &name)),
    ))
}

fn absent(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let name = args.name();
    let (path, lines) = file(host)?;
    if target_of(&lines, &name).unwrap_or_default().is_empty() {
        return Ok(Check::clean(format!("Alias {name} already absent")));
    }
    let kept: Vec<Line> = lines
        .into_iter()
        .filter(|l| l.alias.as_deref() != Some(name.as_str()))
        .collect();
    let text = render(&kept);
    let done = format!("Removed alias {name}");
    Ok(Check::change(
        Default::default(),
        format!("Alias {name} is set to be removed"),
        ApplyFn(move |host: &HostWrite| write(host, &path, &text, done, &name)),
    ))
}

fn write(
    host: &HostWrite,
    path: &Path,
    text: &str,
    done: String,
    name: &str,
) -> Result<Applied, StateError> {
    // Salt gives a new aliases file 0644 root:root.
    super::text_file::replace(host, path, text, 0o644, Some((0, 0)).filter(|_| is_root()))?;
    let alias = changes([("alias", name.into())]);
    match rebuild(host, path)? {
        Rebuilt::Yes => Ok(Applied::ok_with(done, alias)),
        Rebuilt::NoProgram => Ok(Applied::ok_with(
            format!("{done} (no newaliases on the PATH: the aliases database was not rebuilt)"),
            alias,
        )),
        Rebuilt::Failed(why) => Ok(Applied::failed(
            format!("{done}, but newaliases failed: {why}"),
            alias,
        )),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

enum Rebuilt {
    Yes,
    NoProgram,
    Failed(String),
}

/// Runs `newaliases` when the host (the root) has one.
fn rebuild(host: &HostWrite, aliases: &Path) -> Result<Rebuilt, StateError> {
    let mut found = None;
    for dir in PATH_DIRS {
        let candidate = host.path(&format!("{dir}/newaliases"))?;
        if candidate.is_file() {
            found = Some(candidate);
            break;
        }
    }
    let Some(program) = found else {
        return Ok(Rebuilt::NoProgram);
    };
    let program = program.to_string_lossy().into_owned();
    let database = format!("-oA{}", aliases.display());
    let mut argv = vec![program.as_str()];
    if host.root() != Path::new("/") {
        argv.push(&database);
    }
    let out = host.run(&argv, &[], None)?;
    if out.retcode == 0 {
        Ok(Rebuilt::Yes)
    } else {
        let why = if out.stderr.trim().is_empty() {
            out.stdout.trim().to_string()
        } else {
            out.stderr.trim().to_string()
        };
        Ok(Rebuilt::Failed(format!("exit {}: {why}", out.retcode)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{changes_of, comment_of, is_clean, TestHost};
    use super::*;
    use serde_json::json;

    const START: &str =
        "# See man 5 aliases\npostmaster:    root\nwebmaster: alice  # the boss\n\n";

    #[test]
    fn present_sets_a_target_then_is_clean_and_a_dry_run_writes_nothing() {
        let t = TestHost::new();
        t.write("/etc/aliases", START);
        let args = json!({"name": "webmaster", "target": ["bob", "carol"]});
        let before = t.snapshot();
        let check = t.check(&Alias, "present", args.clone()).unwrap();
        assert_eq!(t.snapshot(), before, "check wrote to the root");
        assert_eq!(
            comment_of(&check),
            "Alias webmaster -> ['bob', 'carol'] is set to be added"
        );
        assert!(changes_of(&check).unwrap().is_empty());
        let applied = t.apply(check);
        assert!(applied.result);
        assert_eq!(
            applied.changes.unwrap(),
            changes([("alias", json!("webmaster"))])
        );
        assert_eq!(
            t.read("/etc/aliases"),
            "# See man 5 aliases\npostmaster: root\nwebmaster: bob, carol  # the boss\n\n"
        );
        let again = t.check(&Alias, "present", args).unwrap();
        assert!(is_clean(&again));
        assert_eq!(comment_of(&again), "Alias webmaster already present");
    }

    #[test]
    fn without_newaliases_the_comment_says_the_database_was_not_rebuilt() {
        let t = TestHost::new();
        let applied = t.apply(
            t.check(&Alias, "present", json!({"name": "ops", "target": "root"}))
                .unwrap(),
        );
        assert!(applied.result);
        assert_eq!(
            applied.comment,
            "Set email alias ops -> root (no newaliases on the PATH: the aliases database was not rebuilt)"
        );
        assert_eq!(t.read("/etc/aliases"), "ops: root\n");
    }

    #[test]
    fn newaliases_under_the_root_builds_that_roots_database() {
        use std::os::unix::fs::PermissionsExt;
        let t = TestHost::new();
        t.write("/etc/aliases", START);
        // A sendmail-style newaliases standing in for Postfix's (not
        // installed here): it records the database it was asked to build.
        let record = t.path("/newaliases.args");
        t.write(
            "/usr/sbin/newaliases",
            &format!("#!/bin/sh\necho \"$@\" > {}\n", record.display()),
        );
        let prog = t.path("/usr/sbin/newaliases");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
        let applied = t.apply(
            t.check(&Alias, "absent", json!({"name": "postmaster"}))
                .unwrap(),
        );
        assert_eq!(applied.comment, "Removed alias postmaster");
        assert_eq!(
            std::fs::read_to_string(&record).unwrap().trim(),
            format!("-oA{}", t.path("/etc/aliases").display())
        );
    }

    #[test]
    fn absent_removes_every_line_of_the_alias() {
        let t = TestHost::new();
        t.write("/etc/aliases", "a: x\nb: y\na: z\n");
        let before = t.snapshot();
        let check = t.check(&Alias, "absent", json!({"name": "a"})).unwrap();
        assert_eq!(t.snapshot(), before);
        assert_eq!(comment_of(&check), "Alias a is set to be removed");
        t.apply(check);
        assert_eq!(t.read("/etc/aliases"), "b: y\n");
        let again = t.check(&Alias, "absent", json!({"name": "a"})).unwrap();
        assert_eq!(comment_of(&again), "Alias a already absent");
        assert!(t
            .check(&Alias, "present", json!({"name": "a", "target": ""}))
            .is_err());
    }

    /// Salt's alias states on an aliases file of their own (`aliases.file`
    /// in the minion config); neither host here has `newaliases`.
    #[test]
    fn matches_salt() {
        use super::super::salt_oracle::{brine_state, Salt};
        let cases: &[(&str, Value, &[&str])] = &[
            (
                "present",
                json!({"name": "webmaster", "target": ["bob", "carol"]}),
                &["name=webmaster", "target=[bob, carol]"],
            ),
            (
                "present",
                json!({"name": "postmaster", "target": "root"}),
                &["name=postmaster", "target=root"],
            ),
            (
                "present",
                json!({"name": "ops", "target": "ops@example.com"}),
                &["name=ops", "target=ops@example.com"],
            ),
            ("absent", json!({"name": "webmaster"}), &["name=webmaster"]),
            ("absent", json!({"name": "nobody"}), &["name=nobody"]),
        ];
        for (fun, args, words) in cases {
            for test in [true, false] {
                let Some(salt) = Salt::new("aliases.file: {dir}/aliases") else {
                    return;
                };
                salt.write("aliases", START);
                let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
                let theirs = salt.state(&format!("alias.{fun}"), &words, test);
                let t = TestHost::new();
                t.write("/etc/aliases", START);
                let mut ours = brine_state(&t, &Alias, fun, args.clone(), test);
                // Brine says what Salt leaves unsaid.
                let said = ours["comment"].as_str().unwrap().replace(
                    " (no newaliases on the PATH: the aliases database was not rebuilt)",
                    "",
                );
                ours["comment"] = said.into();
                let case = format!("alias.{fun} {args} test={test}");
                assert_eq!(ours["result"], theirs["result"], "{case}");
                assert_eq!(ours["comment"], theirs["comment"], "{case}");
                assert_eq!(ours["changes"], theirs["changes"], "{case}");
                assert_eq!(t.read("/etc/aliases"), salt.read("aliases"), "{case}");
            }
        }
    }
}
