//! Master configuration, with Salt's key names and defaults, read from YAML the
//! way Salt reads its config files (`common::yaml`), in the style of
//! `common::config::MinionConfig`.
//!
//! Every key is type-checked when the file is read, so a typo'd value stops
//! the master at start-up with the key's name instead of surfacing later as a
//! refused connection or a job that never ends.
use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use common::target::fnmatch;

/// The same error type the minion config uses: a file, and the key that is wrong.
pub use common::config::ConfigError;
use common::config::Environments;

pub use crate::stores_config::{Store, Stores};

/// Where `master` looks for its config when `--config` is not given.
pub const DEFAULT_MASTER_CONFIG: &str = "/etc/brine/master.yaml";

/// The function name an ACL sees for `state.apply` publishes (highstate or sls).
pub const APPLY_FUNCTION: &str = "state.apply";

/// The master settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterConfig {
    /// `interface`: the address both ports bind.
    pub interface: String,
    /// `ret_port`: minions connect here.
    pub ret_port: u16,
    /// `operator_port`: operators connect here.
    pub operator_port: u16,
    /// `file_roots`, `pillar_roots` (every saltenv), `saltenv`,
    /// `pillarenv`, `pillarenv_from_saltenv`, `top_file_merging_strategy`,
    /// `env_order`, `default_top`: read as the minion's config reads them.
    pub envs: Environments,
    /// `pki_dir`: the key store.
    pub pki_dir: PathBuf,
    /// `cachedir`: the job cache and other master state.
    pub cachedir: PathBuf,
    /// `auto_accept`: admit every new minion key without an operator.
    pub auto_accept: bool,
    /// `autosign`: minion-id globs whose new keys are admitted without an operator.
    pub autosign: Vec<String>,
    /// `nodegroups`: name → compound expression (string) or list of minion ids.
    pub nodegroups: Map<String, Value>,
    /// `keep_jobs`: hours a job stays in the cache (0 keeps jobs forever, as in Salt).
    pub keep_jobs: u64,
    /// `timeout`: seconds a job waits for minions before reporting the missing ones.
    pub timeout: u64,
    /// `worker_threads`: threads of the daemon's runtime (default: the CPU count).
    pub worker_threads: usize,
    /// `acl`; `None` when the key is absent: every known operator may do anything.
    pub acl: Option<Acl>,
    /// `handshake_rate`: handshakes started per second on each port, on
    /// average (twice as many may start at once); more are refused and their
    /// connections closed. Brine's: Salt has no such limit.
    pub handshake_rate: u32,
    /// `max_pending_keys`: new minion keys kept in `minions_pre` at most;
    /// past it a new id is refused until some are accepted or deleted.
    pub max_pending_keys: usize,
    /// `pending_key_rate`: pending keys written per second, on average.
    pub pending_key_rate: u32,
    /// `renderer`: the pipeline of files without a `#!` line (`jinja|yaml`).
    pub renderer: common::render::Pipeline,
    /// `gpg_keydir`: the GnuPG home holding the key pillar is encrypted to
    /// (default `gpgkeys` beside the config file).
    pub gpg_keydir: PathBuf,
    /// `fileserver_backend`, `gitfs_*`, `ext_pillar: - git:` (`crate::gitfs`).
    pub git: crate::gitfs::GitConfig,
    /// `master_job_cache`, `key_store`, `cache`: where jobs, keys, and
    /// grains and mine data are kept; `postgres.dsn` the shared store's.
    pub stores: Stores,
    /// The whole file, as templates see it in `opts`.
    pub raw: Map<String, Value>,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            interface: "0.0.0.0".into(),
            ret_port: 4506,
            operator_port: 4507,
            envs: Environments::default(),
            pki_dir: PathBuf::from("/etc/brine/pki/master"),
            cachedir: PathBuf::from("/var/cache/brine/master"),
            auto_accept: false,
            autosign: Vec::new(),
            nodegroups: Map::new(),
            keep_jobs: 24,
            timeout: 60,
            worker_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            acl: None,
            handshake_rate: 500,
            max_pending_keys: 1000,
            pending_key_rate: 50,
            renderer: common::render::Pipeline::default(),
            gpg_keydir: PathBuf::from(common::config::DEFAULT_GPG_KEYDIR),
            git: crate::gitfs::GitConfig::default(),
            stores: Stores::default(),
            raw: Map::new(),
        }
    }
}

