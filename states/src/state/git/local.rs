//! What the checkout at `target` holds: the facts Salt's `git.latest` reads
//! with `git rev-parse`, `git branch`, `git tag`, `git remote` and
//! `git diff HEAD`. Reading only: nothing here writes to the repository.
use std::collections::BTreeSet;
use std::path::Path;

use git2::{BranchType, DiffOptions, Oid, Repository, RepositoryOpenFlags};

/// Opens the repository at exactly `path` (no search upwards).
///
/// libgit2, like git, refuses a repository owned by another user. Salt runs
/// git as `user`, so its checkouts belong to that user while Brine works as
/// the minion's user: the check is turned off. What it guards against in
/// git (running programs named in a foreign repository's config, found by
/// searching parent directories) cannot happen here: the path is the one
/// the state names, never searched for, and libgit2 runs no hooks, filters
/// or ssh commands from repository config.
pub fn open(path: &Path) -> Result<Repository, git2::Error> {
    static OWNER_CHECK_OFF: std::sync::Once = std::sync::Once::new();
    OWNER_CHECK_OFF.call_once(|| {
        // SAFETY: sets one libgit2 global, once, before this module opens
        // any repository.
        let _ = unsafe { git2::opts::set_verify_owner_validation(false) };
    });
    Repository::open_ext(
        path,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )
}

/// The local facts `git.latest` decides on.
#[derive(Debug, Clone, Default)]
pub struct Local {
    /// `git rev-parse HEAD`; None in an empty repository.
    pub rev: Option<String>,
    /// `git rev-parse --abbrev-ref HEAD`: the branch, `HEAD` when detached,
    /// None when HEAD is unborn.
    pub branch: Option<String>,
    pub branches: Vec<String>,
    pub tags: BTreeSet<String>,
    /// Fetch URL of the managed remote, if it exists.
    pub remote_url: Option<String>,
    /// `git diff HEAD` is not empty (untracked files do not count).
    pub dirty: bool,
}

impl Local {
    pub fn read(repo: &Repository, remote: &str) -> Result<Local, git2::Error> {
        let head = repo.head().ok();
        let rev = head
            .as_ref()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id().to_string());
        let branch = head.as_ref().map(|h| {
            if repo.head_detached().unwrap_or(false) {
                "HEAD".to_string()
            } else {
                h.shorthand().unwrap_or("HEAD").to_string()
            }
        });
        let mut branches = Vec::new();
        for item in repo.branches(Some(BranchType::Local))? {
            let (b, _) = item?;
            if let Some(name) = b.name()? {
                branches.push(name.to_string());
            }
        }
        let tags = repo
            .tag_names(None)?
            .iter()
            .filter_map(|t| t.ok().flatten().map(str::to_string))
            .collect();
        let remote_url = repo
            .find_remote(remote)
            .ok()
            .and_then(|r| r.url().ok().map(str::to_string));
        Ok(Local {
            dirty: rev.is_some() && is_dirty(repo),
            rev,
            branch,
            branches,
            tags,
            remote_url,
        })
    }
}

/// Staged or unstaged changes to tracked files, relative to HEAD.
fn is_dirty(repo: &Repository) -> bool {
    let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) else {
        return false;
    };
    let mut opts = DiffOptions::new();
    opts.include_untracked(false).ignore_submodules(true);
    repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts))
        .map(|d| d.deltas().len() > 0)
        .unwrap_or(false)
}

/// The commit `spec` names in `repo` (`<sha>^{commit}`), if present.
pub fn commit_of(repo: &Repository, spec: &str) -> Option<String> {
    repo.revparse_single(&format!("{spec}^{{commit}}"))
        .ok()
        .map(|o| o.id().to_string())
}

/// Whether `ancestor` is `descendant` or one of its ancestors
/// (`git merge-base --is-ancestor`).
pub fn is_ancestor(repo: &Repository, ancestor: &str, descendant: &str) -> bool {
    let (Some(a), Some(d)) = (commit_of(repo, ancestor), commit_of(repo, descendant)) else {
        return false;
    };
    let (Ok(a), Ok(d)) = (Oid::from_str(&a), Oid::from_str(&d)) else {
        return false;
    };
    a == d || repo.graph_descendant_of(d, a).unwrap_or(false)
}

/// `git rev-parse --abbrev-ref <branch>@{upstream}`: `origin/main`, or None.
pub fn upstream_of(repo: &Repository, branch: &str) -> Option<String> {
    let b = repo.find_branch(branch, BranchType::Local).ok()?;
    let up = b.upstream().ok()?;
    up.name().ok().flatten().map(str::to_string)
}
