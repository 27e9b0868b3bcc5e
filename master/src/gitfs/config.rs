//! The git keys of the master config, as Salt names them: `fileserver_backend`,
//! `gitfs_remotes` (with per-remote options), `gitfs_base`, `gitfs_root`,
//! `gitfs_mountpoint`, `gitfs_saltenv`, `gitfs_update_interval`, the
//! `gitfs_*` credentials, and `ext_pillar: - git: [...]` with the
//! `git_pillar_*` keys. A key or option Salt has and Brine does not
//! implement is an error naming it, never ignored.
use std::path::Path;

use common::data::{Map, Value};

use super::super::config::ConfigError;

/// A file server backend, in `fileserver_backend`'s order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Roots,
    Git,
}

/// What a remote serves.
#[derive(Debug, Clone, PartialEq)]
pub enum Serves {
    /// gitfs: every branch and tag a saltenv (`base` branch → `base`),
    /// plus the `saltenv` mappings (saltenv → ref).
    Files {
        base: String,
        saltenv_refs: Vec<(String, String)>,
    },
    /// git_pillar: one branch, as one pillarenv.
    Pillar { branch: String, env: String },
}

/// Credentials, as Salt's `user`/`password` (https) and
/// `pubkey`/`privkey`/`passphrase` (ssh; key files).
#[derive(Clone, PartialEq, Default)]
pub struct Auth {
    pub user: Option<String>,
    pub password: Option<String>,
    pub pubkey: Option<String>,
    pub privkey: Option<String>,
    pub passphrase: Option<String>,
}

/// Secrets never reach a log through a `{:?}` of the config.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("Auth")
            .field("user", &self.user)
            .field("password", &hidden(&self.password))
            .field("pubkey", &self.pubkey)
            .field("privkey", &self.privkey)
            .field("passphrase", &hidden(&self.passphrase))
            .finish()
    }
}

/// One remote with its options resolved (per-remote over global).
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub url: String,
    /// `name`, else the URL without credentials.
    pub name: String,
    /// `root`: the repository's subdirectory served ("" for all of it).
    pub root: String,
    /// `mountpoint`: where the served files appear under `salt://`.
    pub mountpoint: String,
    pub serves: Serves,
    pub auth: Auth,
    /// `ssl_verify` (Salt's default True): false accepts any TLS
    /// certificate and any ssh host key, as Salt's pygit2 provider does.
    pub ssl_verify: bool,
}

/// The git part of the master config.
#[derive(Debug, Clone, PartialEq)]
pub struct GitConfig {
    pub backends: Vec<Backend>,
    /// gitfs remotes, then git_pillar remotes.
    pub remotes: Vec<Remote>,
    /// `gitfs_update_interval`, seconds.
    pub update_interval: u64,
    /// Whether `pillar_roots` was written in the config (else Salt's
    /// default `/srv/pillar` is left out when git_pillar serves pillar).
    pub pillar_roots_given: bool,
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            backends: vec![Backend::Roots],
            remotes: Vec::new(),
            update_interval: 60,
            pillar_roots_given: false,
        }
    }
}

impl GitConfig {
    /// True when there is something to fetch.
    pub fn enabled(&self) -> bool {
        !self.remotes.is_empty()
    }

    /// The pillarenvs git_pillar remotes serve.
    pub fn pillar_envs(&self) -> impl Iterator<Item = &str> {
        self.remotes.iter().filter_map(|r| match &r.serves {
            Serves::Pillar { env, .. } => Some(env.as_str()),
            Serves::Files { .. } => None,
        })
    }

    pub fn serves_git_files(&self) -> bool {
        self.backends.contains(&Backend::Git)
    }
}

