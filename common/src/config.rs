//! Minion configuration, with Salt's key names and defaults, read from YAML the
//! way Salt reads its config files.
use std::path::{Path, PathBuf};

use crate::data::{Map, Value};
use crate::render::Pipeline;

/// Where `minion` looks for its config when `--config` is not given.
pub const DEFAULT_MINION_CONFIG: &str = "/etc/brine/minion.yaml";

/// Errors reading a config file. The cause is part of the message and not a
/// `source`: a binary prints the whole chain (`{:#}`), which showed it twice.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config {path}: {error}")]
    Yaml {
        path: PathBuf,
        error: crate::yaml::YamlError,
    },
    #[error("config {path}: key '{key}': {message}")]
    Key {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The minion settings the compiler needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MinionConfig {
    /// `id`; `None` means "use the fqdn grain", as Salt does.
    pub id: Option<String>,
    /// `file_roots`, `pillar_roots`, `saltenv`, `pillarenv` and the top
    /// merging keys.
    pub envs: Environments,
    /// `nodegroups`: name → compound expression or list of minion ids, for
    /// `match: nodegroup` in the state and pillar tops (Salt reads them
    /// from the minion's config in masterless mode too).
    pub nodegroups: Map<String, Value>,
    /// `grains`: static grains merged over detected ones.
    pub grains: Map<String, Value>,
    /// `renderer`: the pipeline of files without a `#!` line (`jinja|yaml`).
    pub renderer: Pipeline,
    /// `gpg_keydir`: the GnuPG home the gpg renderer decrypts with.
    pub gpg_keydir: PathBuf,
    /// `mine_functions`: what this minion sends to the mine.
    pub mine_functions: Vec<MineFunction>,
    /// The whole file, as templates see it in `opts`.
    pub raw: Map<String, Value>,
}

/// One entry of `mine_functions`: the mine key (`alias`) and the call whose
/// return is stored under it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MineFunction {
    pub alias: String,
    pub function: String,
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
}

/// `mine_interval`'s default, in minutes (Salt's).
pub const DEFAULT_MINE_INTERVAL_MINUTES: u64 = 60;

/// `mine_functions` in Salt's formats (`salt.utils.mine.parse_function_definition`):
/// `fun: [args...]` with keyword arguments as one-key maps in the list,
/// `alias: [{mine_function: fun}, args...]`, or `alias: {mine_function: fun,
/// kwarg: value}`. Salt's per-function ACL (`allow_tgt`) is refused: ignoring
/// it would show the data to minions it was meant to be hidden from.
pub fn mine_functions(v: &Value) -> Result<Vec<MineFunction>, String> {
    let entries = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        _ => return Err("expected a map of mine key to a function's arguments".into()),
    };
    let mut out = Vec::new();
    for (alias, def) in entries {
        let mut args = Vec::new();
        let mut kwargs = Map::new();
        match def {
            Value::Object(m) => kwargs = m.clone(),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(m) => kwargs.extend(m.clone()),
                        other => args.push(other.clone()),
                    }
                }
            }
            // Salt calls the alias with no arguments for any other value.
            _ => {}
        }
        let function = match kwargs.remove("mine_function") {
            None | Some(Value::Null) => alias.clone(),
            Some(Value::String(f)) => f,
            Some(_) => return Err(format!("{alias}: mine_function must be a function name")),
        };
        for acl in ["allow_tgt", "allow_tgt_type"] {
            if kwargs.contains_key(acl) {
                return Err(format!(
                    "{alias}: {acl} (the mine's per-function ACL) is not supported by Brine"
                ));
            }
        }
        out.push(MineFunction {
            alias: alias.clone(),
            function,
            args,
            kwargs,
        });
    }
    Ok(out)
}

/// The functions a minion runs for the mine: its config's, with its pillar's
/// merged over them as Salt's `config.merge('mine_functions')` does (a dict
/// update: a pillar entry replaces the config's of the same key in place,
/// new keys follow).
pub fn merge_mine_functions(config: &[MineFunction], pillar: &[MineFunction]) -> Vec<MineFunction> {
    let mut out = config.to_vec();
    for f in pillar {
        match out.iter_mut().find(|c| c.alias == f.alias) {
            Some(c) => *c = f.clone(),
            None => out.push(f.clone()),
        }
    }
    out
}

