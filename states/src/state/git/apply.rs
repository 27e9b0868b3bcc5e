//! `git.latest`'s changes: clone, or fetch and fast-forward / reset an
//! existing checkout, in the order Salt does them and with its comments.
use std::path::Path;

use common::data::{Map, Value};
use git2::build::CheckoutBuilder;
use git2::{BranchType, Oid, Repository, ResetType};
use serde_json::json;

use super::super::{Applied, Apply, HostWrite, StateError};
use super::latest::{revs_equal, Kind, Upstream, Wanted};
use super::local::{self, Local};
use super::messages::{format_comments, not_fast_forward, uptodate, with_done, NotFastForward};
use super::opts::{ForceReset, Opts};
use super::remote;
use super::update::{BranchOp, UpdatePlan};
use super::url;

/// A failure part-way: Salt's message plus what was already done.
struct Failed(String);

impl From<git2::Error> for Failed {
    fn from(e: git2::Error) -> Self {
        Failed(e.message().to_string())
    }
}

impl From<StateError> for Failed {
    fn from(e: StateError) -> Self {
        Failed(e.to_string())
    }
}

/// The comments and changes an apply accumulates.
#[derive(Default)]
struct Progress {
    comments: Vec<String>,
    changes: Map<String, Value>,
}

impl Progress {
    fn note(&mut self, comment: impl Into<String>) {
        self.comments.push(comment.into());
    }

    fn failed(self, msg: String) -> Applied {
        Applied::failed(with_done(msg, &self.comments), self.changes)
    }
}

/// Clones into an absent or empty target (emptied first with `force_clone`).
pub struct CloneApply {
    pub opts: Opts,
    pub wanted: Wanted,
    pub clear: bool,
}

impl Apply for CloneApply {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let mut progress = Progress::default();
        let path = self.opts.path.clone();
        if self.clear {
            if let Err(e) = empty_dir(host, &path) {
                return Ok(
                    progress.failed(format!("Unable to remove\n  {}\n    {e}", self.opts.target))
                );
            }
            progress.changes.insert("forced clone".into(), json!(true));
        }
        let existed = path.exists();
        let repo = match self.clone_into(&path) {
            Ok(repo) => repo,
            Err(Failed(msg)) => {
                // Like `git clone`, leave nothing half-made behind.
                let _ = if existed {
                    empty_dir(host, &path)
                } else {
                    host.remove_dir_all(&path)
                };
                return Ok(progress.failed(format!("Clone failed: {msg}")));
            }
        };
        progress.changes.insert(
            "new".into(),
            json!(format!("{} => {}", self.opts.name, self.opts.target)),
        );
        progress.note(format!("{} cloned to {}", self.opts.name, self.opts.target));
        let result = self.after_clone(&repo, &mut progress);
        own(host, &self.opts, &path, &mut progress);
        Ok(match result {
            Err(Failed(msg)) => progress.failed(msg),
            Ok(new_rev) => {
                if let Some(new) = new_rev {
                    progress
                        .changes
                        .insert("revision".into(), json!({"old": null, "new": new}));
                }
                Applied::ok_with(format_comments(&progress.comments), progress.changes)
            }
        })
    }
}

