//! `git.latest` on an existing checkout: what Salt would change (and say)
//! to bring it to the wanted revision.
use common::data::Map;
use serde_json::json;

use super::super::{Check, StateError};
use super::apply::UpdateApply;
use super::latest::{revs_equal, Kind, Upstream, Wanted};
use super::local::{self, Local};
use super::messages::{format_comments, not_fast_forward, short, uptodate, NotFastForward};
use super::opts::{ForceReset, Opts};
use super::url;

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

pub(super) fn check_update(
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
