//! `salt://` sources and templates from local file_roots (masterless mode).
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{Renderer, Session};

use super::host::Sources;
use super::StateError;

/// Sources read from this host's file_roots, templates rendered with the
/// minion's session (grains, pillar, host probe).
pub struct LocalSources {
    renderer: Arc<Renderer>,
    session: Arc<Session>,
}

impl LocalSources {
    pub fn new(renderer: Arc<Renderer>, session: Arc<Session>) -> Self {
        LocalSources { renderer, session }
    }

    /// The path of a `salt://` URL; a URL that could leave the roots is
    /// refused by name (see `common::salt_url`).
    fn salt_path(url: &str) -> Result<&str, StateError> {
        common::salt_url::path(url).map_err(|e| StateError::args(e.to_string()))
    }

    fn resolve(&self, url: &str) -> Result<PathBuf, StateError> {
        if url.starts_with('/') {
            return Ok(PathBuf::from(url));
        }
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "unsupported source {url:?}: use salt:// or an absolute path"
            )));
        }
        let rel = Self::salt_path(url)?;
        self.renderer.find(rel).ok_or_else(|| {
            StateError::host(format!("Source file {url} not found in saltenv 'base'"))
        })
    }

    /// Each root's directory `rel`, when it really is a directory inside
    /// that root (a symlink out of the root does not count).
    fn dirs_under_roots(&self, rel: &str) -> Vec<PathBuf> {
        let Some(clean) = common::render::clean_name(rel) else {
            return Vec::new();
        };
        self.renderer
            .roots()
            .iter()
            .filter_map(|root| {
                let real_root = root.canonicalize().ok()?;
                let dir = root.join(&clean).canonicalize().ok()?;
                (dir.starts_with(&real_root) && dir.is_dir()).then_some(dir)
            })
            .collect()
    }
}

impl Sources for LocalSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        let path = self.resolve(url)?;
        // A salt:// file is read only if it is a regular file: a FIFO or a
        // device in the roots must not hang the reader.
        let read = if url.starts_with("salt://") {
            common::files::read_regular(&path)
        } else {
            std::fs::read(&path)
        };
        read.map_err(|e| StateError::host(format!("cannot read source {url}: {e}")))
    }

    fn render(&self, url: &str, context: &Map<String, Value>) -> Result<String, StateError> {
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "templates must come from salt://, got {url:?}"
            )));
        }
        let rel = Self::salt_path(url)?;
        self.renderer
            .render_text_with(&self.session, rel, None, Some(context))
            .map_err(|e| StateError::host(format!("Unable to render template: {e}")))
    }

    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "{url:?} is not a salt:// directory"
            )));
        }
        let rel = Self::salt_path(url)?;
        let mut out = Vec::new();
        for dir in self.dirs_under_roots(rel) {
            walk(&dir, &dir, &mut out);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn list_dirs(&self, url: &str) -> Result<Vec<String>, StateError> {
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "{url:?} is not a salt:// directory"
            )));
        }
        let rel = Self::salt_path(url)?;
        let dirs = self.dirs_under_roots(rel);
        if dirs.is_empty() {
            return Err(StateError::host(format!(
                "The directory '{}' does not exist on the salt fileserver in saltenv 'base'",
                rel.trim_matches('/')
            )));
        }
        let mut out = Vec::new();
        for dir in dirs {
            walk_dirs(&dir, &dir, &mut out);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

fn walk_dirs(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|ft| ft.is_dir()) {
            if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.to_string_lossy().into_owned());
            }
            walk_dirs(base, &path, out);
        }
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(ft) if ft.is_dir() => walk(base, &path, out),
            Ok(ft) if ft.is_file() => {
                if let Ok(rel) = path.strip_prefix(base) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::render::NoHost;

    fn sources(root: &Path) -> LocalSources {
        let renderer = Arc::new(Renderer::new(vec![root.to_path_buf()]));
        let empty = Value::Object(Map::new());
        let session = Arc::new(Session::new(
            &empty,
            &empty,
            &empty,
            "base",
            Arc::new(NoHost),
        ));
        LocalSources::new(renderer, session)
    }

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    /// A root with `ok.txt`, `sub/a.txt`, a symlink `etc` → an outside
    /// directory holding `passwd`, a symlink `zero` → /dev/zero and a FIFO.
    fn hostile_root() -> (tempfile::TempDir, tempfile::TempDir) {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "root:x:0:0").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::write(r.join("ok.txt"), "ok").unwrap();
        std::fs::create_dir(r.join("sub")).unwrap();
        std::fs::write(r.join("sub/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("etc")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", r.join("zero")).unwrap();
        mkfifo(&r.join("fifo"));
        (root, outside)
    }

    #[test]
    fn urls_that_leave_the_root_are_refused_by_every_operation() {
        let (root, outside) = hostile_root();
        let s = sources(root.path());
        assert_eq!(s.fetch("salt://ok.txt").unwrap(), b"ok");
        let up = format!(
            "salt://../{}/passwd",
            outside.path().file_name().unwrap().to_str().unwrap()
        );
        for url in [
            up.as_str(),
            "salt://../../../../etc/passwd",
            "salt:///etc/passwd",
            "salt://sub/../../x",
            "salt://ok.txt\0",
            "salt://a\0b",
        ] {
            let e = s.fetch(url).unwrap_err().to_string();
            assert!(e.contains("refused"), "{url:?}: {e}");
            assert!(!e.contains('\0'), "{e:?}");
            assert!(s.render(url, &Map::new()).is_err(), "{url:?}");
        }
        for url in [
            "salt://..",
            "salt://../..",
            "salt:///etc",
            "salt://sub/../..",
        ] {
            let e = s.list(url).unwrap_err().to_string();
            assert!(e.contains("refused"), "{url}: {e}");
            assert!(s.list_dirs(url).is_err(), "{url}");
        }
    }

    #[test]
    fn symlinks_out_of_the_root_fifos_and_devices_are_not_served() {
        let (root, _outside) = hostile_root();
        let s = sources(root.path());
        for url in ["salt://etc/passwd", "salt://zero", "salt://fifo"] {
            let e = s.fetch(url).unwrap_err().to_string();
            assert!(e.contains("not found"), "{url}: {e}");
            assert!(s.render(url, &Map::new()).is_err(), "{url}");
        }
        // The symlinked directory is not listed, neither are the special files.
        assert_eq!(s.list("salt://etc").unwrap(), Vec::<String>::new());
        assert!(s.list_dirs("salt://etc").is_err());
        assert_eq!(s.list("salt://").unwrap(), vec!["ok.txt", "sub/a.txt"]);
        assert_eq!(s.list("salt://sub").unwrap(), vec!["a.txt"]);
    }

    #[test]
    fn percent_encoding_is_never_decoded() {
        let (root, _outside) = hostile_root();
        let s = sources(root.path());
        let e = s.fetch("salt://%2e%2e/%2e%2e/etc/passwd").unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
        std::fs::write(root.path().join("%2e%2e"), "literal").unwrap();
        assert_eq!(s.fetch("salt://%2e%2e").unwrap(), b"literal");
    }
}