/// Which operators may publish what to whom.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Acl {
    pub rules: Vec<AclRule>,
}

/// One `{targets, functions}` entry of an operator's list.
#[derive(Debug, Clone, PartialEq)]
pub struct AclRule {
    pub operator: String,
    /// Globs matched against the target expression *as written* (not against
    /// the minions it resolves to), so a rule reads the way the operator types.
    pub targets: Vec<String>,
    /// Globs matched against the function name (`test.ping`, `state.apply`).
    pub functions: Vec<String>,
}

impl Acl {
    /// True if one of `operator`'s rules has a target glob matching
    /// `target_expr` and a function glob matching `function`. An operator the
    /// ACL does not name gets nothing.
    pub fn allows(&self, operator: &str, target_expr: &str, function: &str) -> bool {
        self.rules.iter().any(|r| {
            r.operator == operator
                && r.targets.iter().any(|g| fnmatch(target_expr, g))
                && r.functions.iter().any(|g| fnmatch(function, g))
        })
    }
}

/// The ACL decision for a request: with no ACL every operator whose key is
/// in `pki/operators` may do anything (the caller has already checked
/// that); with one, only what it grants.
pub fn acl_allows(acl: Option<&Acl>, operator: &str, target_expr: &str, function: &str) -> bool {
    acl.is_none_or(|acl| acl.allows(operator, target_expr, function))
}

impl MasterConfig {
    /// Reads `path`; a missing file is an error only when `must_exist`.
    pub fn load(path: &Path, must_exist: bool) -> Result<Self, ConfigError> {
        match common::config::read_yaml(path, must_exist)? {
            Some(value) => Self::from_value(path, value),
            None => Ok(Self::default()),
        }
    }

    /// True if `id` matches one of the `autosign` globs.
    pub fn autosigned(&self, id: &str) -> bool {
        self.autosign.iter().any(|g| fnmatch(id, g))
    }

    fn from_value(path: &Path, value: Value) -> Result<Self, ConfigError> {
        let raw = match value {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => return Err(key_error(path, "(top)", "the config must be a map")),
        };
        let k = Keys { path, raw: &raw };
        let mut cfg = MasterConfig::default();
        if let Some(v) = k.string("interface")? {
            cfg.interface = v;
        }
        if let Some(v) = k.port("ret_port")? {
            cfg.ret_port = v;
        }
        if let Some(v) = k.port("operator_port")? {
            cfg.operator_port = v;
        }
        cfg.envs = Environments::read(path, &raw)?;
        if let Some(v) = k.string("pki_dir")? {
            cfg.pki_dir = v.into();
        }
        if let Some(v) = k.string("cachedir")? {
            cfg.cachedir = v.into();
        }
        if let Some(v) = k.boolean("auto_accept")? {
            cfg.auto_accept = v;
        }
        if let Some(v) = k.get("autosign") {
            cfg.autosign = string_or_list(v)
                .ok_or_else(|| key_error(path, "autosign", "expected a list of minion-id globs"))?;
        }
        if let Some(v) = raw.get("nodegroups") {
            cfg.nodegroups = common::config::nodegroups(path, v)?;
        }
        if let Some(v) = k.uint("keep_jobs")? {
            cfg.keep_jobs = v;
        }
        if let Some(v) = k.uint("timeout")? {
            if v == 0 {
                return Err(key_error(path, "timeout", "must be at least 1 second"));
            }
            cfg.timeout = v;
        }
        if let Some(v) = k.uint("worker_threads")? {
            cfg.worker_threads = usize::try_from(v)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| key_error(path, "worker_threads", "must be at least 1"))?;
        }
        if let Some(v) = raw.get("acl") {
            cfg.acl = Some(acl(path, v)?);
        }
        if let Some(v) = k.positive("handshake_rate")? {
            cfg.handshake_rate = v;
        }
        if let Some(v) = k.positive("max_pending_keys")? {
            cfg.max_pending_keys = v as usize;
        }
        if let Some(v) = k.positive("pending_key_rate")? {
            cfg.pending_key_rate = v;
        }
        cfg.renderer = common::config::renderer(path, &raw)?;
        cfg.gpg_keydir = common::config::gpg_keydir(path, &raw)?;
        cfg.git = crate::gitfs::config::read(path, &raw)?;
        if cfg.git.pillar_roots_given {
            // git_pillar compiles each repository's own top in Salt; a
            // pillarenv also in pillar_roots would mix the two trees' tops.
            for env in cfg.git.pillar_envs() {
                if cfg.envs.pillar_roots.get(env).is_some() {
                    return Err(key_error(
                        path,
                        "ext_pillar",
                        &format!("pillarenv {env:?} is served by both pillar_roots and git_pillar: not implemented by Brine"),
                    ));
                }
            }
        }
        cfg.stores = crate::stores_config::read(path, &raw)?;
        cfg.raw = raw;
        Ok(cfg)
    }
}

