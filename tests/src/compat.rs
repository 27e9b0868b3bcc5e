use super::*;
use serde::Deserialize;
use serde_json::{Number, Value};

/// How long one `minion show` may take; compiling a small tree is
/// milliseconds, so this only catches hangs.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// `case.yaml` of a tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The minion id the tree is rendered for.
    pub id: String,
    /// SLS names for `state.show_sls` / `minion show --local sls`.
    #[serde(default)]
    pub sls: Vec<String>,
    /// Non-empty for trees Salt refuses: strings Brine's stderr must contain.
    #[serde(default)]
    pub error_contains: Vec<String>,
    /// `test` and/or `real`: also apply the tree and compare with Salt's
    /// `state.apply` (only for trees of states that touch nothing).
    #[serde(default)]
    pub apply: Vec<String>,
    /// More minion config keys (environments: `file_roots`, `pillar_roots`
    /// with directories relative to the tree, `top_file_merging_strategy`,
    /// …), given to both Salt and Brine.
    #[serde(default)]
    pub config: Option<serde_json::Map<String, Value>>,
    /// Words after every command, as Salt spells them (`saltenv=prod`).
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Tree {
    /// Directory name, `NNN-slug`.
    pub name: String,
    pub dir: PathBuf,
    pub case: Case,
}

/// One `minion show --local` subcommand and the fixture it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Lowstate,
    Highstate,
    Top,
    Pillar,
    Sls,
    /// `state.apply test=True`: the executor's dry run.
    ApplyTest,
    /// `state.apply`: a real run (only trees of harmless states ask for it).
    Apply,
}

impl Show {
    /// Subcommand name, also the fixture's file stem and the test name's last part.
    pub fn name(self) -> &'static str {
        match self {
            Show::Lowstate => "lowstate",
            Show::Highstate => "highstate",
            Show::Top => "top",
            Show::Pillar => "pillar",
            Show::Sls => "sls",
            Show::ApplyTest => "apply_test",
            Show::Apply => "apply",
        }
    }

    fn is_apply(self) -> bool {
        matches!(self, Show::ApplyTest | Show::Apply)
    }

    /// Whether object key order is part of the answer. Salt keeps declaration
    /// order in high and low data, and the run order depends on it; pillar and
    /// top are plain maps whose order nothing relies on.
    pub fn ordered(self) -> bool {
        matches!(self, Show::Lowstate | Show::Highstate | Show::Sls)
    }
}

/// Root of the trees, in this crate's source directory.
pub fn trees_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("compat")
        .join("trees")
}

/// Every tree under `dir` (directories with a `case.yaml`), sorted by name.
pub fn load_trees(dir: &Path) -> Result<Vec<Tree>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut trees = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let case_file = path.join("case.yaml");
        if !case_file.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&case_file)
            .map_err(|e| format!("{}: {e}", case_file.display()))?;
        let case: Case =
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", case_file.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        trees.push(Tree {
            name,
            dir: path,
            case,
        });
    }
    trees.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(trees)
}

impl Tree {
    /// Whether Salt refused to compile this tree.
    pub fn is_error(&self) -> bool {
        !self.case.error_contains.is_empty()
    }

    /// The commands tested for this tree. A tree Salt refuses is checked on
    /// `lowstate` for Brine's error contract, and on `top` and `pillar`,
    /// which still compile; its highstate/sls output is only Salt's error text.
    pub fn shows(&self) -> Vec<Show> {
        if self.is_error() {
            return vec![Show::Lowstate, Show::Top, Show::Pillar];
        }
        let mut shows = vec![Show::Lowstate, Show::Highstate, Show::Top, Show::Pillar];
        if !self.case.sls.is_empty() {
            shows.push(Show::Sls);
        }
        for mode in &self.case.apply {
            match mode.as_str() {
                "test" => shows.push(Show::ApplyTest),
                "real" => shows.push(Show::Apply),
                _ => {}
            }
        }
        shows
    }

