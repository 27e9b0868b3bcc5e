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
    /// `renderer`: the pipeline of files without a `#!` line (`jinja|yaml`).
    pub renderer: Pipeline,
    /// `gpg_keydir`: the GnuPG home the gpg renderer decrypts with.
    pub gpg_keydir: PathBuf,
    /// The whole file, as templates see it in `opts`.
    pub raw: Map<String, Value>,
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
            renderer: Pipeline::default(),
            gpg_keydir: PathBuf::from(DEFAULT_GPG_KEYDIR),
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
        cfg.renderer = renderer(path, &raw)?;
        cfg.gpg_keydir = gpg_keydir(path, &raw)?;
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
        opts.entry("renderer")
            .or_insert_with(|| Value::String(self.renderer.to_string()));
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
}
