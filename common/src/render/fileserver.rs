//! What `cp.list_states`, `cp.list_master` and `cp.list_master_dirs` answer:
//! the files and directories of a saltenv's `file_roots`, as Salt's `roots`
//! fileserver backend walks them (every entry under every root, symlinks
//! followed, nothing ignored by default), merged, prefix-filtered and sorted.
use std::collections::BTreeSet;
use std::path::Path;

use minijinja::value::{Value, ValueKind};

use super::dictupdate::traverse;

/// How deep a walk goes: a symlink loop (Salt's `os.walk` would follow it
/// forever) stops here instead.
const MAX_DEPTH: usize = 64;

/// Files and directories of the saltenv's roots, relative to their root.
#[derive(Default)]
pub struct Listing {
    pub files: BTreeSet<String>,
    pub dirs: BTreeSet<String>,
}

/// The saltenv Salt's `cp.list_*` default to: `opts['saltenv'] or 'base'`,
/// not the saltenv being rendered.
pub fn default_saltenv(opts: &Value) -> String {
    traverse(opts, "saltenv", ":")
        .filter(|v| v.is_true())
        .map(|v| super::convert::py_str_jinja(&v))
        .unwrap_or_else(|| "base".to_string())
}

/// Walks `opts['file_roots'][saltenv]`; a saltenv with no roots lists nothing.
pub fn list(opts: &Value, saltenv: &str) -> Listing {
    let roots = opts
        .get_attr("file_roots")
        .ok()
        .and_then(|fr| fr.get_item(&Value::from(saltenv)).ok())
        .filter(|r| r.kind() == ValueKind::Seq);
    let dirs: Vec<String> = roots
        .iter()
        .flat_map(|r| r.try_iter().into_iter().flatten())
        .filter_map(|root| root.as_str().map(str::to_string))
        .collect();
    list_roots(dirs.iter().map(Path::new))
}

/// Walks the given roots of one saltenv (the master's `cp.list_*` answer).
pub fn list_roots<'a>(roots: impl IntoIterator<Item = &'a Path>) -> Listing {
    let mut out = Listing::default();
    for root in roots {
        walk(root, "", 0, &mut out);
    }
    out
}

fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Listing) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let path = entry.path();
        let rel_path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        // `fileserver_followsymlinks: True`: a link counts as what it points to.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                walk(&path, &rel_path, depth + 1, out);
                out.dirs.insert(rel_path);
            }
            Ok(_) => {
                out.files.insert(rel_path);
            }
            Err(_) => {}
        }
    }
}

/// `fileclient.list_states`: every `.sls` file as an SLS name.
pub fn states(listing: &Listing) -> Vec<String> {
    let names: BTreeSet<String> = listing
        .files
        .iter()
        .filter_map(|f| {
            let f = f.strip_suffix(".sls")?;
            Some(f.strip_suffix("/init").unwrap_or(f).replace('/', "."))
        })
        .collect();
    names.into_iter().collect()
}

/// The fileserver's prefix filter: the prefix loses its slashes first, so
/// `prefix='users/files/user/'` keeps `users/files/user` itself.
pub fn with_prefix<'a>(items: &'a BTreeSet<String>, prefix: &str) -> Vec<&'a String> {
    let prefix = prefix.trim_matches('/');
    items.iter().filter(|i| i.starts_with(prefix)).collect()
}
