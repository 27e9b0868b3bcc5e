//! `master plan` and `master apply --plan` on the wire: the candidate state
//! tree the operator sends (files by path, checked when decoded), and the
//! saved plan (also the `--save` file's format, as JSON).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use common::data::{Map, Value};
use common::target::TargetKind;

use crate::wire::{Batch, PublishEnv};

/// The most file content one candidate tree may carry, in bytes: a state
/// tree is text; a request must stay under [`crate::wire::MAX_MESSAGE`]
/// with a pillar tree beside it.
pub const MAX_TREE_BYTES: usize = 24 << 20;

/// The most files one candidate tree may carry.
pub const MAX_TREE_FILES: usize = 20_000;

/// The version of the saved plan's format.
pub const PLAN_VERSION: u32 = 1;

/// A path inside a candidate tree: relative, `/`-separated, no empty, `.`
/// or `..` component, no NUL or control character; refused when decoded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TreePath(String);

#[derive(Debug, thiserror::Error)]
#[error("a candidate tree path {0}")]
pub struct BadTreePath(&'static str);

impl TreePath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TreePath {
    type Error = BadTreePath;
    fn try_from(s: String) -> Result<Self, BadTreePath> {
        if s.is_empty() || s.len() > 4096 {
            return Err(BadTreePath("is empty or longer than 4096 bytes"));
        }
        if s.chars().any(char::is_control) {
            return Err(BadTreePath("holds a control character"));
        }
        if s.split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(BadTreePath(
                "is absolute or has an empty, `.` or `..` component",
            ));
        }
        Ok(TreePath(s))
    }
}

impl From<TreePath> for String {
    fn from(p: TreePath) -> String {
        p.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeFile {
    pub path: TreePath,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A checkout of a state (or pillar) tree, sent by the operator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CandidateTree {
    pub files: Vec<TreeFile>,
}

impl CandidateTree {
    /// The content digest: SHA-256 over each file's path and SHA-256, in
    /// path order (so the order files were sent in does not matter).
    pub fn digest(&self) -> String {
        let mut files: Vec<(&str, [u8; 32])> = self
            .files
            .iter()
            .map(|f| (f.path.as_str(), Sha256::digest(&f.data).into()))
            .collect();
        files.sort();
        let mut h = Sha256::new();
        for (path, sha) in files {
            h.update(path.as_bytes());
            h.update([0]);
            h.update(sha);
        }
        hex(&h.finalize())
    }

    /// Bytes of content carried.
    pub fn size(&self) -> usize {
        self.files.iter().map(|f| f.data.len()).sum()
    }

    /// Refuses a tree over [`MAX_TREE_BYTES`] or [`MAX_TREE_FILES`], or one
    /// naming a path twice.
    pub fn check(&self) -> Result<(), String> {
        if self.files.len() > MAX_TREE_FILES {
            return Err(format!(
                "the candidate tree has {} files, over the limit of {MAX_TREE_FILES}",
                self.files.len()
            ));
        }
        if self.size() > MAX_TREE_BYTES {
            return Err(format!(
                "the candidate tree holds {} bytes, over the limit of {MAX_TREE_BYTES}",
                self.size()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.files {
            if !seen.insert(f.path.as_str()) {
                return Err("the candidate tree names a path twice".into());
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `master plan TARGET [SLS...] --tree DIR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    pub target: String,
    pub tgt_type: TargetKind,
    pub sls: Vec<String>,
    pub env: PublishEnv,
    /// Replaces the file roots of the job's saltenv.
    pub tree: CandidateTree,
    /// Replaces the pillar roots of the job's pillarenv.
    pub pillar_tree: Option<CandidateTree>,
    /// `--rev REV`: the candidate is the gitfs remote's tree at REV (read by
    /// the master; `tree` is then empty).
    #[serde(default)]
    pub rev: Option<String>,
    /// Host probes in templates are refused instead of asked of the minion.
    pub offline: bool,
    /// Answer with the saved plan (chunks and digests) too.
    pub save: bool,
}

/// What `master plan --save` writes and `master apply --plan` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub version: u32,
    pub target: String,
    pub tgt_type: TargetKind,
    pub sls: Vec<String>,
    pub env: PublishEnv,
    /// [`CandidateTree::digest`] of the state tree the plan compiled.
    pub tree: String,
    /// That of the pillar tree, when one was given.
    pub pillar_tree: Option<String>,
    /// `--rev`: the revision the tree was read at, and its commit.
    #[serde(default)]
    pub rev: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
    pub minions: BTreeMap<String, PlannedMinion>,
}

/// One minion's part of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedMinion {
    /// SHA-256 of its cached grains (as JSON).
    pub grains: String,
    /// SHA-256 of its compiled pillar (as JSON, gpg-decrypted values shown
    /// as `<secret KEY:PATH>`, so no digest of a plaintext leaves the master).
    pub pillar: String,
    /// The candidate's low chunks, as the plan showed them.
    pub chunks: Vec<Map<String, Value>>,
}

/// `master apply --plan FILE --tree DIR`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPlanRequest {
    pub plan: SavedPlan,
    pub tree: CandidateTree,
    /// `--rev REV` instead of a checkout (as the plan was made).
    #[serde(default)]
    pub rev: Option<String>,
    pub pillar_tree: Option<CandidateTree>,
    pub test: bool,
    pub timeout_secs: u64,
    pub batch: Option<Batch>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{decode, encode};

    fn file(path: &str, data: &[u8]) -> TreeFile {
        TreeFile {
            path: TreePath::try_from(path.to_string()).unwrap(),
            data: data.to_vec(),
        }
    }

    #[test]
    fn paths_that_leave_the_tree_do_not_decode() {
        #[derive(Serialize)]
        struct Loose<'a> {
            path: &'a str,
            #[serde(with = "serde_bytes")]
            data: &'a [u8],
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\0b",
            "a\nb",
        ] {
            let bytes = encode(&Loose {
                path: bad,
                data: b"x",
            })
            .unwrap();
            assert!(decode::<TreeFile>(&bytes).is_err(), "{bad:?}");
        }
        let ok = encode(&Loose {
            path: "web/init.sls",
            data: b"x",
        })
        .unwrap();
        assert_eq!(decode::<TreeFile>(&ok).unwrap(), file("web/init.sls", b"x"));
    }

    #[test]
    fn the_digest_is_of_paths_and_contents_not_their_order() {
        let a = CandidateTree {
            files: vec![file("top.sls", b"base"), file("app.sls", b"x: 1")],
        };
        let b = CandidateTree {
            files: vec![file("app.sls", b"x: 1"), file("top.sls", b"base")],
        };
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.digest().len(), 64);
        let edited = CandidateTree {
            files: vec![file("app.sls", b"x: 2"), file("top.sls", b"base")],
        };
        assert_ne!(a.digest(), edited.digest());
        let moved = CandidateTree {
            files: vec![file("app2.sls", b"x: 1"), file("top.sls", b"base")],
        };
        assert_ne!(a.digest(), moved.digest());
    }

    #[test]
    fn a_tree_over_its_limits_or_naming_a_path_twice_is_refused() {
        let big = CandidateTree {
            files: vec![file("a", &vec![b'x'; MAX_TREE_BYTES + 1])],
        };
        assert!(big.check().unwrap_err().contains("over the limit"));
        let twice = CandidateTree {
            files: vec![file("a", b"1"), file("a", b"2")],
        };
        assert!(twice.check().unwrap_err().contains("twice"));
    }
}
