//! Salt's wording for `git.latest` (salt/states/git.py helpers), kept in one
//! place so the comments match Salt's character for character.

/// `_format_comments`: joined with ". ", and a final "." when more than one.
pub fn format_comments(comments: &[String]) -> String {
    let mut out = comments.join(". ");
    if comments.len() > 1 {
        out.push('.');
    }
    out
}

/// `_short_sha`.
pub fn short(sha: Option<&str>) -> String {
    match sha {
        Some(s) => s.chars().take(7).collect(),
        None => "None".into(),
    }
}

/// `_uptodate`; `test` picks "Changes that would be made" over "Changes made".
pub fn uptodate(target: &str, comments: &[String], local_changes: bool, test: bool) -> String {
    let mut out = format!("Repository {target} is up-to-date");
    if local_changes {
        out.push_str(
            ", but with uncommitted changes. Set 'force_reset' to True to purge uncommitted changes.",
        );
    }
    if !comments.is_empty() {
        out.push_str(&format!(
            "\n\nChanges {}made: {}",
            if test { "that would be " } else { "" },
            format_comments(comments)
        ));
    }
    out
}

/// `_fail`'s suffix listing what was already done before a failure.
pub fn with_done(msg: String, comments: &[String]) -> String {
    if comments.is_empty() {
        msg
    } else {
        format!(
            "{msg}\n\nChanges already made: {}",
            format_comments(comments)
        )
    }
}

/// What `_not_fast_forward` needs to know.
pub struct NotFastForward<'a> {
    pub rev: &'a str,
    pub pre: Option<&'a str>,
    pub post: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub local_branch: Option<&'a str>,
    pub default_branch: Option<&'a str>,
    pub local_changes: bool,
}

/// `_not_fast_forward`: the refusal when an update would lose commits or
/// uncommitted changes and `force_reset` is not set.
pub fn not_fast_forward(n: &NotFastForward) -> String {
    let mut branch_msg = String::new();
    if n.branch.is_none() {
        if n.rev != "HEAD" {
            if n.local_branch != Some(n.rev) {
                branch_msg = format!(
                    " The desired rev ({0}) differs from the name of the local branch ({1}), if the desired rev is a branch name then a forced update could possibly be avoided by setting the 'branch' argument to '{0}' instead.",
                    n.rev,
                    n.local_branch.unwrap_or("None")
                );
            }
        } else if let Some(default) = n.default_branch {
            if n.local_branch != Some(default) {
                branch_msg = format!(
                    " The default remote branch ({0}) differs from the local branch ({1}). This could be caused by changing the default remote branch, or if the local branch was manually changed. Rather than forcing an update, it may be advisable to set the 'branch' argument to '{0}' instead. To ensure that this state follows the '{0}' branch instead of the remote HEAD, set the 'rev' argument to '{0}'.",
                    default,
                    n.local_branch.unwrap_or("None")
                );
            }
        }
    }
    let pre = short(n.pre);
    let post = short(n.post);
    let target = if n.local_changes && pre != post {
        format!("from {pre} to {post}")
    } else {
        format!("to {post}")
    };
    let after_checkout = match n.branch {
        Some(b) if Some(b) != n.local_branch => {
            format!(" (after checking out local branch '{b}')")
        }
        _ => String::new(),
    };
    format!(
        "Repository would be updated {target}{after_checkout}, but {}. Set 'force_reset' to True{} to force this update{}.{branch_msg}",
        if n.local_changes {
            "there are uncommitted changes"
        } else {
            "this is not a fast-forward merge"
        },
        if n.local_changes {
            " (or 'remote-changes')"
        } else {
            ""
        },
        if n.local_changes {
            " and discard these changes"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_join_as_salt_does() {
        assert_eq!(format_comments(&["a".into()]), "a");
        assert_eq!(format_comments(&["a".into(), "b".into()]), "a. b.");
    }

    #[test]
    fn not_fast_forward_wording() {
        let msg = not_fast_forward(&NotFastForward {
            rev: "HEAD",
            pre: Some("1111111aaaa"),
            post: Some("2222222bbbb"),
            branch: None,
            local_branch: Some("main"),
            default_branch: Some("main"),
            local_changes: false,
        });
        assert_eq!(
            msg,
            "Repository would be updated to 2222222, but this is not a fast-forward merge. Set 'force_reset' to True to force this update."
        );
        let msg = not_fast_forward(&NotFastForward {
            rev: "HEAD",
            pre: Some("1111111aaaa"),
            post: Some("2222222bbbb"),
            branch: None,
            local_branch: Some("main"),
            default_branch: Some("main"),
            local_changes: true,
        });
        assert_eq!(
            msg,
            "Repository would be updated from 1111111 to 2222222, but there are uncommitted changes. Set 'force_reset' to True (or 'remote-changes') to force this update and discard these changes."
        );
    }
}
