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

/// The first root that has `name` as a regular file (symlinks are followed
/// only when the target is still inside that root).
pub fn find(roots: &[PathBuf], name: &str) -> Option<PathBuf> {
    let clean = clean_name(name)?;
    if clean.is_empty() {
        return None;
    }
    for root in roots {
        let candidate = root.join(&clean);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let (Ok(real), Ok(real_root)) = (candidate.canonicalize(), root.canonicalize()) else {
            continue;
        };
        if real.starts_with(&real_root) {
            return Some(candidate);
        }
    }
    None
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
        let roots = vec![root.path().to_path_buf()];
        assert!(find(&roots, "ok.sls").is_some());
        assert!(find(&roots, "link").is_none());
        assert!(find(&roots, "../secret").is_none());
    }
}