impl Default for MinionConfig {
    fn default() -> Self {
        MinionConfig {
            id: None,
            envs: Environments::default(),
            nodegroups: Map::new(),
            grains: Map::new(),
            renderer: Pipeline::default(),
            gpg_keydir: PathBuf::from(DEFAULT_GPG_KEYDIR),
            mine_functions: Vec::new(),
            raw: Map::new(),
        }
    }
}

/// `gpg_keydir` when a config is not read from a file.
pub const DEFAULT_GPG_KEYDIR: &str = "/etc/brine/gpgkeys";

/// `renderer`: a pipe of renderers Brine has, checked when the config is
/// read, so an unsupported one stops the daemon at start naming it.
pub fn renderer(path: &Path, raw: &Map<String, Value>) -> Result<Pipeline, ConfigError> {
    let bad = |message: String| ConfigError::Key {
        path: path.to_path_buf(),
        key: "renderer".into(),
        message,
    };
    match raw.get("renderer") {
        None | Some(Value::Null) => Ok(Pipeline::default()),
        Some(Value::String(pipe)) => Pipeline::parse(pipe).map_err(|e| bad(e.to_string())),
        Some(_) => Err(bad(
            "expected a pipe of renderer names, like jinja|yaml".into()
        )),
    }
}

/// `gpg_keydir`: as set, else `gpgkeys` beside the config file, as Salt's
/// default (`/etc/salt/gpgkeys`) sits beside its.
pub fn gpg_keydir(path: &Path, raw: &Map<String, Value>) -> Result<PathBuf, ConfigError> {
    match raw.get("gpg_keydir") {
        Some(Value::String(dir)) => Ok(PathBuf::from(dir)),
        None | Some(Value::Null) => Ok(path
            .parent()
            .map_or_else(|| PathBuf::from(DEFAULT_GPG_KEYDIR), |d| d.join("gpgkeys"))),
        Some(_) => Err(ConfigError::Key {
            path: path.to_path_buf(),
            key: "gpg_keydir".into(),
            message: "expected a directory".into(),
        }),
    }
}

/// `file_roots` or `pillar_roots`: every saltenv and its directories, in
/// the config's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnvRoots(pub Vec<(String, Vec<PathBuf>)>);

impl EnvRoots {
    /// One saltenv's directories (a `--file-root` on the command line).
    pub fn single(saltenv: &str, dirs: Vec<PathBuf>) -> Self {
        EnvRoots(vec![(saltenv.to_string(), dirs)])
    }

    /// The directories of `saltenv`, `None` when it is not configured.
    pub fn get(&self, saltenv: &str) -> Option<&[PathBuf]> {
        self.0
            .iter()
            .find(|(e, _)| e == saltenv)
            .map(|(_, d)| d.as_slice())
    }

    /// The saltenvs, in the config's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(e, _)| e.as_str())
    }

    /// Every directory of every saltenv.
    pub fn all_dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.0.iter().flat_map(|(_, d)| d)
    }

    /// `{saltenv: [dir, ...]}`, as `opts` shows it.
    pub fn to_value(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(env, dirs)| {
                    let dirs = dirs
                        .iter()
                        .map(|p| Value::String(p.display().to_string()))
                        .collect();
                    (env.clone(), Value::Array(dirs))
                })
                .collect(),
        )
    }
}

/// `top_file_merging_strategy`: how the top files of several saltenvs
/// become one (Salt's `_merge_tops_merge|same|merge_all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopMerging {
    /// base's top is authoritative; another env's top counts only for its
    /// own section, and only when base's top has none.
    #[default]
    Merge,
    /// Each saltenv's section comes from that saltenv's own top file
    /// (`default_top`'s when it has none).
    Same,
    /// Every section of every top, target lists merged.
    MergeAll,
}

impl TopMerging {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "merge" => TopMerging::Merge,
            "same" => TopMerging::Same,
            "merge_all" => TopMerging::MergeAll,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TopMerging::Merge => "merge",
            TopMerging::Same => "same",
            TopMerging::MergeAll => "merge_all",
        }
    }
}

