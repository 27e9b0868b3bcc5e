//! Template names → files under the roots, refusing anything that leaves them.
use std::path::{Component, Path, PathBuf};

/// Normalises a template name (`salt://` and leading `/` dropped, `.` removed);
/// `None` when it would leave the root (`..` past the top, NUL).
pub fn clean_name(name: &str) -> Option<String> {
    let name = name.strip_prefix("salt://").unwrap_or(name);
    if name.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for comp in Path::new(name.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(p) => parts.push(p.to_str()?),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

/// Resolves a name relative to the including template when it starts with
/// `./` or `../`, as Salt's loader does; other names are relative to the root.
pub fn join(name: &str, parent: &str) -> String {
    if name.starts_with("./") || name.starts_with("../") {
        let dir = parent.rsplit_once('/').map_or("", |(d, _)| d);
        let joined = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        clean_name(&joined).unwrap_or_else(|| name.to_string())
    } else {
        name.to_string()
    }
}

/// Finds template and SLS files under a set of roots, remembering every answer:
/// resolving a path costs several syscalls, and a compile asks for the same
/// files many times. The roots are fixed for the life of a finder, so a tree
/// that changes on disk needs a new finder (a new `Renderer`).
#[derive(Debug, Default)]
pub struct Finder {
    roots: Vec<PathBuf>,
    /// The roots as real paths; a root that does not exist is left out.
    real_roots: Vec<PathBuf>,
    cache: std::sync::Mutex<std::collections::HashMap<String, Option<PathBuf>>>,
}

impl Finder {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        let real_roots = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
        Finder {
            roots,
            real_roots,
            cache: Default::default(),
        }
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The first root holding `name` as a regular file. Symlinks are followed
    /// only while the target stays inside that root.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(name) {
            return hit.clone();
        }
        let found = self.lookup(name);
        cache.insert(name.to_string(), found.clone());
        found
    }

    fn lookup(&self, name: &str) -> Option<PathBuf> {
        let clean = clean_name(name)?;
        if clean.is_empty() {
            return None;
        }
        self.real_roots.iter().find_map(|root| {
            let real = root.join(&clean).canonicalize().ok()?;
            (real.starts_with(root) && real.is_file()).then_some(real)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_root() {
        assert_eq!(clean_name("a/../b.sls").as_deref(), Some("b.sls"));
        assert_eq!(clean_name("../etc/passwd"), None);
        assert_eq!(
            clean_name("salt://web/map.jinja").as_deref(),
            Some("web/map.jinja")
        );
        assert_eq!(clean_name("/web/x").as_deref(), Some("web/x"));
        assert_eq!(clean_name("a\0b"), None);
    }

    #[test]
    fn relative_names_join_to_the_parent_dir() {
        assert_eq!(join("./map.jinja", "web/init.sls"), "web/map.jinja");
        assert_eq!(
            join("../common/x.jinja", "web/sub/init.sls"),
            "web/common/x.jinja"
        );
        assert_eq!(join("web/map.jinja", "top.sls"), "web/map.jinja");
    }

    #[test]
    fn find_refuses_symlinks_out_of_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        std::fs::write(root.path().join("ok.sls"), "a: 1").unwrap();
        let finder = Finder::new(vec![root.path().to_path_buf()]);
        assert!(finder.find("ok.sls").is_some());
        assert!(finder.find("link").is_none());
        assert!(finder.find("../secret").is_none());
    }
}
