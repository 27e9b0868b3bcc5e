//! libgit2 (in-process, no `git` binary): fetch a remote into a bare
//! repository under the cachedir, list its branches and tags, and write a
//! commit's tree into a directory of its own.
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use git2::{
    AutotagOption, CertificateCheckStatus, Cred, CredentialType, ErrorClass, ErrorCode,
    FetchOptions, FetchPrune, RemoteCallbacks, Repository,
};

use super::config::{url_password, Auth, Remote};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{0}")]
    Git(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl GitError {
    /// A libgit2 error, with the remote's password and passphrase (if the
    /// message should carry them) hidden.
    fn git(e: git2::Error, remote: &Remote) -> GitError {
        GitError::Git(hide_secrets(e.message(), remote))
    }
}

fn hide_secrets(text: &str, remote: &Remote) -> String {
    let Auth {
        password,
        passphrase,
        ..
    } = &remote.auth;
    let mut text = text.to_string();
    for secret in [
        password.as_deref(),
        passphrase.as_deref(),
        url_password(&remote.url),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    {
        text = text.replace(secret, "<hidden>");
    }
    text
}

/// The certificate a fetch was shown, for an error that says which one
/// was not trusted and how to trust it.
enum SeenCert {
    Tls {
        host: String,
    },
    SshHostKey {
        host: String,
        sha256: Option<String>,
    },
}

/// A fetch error in words an operator can act on: an untrusted
/// certificate or host key names it and how to trust it.
fn fetch_error(e: git2::Error, remote: &Remote, seen: Option<SeenCert>) -> GitError {
    let cert_refused = e.code() == ErrorCode::Certificate
        || (e.class() == ErrorClass::Ssl && e.message().contains("certificate"));
    if !cert_refused {
        return GitError::git(e, remote);
    }
    let text = hide_secrets(e.message(), remote);
    GitError::Git(match seen {
        Some(SeenCert::SshHostKey { host, sha256 }) => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "~".into());
            format!(
                "the ssh host key of {host}{} is not in {home}/.ssh/known_hosts ({text}): \
                 add it there (ssh-keyscan) or set ssl_verify: False to accept any host key",
                sha256.map(|f| format!(" (SHA256:{f})")).unwrap_or_default()
            )
        }
        Some(SeenCert::Tls { host }) => format!(
            "the TLS certificate of {host} is not trusted ({text}): add its CA to the system's \
             store or name a CA file in SSL_CERT_FILE in the master's environment, or set \
             ssl_verify: False to accept any certificate"
        ),
        None => text,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GitError + '_ {
    move |source| GitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The remote's bare repository, created on first use.
pub fn open(dir: &Path) -> Result<Repository, GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    if dir.join("HEAD").exists() {
        Repository::open_bare(dir).map_err(plain)
    } else {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        Repository::init_bare(dir).map_err(plain)
    }
}

/// Fetches every branch (as `refs/remotes/origin/*`) and tag, pruning refs
/// the remote no longer has. On failure the refs stay as the last good
/// fetch left them.
///
/// Certificates and ssh host keys are checked as libgit2 does (the system's
/// CA store or `SSL_CERT_FILE`; `~/.ssh/known_hosts` of the master's user)
/// unless the remote has `ssl_verify: False`, which accepts any, as Salt's
/// pygit2 provider does.
pub fn fetch(repo: &Repository, remote: &Remote) -> Result<(), GitError> {
    let auth = &remote.auth;
    let mut tries = 0u32;
    // libgit2 asks again after a refused credential: say which was
    // refused then instead of offering it again.
    let (key_offered, password_offered) = (Cell::new(false), Cell::new(false));
    let seen: RefCell<Option<SeenCert>> = RefCell::new(None);
    let mut callbacks = RemoteCallbacks::new();
    callbacks.certificate_check(|cert, host| {
        *seen.borrow_mut() = Some(match cert.as_hostkey() {
            Some(key) => SeenCert::SshHostKey {
                host: host.to_string(),
                sha256: key
                    .hash_sha256()
                    .map(|h| base64::engine::general_purpose::STANDARD_NO_PAD.encode(h)),
            },
            None => SeenCert::Tls {
                host: host.to_string(),
            },
        });
        Ok(if remote.ssl_verify {
            CertificateCheckStatus::CertificatePassthrough
        } else {
            CertificateCheckStatus::CertificateOk
        })
    });
    callbacks.credentials(|_url, user_from_url, allowed| {
        // A backstop: each credential is offered once (below).
        tries += 1;
        if tries > 3 {
            return Err(git2::Error::from_str("authentication failed"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if let Some(privkey) = &auth.privkey {
                let user = auth.user.as_deref().or(user_from_url).unwrap_or("git");
                if key_offered.replace(true) {
                    // libssh2 reports a key it cannot decrypt as refused too.
                    let or = if auth.passphrase.is_some() {
                        ", or its passphrase is wrong"
                    } else {
                        ", or it needs a passphrase"
                    };
                    return Err(git2::Error::from_str(&format!(
                        "authentication failed: the remote refused the key {privkey} for user {user:?}{or}"
                    )));
                }
                return Cred::ssh_key(
                    user,
                    auth.pubkey.as_deref().map(Path::new),
                    Path::new(privkey),
                    auth.passphrase.as_deref(),
                );
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if let (Some(user), Some(password)) = (&auth.user, &auth.password) {
                if password_offered.replace(true) {
                    return Err(git2::Error::from_str(&format!(
                        "authentication failed: the remote refused user {user:?} with the configured password"
                    )));
                }
                return Cred::userpass_plaintext(user, password);
            }
        }
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(auth.user.as_deref().or(user_from_url).unwrap_or("git"));
        }
        Err(git2::Error::from_str(
            "the remote asks for credentials and none are configured for it",
        ))
    });
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::None);
    let mut r = repo
        .remote_anonymous(&remote.url)
        .map_err(|e| GitError::git(e, remote))?;
    let fetched = r.fetch(
        &[
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*",
        ],
        Some(&mut options),
        None,
    );
    fetched.map_err(|e| fetch_error(e, remote, seen.take()))
}

/// Ref names with their commits, sorted by name.
pub type Refs = Vec<(String, String)>;

/// Branch and tag names → commit, as the last fetch left them.
pub fn refs(repo: &Repository) -> Result<(Refs, Refs), GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    let list = |glob: &str, prefix: &str| -> Result<Refs, GitError> {
        let mut out = Vec::new();
        for r in repo.references_glob(glob).map_err(plain)? {
            let r = r.map_err(plain)?;
            let (Ok(name), Ok(commit)) = (r.name(), r.peel_to_commit()) else {
                continue;
            };
            if let Some(short) = name.strip_prefix(prefix) {
                if short != "HEAD" {
                    out.push((short.to_string(), commit.id().to_string()));
                }
            }
        }
        out.sort();
        Ok(out)
    };
    Ok((
        list("refs/remotes/origin/*", "refs/remotes/origin/")?,
        list("refs/tags/*", "refs/tags/")?,
    ))
}

/// Writes `commit`'s tree (its `root` subdirectory, under `mountpoint`)
/// into `dest`, which must not exist: built beside it and renamed into
/// place, so a `dest` that exists is complete. Files are read-only;
/// symlinks and submodules are left out.
pub fn checkout(
    repo: &Repository,
    commit: &str,
    root: &str,
    mountpoint: &str,
    dest: &Path,
) -> Result<(), GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    let files = files_of(repo, commit, root)?;
    let parent = dest.parent().expect("a checkout dir has a parent");
    let tmp = parent.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        dest.file_name().and_then(|n| n.to_str()).unwrap_or("x")
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let base = if mountpoint.is_empty() {
        tmp.clone()
    } else {
        tmp.join(mountpoint)
    };
    std::fs::create_dir_all(&base).map_err(io(&base))?;
    for (rel, id, exec) in files {
        let blob = repo.find_blob(id).map_err(plain)?;
        let path = base.join(&rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io(p))?;
        }
        let mut f = std::fs::File::create(&path).map_err(io(&path))?;
        f.write_all(blob.content()).map_err(io(&path))?;
        let mode = if exec { 0o555 } else { 0o444 };
        f.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io(&path))?;
    }
    std::fs::rename(&tmp, dest).map_err(io(dest))
}

