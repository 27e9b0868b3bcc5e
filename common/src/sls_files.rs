//! The list of every SLS in a saltenv (Salt's `avail`). Name → file is
//! `Renderer::resolve_sls`, which caches lookups.
use std::path::{Path, PathBuf};

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