impl CloneApply {
    /// `git clone`: init, add the remote, fetch, check out what the remote's
    /// HEAD names (or, with `depth`, the wanted branch or tag).
    fn clone_into(&self, path: &Path) -> Result<Repository, Failed> {
        let opts = &self.opts;
        let wanted = &self.wanted;
        let repo = Repository::init(path)?;
        repo.remote(&opts.remote, &opts.name)?;
        let specs = match (opts.depth, wanted.kind) {
            (Some(_), Some(Kind::Branch)) => vec![format!(
                "+refs/heads/{0}:refs/remotes/{1}/{0}",
                wanted.rev, opts.remote
            )],
            (Some(_), Some(Kind::Tag)) => {
                vec![format!("+refs/tags/{0}:refs/tags/{0}", wanted.rev)]
            }
            _ => opts.refspecs(),
        };
        remote::fetch(&repo, &opts.remote, &specs, &opts.auth, opts.depth)?;
        let default_ref = wanted
            .default_branch
            .as_ref()
            .map(|b| (b.clone(), format!("refs/remotes/{}/{b}", opts.remote)))
            .filter(|(_, r)| repo.find_reference(r).is_ok());
        if let Some((_, target)) = &default_ref {
            repo.reference_symbolic(
                &format!("refs/remotes/{}/HEAD", opts.remote),
                target,
                true,
                "clone: remote HEAD",
            )?;
        }
        match (opts.depth, wanted.kind) {
            (Some(_), Some(Kind::Branch)) => {
                let start = format!("refs/remotes/{}/{}", opts.remote, wanted.rev);
                let upstream = format!("{}/{}", opts.remote, wanted.rev);
                new_branch(&repo, &wanted.rev, &start, Some(&upstream), true)?;
            }
            (Some(_), Some(Kind::Tag)) => {
                let oid = commit_id(&repo, &format!("refs/tags/{}", wanted.rev))?;
                repo.set_head_detached(oid)?;
                repo.checkout_head(Some(CheckoutBuilder::new().force()))?;
            }
            _ => {
                if let Some((branch, start)) = &default_ref {
                    let upstream = format!("{}/{branch}", opts.remote);
                    new_branch(&repo, branch, start, Some(&upstream), true)?;
                } else if let Some(head) = wanted
                    .head_known
                    .then_some(())
                    .and(wanted.remote_rev.as_ref())
                {
                    // A remote HEAD that names no branch: detached, as git does.
                    if let Ok(oid) = commit_id(&repo, head) {
                        repo.set_head_detached(oid)?;
                        repo.checkout_head(Some(CheckoutBuilder::new().force()))?;
                    }
                }
            }
        }
        Ok(repo)
    }

    /// Salt's steps after `git clone`: the wanted branch, a reset to the
    /// wanted rev, the tracking branch, submodules. Returns the new HEAD.
    fn after_clone(
        &self,
        repo: &Repository,
        progress: &mut Progress,
    ) -> Result<Option<String>, Failed> {
        let opts = &self.opts;
        let wanted = &self.wanted;
        let Some(remote_rev) = &wanted.remote_rev else {
            return Ok(head_rev(repo));
        };
        let local = Local::read(repo, &opts.remote)?;
        if wanted.kind == Some(Kind::Tag) && !local.tags.contains(&wanted.rev) {
            return Err(Failed(format!(
                "Revision '{}' does not exist in clone",
                wanted.rev
            )));
        }
        if let Some(branch) = &opts.branch {
            if !local.branches.contains(branch) {
                let (start, upstream) = match (&wanted.upstream, wanted.rev.as_str()) {
                    (_, "HEAD") => (remote_rev.clone(), None),
                    (Upstream::Follow(up), _) => (format!("refs/remotes/{up}"), Some(up.as_str())),
                    _ => (wanted.rev.clone(), None),
                };
                new_branch(repo, branch, &start, upstream, false)?;
                progress.note(format!(
                    "Branch '{branch}' checked out, with {} as a starting point",
                    wanted.remote_loc
                ));
            }
        }
        let local = Local::read(repo, &opts.remote)?;
        if local.branch.is_none() && !wanted.head_known {
            return Err(Failed("Remote HEAD refers to a ref that does not exist. This can happen when the default branch on the remote repository is renamed or deleted. If you are unable to fix the remote repository, you can work around this by setting the 'branch' argument (which will ensure that the named branch is created if it does not already exist).".into()));
        }
        if !revs_equal(local.rev.as_deref(), Some(remote_rev), wanted.kind) {
            reset_hard(repo, remote_rev)?;
            progress.note(format!("Repository was reset to {}", wanted.remote_loc));
        }
        let upstream = local
            .branch
            .as_deref()
            .and_then(|b| local::upstream_of(repo, b));
        let op = match &wanted.upstream {
            Upstream::Follow(want) if upstream.is_none() => Some((
                BranchOp::SetUpstream(want.clone()),
                format!("Tracking branch was set to {want}"),
            )),
            Upstream::Unset if upstream.is_some() => Some((
                BranchOp::UnsetUpstream,
                "Tracking branch was unset".to_string(),
            )),
            Upstream::Follow(want) if upstream.as_deref() != Some(want.as_str()) => Some((
                BranchOp::SetUpstream(want.clone()),
                format!("Tracking branch was updated to {want}"),
            )),
            _ => None,
        };
        if let Some((op, comment)) = op {
            set_upstream(repo, &op)?;
            progress.note(comment);
        }
        if opts.submodules {
            update_submodules(repo, opts)
                .map_err(|Failed(e)| Failed(format!("Failed to update submodules: {e}")))?;
        }
        Ok(head_rev(repo))
    }
}

