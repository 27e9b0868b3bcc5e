//! `master plan TARGET [SLS...] --tree DIR`: what a candidate state tree
//! (a checkout on this machine, e.g. a CI runner's) would change on each
//! targeted minion, compiled by the master from their cached grains.
//! Nothing is published. The tree travels to the master in the request
//! (regular files only, `.git` skipped, symlinks only inside the tree,
//! at most `wire_plan::MAX_TREE_BYTES`); pillar and secrets stay there.
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use common::data::{Map, Value};
use transport::wire::{OpReply, OpRequest};
use transport::wire_plan::{
    ApplyPlanRequest, CandidateTree, PlanRequest, SavedPlan, TreeFile, TreePath, MAX_TREE_BYTES,
    MAX_TREE_FILES,
};

use super::env_opts::{self, EnvOpts};
use super::publish::TargetOpts;
use super::{client, print_value, write_stdout, ClientOpts, Out};

/// Exit statuses, as Terraform's `plan -detailed-exitcode`.
const HELP: &str = "\
Exit status: 0 no targeted minion's low chunks would change; 4 some would
(chunks added, removed or changed); 2 a minion's tree (candidate or
current) did not compile (render errors with file, line and column);
1 the plan could not be made.

`--out json` is keyed by minion id: {\"added\": [chunk...], \"removed\":
[chunk...], \"changed\": [{\"tag\", \"args\": {arg: {\"old\", \"new\"}}}],
\"errors\": [{\"file\", \"line\", \"column\", \"message\"}]}.";

#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct PlanArgs {
    pub target: String,
    /// SLS names (without any, the highstate), and Salt's `saltenv=ENV`,
    /// `pillarenv=ENV` and `pillar='{...}'`.
    pub sls: Vec<String>,
    /// The candidate state tree: replaces the file roots of the job's
    /// saltenv (base unless one is given).
    #[arg(long, value_name = "DIR", required_unless_present = "rev")]
    pub tree: Option<PathBuf>,
    /// Instead of --tree: the master's gitfs remote at this branch, tag or
    /// commit (fetched first), for a pull request's branch.
    #[arg(long, value_name = "REV", conflicts_with = "tree")]
    pub rev: Option<String>,
    /// A candidate pillar tree: replaces the pillar roots of the job's
    /// pillarenv (base unless one is given).
    #[arg(long = "pillar-tree", value_name = "DIR")]
    pub pillar_tree: Option<PathBuf>,
    /// Refuse host probes in templates (`salt['cmd.run']`, ...) instead of
    /// asking the live minion (read-only).
    #[arg(long)]
    pub offline: bool,
    /// Write the plan (the candidate's chunks and the digests of each
    /// minion's grains and pillar and of the trees) for `master apply --plan`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    #[command(flatten)]
    pub env: EnvOpts,
    #[command(flatten)]
    pub opts: TargetOpts,
}

pub async fn run(a: PlanArgs, client: &ClientOpts, out: Out) -> Result<i32> {
    if a.opts.batch_size.is_some() {
        bail!("`master plan` publishes nothing: --batch-size does not apply");
    }
    let (env, sls) = a.env.job_env(&a.sls)?;
    let req = PlanRequest {
        target: a.target.clone(),
        tgt_type: a.opts.tgt_type(),
        sls,
        env: env_opts::to_wire(&env)?,
        tree: match &a.tree {
            Some(dir) => read_tree(dir, "--tree")?,
            None => CandidateTree::default(),
        },
        pillar_tree: a
            .pillar_tree
            .as_deref()
            .map(|d| read_tree(d, "--pillar-tree"))
            .transpose()?,
        rev: a.rev.clone(),
        offline: a.offline,
        save: a.save.is_some(),
    };
    let limit = Duration::from_secs(a.opts.timeout.unwrap_or(600).max(1));
    let reply = request_waiting(client, OpRequest::Plan(Box::new(req)), limit).await?;
    let minions = match reply.get("minions") {
        Some(Value::Object(m)) => m.clone(),
        _ => bail!("the master's answer has no minions"),
    };
    if minions.is_empty() {
        eprintln!("No minions matched the target.");
        return Ok(1);
    }
    if let Some(path) = &a.save {
        let plan: SavedPlan = serde_json::from_value(reply["plan"].clone())
            .context("the master's answer holds no plan")?;
        let text = serde_json::to_string_pretty(&plan)? + "\n";
        std::fs::write(path, text).with_context(|| format!("--save {}", path.display()))?;
    }
    match out {
        Out::Json | Out::Yaml => print_value(out, &Value::Object(minions.clone()))?,
        _ => write_stdout(&human(&minions))?,
    }
    Ok(exit_status(&minions))
}

