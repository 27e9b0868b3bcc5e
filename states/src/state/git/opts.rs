//! The arguments of `git.latest`, read and checked as Salt does.
use std::path::PathBuf;

use common::data::Value;

use super::super::accounts::Accounts;
use super::super::archive::owner::Owner;
use super::super::{Args, HostRead, StateError};
use super::remote::{Auth, Key};
use super::url;

/// `force_reset`: Salt takes True, False or 'remote-changes'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ForceReset {
    No,
    Yes,
    RemoteChanges,
}

/// The arguments of one `git.latest`, checked.
#[derive(Debug, Clone)]
pub struct Opts {
    /// The remote URL, as given.
    pub name: String,
    /// The target as the state names it (for messages).
    pub target: String,
    /// The target under the host's root.
    pub path: PathBuf,
    pub rev: String,
    pub branch: Option<String>,
    pub owner: Owner,
    pub force_reset: ForceReset,
    pub force_clone: bool,
    pub force_checkout: bool,
    pub depth: Option<i32>,
    pub auth: Auth,
    pub remote: String,
    pub submodules: bool,
    pub fetch_tags: bool,
    pub sync_tags: bool,
    pub refspec_branch: String,
    pub refspec_tag: String,
}

impl Opts {
    /// The refspecs Salt's fetch uses.
    pub fn refspecs(&self) -> Vec<String> {
        let mut specs = vec![format!(
            "+refs/heads/{0}:refs/remotes/{1}/{0}",
            self.refspec_branch, self.remote
        )];
        if self.fetch_tags {
            specs.push(format!("+refs/tags/{0}:refs/tags/{0}", self.refspec_tag));
        }
        specs
    }

    /// Whether tags are compared with the remote's (not in shallow
    /// checkouts, which hold one ref by design).
    pub fn manages_tags(&self) -> bool {
        self.fetch_tags && self.depth.is_none()
    }
}