    /// Arguments after the binary: `show --local <cmd> [SLS...] --file-root
    /// TREE/salt --pillar-root TREE/pillar --grains TREE/grains.yaml --id ID --out json`.
    /// With `config:` in case.yaml, `--config` names the config file
    /// [`write_config`](Self::write_config) made in `dir` instead of the
    /// root flags.
    pub fn minion_args(&self, show: Show, dir: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = match show {
            Show::ApplyTest => vec!["apply".into(), "--local".into(), "--test".into()],
            Show::Apply => vec!["apply".into(), "--local".into()],
            _ => vec!["show".into(), "--local".into(), show.name().into()],
        };
        if show == Show::Sls {
            args.extend(self.case.sls.iter().map(OsString::from));
        }
        args.extend(self.case.args.iter().map(OsString::from));
        let config = dir.join("minion.yaml");
        let roots = if self.case.config.is_some() {
            vec![("--config", config)]
        } else {
            let mut roots = vec![
                ("--file-root", self.dir.join("salt")),
                ("--pillar-root", self.dir.join("pillar")),
            ];
            // Keys besides the roots (write_config): the roots come from flags.
            if config.exists() {
                roots.push(("--config", config));
            }
            roots
        };
        for (flag, path) in roots
            .into_iter()
            .chain([("--grains", self.dir.join("grains.yaml"))])
        {
            args.push(flag.into());
            args.push(path.into_os_string());
        }
        args.extend([
            "--id".into(),
            self.case.id.clone().into(),
            "--out".into(),
            "json".into(),
        ]);
        args
    }

    /// A tree with `gpgkey.asc` (a throwaway secret key) has its pillar
    /// encrypted to it: the key is imported into a GnuPG home under `dir`, as
    /// scripts/record_salt_fixtures.py does for Salt, and the minion config
    /// home is returned (the config names it as `gpg_keydir`).
    fn gpg_keyring(&self, dir: &Path) -> Result<Option<PathBuf>, String> {
        let key = self.dir.join("gpgkey.asc");
        if !key.exists() {
            return Ok(None);
        }
        let home = dir.join("gpgkeys");
        std::fs::create_dir(&home).map_err(|e| format!("{}: {e}", home.display()))?;
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .map_err(|e| format!("{}: {e}", home.display()))?;
        let imported = Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--no-tty", "--quiet", "--import"])
            .arg(&key)
            .output()
            .map_err(|e| format!("gpg (scripts/test-prereqs.sh installs it): {e}"))?;
        if !imported.status.success() {
            return Err(format!(
                "gpg --import {}: {}",
                key.display(),
                String::from_utf8_lossy(&imported.stderr)
            ));
        }
        Ok(Some(home))
    }

