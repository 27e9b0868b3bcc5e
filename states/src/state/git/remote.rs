//! Talking to the remote through libgit2: credentials, `ls-remote` (for
//! `check`, which must not download anything) and fetch (for `apply`).
//!
//! libgit2 runs in this process, so ssh host keys are checked against the
//! minion's own `~/.ssh/known_hosts` (libgit2's default since 1.6), and the
//! keys tried are `identity`, else the ssh agent, else the default key files
//! in the home of `user` (or of the minion's user).
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::{
    AutotagOption, Cred, CredentialType, Direction, FetchOptions, ProxyOptions, Remote,
    RemoteCallbacks, Repository,
};

/// One private key to offer.
#[derive(Debug, Clone)]
pub enum Key {
    /// A key file on the minion.
    File(PathBuf),
    /// A key fetched from `salt://`, kept in memory (never written to disk).
    Memory(String),
}

/// How to authenticate to the remote.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub keys: Vec<Key>,
    /// Whether `keys` came from `identity` (then only those are tried).
    pub explicit_keys: bool,
    /// The login for ssh URLs that name none (ssh's default: the local user).
    pub ssh_login: String,
    pub https_user: Option<String>,
    pub https_pass: Option<String>,
}

/// Callbacks that answer libgit2's credential questions from `auth`, each
/// credential once, so a refused key cannot make libgit2 ask forever.
pub fn callbacks<'a>(auth: &'a Auth, updated: Option<&'a Cell<bool>>) -> RemoteCallbacks<'a> {
    let mut cb = RemoteCallbacks::new();
    let mut next_key = 0usize;
    let mut tried_agent = !auth.keys.is_empty() && auth.explicit_keys;
    let mut tried_username = false;
    let mut tried_userpass = false;
    cb.credentials(move |_url, username, allowed| {
        let login = username.unwrap_or(&auth.ssh_login);
        if allowed.contains(CredentialType::USERNAME) && !tried_username {
            tried_username = true;
            return Cred::username(login);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if !tried_agent && std::env::var_os("SSH_AUTH_SOCK").is_some() {
                tried_agent = true;
                return Cred::ssh_key_from_agent(login);
            }
            tried_agent = true;
            if let Some(key) = auth.keys.get(next_key) {
                next_key += 1;
                return match key {
                    Key::File(path) => Cred::ssh_key(login, None, path, None),
                    Key::Memory(text) => Cred::ssh_key_from_memory(login, None, text, None),
                };
            }
            return Err(git2::Error::from_str(
                "no ssh key was accepted by the remote (set 'identity' to the private key to use)",
            ));
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let (Some(user), false) = (&auth.https_user, tried_userpass) {
                tried_userpass = true;
                return Cred::userpass_plaintext(user, auth.https_pass.as_deref().unwrap_or(""));
            }
            return Err(git2::Error::from_str(
                "the remote asks for a login (set 'https_user' and 'https_pass')",
            ));
        }
        Err(git2::Error::from_str(
            "no usable credentials for this remote",
        ))
    });
    if let Some(flag) = updated {
        cb.update_tips(move |_, _, _| {
            flag.set(true);
            true
        });
    }
    cb
}

/// What `git ls-remote` shows: ref name → commit id (peeled tags as
/// `refs/tags/x^{}`), and the branch the remote HEAD points to.
#[derive(Debug, Clone, Default)]
pub struct RemoteRefs {
    pub refs: BTreeMap<String, String>,
    pub head_branch: Option<String>,
}

impl RemoteRefs {
    /// Tag names on the remote (Salt's `remote_tags`).
    pub fn tags(&self) -> std::collections::BTreeSet<String> {
        self.refs
            .keys()
            .filter_map(|r| r.strip_prefix("refs/tags/"))
            .filter(|t| !t.ends_with("^{}"))
            .map(str::to_string)
            .collect()
    }
}

/// Lists the remote's refs without downloading objects.
pub fn ls_remote(url: &str, auth: &Auth) -> Result<RemoteRefs, git2::Error> {
    let mut remote = Remote::create_detached(url)?;
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    let conn = remote.connect_auth(Direction::Fetch, Some(callbacks(auth, None)), Some(proxy))?;
    let mut out = RemoteRefs::default();
    for head in conn.list()? {
        if head.name() == "HEAD" {
            out.head_branch = head
                .symref_target()
                .and_then(|t| t.strip_prefix("refs/heads/"))
                .map(str::to_string);
        }
        out.refs
            .insert(head.name().to_string(), head.oid().to_string());
    }
    Ok(out)
}

/// Fetches `refspecs` from the remote named `remote` into `repo`. Returns
/// whether any local ref changed (Salt's "resulting in updated refs").
pub fn fetch(
    repo: &Repository,
    remote: &str,
    refspecs: &[String],
    auth: &Auth,
    depth: Option<i32>,
) -> Result<bool, git2::Error> {
    let updated = Cell::new(false);
    let mut remote = repo.find_remote(remote)?;
    let mut opts = FetchOptions::new();
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    opts.remote_callbacks(callbacks(auth, Some(&updated)))
        .proxy_options(proxy)
        .download_tags(AutotagOption::None);
    // libgit2's local transport cannot fetch shallow; from a local path the
    // whole history comes instead (the checkout is the same).
    let local = remote
        .url()
        .is_ok_and(|u| u.starts_with("file://") || u.starts_with('/'));
    if let Some(depth) = depth.filter(|_| !local) {
        opts.depth(depth);
    }
    remote.fetch(refspecs, Some(&mut opts), None)?;
    drop(opts);
    Ok(updated.get())
}