/// 2 any minion with errors, 4 any with a difference, else 0.
fn exit_status(minions: &Map<String, Value>) -> i32 {
    let nonempty = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    if minions
        .values()
        .any(|r| nonempty(r, "errors") || nonempty(r, "current_errors"))
    {
        2
    } else if minions.values().any(|r| {
        ["added", "removed", "changed"]
            .iter()
            .any(|k| nonempty(r, k))
    }) {
        4
    } else {
        0
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A compact diff: per minion `+` added, `-` removed, `~` changed chunks
/// (by tag) with each changed argument's old and new value.
fn human(minions: &Map<String, Value>) -> String {
    let mut out = String::new();
    let (mut changed, mut failed) = (0, 0);
    for (id, r) in minions {
        let list = |k: &str| {
            r.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let errors: Vec<Value> = list("errors")
            .into_iter()
            .chain(list("current_errors"))
            .collect();
        if !errors.is_empty() {
            failed += 1;
            out.push_str(&format!("{id}: errors\n"));
            for (k, label) in [("errors", "candidate"), ("current_errors", "current tree")] {
                for e in list(k) {
                    let msg = e["message"].as_str().unwrap_or_default();
                    for (i, line) in msg.lines().enumerate() {
                        let lead = if i == 0 {
                            format!("  ! {label}: ")
                        } else {
                            "      ".into()
                        };
                        out.push_str(&format!("{lead}{line}\n"));
                    }
                }
            }
            continue;
        }
        let (added, removed, diffs) = (list("added"), list("removed"), list("changed"));
        if added.is_empty() && removed.is_empty() && diffs.is_empty() {
            out.push_str(&format!("{id}: no changes\n"));
            continue;
        }
        changed += 1;
        out.push_str(&format!("{id}:\n"));
        for c in &added {
            out.push_str(&format!("  + {}\n", chunk_tag(c)));
        }
        for c in &removed {
            out.push_str(&format!("  - {}\n", chunk_tag(c)));
        }
        for c in &diffs {
            out.push_str(&format!("  ~ {}\n", c["tag"].as_str().unwrap_or_default()));
            if let Some(args) = c["args"].as_object() {
                for (arg, d) in args {
                    out.push_str(&format!(
                        "      {arg}: {} -> {}\n",
                        compact(&d["old"]),
                        compact(&d["new"])
                    ));
                }
            }
        }
    }
    out.push_str(&format!(
        "\nPlan: {} minion(s): {changed} would change, {failed} with errors, {} unchanged\n",
        minions.len(),
        minions.len() - changed - failed
    ));
    out
}

fn chunk_tag(c: &Value) -> String {
    let part = |k: &str| match c.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => compact(v),
        None => String::new(),
    };
    format!(
        "{}_|-{}_|-{}_|-{}",
        part("state"),
        part("__id__"),
        part("name"),
        part("fun")
    )
}

/// Sends one request and waits up to `limit` for its reply, pinging the
/// master meanwhile (it closes silent sessions; a big plan takes a while).
async fn request_waiting(client: &ClientOpts, req: OpRequest, limit: Duration) -> Result<Value> {
    let mut link = client::connect(client).await?;
    link.tx.send(&req).await?;
    let deadline = tokio::time::Instant::now() + limit;
    let mut keepalive = tokio::time::interval(crate::daemon::KEEPALIVE);
    loop {
        tokio::select! {
            r = tokio::time::timeout_at(deadline, link.rx.recv::<OpReply>()) => {
                match r.map_err(|_| anyhow::anyhow!("no answer from the master within {limit:?}"))?? {
                    OpReply::Reply(r) => return r.map_err(|e| anyhow::anyhow!(e)),
                    _ => continue,
                }
            }
            _ = keepalive.tick() => link.tx.send(&OpRequest::Ping).await?,
        }
    }
}

/// Reads a candidate tree: regular files under `dir` by their relative
/// path; `.git` skipped; a symlink is followed only while it stays inside
/// `dir`; over the size limits is an error here, before anything is sent.
pub fn read_tree(dir: &Path, flag: &str) -> Result<CandidateTree> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("{flag} {}", dir.display()))?;
    if !root.is_dir() {
        bail!("{flag} {}: not a directory", dir.display());
    }
    let mut files = Vec::new();
    let mut size = 0usize;
    walk(&root, &root, "", 0, &mut files, &mut size)
        .with_context(|| format!("{flag} {}", dir.display()))?;
    Ok(CandidateTree { files })
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Vec<TreeFile>,
    size: &mut usize,
) -> Result<()> {
    if depth > 64 {
        bail!("{prefix}: nested more than 64 directories deep (a symlink loop?)");
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!("{prefix}: a file name that is not UTF-8");
        };
        if name == ".git" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let mut path = entry.path();
        let mut meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            path = path
                .canonicalize()
                .with_context(|| format!("{rel}: a symlink to nothing"))?;
            if !path.starts_with(root) {
                bail!("{rel}: a symlink leaving the tree");
            }
            meta = std::fs::metadata(&path)?;
        }
        if meta.is_dir() {
            walk(root, &path, &rel, depth + 1, files, size)?;
        } else if meta.is_file() {
            let data = common::files::read_regular(&path)
                .with_context(|| format!("{rel}: cannot read"))?;
            *size += data.len();
            if *size > MAX_TREE_BYTES {
                bail!("the tree holds more than {MAX_TREE_BYTES} bytes, the limit of a candidate tree");
            }
            if files.len() >= MAX_TREE_FILES {
                bail!("the tree holds more than {MAX_TREE_FILES} files, the limit of a candidate tree");
            }
            let path =
                TreePath::try_from(rel.clone()).map_err(|e| anyhow::anyhow!("{rel}: {e}"))?;
            files.push(TreeFile { path, data });
        }
        // FIFOs, sockets and devices are not part of a state tree.
    }
    Ok(())
}