    /// Writes case.yaml's `config:` into `dir/minion.yaml`, root
    /// directories made absolute under the tree (as the recorder does), with
    /// the tree's own minion.yaml keys and `gpg_keydir` when the tree has a
    /// key; nothing when there is none of these.
    pub fn write_config(&self, dir: &Path, gpg_home: Option<&Path>) -> Result<(), String> {
        let mut config = self.case.config.clone().unwrap_or_default();
        // The tree's minion.yaml: keys both Salt and Brine read (the recorder
        // gives them to Salt too), such as mine_functions.
        let shared = self.dir.join("minion.yaml");
        if shared.exists() {
            let text = std::fs::read_to_string(&shared)
                .map_err(|e| format!("{}: {e}", shared.display()))?;
            match common::yaml::load(&text).map_err(|e| format!("{}: {e}", shared.display()))? {
                Value::Object(keys) => config.extend(keys),
                Value::Null => {}
                _ => return Err(format!("{}: not a map", shared.display())),
            }
        }
        if let Some(home) = gpg_home {
            config.insert(
                "gpg_keydir".into(),
                Value::String(home.to_string_lossy().into_owned()),
            );
        }
        if config.is_empty() {
            return Ok(());
        }
        for key in ["file_roots", "pillar_roots"] {
            if let Some(Value::Object(envs)) = config.get_mut(key) {
                for dirs in envs.values_mut() {
                    for d in dirs.as_array_mut().into_iter().flatten() {
                        if let Some(rel) = d.as_str() {
                            *d = Value::String(self.dir.join(rel).to_string_lossy().into_owned());
                        }
                    }
                }
            }
        }
        let text = serde_json::to_string(&config).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("minion.yaml"), text).map_err(|e| format!("minion.yaml: {e}"))
    }

    /// Salt's recorded answer for `show`.
    pub fn expected(&self, show: Show) -> Result<Value, String> {
        let path = self
            .dir
            .join("expected")
            .join(format!("{}.json", show.name()));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (run scripts/record-salt-fixtures.sh {})",
                path.display(),
                self.name
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Runs Brine's minion for `show` and checks it against Salt's recording.
    pub fn check(&self, show: Show) -> Result<(), String> {
        let minion = try_bin("minion")?;
        // A fresh working directory: the tree must be found through the flags alone.
        let cwd = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let keyring = self.gpg_keyring(cwd.path())?;
        self.write_config(cwd.path(), keyring.as_deref())?;
        let mut cmd = Command::new(&minion);
        cmd.args(self.minion_args(show, cwd.path()))
            .current_dir(cwd.path());
        let out = run(cmd, TIMEOUT);
        if keyring.is_some() {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(cwd.path().join("gpgkeys"))
                .args(["--kill", "gpg-agent"])
                .status();
        }
        let out = out?;
        let shown = || {
            format!(
                "command: {} {}\nexit status: {}\n--- stderr ---\n{}\n--- stdout ---\n{}",
                minion.display(),
                self.minion_args(show, cwd.path())
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                out.code
                    .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string()),
                out.stderr.trim_end(),
                clip(&out.stdout, 4000),
            )
        };

        if self.is_error() && show == Show::Lowstate {
            let missing: Vec<&String> = self
                .case
                .error_contains
                .iter()
                .filter(|s| !out.stderr.contains(s.as_str()))
                .collect();
            if out.code != Some(1) || !missing.is_empty() {
                return Err(format!(
                    "Salt refuses this tree; Brine must exit 1 and its stderr must contain {:?}\n\
                     missing from stderr: {missing:?}\n{}",
                    self.case.error_contains,
                    shown()
                ));
            }
            return Ok(());
        }

        if show.is_apply() {
            // 0: all states succeeded, 2: a state failed; either is an answer.
            if !matches!(out.code, Some(0) | Some(2)) {
                return Err(format!("minion apply could not run\n{}", shown()));
            }
            let actual: Value = serde_json::from_str(&out.stdout)
                .map_err(|e| format!("minion's stdout is not JSON ({e})\n{}", shown()))?;
            return compare_json(
                &run_essentials(&self.expected(show)?),
                &run_essentials(&actual),
                false,
            );
        }
        if out.code != Some(0) {
            return Err(format!("minion failed where Salt succeeded\n{}", shown()));
        }
        let actual: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| format!("minion's stdout is not JSON ({e})\n{}", shown()))?;
        compare_json(&self.expected(show)?, &actual, show.ordered())
    }
}

/// What a run's result must agree on: per state, result, comment, changes
/// and run order. Start times and durations differ between any two runs.
pub fn run_essentials(v: &Value) -> Value {
    let Some(states) = v.get("local").and_then(Value::as_object) else {
        return v.clone();
    };
    Value::Object(
        states
            .iter()
            .map(|(tag, r)| {
                let keep = ["result", "comment", "changes", "__run_num__"];
                let kept = keep
                    .iter()
                    .filter_map(|k| r.get(*k).map(|x| (k.to_string(), x.clone())))
                    .collect();
                (tag.clone(), Value::Object(kept))
            })
            .collect(),
    )
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}\n[... {} more bytes]", &s[..i], s.len() - i),
        None => s.to_owned(),
    }
}

/// Numbers are equal when both are the same integer or the same f64:
/// Salt's `10000` and `10000.0001` come out of Python's json, Brine's out of
/// serde_json, and neither side's text form is the point.
pub fn num_eq(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        // YAML's `.nan` on both sides is the same answer, though NaN != NaN.
        (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// Structural equality; with `ordered`, objects must also list their keys in
/// the same order (serde_json's map, with `preserve_order`, compares without it).
pub fn json_eq(a: &Value, b: &Value, ordered: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y, ordered))
        }
        (Value::Object(x), Value::Object(y)) if ordered => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && json_eq(vx, vy, ordered))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, vx)| y.get(k).is_some_and(|vy| json_eq(vx, vy, ordered)))
        }
        _ => a == b,
    }
}