/// Brings an existing checkout to the wanted revision.
pub struct UpdateApply {
    pub opts: Opts,
    pub wanted: Wanted,
    pub plan: UpdatePlan,
}

impl Apply for UpdateApply {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let mut progress = Progress::default();
        let result = self.update(&mut progress);
        own(host, &self.opts, &self.opts.path, &mut progress);
        Ok(match result {
            Err(Failed(msg)) => progress.failed(msg),
            Ok(new_rev) => {
                let old = self.plan.local.rev.clone();
                if old != new_rev {
                    progress
                        .changes
                        .insert("revision".into(), json!({"old": old, "new": new_rev}));
                    Applied::ok_with(format_comments(&progress.comments), progress.changes)
                } else {
                    Applied::ok_with(
                        uptodate(&self.opts.target, &progress.comments, false, false),
                        progress.changes,
                    )
                }
            }
        })
    }
}

impl UpdateApply {
    fn update(&self, progress: &mut Progress) -> Result<Option<String>, Failed> {
        let opts = &self.opts;
        let wanted = &self.wanted;
        let plan = &self.plan;
        let local = &plan.local;
        let repo = local::open(&opts.path)?;
        let remote_rev = wanted.remote_rev.clone().unwrap_or_default();
        let local_changes = local.dirty;

        if let Some(old) = &plan.url_change {
            match old {
                Some(old) => {
                    repo.remote_set_url(&opts.remote, &opts.name)?;
                    progress.note(format!(
                        "Remote '{}' changed from {} to {}",
                        opts.remote,
                        url::redact(old),
                        url::redact(&opts.name)
                    ));
                }
                None => {
                    repo.remote(&opts.remote, &opts.name)?;
                    progress.note(format!(
                        "Remote '{}' set to {}",
                        opts.remote,
                        url::redact(&opts.name)
                    ));
                    progress.changes.insert(
                        "new".into(),
                        json!(format!("{} => {}", opts.name, opts.remote)),
                    );
                }
            }
        }

        let mut has_remote_rev = plan.has_remote_rev;
        if !plan.new_tags.is_empty() || !plan.deleted_tags.is_empty() {
            has_remote_rev = false;
            if !plan.new_tags.is_empty() {
                progress
                    .changes
                    .insert("new_tags".into(), json!(plan.new_tags));
            }
            let mut deleted = Vec::new();
            for tag in &plan.deleted_tags {
                if repo.tag_delete(tag).is_ok() {
                    deleted.push(tag.clone());
                }
            }
            if !deleted.is_empty() {
                progress.note(format!(
                    "The following tags were removed from the local checkout: {}",
                    deleted.join(", ")
                ));
                progress
                    .changes
                    .insert("deleted_tags".into(), json!(deleted));
            }
        }

        let mut fast_forward = plan.fast_forward;
        if !has_remote_rev {
            match remote::fetch(&repo, &opts.remote, &opts.refspecs(), &opts.auth, opts.depth) {
                Ok(true) => progress.note(format!("{} was fetched, resulting in updated refs", opts.name)),
                Ok(false) => {}
                Err(e) => {
                    return Err(Failed(format!(
                        "Fetch failed. Set 'force_fetch' to True to force the fetch if the failure was due to not being able to fast-forward. Output of the fetch command follows:\n\n{}",
                        e.message()
                    )))
                }
            }
            if local::commit_of(&repo, &remote_rev).is_none() {
                return Err(Failed(format!(
                    "Fetch did not successfully retrieve rev '{}' from {}",
                    wanted.rev, opts.name
                )));
            }
            let ff = match &plan.base_rev {
                None => true,
                Some(base) => local::is_ancestor(&repo, base, &remote_rev),
            };
            fast_forward = Some(ff);
            if opts.force_reset == ForceReset::No && (!ff || local_changes) {
                return Err(Failed(not_fast_forward(&NotFastForward {
                    rev: &wanted.rev,
                    pre: plan.base_rev.as_deref(),
                    post: Some(&remote_rev),
                    branch: opts.branch.as_deref(),
                    local_branch: local.branch.as_deref(),
                    default_branch: wanted.default_branch.as_deref(),
                    local_changes,
                })));
            }
        }

        if let (Some(branch), Some(is_new)) = (&opts.branch, plan.branch_checkout) {
            if is_new {
                let (start, upstream) = match (&wanted.upstream, wanted.rev.as_str()) {
                    (_, "HEAD") => (remote_rev.clone(), None),
                    (Upstream::Follow(up), _) => (format!("refs/remotes/{up}"), Some(up.as_str())),
                    _ => (wanted.rev.clone(), None),
                };
                new_branch(&repo, branch, &start, upstream, opts.force_checkout)?;
                progress.note(format!(
                    "New branch '{branch}' was checked out, with {} as a starting point",
                    wanted.remote_loc
                ));
            } else {
                switch_branch(&repo, branch, opts.force_checkout)?;
                progress.note(format!("'{branch}' was checked out"));
            }
        }

        if fast_forward == Some(false) {
            reset_hard(&repo, &remote_rev)?;
            progress.changes.insert("forced update".into(), json!(true));
            if local_changes {
                progress.note("Uncommitted changes were discarded");
            }
            progress.note(format!(
                "Repository was hard-reset to {}",
                wanted.remote_loc
            ));
        } else if fast_forward == Some(true) && local_changes && opts.force_reset != ForceReset::No
        {
            reset_hard(&repo, "HEAD")?;
            progress.note("Uncommitted changes were discarded");
        }

        if let Some((op, comment)) = &plan.branch_op {
            set_upstream(&repo, op)?;
            progress.note(comment.clone());
        }

        if fast_forward == Some(true)
            && !revs_equal(plan.base_rev.as_deref(), Some(&remote_rev), wanted.kind)
        {
            if matches!(wanted.upstream, Upstream::Follow(_)) || wanted.rev == "HEAD" {
                if repo.head_detached().unwrap_or(true) {
                    return Err(Failed("Unable to fast-forward, HEAD is detached".into()));
                }
                fast_forward_to(&repo, &remote_rev)?;
                progress.note(format!(
                    "Repository was fast-forwarded to {}",
                    wanted.remote_loc
                ));
            } else {
                let to = if wanted.rev == "HEAD" {
                    &remote_rev
                } else {
                    &wanted.rev
                };
                reset_hard(&repo, to)?;
                progress.note(format!(
                    "Repository was reset to {} (fast-forward)",
                    wanted.rev
                ));
            }
        }

        if opts.submodules {
            update_submodules(&repo, opts)
                .map_err(|Failed(e)| Failed(format!("Failed to update submodules: {e}")))?;
        }

        let new_rev = head_rev(&repo);
        if !revs_equal(new_rev.as_deref(), Some(&remote_rev), wanted.kind) {
            return Err(Failed("Failed to update repository".into()));
        }
        Ok(new_rev)
    }
}