/// `gitfs_*` keys Brine reads; any other `gitfs_*` key is refused.
const GITFS_KEYS: &[&str] = &[
    "gitfs_remotes",
    "gitfs_base",
    "gitfs_root",
    "gitfs_mountpoint",
    "gitfs_saltenv",
    "gitfs_update_interval",
    "gitfs_user",
    "gitfs_password",
    "gitfs_pubkey",
    "gitfs_privkey",
    "gitfs_passphrase",
    "gitfs_insecure_auth",
    "gitfs_ssl_verify",
];

/// `git_pillar_*` keys Brine reads; any other is refused.
const GIT_PILLAR_KEYS: &[&str] = &[
    "git_pillar_base",
    "git_pillar_root",
    "git_pillar_user",
    "git_pillar_password",
    "git_pillar_pubkey",
    "git_pillar_privkey",
    "git_pillar_passphrase",
    "git_pillar_insecure_auth",
    "git_pillar_ssl_verify",
];

const AUTH_OPTIONS: &[&str] = &[
    "user",
    "password",
    "pubkey",
    "privkey",
    "passphrase",
    "insecure_auth",
];

fn bad(path: &Path, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        path: path.to_path_buf(),
        key: key.to_string(),
        message: message.into(),
    }
}

/// Reads the git keys of `raw`.
pub fn read(path: &Path, raw: &Map<String, Value>) -> Result<GitConfig, ConfigError> {
    for key in raw.keys() {
        if (key.starts_with("gitfs_") && !GITFS_KEYS.contains(&key.as_str()))
            || (key.starts_with("git_pillar_") && !GIT_PILLAR_KEYS.contains(&key.as_str()))
        {
            return Err(bad(path, key, "not implemented by Brine"));
        }
    }
    let get = |k: &str| raw.get(k).filter(|v| !v.is_null());
    let string = |k: &str, default: &str| -> Result<String, ConfigError> {
        match get(k) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(bad(path, k, "expected a string")),
        }
    };
    let boolean = |k: &str, default: bool| -> Result<bool, ConfigError> {
        match get(k) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(path, k, "expected True or False")),
        }
    };
    let mut cfg = GitConfig {
        pillar_roots_given: get("pillar_roots").is_some(),
        ..GitConfig::default()
    };
    if let Some(v) = get("fileserver_backend") {
        cfg.backends = backends(path, v)?;
    }
    if let Some(v) = get("gitfs_update_interval") {
        cfg.update_interval = v
            .as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(path, "gitfs_update_interval", "expected seconds ≥ 1"))?;
    }
    let auth_of = |prefix: &str| -> Result<Auth, ConfigError> {
        let opt = |o: &str| -> Result<Option<String>, ConfigError> {
            let k = format!("{prefix}{o}");
            match get(&k) {
                None => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(path, &k, "expected a string")),
            }
        };
        Ok(Auth {
            user: opt("user")?,
            password: opt("password")?,
            pubkey: opt("pubkey")?,
            privkey: opt("privkey")?,
            passphrase: opt("passphrase")?,
        })
    };

    let gitfs_defaults = Defaults {
        base: string("gitfs_base", "master")?,
        root: string("gitfs_root", "")?,
        mountpoint: string("gitfs_mountpoint", "")?,
        auth: auth_of("gitfs_")?,
        ssl_verify: boolean("gitfs_ssl_verify", true)?,
        insecure_auth: boolean("gitfs_insecure_auth", false)?,
    };
    let global_saltenv = match get("gitfs_saltenv") {
        Some(v) => saltenv_refs(path, "gitfs_saltenv", v)?,
        None => Vec::new(),
    };
    if let Some(v) = get("gitfs_remotes") {
        let items = v
            .as_array()
            .ok_or_else(|| bad(path, "gitfs_remotes", "expected a list of remotes"))?;
        for (i, item) in items.iter().enumerate() {
            let here = format!("gitfs_remotes[{i}]");
            let (url, opts) = remote_entry(path, &here, item)?;
            cfg.remotes.push(files_remote(
                path,
                &here,
                url,
                &opts,
                &gitfs_defaults,
                &global_saltenv,
            )?);
        }
    }
    if !cfg.remotes.is_empty() && !cfg.serves_git_files() {
        return Err(bad(
            path,
            "gitfs_remotes",
            "fileserver_backend does not list git: the remotes would never be served",
        ));
    }
    if cfg.serves_git_files() && cfg.remotes.is_empty() {
        return Err(bad(
            path,
            "fileserver_backend",
            "git is listed but gitfs_remotes is empty",
        ));
    }

    if let Some(v) = get("ext_pillar") {
        let pillar_defaults = Defaults {
            base: string("git_pillar_base", "master")?,
            root: string("git_pillar_root", "")?,
            mountpoint: String::new(),
            auth: auth_of("git_pillar_")?,
            ssl_verify: boolean("git_pillar_ssl_verify", true)?,
            insecure_auth: boolean("git_pillar_insecure_auth", false)?,
        };
        let items = v
            .as_array()
            .ok_or_else(|| bad(path, "ext_pillar", "expected a list of external pillars"))?;
        for (i, item) in items.iter().enumerate() {
            let here = format!("ext_pillar[{i}]");
            let one = item
                .as_object()
                .filter(|m| m.len() == 1)
                .ok_or_else(|| bad(path, &here, "expected a one-key map such as `git: [...]`"))?;
            let (kind, repos) = one.iter().next().expect("one key");
            if kind != "git" {
                return Err(bad(
                    path,
                    &here,
                    format!("ext_pillar {kind:?} is not implemented by Brine (only git)"),
                ));
            }
            let repos = repos
                .as_array()
                .ok_or_else(|| bad(path, &here, "expected a list of `BRANCH URL` entries"))?;
            for (j, repo) in repos.iter().enumerate() {
                let here = format!("{here}.git[{j}]");
                let (spec, opts) = remote_entry(path, &here, repo)?;
                cfg.remotes
                    .push(pillar_remote(path, &here, &spec, &opts, &pillar_defaults)?);
            }
        }
    }
    Ok(cfg)
}

