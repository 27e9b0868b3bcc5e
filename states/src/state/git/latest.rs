//! `git.latest`: reading the arguments, asking the remote, and deciding what
//! Salt would do (its test-mode comments and changes), without writing.
use std::collections::BTreeSet;
use std::path::PathBuf;

use common::data::{Map, Value};
use serde_json::json;

use super::super::accounts::Accounts;
use super::super::archive::owner::Owner;
use super::super::{Args, Check, HostRead, StateError};
use super::apply::{CloneApply, UpdateApply};
use super::local::{self, Local};
use super::messages::{format_comments, not_fast_forward, short, uptodate, NotFastForward};
use super::remote::{self, Auth, Key, RemoteRefs};
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

/// What the rev names on the remote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Sha1,
    Branch,
    Tag,
}

/// Salt's `desired_upstream`: None (leave alone, rev=HEAD), a
/// remote-tracking branch to follow, or False (unset: tag or commit).
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    Keep,
    Follow(String),
    Unset,
}

/// What the remote says about the wanted revision.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// The rev (lower-cased when it is taken to be a commit id).
    pub rev: String,
    pub remote_rev: Option<String>,
    pub kind: Option<Kind>,
    pub upstream: Upstream,
    /// How comments name it: `origin/main (1234567)`, `remote HEAD (…)`.
    pub remote_loc: String,
    pub default_branch: Option<String>,
    /// Whether the remote advertises HEAD at all.
    pub head_known: bool,
    pub remote_tags: BTreeSet<String>,
}

/// `_revs_equal`: commit ids given by the user may be short.
pub fn revs_equal(local: Option<&str>, remote: Option<&str>, kind: Option<Kind>) -> bool {
    match (local, remote) {
        (None, None) => true,
        (Some(l), Some(r)) if kind == Some(Kind::Sha1) => l.starts_with(r),
        (Some(l), Some(r)) => l == r,
        _ => false,
    }
}

pub fn check(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    let opts = match read_opts(args, host)? {
        Ok(opts) => opts,
        Err(fail) => return Ok(Check::fail(fail)),
    };
    if opts.path.is_file() {
        return Ok(Check::fail(format!(
            "Target '{}' exists and is a regular file, cannot proceed",
            opts.target
        )));
    }
    let refs = match remote::ls_remote(&opts.name, &opts.auth) {
        Ok(refs) => refs,
        Err(e) => {
            return Ok(Check::fail(format!(
                "Failed to check remote refs: {}",
                e.message()
            )))
        }
    };
    let wanted = match resolve(&opts, &refs) {
        Ok(w) => w,
        Err(fail) => return Ok(Check::fail(fail)),
    };
    let gitdir = opts.path.join(".git");
    if gitdir.exists() {
        let repo = local::open(&opts.path).map_err(|e| {
            StateError::host(format!(
                "cannot open the repository at {}: {}",
                opts.target,
                e.message()
            ))
        })?;
        let local = Local::read(&repo, &opts.remote).map_err(|e| {
            StateError::host(format!("cannot read {}: {}", opts.target, e.message()))
        })?;
        return check_update(opts, wanted, &repo, local);
    }
    check_clone(opts, wanted)
}

