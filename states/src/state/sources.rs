//! `salt://` sources and templates from local file_roots (masterless mode),
//! each read in the saltenv its URL names (`?saltenv=`, else `base`);
//! `http(s)://` ones through the run's `RemoteFiles` when it has one.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{Renderer, Session};
use common::saltenvs::{env_vars, Saltenvs};

use super::host::Sources;
use super::source_hash::SourceSum;
use super::StateError;
use crate::remote::RemoteFiles;

/// Sources read from this host's file_roots, templates rendered with the
/// minion's session (grains, pillar, host probe).
pub struct LocalSources {
    saltenvs: Saltenvs,
    session: Arc<Session>,
    remote: Option<Arc<RemoteFiles>>,
}

impl LocalSources {
    /// Saltenv `base` only.
    pub fn new(renderer: Arc<Renderer>, session: Arc<Session>) -> Self {
        LocalSources::with_saltenvs(Saltenvs::single("base", renderer), session)
    }

    /// Every configured saltenv.
    pub fn with_saltenvs(saltenvs: Saltenvs, session: Arc<Session>) -> Self {
        LocalSources {
            saltenvs,
            session,
            remote: None,
        }
    }

    /// http(s) sources through `remote` (one per run: it remembers what
    /// the run downloaded).
    pub fn with_remote(mut self, remote: RemoteFiles) -> Self {
        self.remote = Some(Arc::new(remote));
        self
    }