/// The blobs of `commit`'s tree (its `root` subdirectory): path, blob id,
/// executable. Symlinks and submodules are left out.
fn files_of(
    repo: &Repository,
    commit: &str,
    root: &str,
) -> Result<Vec<(String, git2::Oid, bool)>, GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    let oid = git2::Oid::from_str(commit).map_err(plain)?;
    let mut tree = repo
        .find_commit(oid)
        .map_err(plain)?
        .tree()
        .map_err(plain)?;
    if !root.is_empty() {
        let entry = tree
            .get_path(Path::new(root))
            .map_err(|_| GitError::Git(format!("commit {commit} has no directory {root:?}")))?;
        tree = entry
            .to_object(repo)
            .and_then(|o| o.peel_to_tree())
            .map_err(|_| {
                GitError::Git(format!("{root:?} in commit {commit} is not a directory"))
            })?;
    }
    let mut files = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) && entry.filemode() != 0o120000 {
            if let Ok(name) = entry.name() {
                files.push((
                    format!("{dir}{name}"),
                    entry.id(),
                    entry.filemode() == 0o100755,
                ));
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(plain)?;

    Ok(files)
}

/// The commit `rev` names in a fetched repository: a branch of the remote,
/// a tag, or a commit id (full or abbreviated); never a revision
/// expression, which would read an operator's typo as something else.
pub fn resolve(repo: &Repository, rev: &str) -> Result<String, GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    if rev.is_empty() || rev.starts_with('-') || rev.chars().any(|c| c.is_control() || c == ' ') {
        return Err(GitError::Git(format!(
            "{rev:?} is not a branch, tag or commit name"
        )));
    }
    for name in [
        format!("refs/remotes/origin/{rev}"),
        format!("refs/tags/{rev}"),
    ] {
        if let Ok(r) = repo.find_reference(&name) {
            return Ok(r.peel_to_commit().map_err(plain)?.id().to_string());
        }
    }
    if (4..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(obj) = repo.revparse_single(rev) {
            if let Ok(c) = obj.peel_to_commit() {
                return Ok(c.id().to_string());
            }
        }
    }
    Err(GitError::Git(format!(
        "the remote has no branch, tag or commit {rev:?}"
    )))
}

/// `commit`'s files (its `root`, under `mountpoint`) as `(path, content)`,
/// read from the object database: nothing is written.
pub fn read_files(
    repo: &Repository,
    commit: &str,
    root: &str,
    mountpoint: &str,
) -> Result<Vec<(String, Vec<u8>)>, GitError> {
    let plain = |e: git2::Error| GitError::Git(e.message().to_string());
    files_of(repo, commit, root)?
        .into_iter()
        .map(|(rel, id, _)| {
            let blob = repo.find_blob(id).map_err(plain)?;
            let path = if mountpoint.is_empty() {
                rel
            } else {
                format!("{}/{rel}", mountpoint.trim_end_matches('/'))
            };
            Ok((path, blob.content().to_vec()))
        })
        .collect()
}