/// Gives the checkout to `user` after the work, since libgit2 ran as the
/// minion's user. A failure is reported in the comment.
fn own(host: &HostWrite, opts: &Opts, path: &Path, progress: &mut Progress) {
    if opts.owner.is_none() || !path.exists() {
        return;
    }
    if let Err(e) = opts.owner.apply_recursive(host, path) {
        progress.note(format!("Failed to set the owner of {}: {e}", opts.target));
    }
}

fn head_rev(repo: &Repository) -> Option<String> {
    repo.head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string())
}

fn commit_id(repo: &Repository, spec: &str) -> Result<Oid, Failed> {
    local::commit_of(repo, spec)
        .and_then(|s| Oid::from_str(&s).ok())
        .ok_or_else(|| Failed(format!("revision '{spec}' not found in the checkout")))
}

/// `git reset --hard <spec>`.
fn reset_hard(repo: &Repository, spec: &str) -> Result<(), Failed> {
    let oid = commit_id(repo, spec)?;
    let commit = repo.find_commit(oid)?;
    repo.reset(commit.as_object(), ResetType::Hard, None)?;
    Ok(())
}

fn checkout(force: bool) -> CheckoutBuilder<'static> {
    let mut cb = CheckoutBuilder::new();
    if force {
        cb.force();
    } else {
        cb.safe();
    }
    cb
}

