//! SLS names → files, and the list of every SLS in a saltenv (Salt's `avail`).
use std::path::{Path, PathBuf};

use crate::render::clean_name;

/// `a.b` → `a/b.sls`, else `a/b/init.sls`; returns the relative path and
/// whether it was an `init.sls`.
pub fn resolve(roots: &[PathBuf], sls: &str) -> Option<(String, bool)> {
    if sls.is_empty()
        || sls.contains('/')
        || sls.contains('\0')
        || sls.split('.').any(|p| p.is_empty() || p == "..")
    {
        return None;
    }
    let base = sls.replace('.', "/");
    for (rel, init) in [
        (format!("{base}.sls"), false),
        (format!("{base}/init.sls"), true),
    ] {
        let clean = clean_name(&rel)?;
        if roots.iter().any(|r| is_file_inside(r, &clean)) {
            return Some((clean, init));
        }
    }
    None
}

fn is_file_inside(root: &Path, rel: &str) -> bool {
    let p = root.join(rel);
    match (p.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(real_root)) => real.starts_with(real_root) && real.is_file(),
        _ => false,
    }
}

/// Every SLS name under the roots, as Salt's `list_states` gives them.
pub fn list(roots: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for root in roots {
        walk(root, root, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(root, &path, out);
        } else if let (Some(rel), true) = (
            path.strip_prefix(root).ok().and_then(|p| p.to_str()),
            ft.is_file(),
        ) {
            if let Some(stem) = rel.strip_suffix("/init.sls") {
                out.push(stem.replace('/', "."));
            } else if let Some(stem) = rel.strip_suffix(".sls") {
                if stem != "init" {
                    out.push(stem.replace('/', "."));
                }
            }
        }
    }
}

/// Whether a name holds glob characters (then `avail` must be listed).
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}
