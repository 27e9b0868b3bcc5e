//! Minion configuration, with Salt's key names and defaults, read from YAML the
//! way Salt reads its config files.
use std::path::{Path, PathBuf};

use crate::data::{Map, Value};

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
    /// `file_roots` of saltenv `base`.
    pub file_roots: Vec<PathBuf>,
    /// `pillar_roots` of saltenv `base`.
    pub pillar_roots: Vec<PathBuf>,
    /// `nodegroups`: name → compound expression or list of minion ids, for
    /// `match: nodegroup` in the state and pillar tops (Salt reads them
    /// from the minion's config in masterless mode too).
    pub nodegroups: Map<String, Value>,
    /// `grains`: static grains merged over detected ones.
    pub grains: Map<String, Value>,
    /// `saltenv` (default `base`).
    pub saltenv: String,
    /// `mine_functions`: what this minion sends to the mine.
    pub mine_functions: Vec<MineFunction>,
    /// The whole file, as templates see it in `opts`.
    pub raw: Map<String, Value>,
}

/// One entry of `mine_functions`: the mine key (`alias`) and the call whose
/// return is stored under it.
#[derive(Debug, Clone, PartialEq)]
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

impl Default for MinionConfig {
    fn default() -> Self {
        MinionConfig {
            id: None,
            file_roots: vec![PathBuf::from("/srv/salt")],
            pillar_roots: vec![PathBuf::from("/srv/pillar")],
            nodegroups: Map::new(),
            grains: Map::new(),
            saltenv: "base".into(),
            mine_functions: Vec::new(),
            raw: Map::new(),
        }
    }
}

/// `file_roots`/`pillar_roots`: a map of saltenv → list of directories (or a
/// bare list, taken as that saltenv's).
pub fn roots(
    path: &Path,
    key: &str,
    v: &Value,
    saltenv: &str,
) -> Result<Vec<PathBuf>, ConfigError> {
    let bad = |message: &str| ConfigError::Key {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.to_string(),
    };
    let list = match v {
        Value::Object(envs) => envs.get(saltenv).cloned().unwrap_or(Value::Array(vec![])),
        Value::Array(_) => v.clone(),
        _ => return Err(bad("expected a map of saltenv to a list of directories")),
    };
    list.as_array()
        .ok_or_else(|| bad("expected a list of directories"))?
        .iter()
        .map(|d| {
            d.as_str()
                .map(PathBuf::from)
                .ok_or_else(|| bad("directories must be strings"))
        })
        .collect()
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
        if let Some(env) = raw.get("saltenv").and_then(Value::as_str) {
            cfg.saltenv = env.to_string();
        }
        if let Some(id) = raw.get("id") {
            cfg.id = Some(crate::pyfmt::py_str(id));
        }
        if let Some(v) = raw.get("file_roots") {
            cfg.file_roots = roots(path, "file_roots", v, &cfg.saltenv)?;
        }
        if let Some(v) = raw.get("pillar_roots") {
            cfg.pillar_roots = roots(path, "pillar_roots", v, &cfg.saltenv)?;
        }
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

    /// `opts` as templates see it: the file plus the resolved values.
    pub fn opts(&self, id: &str) -> Value {
        let mut opts = self.raw.clone();
        let dirs = |v: &[PathBuf]| {
            Value::Array(
                v.iter()
                    .map(|p| Value::String(p.display().to_string()))
                    .collect(),
            )
        };
        opts.insert("id".into(), Value::String(id.to_string()));
        // Salt leaves opts['saltenv'] unset (None) unless the config sets it.
        opts.entry("saltenv").or_insert(Value::Null);
        opts.insert("file_client".into(), Value::String("local".into()));
        opts.insert("renderer".into(), Value::String("jinja|yaml".into()));
        let mut fr = Map::new();
        fr.insert(self.saltenv.clone(), dirs(&self.file_roots));
        opts.insert("file_roots".into(), Value::Object(fr));
        let mut pr = Map::new();
        pr.insert(self.saltenv.clone(), dirs(&self.pillar_roots));
        opts.insert("pillar_roots".into(), Value::Object(pr));
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
            cfg.file_roots,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(cfg.pillar_roots, vec![PathBuf::from("/srv/pillar")]);
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
    fn bad_roots_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(&p, "file_roots: 5\n").unwrap();
        let err = MinionConfig::load(&p, true).unwrap_err().to_string();
        assert!(err.contains("file_roots"), "{err}");
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
