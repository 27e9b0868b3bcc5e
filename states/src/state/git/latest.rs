//! `git.latest`: asking the remote, and deciding what Salt would do (its
//! test-mode comments and changes), without writing; the arguments are read
//! in `opts`, an existing checkout is checked in `update`.
use std::collections::BTreeSet;

use common::data::{Map, Value};
use serde_json::json;

use super::super::{Args, Check, HostRead, StateError};
use super::apply::CloneApply;
use super::local::{self, Local};
use super::messages::short;
use super::opts::{read_opts, Opts};
use super::remote::{self, RemoteRefs};
use super::update::check_update;
use super::url;

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
