//! Minion configuration, with Salt's key names and defaults, read from YAML the
//! way Salt reads its config files.
use std::path::{Path, PathBuf};

use crate::data::{Map, Value};
use crate::render::Pipeline;

mod environments;
mod mine;

pub use environments::{roots, EnvRoots, Environments, TopMerging};
pub use mine::{merge_mine_functions, mine_functions, MineFunction, DEFAULT_MINE_INTERVAL_MINUTES};

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
mod tests;