/// `git checkout -b <name> <start>`; a remote-tracking start becomes the
/// upstream, as git's `branch.autoSetupMerge` does.
fn new_branch(
    repo: &Repository,
    name: &str,
    start: &str,
    upstream: Option<&str>,
    force: bool,
) -> Result<(), Failed> {
    let commit = repo.find_commit(commit_id(repo, start)?)?;
    repo.checkout_tree(commit.as_object(), Some(&mut checkout(force)))?;
    let mut branch = repo.branch(name, &commit, false)?;
    if let Some(up) = upstream {
        branch.set_upstream(Some(up))?;
    }
    repo.set_head(&format!("refs/heads/{name}"))?;
    Ok(())
}

/// `git checkout <branch>` of an existing local branch.
fn switch_branch(repo: &Repository, name: &str, force: bool) -> Result<(), Failed> {
    let refname = format!("refs/heads/{name}");
    let commit = repo.find_commit(commit_id(repo, &refname)?)?;
    repo.checkout_tree(commit.as_object(), Some(&mut checkout(force)))?;
    repo.set_head(&refname)?;
    Ok(())
}

/// `git merge --ff-only <rev>` on the current branch.
fn fast_forward_to(repo: &Repository, rev: &str) -> Result<(), Failed> {
    let oid = commit_id(repo, rev)?;
    let commit = repo.find_commit(oid)?;
    // Update the files first (refusing to overwrite local work), then move
    // the branch: a failure leaves the branch where it was.
    repo.checkout_tree(commit.as_object(), Some(&mut checkout(false)))?;
    let mut head = repo.head()?;
    head.set_target(oid, &format!("fast-forward to {rev}"))?;
    Ok(())
}

/// `git branch --set-upstream-to` / `--unset-upstream` on the current branch.
fn set_upstream(repo: &Repository, op: &BranchOp) -> Result<(), Failed> {
    let head = repo.head()?;
    if !head.is_branch() {
        return Err(Failed("HEAD is not on a branch".into()));
    }
    let name = head.shorthand()?.to_string();
    let mut branch = repo.find_branch(&name, BranchType::Local)?;
    match op {
        BranchOp::SetUpstream(up) => branch.set_upstream(Some(up))?,
        BranchOp::UnsetUpstream => branch.set_upstream(None)?,
    }
    Ok(())
}

/// `git submodule update --init --recursive`, refusing submodule URLs that
/// the URL rules refuse (`.gitmodules` is repository content).
fn update_submodules(repo: &Repository, opts: &Opts) -> Result<(), Failed> {
    for mut sub in repo.submodules()? {
        let sub_url = sub.url().ok().flatten().unwrap_or_default().to_string();
        if !(sub_url.starts_with("./") || sub_url.starts_with("../")) {
            url::check_url(&sub_url)?;
        }
        let mut fetch = git2::FetchOptions::new();
        fetch.remote_callbacks(remote::callbacks(&opts.auth, None));
        let mut update = git2::SubmoduleUpdateOptions::new();
        update.fetch(fetch);
        sub.update(true, Some(&mut update))?;
        let sub_repo = sub.open()?;
        update_submodules(&sub_repo, opts)?;
    }
    Ok(())
}

/// Removes everything inside `dir`, never following symlinks.
fn empty_dir(host: &HostWrite, dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            host.remove_dir_all(&path)?;
        } else {
            host.remove_file(&path)?;
        }
    }
    Ok(())
}