/// Reads and checks every argument. The inner `Err` is a Salt-worded
/// failure (result False), the outer one a malformed value.
fn read_opts(args: &Args, host: &HostRead) -> Result<Result<Opts, String>, StateError> {
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

/// Salt's reading of `ls-remote` output: which commit `rev` is, what kind of
/// name it is, and which upstream the local branch should follow.
fn resolve(opts: &Opts, refs: &RemoteRefs) -> Result<Wanted, String> {
    let all = &refs.refs;
    let head_rev = all.get("HEAD").cloned();
    let default_branch = head_rev.as_ref().and_then(|head| {
        refs.head_branch.clone().or_else(|| {
            all.iter()
                .find(|(name, sha)| name.starts_with("refs/heads/") && *sha == head)
                .map(|(name, _)| name["refs/heads/".len()..].to_string())
        })
    });
    let mut rev = opts.rev.clone();
    let (remote_rev, kind, upstream) = if rev == "HEAD" {
        match &head_rev {
            Some(h) => (Some(h.clone()), Some(Kind::Sha1), Upstream::Keep),
            None => (None, None, Upstream::Keep),
        }
    } else if let Some(sha) = all.get(&format!("refs/heads/{rev}")) {
        (
            Some(sha.clone()),
            Some(Kind::Branch),
            Upstream::Follow(format!("{}/{rev}", opts.remote)),
        )
    } else if let Some(sha) = all
        .get(&format!("refs/tags/{rev}^{{}}"))
        .or_else(|| all.get(&format!("refs/tags/{rev}")))
    {
        (Some(sha.clone()), Some(Kind::Tag), Upstream::Unset)
    } else if url::is_hex(&rev) {
        rev = rev.to_lowercase();
        (Some(rev.clone()), Some(Kind::Sha1), Upstream::Unset)
    } else {
        (None, None, Upstream::Unset)
    };
    let remote_loc = match (&remote_rev, kind) {
        (Some(r), Some(Kind::Sha1)) if rev == "HEAD" => format!("remote HEAD ({})", short(Some(r))),
        (Some(r), Some(Kind::Sha1)) => short(Some(r)),
        (Some(r), Some(Kind::Branch)) => match &upstream {
            Upstream::Follow(u) => format!("{u} ({})", short(Some(r))),
            _ => format!("{rev} ({})", short(Some(r))),
        },
        (Some(r), _) => format!("{rev} ({})", short(Some(r))),
        (None, _) => String::new(),
    };
    if opts.depth.is_some() && !matches!(kind, Some(Kind::Branch | Kind::Tag)) {
        return Err("When 'depth' is used, 'rev' must be set to the name of a branch or tag on the remote repository".into());
    }
    if remote_rev.is_none() && rev != "HEAD" {
        return Err(format!(
            "No revision matching '{rev}' exists in the remote repository"
        ));
    }
    Ok(Wanted {
        rev,
        remote_rev,
        kind,
        upstream,
        remote_loc,
        default_branch,
        head_known: head_rev.is_some(),
        remote_tags: refs.tags(),
    })
}

fn check_clone(opts: Opts, wanted: Wanted) -> Result<Check, StateError> {
    let non_empty = std::fs::read_dir(&opts.path)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    let new = format!("{} => {}", opts.name, opts.target);
    if non_empty {
        if !opts.force_clone {
            return Ok(Check::fail(format!(
                "Target '{}' exists, is non-empty and is not a git repository. Set the 'force_clone' option to True to remove this directory's contents and proceed with cloning the remote repository",
                opts.target
            )));
        }
        let changes: Map<String, Value> = [
            ("forced clone".to_string(), json!(true)),
            ("new".to_string(), json!(new)),
        ]
        .into_iter()
        .collect();
        let comment = format!(
            "Target directory {0} exists. Since force_clone=True, the contents of {0} would be deleted, and {1} would be cloned into this directory.",
            opts.target, opts.name
        );
        return Ok(Check::change(
            changes,
            comment,
            CloneApply {
                opts,
                wanted,
                clear: true,
            },
        ));
    }
    let comment = format!(
        "Repository {} would be cloned to {}",
        opts.name, opts.target
    );
    Ok(Check::change(
        [("new".to_string(), json!(new))].into_iter().collect(),
        comment,
        CloneApply {
            opts,
            wanted,
            clear: false,
        },
    ))
}

/// The tracking-branch change Salt makes with `git branch`.
#[derive(Debug, Clone, PartialEq)]
pub enum BranchOp {
    SetUpstream(String),
    UnsetUpstream,
}

/// Everything `check` learned about an existing checkout, for `apply`.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    pub local: Local,
    pub base_rev: Option<String>,
    pub has_remote_rev: bool,
    pub fast_forward: Option<bool>,
    /// The remote's fetch URL must change; holds the old one (None: absent).
    pub url_change: Option<Option<String>>,
    /// Checking out `branch`: whether it is new.
    pub branch_checkout: Option<bool>,
    pub branch_op: Option<(BranchOp, String)>,
    pub new_tags: Vec<String>,
    pub deleted_tags: Vec<String>,
}