/// Salt's environment keys, read the same way from a master's and a
/// minion's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Environments {
    /// `file_roots`: saltenv → state tree directories (default `base:
    /// [/srv/salt]`).
    pub file_roots: EnvRoots,
    /// `pillar_roots`: pillarenv → pillar tree directories (default `base:
    /// [/srv/pillar]`).
    pub pillar_roots: EnvRoots,
    /// `saltenv`: `None` (Salt's default) reads the tops of every saltenv;
    /// set, only that saltenv's top, and `state.sls` looks there.
    pub saltenv: Option<String>,
    /// `pillarenv`: `None` merges every pillar env's top; set, only that one.
    pub pillarenv: Option<String>,
    /// `pillarenv_from_saltenv`: a job's saltenv is its pillarenv too.
    pub pillarenv_from_saltenv: bool,
    pub top_file_merging_strategy: TopMerging,
    /// `env_order`: the order top files are read and merged in (and the
    /// only saltenvs whose tops are read, when set).
    pub env_order: Vec<String>,
    /// `default_top`: the saltenv whose top stands in for a saltenv
    /// without one, under `same`.
    pub default_top: String,
}

impl Default for Environments {
    fn default() -> Self {
        Environments {
            file_roots: EnvRoots::single("base", vec![PathBuf::from("/srv/salt")]),
            pillar_roots: EnvRoots::single("base", vec![PathBuf::from("/srv/pillar")]),
            saltenv: None,
            pillarenv: None,
            pillarenv_from_saltenv: false,
            top_file_merging_strategy: TopMerging::Merge,
            env_order: Vec::new(),
            default_top: "base".into(),
        }
    }
}

impl Environments {
    /// Reads the environment keys of a config file's map; a key of the
    /// wrong type or value is an error naming it.
    pub fn read(path: &Path, raw: &Map<String, Value>) -> Result<Self, ConfigError> {
        let bad = |key: &str, message: &str| ConfigError::Key {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: message.to_string(),
        };
        // An env name is a label: Salt stringifies a YAML number or bool.
        let label = |key: &str| -> Result<Option<String>, ConfigError> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                    Ok(Some(crate::pyfmt::py_str(v)))
                }
                Some(_) => Err(bad(key, "expected an environment name")),
            }
        };
        let mut envs = Environments {
            saltenv: label("saltenv")?,
            pillarenv: label("pillarenv")?,
            ..Environments::default()
        };
        if let Some(d) = label("default_top")? {
            envs.default_top = d;
        }
        if let Some(v) = raw.get("file_roots") {
            envs.file_roots = roots(path, "file_roots", v)?;
        }
        if let Some(v) = raw.get("pillar_roots") {
            envs.pillar_roots = roots(path, "pillar_roots", v)?;
        }
        match raw.get("pillarenv_from_saltenv") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => envs.pillarenv_from_saltenv = *b,
            Some(_) => return Err(bad("pillarenv_from_saltenv", "expected true or false")),
        }
        match raw.get("top_file_merging_strategy") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                envs.top_file_merging_strategy = TopMerging::parse(s).ok_or_else(|| {
                    bad(
                        "top_file_merging_strategy",
                        "expected merge, same or merge_all",
                    )
                })?
            }
            Some(_) => {
                return Err(bad(
                    "top_file_merging_strategy",
                    "expected merge, same or merge_all",
                ))
            }
        }
        match raw.get("env_order") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                            envs.env_order.push(crate::pyfmt::py_str(item))
                        }
                        _ => return Err(bad("env_order", "expected a list of saltenv names")),
                    }
                }
            }
            Some(_) => return Err(bad("env_order", "expected a list of saltenv names")),
        }
        Ok(envs)
    }

    /// The pillarenv of a job with these `saltenv`/`pillarenv` choices
    /// (`None`: as the config says), as Salt's `get_sls_opts` and
    /// `Pillar.__init__` decide it: an explicit pillarenv, else the saltenv
    /// when `pillarenv_from_saltenv`, else the config's `pillarenv`.
    pub fn job_pillarenv(&self, saltenv: Option<&str>, pillarenv: Option<&str>) -> Option<String> {
        if let Some(p) = pillarenv {
            return Some(p.to_string());
        }
        if self.pillarenv_from_saltenv {
            if let Some(s) = saltenv.or(self.saltenv.as_deref()) {
                return Some(s.to_string());
            }
        }
        self.pillarenv.clone()
    }

    /// Writes what templates see in `opts` for these keys.
    fn to_opts(&self, opts: &mut Map<String, Value>) {
        let label = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        opts.insert("saltenv".into(), label(&self.saltenv));
        opts.insert("pillarenv".into(), label(&self.pillarenv));
        opts.insert(
            "pillarenv_from_saltenv".into(),
            Value::Bool(self.pillarenv_from_saltenv),
        );
        opts.insert(
            "top_file_merging_strategy".into(),
            Value::String(self.top_file_merging_strategy.name().into()),
        );
        opts.insert(
            "env_order".into(),
            Value::Array(self.env_order.iter().cloned().map(Value::String).collect()),
        );
        opts.insert(
            "default_top".into(),
            Value::String(self.default_top.clone()),
        );
        opts.insert("file_roots".into(), self.file_roots.to_value());
        opts.insert("pillar_roots".into(), self.pillar_roots.to_value());
    }
}