fn backends(path: &Path, v: &Value) -> Result<Vec<Backend>, ConfigError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::String(_) => vec![v],
        _ => {
            return Err(bad(
                path,
                "fileserver_backend",
                "expected a list of backends",
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        let b = match item.as_str() {
            // Salt accepts the module name with or without its `fs`.
            Some("roots") => Backend::Roots,
            Some("git" | "gitfs") => Backend::Git,
            Some(other) => {
                return Err(bad(
                    path,
                    "fileserver_backend",
                    format!("backend {other:?} is not implemented by Brine (roots and git are)"),
                ))
            }
            None => return Err(bad(path, "fileserver_backend", "expected backend names")),
        };
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if out.is_empty() {
        return Err(bad(path, "fileserver_backend", "lists no backend"));
    }
    Ok(out)
}

struct Defaults {
    base: String,
    root: String,
    mountpoint: String,
    auth: Auth,
    ssl_verify: bool,
    insecure_auth: bool,
}

/// A remote as Salt writes it: `URL`, or `{URL: [{option: value}, ...]}`.
fn remote_entry(
    path: &Path,
    here: &str,
    v: &Value,
) -> Result<(String, Map<String, Value>), ConfigError> {
    match v {
        Value::String(s) => Ok((s.clone(), Map::new())),
        Value::Object(m) if m.len() == 1 => {
            let (url, opts) = m.iter().next().expect("one key");
            let mut out = Map::new();
            let list: Vec<&Value> = match opts {
                Value::Array(a) => a.iter().collect(),
                Value::Object(_) => vec![opts],
                Value::Null => vec![],
                _ => return Err(bad(path, here, "expected a list of {option: value}")),
            };
            for o in list {
                let o = o
                    .as_object()
                    .ok_or_else(|| bad(path, here, "expected a list of {option: value}"))?;
                for (k, v) in o {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok((url.clone(), out))
        }
        _ => Err(bad(path, here, "expected a URL or {URL: [options]}")),
    }
}

fn opt_string(
    path: &Path,
    here: &str,
    opts: &Map<String, Value>,
    k: &str,
) -> Result<Option<String>, ConfigError> {
    match opts.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(path, &format!("{here}.{k}"), "expected a string")),
    }
}

fn opt_bool(
    path: &Path,
    here: &str,
    opts: &Map<String, Value>,
    k: &str,
) -> Result<Option<bool>, ConfigError> {
    match opts.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(path, &format!("{here}.{k}"), "expected True or False")),
    }
}