/// Reads and checks every argument. The inner `Err` is a Salt-worded
/// failure (result False), the outer one a malformed value.
pub(super) fn read_opts(args: &Args, host: &HostRead) -> Result<Result<Opts, String>, StateError> {
    let name = args.name();
    let target = args.str("target")?.unwrap_or_default();
    let rev = args.str_or("rev", "HEAD")?;
    let branch = args.str("branch")?;
    let user = args.str("user")?;
    // `password` is for Windows only (Salt ignores it elsewhere too);
    // `output_encoding` does not apply, libgit2 reads names as bytes.
    let _ = (args.get("password"), args.get("output_encoding"));
    // libgit2 always force-updates remote-tracking refs; non-fast-forwards
    // are judged on the local branch, as Salt then does.
    let _ = args.bool_or("force_fetch", false)?;
    let force_reset = args.get("force_reset");
    let force_clone = args.bool_or("force_clone", false)?;
    let force_checkout = args.bool_or("force_checkout", false)?;
    let submodules = args.bool_or("submodules", false)?;
    let bare = args.bool_or("bare", false)?;
    let mirror = args.bool_or("mirror", false)?;
    let update_head = args.bool_or("update_head", true)?;
    let fetch_tags = args.bool_or("fetch_tags", true)?;
    let sync_tags = args.bool_or("sync_tags", true)?;
    let remote = args.str_or("remote", "origin")?;
    let depth = args.int("depth")?;
    let https_user = args.str("https_user")?;
    let https_pass = args.str("https_pass")?;
    let refspec_branch = args.str_or("refspec_branch", "*")?;
    let refspec_tag = args.str_or("refspec_tag", "*")?;
    let identity = args.get("identity");

    let force_reset = match force_reset {
        None | Some(Value::Bool(false)) => ForceReset::No,
        Some(Value::Bool(true)) => ForceReset::Yes,
        Some(Value::String(s)) if s == "remote-changes" => ForceReset::RemoteChanges,
        Some(_) => {
            return Ok(Err(
                "'force_reset' must be one of True, False, or 'remote-changes'".into(),
            ))
        }
    };
    let identity = match identity {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().map(common::pyfmt::py_str).collect(),
        Some(_) => return Ok(Err("identity must be either a list or a string".into())),
    };

    if remote.is_empty() {
        return Ok(Err("'remote' argument is required".into()));
    }
    if target.is_empty() {
        return Ok(Err("'target' argument is required".into()));
    }
    if rev.is_empty() {
        return Ok(Err(format!(
            "'{rev}' is not a valid value for the 'rev' argument"
        )));
    }
    if !target.starts_with('/') {
        return Ok(Err(format!("target '{target}' is not an absolute path")));
    }
    if bare || mirror {
        return Ok(Err(
            "'bare' and 'mirror' are not supported by Brine's git.latest".into(),
        ));
    }
    if !update_head {
        return Ok(Err(
            "'update_head: False' is not supported by Brine's git.latest".into(),
        ));
    }
    url::check_url(&name)?;
    url::check_rev(&rev)?;
    url::check_remote_name(&remote)?;
    if let Some(b) = &branch {
        url::check_branch(b)?;
    }
    for glob in [&refspec_branch, &refspec_tag] {
        if glob.starts_with('-') || glob.contains(':') || glob.chars().any(char::is_control) {
            return Err(StateError::args(format!("bad refspec pattern {glob:?}")));
        }
    }
    let depth = match depth {
        None => None,
        Some(d) if d > 0 && d <= i64::from(i32::MAX) => Some(d as i32),
        Some(d) => {
            return Err(StateError::args(format!(
                "'depth' must be a positive integer, got {d}"
            )))
        }
    };
    if (https_user.is_some() || https_pass.is_some()) && !name.starts_with("https://") {
        return Ok(Err("Basic Auth only supported for HTTPS".into()));
    }

    let user_info = match &user {
        None => None,
        // The root's own users (state::accounts), as the file states see them.
        Some(u) => match Accounts::read(host)?.user(u) {
            Some(info) => Some(info.clone()),
            None => return Ok(Err(format!("User '{u}' is not available"))),
        },
    };
    let owner = Owner {
        uid: user_info.as_ref().map(|u| u.uid),
        gid: user_info.as_ref().map(|u| u.gid),
    };

    let mut keys = Vec::new();
    for ident in &identity {
        if ident.starts_with("salt://") {
            match host.sources().fetch(ident) {
                Ok(bytes) => keys.push(Key::Memory(String::from_utf8_lossy(&bytes).into_owned())),
                Err(_) => return Ok(Err(format!("identity '{ident}' does not exist."))),
            }
            continue;
        }
        let expanded = expand_home(ident);
        if !expanded.starts_with('/') {
            return Ok(Err(format!("identity '{ident}' is not an absolute path")));
        }
        let path = host.path(&expanded)?;
        if !path.is_file() {
            return Ok(Err(format!("identity '{ident}' does not exist.")));
        }
        keys.push(Key::File(path));
    }
    let explicit_keys = !keys.is_empty();
    if keys.is_empty() {
        let home = user_info
            .as_ref()
            .map(|u| u.home.clone())
            .or_else(|| std::env::var("HOME").ok())
            .unwrap_or_default();
        if home.starts_with('/') {
            for file in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = host.path(&format!("{home}/.ssh/{file}"))?;
                if path.is_file() {
                    keys.push(Key::File(path));
                }
            }
        }
    }
    let ssh_login = user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into());

    Ok(Ok(Opts {
        path: host.path(target_dir(&target))?,
        name,
        target,
        rev,
        branch,
        owner,
        force_reset,
        force_clone,
        force_checkout,
        depth,
        auth: Auth {
            keys,
            explicit_keys,
            ssh_login,
            https_user,
            https_pass,
        },
        remote,
        submodules,
        fetch_tags,
        sync_tags,
        refspec_branch,
        refspec_tag,
    }))
}

/// The target without a trailing slash (`/` stays `/`).
fn target_dir(target: &str) -> &str {
    match target.trim_end_matches('/') {
        "" => "/",
        t => t,
    }
}

/// `~/x` → `$HOME/x`, as Salt's `os.path.expanduser`.
fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{}/{rest}", home.trim_end_matches('/')),
        _ => path.to_string(),
    }
}