    /// The saltenv a URL is read in, and its renderer.
    fn env_of<'u>(&self, url: &'u str) -> Result<(&'u str, &Renderer), StateError> {
        let env = common::salt_url::saltenv(url).unwrap_or("base");
        match self.saltenvs.get(env) {
            Some(r) => Ok((env, &**r)),
            None => Err(StateError::host(format!(
                "{} (for {})",
                common::saltenvs::not_configured(env),
                common::untrusted::shown(url)
            ))),
        }
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
        let (env, renderer) = self.env_of(url)?;
        renderer.find(rel).ok_or_else(|| {
            StateError::host(format!("Source file {url} not found in saltenv '{env}'"))
        })
    }

    /// Each root's directory `rel`, when it really is a directory inside
    /// that root (a symlink out of the root does not count).
    fn dirs_under_roots(&self, renderer: &Renderer, rel: &str) -> Vec<PathBuf> {
        let Some(clean) = common::render::clean_name(rel) else {
            return Vec::new();
        };
        renderer
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
        if crate::remote::is_remote(url) {
            return self.fetch_remote(url, None);
        }
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

    fn fetch_remote(&self, url: &str, expected: Option<&SourceSum>) -> Result<Vec<u8>, StateError> {
        match &self.remote {
            Some(remote) => remote.fetch(url, expected),
            None => Err(StateError::host(format!(
                "Error: http(s) sources are not available here (reading {})",
                crate::remote::redact(url)
            ))),
        }
    }

    fn render(&self, url: &str, context: &Map<String, Value>) -> Result<String, StateError> {
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "templates must come from salt://, got {url:?}"
            )));
        }
        let rel = Self::salt_path(url)?;
        let (env, renderer) = self.env_of(url)?;
        // The file's saltenv under the state's context, which may name its own.
        let vars = env_vars(env, Some(context));
        renderer
            .render_text_with(&self.session, rel, None, Some(&vars))
            .map_err(|e| StateError::host(format!("Unable to render template: {e}")))
    }

    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        if !url.starts_with("salt://") {
            return Err(StateError::args(format!(
                "{url:?} is not a salt:// directory"
            )));
        }
        let rel = Self::salt_path(url)?;
        let (_, renderer) = self.env_of(url)?;
        let mut out = Vec::new();
        for dir in self.dirs_under_roots(renderer, rel) {
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
        let (env, renderer) = self.env_of(url)?;
        let dirs = self.dirs_under_roots(renderer, rel);
        if dirs.is_empty() {
            return Err(StateError::host(format!(
                "The directory '{}' does not exist on the salt fileserver in saltenv '{env}'",
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

/// A chunk whose `salt://` URLs name its saltenv: the state's `saltenv`
/// argument, else the saltenv its SLS came from (`__env__`), as Salt's
/// states default `saltenv` to `__env__`. `None` for a chunk of `base`,
/// whose URLs already say all they mean.
pub fn chunk_in_saltenv(chunk: &Map<String, Value>) -> Option<Map<String, Value>> {
    let env = chunk
        .get("saltenv")
        .and_then(Value::as_str)
        .or_else(|| chunk.get("__env__").and_then(Value::as_str))
        .filter(|e| *e != "base")?;
    fn rewrite(v: &mut Value, env: &str) {
        match v {
            Value::String(s) if s.starts_with("salt://") => {
                *s = common::salt_url::in_env(s, env);
            }
            Value::Array(items) => items.iter_mut().for_each(|x| rewrite(x, env)),
            Value::Object(m) => m.values_mut().for_each(|x| rewrite(x, env)),
            _ => {}
        }
    }
    let mut out = chunk.clone();
    for (k, v) in out.iter_mut() {
        if !k.starts_with("__") {
            rewrite(v, env);
        }
    }
    Some(out)
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

    /// A session with no grains, pillar or host, in saltenv `base`.
    fn empty_session() -> Arc<Session> {
        let empty = Value::Object(Map::new());
        Arc::new(Session::new(
            &empty,
            &empty,
            &empty,
            "base",
            Arc::new(NoHost),
        ))
    }

    fn sources(root: &Path) -> LocalSources {
        let renderer = Arc::new(Renderer::new(vec![root.to_path_buf()]));
        LocalSources::new(renderer, empty_session())
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
    fn each_url_is_read_in_its_saltenv() {
        let base = tempfile::tempdir().unwrap();
        let prod = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("motd"), "base motd").unwrap();
        std::fs::write(prod.path().join("motd"), "prod motd {{ saltenv }}").unwrap();
        let roots = common::config::EnvRoots(vec![
            ("base".into(), vec![base.path().to_path_buf()]),
            ("prod".into(), vec![prod.path().to_path_buf()]),
        ]);
        let session = empty_session();
        let s = LocalSources::with_saltenvs(Saltenvs::new(&roots), session);
        assert_eq!(s.fetch("salt://motd").unwrap(), b"base motd");
        assert_eq!(
            s.fetch("salt://motd?saltenv=prod").unwrap(),
            b"prod motd {{ saltenv }}"
        );
        assert_eq!(
            s.render("salt://motd?saltenv=prod", &Map::new()).unwrap(),
            "prod motd prod"
        );
        let e = s.fetch("salt://motd?saltenv=qa").unwrap_err().to_string();
        assert!(
            e.contains("No matching salt environment for environment 'qa'"),
            "{e}"
        );
    }

    #[test]
    fn a_chunk_of_another_saltenv_names_it_in_its_urls() {
        let chunk = |v: Value| v.as_object().unwrap().clone();
        let base = chunk(serde_json::json!({"__env__": "base", "source": "salt://a"}));
        assert_eq!(chunk_in_saltenv(&base), None);
        let prod = chunk(serde_json::json!({
            "__env__": "prod", "__sls__": "salt://x",
            "source": "salt://a", "sources": ["salt://b?saltenv=base", "/abs"]
        }));
        let got = chunk_in_saltenv(&prod).unwrap();
        assert_eq!(got["source"], "salt://a?saltenv=prod");
        assert_eq!(got["sources"], serde_json::json!(["salt://b", "/abs"]));
        assert_eq!(got["__sls__"], "salt://x");
        let by_arg =
            chunk(serde_json::json!({"__env__": "base", "saltenv": "dev", "source": "salt://a"}));
        assert_eq!(
            chunk_in_saltenv(&by_arg).unwrap()["source"],
            "salt://a?saltenv=dev"
        );
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