/// `file_roots`/`pillar_roots`: a map of saltenv → list of directories (a
/// bare list is saltenv `base`'s).
pub fn roots(path: &Path, key: &str, v: &Value) -> Result<EnvRoots, ConfigError> {
    let bad = |message: &str| ConfigError::Key {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.to_string(),
    };
    let dirs = |list: &Value| -> Result<Vec<PathBuf>, ConfigError> {
        list.as_array()
            .ok_or_else(|| bad("expected a list of directories"))?
            .iter()
            .map(|d| {
                d.as_str()
                    .map(PathBuf::from)
                    .ok_or_else(|| bad("directories must be strings"))
            })
            .collect()
    };
    match v {
        Value::Object(envs) => envs
            .iter()
            .map(|(env, list)| Ok((env.clone(), dirs(list)?)))
            .collect::<Result<Vec<_>, _>>()
            .map(EnvRoots),
        Value::Array(_) => Ok(EnvRoots::single("base", dirs(v)?)),
        _ => Err(bad("expected a map of saltenv to a list of directories")),
    }
}

/// Reads a YAML config file the way Salt reads one; `None` when it is
/// missing and not `required` (a daemon's default path need not exist).
pub fn read_yaml(path: &Path, required: bool) -> Result<Option<Value>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    crate::yaml::load(&text)
        .map(Some)
        .map_err(|error| ConfigError::Yaml {
            path: path.to_path_buf(),
            error,
        })
}

/// `nodegroups` from a master's or a minion's config: a map of name to a
/// compound expression or a list of minion ids.
pub fn nodegroups(path: &Path, v: &Value) -> Result<Map<String, Value>, ConfigError> {
    let key_error = |key: &str, message: &str| ConfigError::Key {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.to_string(),
    };
    let groups = match v {
        Value::Null => return Ok(Map::new()),
        Value::Object(m) => m,
        _ => {
            return Err(key_error(
                "nodegroups",
                "expected a map of name to an expression",
            ))
        }
    };
    for (name, expr) in groups {
        let ok = match expr {
            Value::String(_) => true,
            Value::Array(ids) => ids.iter().all(Value::is_string),
            _ => false,
        };
        if !ok {
            return Err(key_error(
                &format!("nodegroups.{name}"),
                "expected a compound expression or a list of minion ids",
            ));
        }
    }
    Ok(groups.clone())
}