fn files_remote(
    path: &Path,
    here: &str,
    url: String,
    opts: &Map<String, Value>,
    d: &Defaults,
    global_saltenv: &[(String, String)],
) -> Result<Remote, ConfigError> {
    const OPTIONS: &[&str] = &[
        "name",
        "base",
        "root",
        "mountpoint",
        "saltenv",
        "ssl_verify",
    ];
    check_options(path, here, opts, OPTIONS)?;
    let mut saltenv = global_saltenv.to_vec();
    if let Some(v) = opts.get("saltenv") {
        for (env, r) in saltenv_refs(path, &format!("{here}.saltenv"), v)? {
            saltenv.retain(|(e, _)| *e != env);
            saltenv.push((env, r));
        }
    }
    let serves = Serves::Files {
        base: opt_string(path, here, opts, "base")?.unwrap_or_else(|| d.base.clone()),
        saltenv_refs: saltenv,
    };
    finish(path, here, url, opts, d, serves)
}

/// `BRANCH URL` (Salt's git_pillar form), with `env`, `root`, `name`,
/// `mountpoint` options. `__env__` (a branch per pillarenv asked for) is
/// not implemented.
fn pillar_remote(
    path: &Path,
    here: &str,
    spec: &str,
    opts: &Map<String, Value>,
    d: &Defaults,
) -> Result<Remote, ConfigError> {
    const OPTIONS: &[&str] = &["name", "env", "root", "mountpoint", "base", "ssl_verify"];
    check_options(path, here, opts, OPTIONS)?;
    let (branch, url) = spec
        .split_once(char::is_whitespace)
        .map(|(b, u)| (b.trim(), u.trim()))
        .filter(|(b, u)| !b.is_empty() && !u.is_empty())
        .ok_or_else(|| bad(path, here, "expected `BRANCH URL`"))?;
    if branch == "__env__" {
        return Err(bad(
            path,
            here,
            "the __env__ branch is not implemented by Brine",
        ));
    }
    let base = opt_string(path, here, opts, "base")?.unwrap_or_else(|| d.base.clone());
    let env = match opt_string(path, here, opts, "env")? {
        Some(e) => e,
        None if branch == base => "base".to_string(),
        None => branch.to_string(),
    };
    common::env_name::check(&env).map_err(|e| bad(path, here, e.to_string()))?;
    let serves = Serves::Pillar {
        branch: branch.to_string(),
        env,
    };
    finish(path, here, url.to_string(), opts, d, serves)
}

fn check_options(
    path: &Path,
    here: &str,
    opts: &Map<String, Value>,
    known: &[&str],
) -> Result<(), ConfigError> {
    for k in opts.keys() {
        if !known.contains(&k.as_str()) && !AUTH_OPTIONS.contains(&k.as_str()) {
            return Err(bad(
                path,
                &format!("{here}.{k}"),
                "this per-remote option is not implemented by Brine",
            ));
        }
    }
    Ok(())
}