/// `Ok` when equal, else a message with a unified diff of the two documents
/// pretty-printed. For an unordered comparison both sides are printed with
/// sorted keys, and numbers that compare equal are printed alike, so the diff
/// shows only differences that count.
pub fn compare_json(expected: &Value, actual: &Value, ordered: bool) -> Result<(), String> {
    if json_eq(expected, actual, ordered) {
        return Ok(());
    }
    let expected = normalize(expected, ordered);
    let actual = align_numbers(&expected, &normalize(actual, ordered));
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default() + "\n";
    let (e, a) = (pretty(&expected), pretty(&actual));
    let mut msg = String::from("Brine's output differs from Salt's");
    if ordered {
        msg.push_str(" (object key order counts here)");
    }
    msg.push_str(":\n");
    if e == a {
        // Only reachable if printing hides the difference; say so rather than show nothing.
        msg.push_str("(the documents print identically; compare them by hand)\n");
    }
    msg.push_str(&unified_diff(&e, &a, "salt (expected)", "brine (actual)"));
    Err(msg)
}

/// A unified diff, three lines of context, of two texts line by line.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// Sorts object keys recursively unless order counts.
fn normalize(v: &Value, ordered: bool) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| normalize(i, ordered)).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if !ordered {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), normalize(v, ordered)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// `actual` with every number that equals its counterpart in `expected`
/// replaced by that counterpart, so `10000` vs `10000.0` does not show up
/// as a diff line.
fn align_numbers(expected: &Value, actual: &Value) -> Value {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) if num_eq(e, a) => expected.clone(),
        (Value::Array(e), Value::Array(a)) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, av)| {
                    e.get(i)
                        .map_or_else(|| av.clone(), |ev| align_numbers(ev, av))
                })
                .collect(),
        ),
        (Value::Object(e), Value::Object(a)) => Value::Object(
            a.iter()
                .map(|(k, av)| {
                    (
                        k.clone(),
                        e.get(k)
                            .map_or_else(|| av.clone(), |ev| align_numbers(ev, av)),
                    )
                })
                .collect(),
        ),
        _ => actual.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(10000), &json!(10000), true));
        assert!(json_eq(
            &json!(1.0001),
            &serde_json::from_str::<Value>("1.0001").unwrap(),
            true
        ));
        assert!(json_eq(&json!(1500.0), &json!(1500), true));
        assert!(!json_eq(&json!(10000.0001), &json!(10000.0002), true));
        assert!(!json_eq(&json!(1), &json!("1"), true));
        assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX), true));
        assert!(json_eq(&json!(-3), &json!(-3.0), true));
        let nan: Value = serde_json::from_str("[NaN, Infinity, -Infinity]").unwrap();
        assert!(json_eq(&nan, &nan.clone(), true));
        assert!(!json_eq(&nan[1], &nan[2], true));
    }

    #[test]
    fn key_order_counts_only_when_ordered() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": {"x": 3, "y": 2}, "b": 1}"#).unwrap();
        assert!(json_eq(&a, &b, false));
        assert!(!json_eq(&a, &b, true));
        assert!(json_eq(&a, &a.clone(), true));
        // Order inside arrays always counts.
        assert!(!json_eq(&json!([1, 2]), &json!([2, 1]), false));
        // Extra or missing keys are never equal.
        assert!(!json_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2}), false));
        assert!(!json_eq(&json!({"a": 1, "b": 2}), &json!({"a": 1}), false));
    }

    #[test]
    fn mismatch_shows_a_unified_diff() {
        let expected: Value = serde_json::from_str(
            r#"{"local": [{"state": "pkg", "name": "nginx", "order": 10000}]}"#,
        )
        .unwrap();
        let actual: Value = serde_json::from_str(
            r#"{"local": [{"state": "pkg", "name": "apache2", "order": 10000.0}]}"#,
        )
        .unwrap();
        let msg = compare_json(&expected, &actual, true).unwrap_err();
        assert!(msg.contains("--- salt (expected)"), "{msg}");
        assert!(msg.contains("+++ brine (actual)"), "{msg}");
        assert!(msg.contains("-      \"name\": \"nginx\","), "{msg}");
        assert!(msg.contains("+      \"name\": \"apache2\","), "{msg}");
        // The equal number is printed alike on both sides, so it is context, not a change.
        assert!(msg.contains("       \"order\": 10000\n"), "{msg}");
        assert!(!msg.contains("10000.0"), "{msg}");
    }

    #[test]
    fn order_mismatch_diff_shows_the_moved_key() {
        let expected: Value = serde_json::from_str(r#"{"a": 1, "b": 2}"#).unwrap();
        let actual: Value = serde_json::from_str(r#"{"b": 2, "a": 1}"#).unwrap();
        assert!(compare_json(&expected, &actual, false).is_ok());
        let msg = compare_json(&expected, &actual, true).unwrap_err();
        assert!(msg.contains("key order counts"), "{msg}");
        assert!(
            msg.contains("-  \"a\": 1,") || msg.contains("+  \"a\": 1"),
            "{msg}"
        );
    }

    #[test]
    fn unordered_diff_hides_key_order() {
        let expected: Value = serde_json::from_str(r#"{"z": 1, "a": 2}"#).unwrap();
        let actual: Value = serde_json::from_str(r#"{"a": 3, "z": 1}"#).unwrap();
        let msg = compare_json(&expected, &actual, false).unwrap_err();
        assert!(msg.contains("-  \"a\": 2,\n+  \"a\": 3,\n"), "{msg}");
        assert!(msg.contains("   \"z\": 1\n"), "{msg}");
    }

    #[test]
    fn every_tree_is_complete() {
        let trees = load_trees(&trees_dir()).unwrap();
        assert!(trees.len() >= 45, "only {} trees", trees.len());
        for tree in &trees {
            assert!(
                tree.dir.join("grains.yaml").is_file(),
                "{}: no grains.yaml",
                tree.name
            );
            match &tree.case.config {
                // Roots named by case.yaml's config: each saltenv's directory.
                Some(config) => {
                    for key in ["file_roots", "pillar_roots"] {
                        let envs = config.get(key).and_then(Value::as_object);
                        let dirs = envs.into_iter().flat_map(|e| e.values());
                        for dir in dirs.filter_map(Value::as_array).flatten() {
                            let dir = tree.dir.join(dir.as_str().unwrap_or_default());
                            assert!(dir.is_dir(), "{}: no {}", tree.name, dir.display());
                        }
                    }
                }
                None => {
                    for file in ["salt/top.sls", "pillar/top.sls"] {
                        assert!(tree.dir.join(file).is_file(), "{}: no {file}", tree.name);
                    }
                }
            }
            for show in tree.shows() {
                tree.expected(show).unwrap();
            }
        }
    }

    #[test]
    fn minion_args_follow_the_contract() {
        let tree = Tree {
            name: "001-x".into(),
            dir: PathBuf::from("/t"),
            case: Case {
                id: "web1".into(),
                sls: vec!["a".into(), "b.c".into()],
                error_contains: vec![],
                apply: vec![],
                config: None,
                args: vec![],
            },
        };
        let args = |tree: &Tree| {
            tree.minion_args(Show::Sls, Path::new("/cwd"))
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<String>>()
                .join(" ")
        };
        assert_eq!(
            args(&tree),
            "show --local sls a b.c --file-root /t/salt --pillar-root /t/pillar \
             --grains /t/grains.yaml --id web1 --out json"
        );
        // A tree with environments: its config file, and Salt's words.
        let mut envs = tree.clone();
        envs.case.config = Some(serde_json::Map::new());
        envs.case.args = vec!["saltenv=prod".into()];
        assert_eq!(
            args(&envs),
            "show --local sls a b.c saltenv=prod --config /cwd/minion.yaml \
             --grains /t/grains.yaml --id web1 --out json"
        );
    }
}
