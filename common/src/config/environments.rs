//! Saltenvs: `file_roots`/`pillar_roots` and the options that choose
//! among them and merge their top files.
use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::data::{Map, Value};

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
    pub(super) fn to_opts(&self, opts: &mut Map<String, Value>) {
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