pub(crate) fn key_error(path: &Path, key: &str, message: &str) -> ConfigError {
    ConfigError::Key {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// Typed reads of top-level keys; an absent key or `key:` with no value
/// (YAML null) keeps the default, as Salt does.
struct Keys<'a> {
    path: &'a Path,
    raw: &'a Map<String, Value>,
}

impl Keys<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.raw.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| key_error(self.path, key, "expected a string"))
            })
            .transpose()
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| key_error(self.path, key, "expected true or false"))
            })
            .transpose()
    }

    fn uint(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| key_error(self.path, key, "expected a whole number ≥ 0"))
            })
            .transpose()
    }

    /// A whole number from 1 to 2^32-1 (a rate or a count that 0 would disable).
    fn positive(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| key_error(self.path, key, "expected a whole number ≥ 1"))
            })
            .transpose()
    }

    fn port(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| key_error(self.path, key, "expected a port number (1-65535)"))
            })
            .transpose()
    }
}

/// A string, or a list of strings (a lone string is a one-item list, as Salt
/// accepts for most glob lists).
fn string_or_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Null => Some(Vec::new()),
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

/// The ACL in `v`, read as the config's `acl` key is (`master acl set`
/// and the ACL stored in PostgreSQL); `source` names where it came from in
/// errors.
pub fn parse_acl(source: &Path, v: &Value) -> Result<Acl, ConfigError> {
    acl(source, v)
}

/// `acl`: operator → list of `{targets, functions}`. Present but empty (or
/// null) grants nothing: writing `acl:` is taken as a wish to restrict, so it
/// fails closed.
fn acl(path: &Path, v: &Value) -> Result<Acl, ConfigError> {
    let operators = match v {
        Value::Null => return Ok(Acl::default()),
        Value::Object(m) => m,
        _ => {
            return Err(key_error(
                path,
                "acl",
                "expected a map of operator to a list of {targets, functions}",
            ))
        }
    };
    let mut rules = Vec::new();
    for (operator, entries) in operators {
        let entries = match entries {
            Value::Array(items) => items.clone(),
            Value::Object(_) => vec![entries.clone()],
            Value::Null => vec![],
            _ => {
                return Err(key_error(
                    path,
                    &format!("acl.{operator}"),
                    "expected a list of {targets, functions}",
                ))
            }
        };
        for (i, entry) in entries.iter().enumerate() {
            let here = format!("acl.{operator}[{i}]");
            let map = entry.as_object().ok_or_else(|| {
                key_error(path, &here, "expected a map with targets and functions")
            })?;
            let list = |field: &str| {
                let key = format!("{here}.{field}");
                let v = map
                    .get(field)
                    .ok_or_else(|| key_error(path, &key, "missing"))?;
                string_or_list(v).ok_or_else(|| key_error(path, &key, "expected a list of globs"))
            };
            rules.push(AclRule {
                operator: operator.clone(),
                targets: list("targets")?,
                functions: list("functions")?,
            });
        }
    }
    Ok(Acl { rules })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