fn finish(
    path: &Path,
    here: &str,
    url: String,
    opts: &Map<String, Value>,
    d: &Defaults,
    serves: Serves,
) -> Result<Remote, ConfigError> {
    if url.is_empty() {
        return Err(bad(path, here, "empty URL"));
    }
    let root = opt_string(path, here, opts, "root")?.unwrap_or_else(|| d.root.clone());
    let root = relative_dir(path, &format!("{here}.root"), &root)?;
    let mountpoint =
        opt_string(path, here, opts, "mountpoint")?.unwrap_or_else(|| d.mountpoint.clone());
    let mountpoint = relative_dir(
        path,
        &format!("{here}.mountpoint"),
        mountpoint.strip_prefix("salt://").unwrap_or(&mountpoint),
    )?;
    let mut auth = d.auth.clone();
    for (o, slot) in [
        ("user", &mut auth.user),
        ("password", &mut auth.password),
        ("pubkey", &mut auth.pubkey),
        ("privkey", &mut auth.privkey),
        ("passphrase", &mut auth.passphrase),
    ] {
        if let Some(v) = opt_string(path, here, opts, o)? {
            *slot = Some(v);
        }
    }
    let insecure_auth = opt_bool(path, here, opts, "insecure_auth")?.unwrap_or(d.insecure_auth);
    let plain_http = url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    if plain_http && auth.user.is_some() && auth.password.is_some() && !insecure_auth {
        // As Salt: a password is not sent in the clear unless asked for.
        return Err(bad(
            path,
            here,
            "user and password on an http:// remote would be sent in the clear: \
             use https or ssh, or set insecure_auth: True",
        ));
    }
    let ssl_verify = opt_bool(path, here, opts, "ssl_verify")?.unwrap_or(d.ssl_verify);
    let name = match opt_string(path, here, opts, "name")? {
        Some(n) => n,
        None => without_credentials(&url),
    };
    Ok(Remote {
        url,
        name,
        root,
        mountpoint,
        serves,
        auth,
        ssl_verify,
    })
}

/// A path inside the repository or under `salt://`: relative, no `..`.
fn relative_dir(path: &Path, key: &str, p: &str) -> Result<String, ConfigError> {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if parts.iter().any(|s| *s == ".." || s.contains('\0')) {
        return Err(bad(path, key, "must stay inside the repository (no `..`)"));
    }
    Ok(parts.join("/"))
}

/// `saltenv` / `gitfs_saltenv`: `[{ENV: [{ref: REF}]}]` (or a map).
fn saltenv_refs(path: &Path, key: &str, v: &Value) -> Result<Vec<(String, String)>, ConfigError> {
    let items: Vec<(&String, &Value)> = match v {
        Value::Array(a) => {
            let mut out = Vec::new();
            for item in a {
                let m = item
                    .as_object()
                    .ok_or_else(|| bad(path, key, "expected a list of {saltenv: [{ref: REF}]}"))?;
                out.extend(m.iter());
            }
            out
        }
        Value::Object(m) => m.iter().collect(),
        _ => return Err(bad(path, key, "expected a list of {saltenv: [{ref: REF}]}")),
    };
    let mut out = Vec::new();
    for (env, opts) in items {
        common::env_name::check(env).map_err(|e| bad(path, key, e.to_string()))?;
        let (_, opts) = remote_entry(
            path,
            key,
            &Value::Object(Map::from_iter([(env.clone(), opts.clone())])),
        )?;
        for k in opts.keys() {
            if k != "ref" {
                return Err(bad(
                    path,
                    &format!("{key}.{env}.{k}"),
                    "not implemented by Brine (only ref)",
                ));
            }
        }
        let r = opt_string(path, key, &opts, "ref")?
            .ok_or_else(|| bad(path, &format!("{key}.{env}"), "expected a ref"))?;
        out.push((env.clone(), r));
    }
    Ok(out)
}

/// The password of a URL's `user:password@`, if it has one.
pub fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let host = &rest[..rest.find('/').unwrap_or(rest.len())];
    let (userinfo, _) = host.rsplit_once('@')?;
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// The URL without `user:password@`, for names, logs and status.
pub fn without_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (host, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some((_, host)) = host.rsplit_once('@') {
            return format!("{scheme}://{host}{tail}");
        }
    }
    url.to_string()
}