impl MinionConfig {
    /// Reads `path`; a missing file at the default location is not an error.
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        match read_yaml(path, required)? {
            Some(value) => Self::from_value(path, value),
            None => Ok(Self::default()),
        }
    }

    fn from_value(path: &Path, value: Value) -> Result<Self, ConfigError> {
        let mut cfg = MinionConfig::default();
        let raw = match value {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(ConfigError::Key {
                    path: path.to_path_buf(),
                    key: "(top)".into(),
                    message: "the config must be a map".into(),
                })
            }
        };
        if let Some(id) = raw.get("id") {
            cfg.id = Some(crate::pyfmt::py_str(id));
        }
        cfg.envs = Environments::read(path, &raw)?;
        if let Some(v) = raw.get("nodegroups") {
            cfg.nodegroups = nodegroups(path, v)?;
        }
        match raw.get("grains") {
            Some(Value::Object(g)) => cfg.grains = g.clone(),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ConfigError::Key {
                    path: path.to_path_buf(),
                    key: "grains".into(),
                    message: "expected a map".into(),
                })
            }
        }
        cfg.renderer = renderer(path, &raw)?;
        cfg.gpg_keydir = gpg_keydir(path, &raw)?;
        if let Some(v) = raw.get("mine_functions") {
            cfg.mine_functions = mine_functions(v).map_err(|message| ConfigError::Key {
                path: path.to_path_buf(),
                key: "mine_functions".into(),
                message,
            })?;
        }
        cfg.raw = raw;
        Ok(cfg)
    }

    /// `opts` as templates see it: the file plus the resolved values
    /// (every saltenv of `file_roots` and `pillar_roots`).
    pub fn opts(&self, id: &str) -> Value {
        let mut opts = self.raw.clone();
        opts.insert("id".into(), Value::String(id.to_string()));
        opts.insert("file_client".into(), Value::String("local".into()));
        opts.entry("renderer")
            .or_insert_with(|| Value::String(self.renderer.to_string()));
        self.envs.to_opts(&mut opts);
        Value::Object(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_salt_keys_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("minion.yaml");
        std::fs::write(
            &p,
            "id: web01\nfile_roots:\n  base:\n    - /a\n    - /b\ngrains:\n  role: web\n",
        )
        .unwrap();
        let cfg = MinionConfig::load(&p, true).unwrap();
        assert_eq!(cfg.id.as_deref(), Some("web01"));
        assert_eq!(
            cfg.envs.file_roots.get("base").unwrap(),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(
            cfg.envs.pillar_roots,
            EnvRoots::single("base", vec![PathBuf::from("/srv/pillar")])
        );
        assert_eq!(cfg.envs.saltenv, None);
        assert_eq!(cfg.envs.top_file_merging_strategy, TopMerging::Merge);
        assert_eq!(cfg.envs.default_top, "base");
        assert_eq!(cfg.grains.get("role"), Some(&Value::String("web".into())));
    }

    #[test]
    fn missing_default_config_is_fine_but_required_one_is_not() {
        let p = Path::new("/nonexistent/brine/minion.yaml");
        assert_eq!(
            MinionConfig::load(p, false).unwrap(),
            MinionConfig::default()
        );
        assert!(matches!(
            MinionConfig::load(p, true),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn renderer_and_gpg_keydir() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("minion.yaml");
        std::fs::write(&p, "renderer: 'jinja | yaml | gpg'\n").unwrap();
        let cfg = MinionConfig::load(&p, true).unwrap();
        assert_eq!(cfg.renderer.to_string(), "jinja|yaml|gpg");
        assert_eq!(cfg.gpg_keydir, dir.path().join("gpgkeys"));
        std::fs::write(&p, "renderer: mako|yaml\ngpg_keydir: /k\n").unwrap();
        let err = MinionConfig::load(&p, true).unwrap_err().to_string();
        assert!(
            err.contains("'renderer'") && err.contains("'mako'"),
            "{err}"
        );
        std::fs::write(&p, "gpg_keydir: /k\n").unwrap();
        let cfg = MinionConfig::load(&p, true).unwrap();
        assert_eq!(cfg.gpg_keydir, PathBuf::from("/k"));
        assert_eq!(cfg.renderer, Pipeline::default());
    }

    #[test]
    fn bad_roots_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(&p, "file_roots: 5\n").unwrap();
        let err = MinionConfig::load(&p, true).unwrap_err().to_string();
        assert!(err.contains("file_roots"), "{err}");
    }

    #[test]
    fn every_saltenv_is_kept_in_order_with_the_env_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(
            &p,
            "file_roots:\n  prod: [/p]\n  base: [/b]\n  dev: [/d1, /d2]\n\
             pillar_roots:\n  base: [/pb]\n  prod: [/pp]\n\
             saltenv: prod\npillarenv: base\npillarenv_from_saltenv: true\n\
             top_file_merging_strategy: merge_all\nenv_order: [dev, base]\ndefault_top: dev\n",
        )
        .unwrap();
        let cfg = MinionConfig::load(&p, true).unwrap();
        let e = &cfg.envs;
        assert_eq!(
            e.file_roots.names().collect::<Vec<_>>(),
            ["prod", "base", "dev"]
        );
        assert_eq!(
            e.file_roots.get("dev").unwrap(),
            [PathBuf::from("/d1"), PathBuf::from("/d2")]
        );
        assert_eq!(e.file_roots.get("qa"), None);
        assert_eq!(e.saltenv.as_deref(), Some("prod"));
        assert_eq!(e.pillarenv.as_deref(), Some("base"));
        assert!(e.pillarenv_from_saltenv);
        assert_eq!(e.top_file_merging_strategy, TopMerging::MergeAll);
        assert_eq!(e.env_order, ["dev", "base"]);
        assert_eq!(e.default_top, "dev");
        // Templates see every env, in order, and the keys Salt shows.
        let opts = cfg.opts("m1");
        let fr: Vec<&String> = opts["file_roots"].as_object().unwrap().keys().collect();
        assert_eq!(fr, ["prod", "base", "dev"]);
        assert_eq!(opts["pillar_roots"]["prod"], serde_json::json!(["/pp"]));
        assert_eq!(opts["top_file_merging_strategy"], "merge_all");
        assert_eq!(opts["saltenv"], "prod");
    }

    #[test]
    fn job_pillarenv_follows_salt() {
        let mut e = Environments::default();
        assert_eq!(e.job_pillarenv(Some("prod"), None), None);
        assert_eq!(
            e.job_pillarenv(Some("prod"), Some("dev")).as_deref(),
            Some("dev")
        );
        e.pillarenv_from_saltenv = true;
        assert_eq!(e.job_pillarenv(Some("prod"), None).as_deref(), Some("prod"));
        e.pillarenv = Some("base".into());
        e.pillarenv_from_saltenv = false;
        assert_eq!(e.job_pillarenv(Some("prod"), None).as_deref(), Some("base"));
    }

    #[test]
    fn bad_env_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        for (text, key) in [
            (
                "top_file_merging_strategy: mix\n",
                "top_file_merging_strategy",
            ),
            ("env_order: base\n", "env_order"),
            ("pillarenv_from_saltenv: maybe\n", "pillarenv_from_saltenv"),
            ("saltenv: [a]\n", "saltenv"),
            ("pillar_roots:\n  base: /srv\n", "pillar_roots"),
        ] {
            std::fs::write(&p, text).unwrap();
            let err = MinionConfig::load(&p, true).unwrap_err().to_string();
            assert!(err.contains(&format!("key '{key}'")), "{text}: {err}");
        }
    }

    #[test]
    fn pillar_mine_functions_replace_the_configs_in_place_and_add_new_ones() {
        let parse = |y: &str| mine_functions(&crate::yaml::load(y).unwrap()).unwrap();
        let config = parse("a: [1]\nb: [2]\n");
        let pillar = parse("c: [3]\na: [9]\n");
        let merged = merge_mine_functions(&config, &pillar);
        let shown: Vec<(&str, &Value)> = merged
            .iter()
            .map(|f| (f.alias.as_str(), &f.args[0]))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("a", &Value::from(9)),
                ("b", &Value::from(2)),
                ("c", &Value::from(3))
            ]
        );
    }

    #[test]
    fn mine_functions_in_salts_three_shapes() {
        let v = crate::yaml::load(
            "network.ip_addrs: [eth0]\n\
             internal_ips:\n  - mine_function: network.ip_addrs\n  - cidr: 10.0.0.0/8\n\
             ifaces:\n  mine_function: network.interfaces\n\
             test.ping:\n",
        )
        .unwrap();
        let got = mine_functions(&v).unwrap();
        let f = |alias: &str, function: &str, args: Value, kwargs: Value| MineFunction {
            alias: alias.into(),
            function: function.into(),
            args: args.as_array().unwrap().clone(),
            kwargs: kwargs.as_object().unwrap().clone(),
        };
        use serde_json::json;
        assert_eq!(
            got,
            vec![
                f(
                    "network.ip_addrs",
                    "network.ip_addrs",
                    json!(["eth0"]),
                    json!({})
                ),
                f(
                    "internal_ips",
                    "network.ip_addrs",
                    json!([]),
                    json!({"cidr": "10.0.0.0/8"})
                ),
                f("ifaces", "network.interfaces", json!([]), json!({})),
                f("test.ping", "test.ping", json!([]), json!({})),
            ]
        );
        let acl = crate::yaml::load("a: [{allow_tgt: 'web*'}]\n").unwrap();
        assert!(mine_functions(&acl).unwrap_err().contains("allow_tgt"));
        assert!(mine_functions(&serde_json::json!(["x"])).is_err());
    }
}