/// Where `master apply --plan` takes the candidate tree from: the
/// checkout again, or the gitfs revision (read by the master).
pub enum Candidate<'a> {
    Checkout(&'a Path),
    Rev(&'a str),
}

/// The request `master apply --plan FILE --tree DIR` sends.
pub fn apply_request(
    file: &Path,
    candidate: Candidate<'_>,
    pillar_tree: Option<&Path>,
    test: bool,
    opts: &TargetOpts,
) -> Result<ApplyPlanRequest> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("--plan {}", file.display()))?;
    let plan: SavedPlan = serde_json::from_str(&text).with_context(|| {
        format!(
            "--plan {}: not a plan saved by `master plan --save`",
            file.display()
        )
    })?;
    let (tree, rev) = match candidate {
        Candidate::Checkout(dir) => (read_tree(dir, "--tree")?, None),
        Candidate::Rev(rev) => (CandidateTree::default(), Some(rev.to_string())),
    };
    Ok(ApplyPlanRequest {
        plan,
        tree,
        rev,
        pillar_tree: pillar_tree
            .map(|d| read_tree(d, "--pillar-tree"))
            .transpose()?,
        test,
        timeout_secs: opts.timeout.unwrap_or(0),
        batch: opts.batch()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tree_is_its_regular_files_without_git_and_symlinks_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("web/.git")).unwrap();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        std::fs::write(d.join("top.sls"), "base: {}\n").unwrap();
        std::fs::write(d.join("web/init.sls"), "x: 1\n").unwrap();
        std::fs::write(d.join(".git/HEAD"), "ref\n").unwrap();
        std::fs::write(d.join("web/.git/HEAD"), "ref\n").unwrap();
        std::os::unix::fs::symlink("init.sls", d.join("web/alias.sls")).unwrap();
        let tree = read_tree(d, "--tree").unwrap();
        let paths: Vec<&str> = tree.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["top.sls", "web/alias.sls", "web/init.sls"]);
        assert_eq!(tree.files[1].data, b"x: 1\n");

        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.join("leak.sls")).unwrap();
        let e = format!("{:#}", read_tree(d, "--tree").unwrap_err());
        assert!(e.contains("leak.sls: a symlink leaving the tree"), "{e}");
    }

    #[test]
    fn a_tree_over_the_size_limit_is_refused_before_sending() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'x'; MAX_TREE_BYTES / 2 + 1];
        std::fs::write(dir.path().join("a"), &big).unwrap();
        std::fs::write(dir.path().join("b"), &big).unwrap();
        let e = format!("{:#}", read_tree(dir.path(), "--tree").unwrap_err());
        assert!(e.contains("the limit of a candidate tree"), "{e}");
    }

    #[test]
    fn exit_status_is_2_for_errors_4_for_differences_else_0() {
        let none = json!({"added": [], "removed": [], "changed": []});
        let diff = json!({"added": [{"state": "file"}], "removed": [], "changed": []});
        let err = json!({"errors": [{"message": "x"}]});
        let m = |v: Vec<Value>| {
            v.into_iter()
                .enumerate()
                .map(|(i, v)| (format!("m{i}"), v))
                .collect::<Map<String, Value>>()
        };
        assert_eq!(exit_status(&m(vec![none.clone()])), 0);
        assert_eq!(exit_status(&m(vec![none.clone(), diff.clone()])), 4);
        assert_eq!(exit_status(&m(vec![diff, err, none])), 2);
    }
}