fn check_update(
    opts: Opts,
    wanted: Wanted,
    repo: &git2::Repository,
    local: Local,
) -> Result<Check, StateError> {
    let Some(remote_rev) = wanted.remote_rev.clone() else {
        if local.rev.is_some() {
            return Ok(Check::fail(
                "Remote repository is empty, cannot update from a non-empty to an empty repository",
            ));
        }
        return Ok(Check::clean(uptodate(&opts.target, &[], false, false)));
    };
    let branch = opts.branch.clone();
    let need_branch_change = branch.is_some() && branch != local.branch;
    let mut base_rev = local.rev.clone();
    let mut base_branch = local.branch.clone();
    let mut branch_checkout = None;
    if let (true, Some(b)) = (need_branch_change, &branch) {
        if !local.branches.contains(b) {
            base_rev = Some(remote_rev.clone());
            branch_checkout = Some(true);
        } else {
            base_branch = Some(b.clone());
            branch_checkout = Some(false);
            base_rev = match local::commit_of(repo, &format!("refs/heads/{b}")) {
                Some(r) => Some(r),
                None => {
                    return Ok(Check::fail(format!(
                        "Unable to get position of local branch '{b}'"
                    )))
                }
            };
        }
    }
    let revs_match = revs_equal(local.rev.as_deref(), Some(&remote_rev), wanted.kind);
    let local_changes = local.dirty;
    if local_changes && revs_match && opts.force_reset != ForceReset::Yes {
        return Ok(Check::clean(uptodate(&opts.target, &[], true, false)));
    }

    // Tags, which Salt only looks at while applying: seen here too, so a
    // dry run tells and a clean check really means nothing to do.
    let (new_tags, deleted_tags) = if opts.manages_tags() && local.tags != wanted.remote_tags {
        (
            wanted
                .remote_tags
                .difference(&local.tags)
                .cloned()
                .collect(),
            if opts.sync_tags {
                local
                    .tags
                    .difference(&wanted.remote_tags)
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            },
        )
    } else {
        (Vec::new(), Vec::new())
    };

    let mut has_remote_rev = false;
    if wanted.kind == Some(Kind::Sha1)
        && base_rev
            .as_deref()
            .is_some_and(|b| b.starts_with(&remote_rev))
    {
        has_remote_rev = true;
    } else if local::commit_of(repo, &remote_rev).is_some() {
        match wanted.kind {
            Some(Kind::Branch) => {
                if let (Some(_), Upstream::Follow(up)) = (&local.remote_url, &wanted.upstream) {
                    let local_copy = local::commit_of(repo, &format!("refs/remotes/{up}"));
                    has_remote_rev = local_copy.as_deref() == Some(remote_rev.as_str());
                }
            }
            Some(Kind::Tag) => {
                if local.tags.contains(&wanted.rev) {
                    let local_tag = local::commit_of(repo, &format!("refs/tags/{}", wanted.rev));
                    if local_tag.as_deref() == Some(remote_rev.as_str()) {
                        has_remote_rev = true;
                    } else if opts.force_reset == ForceReset::No {
                        return Ok(Check::fail(format!(
                            "'{}' is a tag, but the remote SHA1 for this tag ({}) doesn't match the local SHA1 ({}). Set 'force_reset' to True to force this update.",
                            wanted.rev,
                            short(Some(&remote_rev)),
                            short(local_tag.as_deref())
                        )));
                    }
                }
            }
            _ => has_remote_rev = true,
        }
    }

    let mut fast_forward =
        (local_changes && opts.force_reset != ForceReset::RemoteChanges).then_some(false);
    if has_remote_rev && fast_forward != Some(false) {
        fast_forward = Some(match &base_rev {
            None => true,
            Some(base) => local::is_ancestor(repo, base, &remote_rev),
        });
    }
    let not_ff = || {
        not_fast_forward(&NotFastForward {
            rev: &wanted.rev,
            pre: base_rev.as_deref(),
            post: Some(&remote_rev),
            branch: branch.as_deref(),
            local_branch: local.branch.as_deref(),
            default_branch: wanted.default_branch.as_deref(),
            local_changes,
        })
    };
    if fast_forward == Some(false) && opts.force_reset == ForceReset::No {
        return Ok(Check::fail(not_ff()));
    }
    let merge_action = match fast_forward {
        Some(false) => "hard-reset",
        Some(true) => "fast-forwarded",
        None => "updated",
    };

    if local_changes && need_branch_change && !opts.force_checkout {
        return Ok(Check::fail(format!(
            "Local branch '{}' has uncommitted changes. Set 'force_checkout' to True to discard them and proceed.",
            local.branch.as_deref().unwrap_or("None")
        )));
    }

    // The tracking branch: None means there is no local branch at all.
    let upstream = base_branch.as_deref().map(|b| local::upstream_of(repo, b));
    let upstream_now = upstream.clone().flatten();
    let branch_op = match &wanted.upstream {
        Upstream::Follow(want) if upstream_now.is_none() => branch_opts(&branch, &local, want)
            .map(|op| (op, format!("Tracking branch was set to {want}"))),
        Upstream::Unset if upstream_now.is_some() => Some((
            BranchOp::UnsetUpstream,
            "Tracking branch was unset".to_string(),
        )),
        Upstream::Follow(want) if upstream_now.as_deref() != Some(want.as_str()) => {
            branch_opts(&branch, &local, want)
                .map(|op| (op, format!("Tracking branch was updated to {want}")))
        }
        _ => None,
    };
    if branch_op.is_some() && local.branch.is_none() {
        return Ok(Check::fail(
            "Cannot set/unset upstream tracking branch, local HEAD refers to nonexistent branch. This may have been caused by cloning a remote repository for which the default branch was renamed or deleted. If you are unable to fix the remote repository, you can work around this by setting the 'branch' argument (which will ensure that the named branch is created if it does not already exist).",
        ));
    }

    let url_change =
        (local.remote_url.as_deref() != Some(opts.name.as_str())).then(|| local.remote_url.clone());

    let mut changes = Map::new();
    let mut actions: Vec<String> = Vec::new();
    let test_comment;
    if local_changes && revs_match {
        // Salt's early answer: up to date but dirty, and force_reset=True.
        changes.insert("forced update".into(), json!(true));
        test_comment = format!(
            "{} is up-to-date, but with uncommitted changes. Since 'force_reset' is set to True, these local changes would be reset. To only reset when there are changes in the remote repository, set 'force_reset' to 'remote-changes'.",
            opts.target
        );
    } else if let Some(old_url) = &url_change {
        actions.push(format!(
            "Remote '{}' would be changed from {} to {}",
            opts.remote,
            old_url.as_deref().map_or("None".to_string(), url::redact),
            url::redact(&opts.name)
        ));
        if !has_remote_rev {
            actions.push("Remote would be fetched".into());
        }
        if !revs_match {
            changes.insert(
                "revision".into(),
                json!({"old": local.rev, "new": remote_rev}),
            );
            if fast_forward == Some(false) {
                changes.insert("forced update".into(), json!(true));
            }
            actions.push(format!(
                "Repository would be {merge_action} to {}",
                short(Some(&remote_rev))
            ));
        }
        test_comment = format_comments(&actions);
    } else {
        if !has_remote_rev {
            actions.push(format!("Remote '{}' would be fetched", opts.remote));
        }
        if !revs_match {
            changes.insert(
                "revision".into(),
                json!({"old": local.rev, "new": remote_rev}),
            );
        }
        match (&branch, branch_checkout) {
            (Some(b), Some(true)) => {
                actions.push(format!(
                    "New branch '{b}' would be checked out, with {} as a starting point",
                    wanted.remote_loc
                ));
                if let Upstream::Follow(up) = &wanted.upstream {
                    actions.push(format!("Tracking branch would be set to {up}"));
                }
            }
            (Some(b), Some(false)) => actions.push(format!(
                "Branch '{b}' would be checked out and {merge_action} to {}",
                short(Some(&remote_rev))
            )),
            _ if !revs_match => {
                if fast_forward == Some(true) {
                    actions.push(format!(
                        "Repository would be fast-forwarded from {} to {}",
                        short(local.rev.as_deref()),
                        short(Some(&remote_rev))
                    ));
                } else {
                    actions.push(format!(
                        "Repository would be {} from {} to {}",
                        if opts.force_reset != ForceReset::No && has_remote_rev {
                            "hard-reset"
                        } else {
                            "updated"
                        },
                        short(local.rev.as_deref()),
                        short(Some(&remote_rev))
                    ));
                }
            }
            _ => {}
        }
        match &wanted.upstream {
            Upstream::Follow(want) if upstream_now.is_none() => {
                actions.push(format!("Tracking branch would be set to {want}"))
            }
            Upstream::Unset if upstream_now.is_some() => {
                actions.push("Tracking branch would be unset".into())
            }
            Upstream::Follow(want) if upstream_now.as_deref() != Some(want.as_str()) => {
                actions.push(format!("Tracking branch would be updated to {want}"))
            }
            _ => {}
        }
        if !deleted_tags.is_empty() {
            actions.push(format!(
                "The following tags would be removed from the local checkout: {}",
                deleted_tags.join(", ")
            ));
        }
        test_comment = format_comments(&actions);
    }
    if !new_tags.is_empty() {
        changes.insert("new_tags".into(), json!(new_tags));
    }
    if !deleted_tags.is_empty() {
        changes.insert("deleted_tags".into(), json!(deleted_tags));
    }

    let nothing_to_do = changes.is_empty() && actions.is_empty();
    if nothing_to_do {
        return Ok(Check::clean(uptodate(&opts.target, &[], false, false)));
    }
    let comment = if changes.is_empty() {
        // Salt reports these as up-to-date with "Changes that would be
        // made"; they do change the checkout, so they are applied.
        uptodate(&opts.target, &actions, false, true)
    } else {
        test_comment
    };
    let plan = UpdatePlan {
        local,
        base_rev,
        has_remote_rev,
        fast_forward,
        url_change,
        branch_checkout,
        branch_op,
        new_tags,
        deleted_tags,
    };
    Ok(Check::change(
        changes,
        comment,
        UpdateApply { opts, wanted, plan },
    ))
}

/// `_get_branch_opts`: a new branch gets its upstream from the checkout.
fn branch_opts(branch: &Option<String>, local: &Local, want: &str) -> Option<BranchOp> {
    match branch {
        Some(b) if !local.branches.contains(b) => None,
        _ => Some(BranchOp::SetUpstream(want.to_string())),
    }
}
