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

    fn salt_path(url: &str) -> Option<&str> {
        url.strip_prefix("salt://")
            .map(|p| p.split('?').next().unwrap_or(p))
    }

    fn resolve(&self, url: &str) -> Result<PathBuf, StateError> {
        match Self::salt_path(url) {
            Some(rel) => self.renderer.find(rel).ok_or_else(|| {
                StateError::host(format!("Source file {url} not found in saltenv 'base'"))
            }),
            None if url.starts_with('/') => Ok(PathBuf::from(url)),
            None => Err(StateError::args(format!(
                "unsupported source {url:?}: use salt:// or an absolute path"
            ))),
        }
    }
}

impl Sources for LocalSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        let path = self.resolve(url)?;
        std::fs::read(&path).map_err(|e| StateError::host(format!("cannot read source {url}: {e}")))
    }

    fn render(&self, url: &str, context: &Map<String, Value>) -> Result<String, StateError> {
        let rel = match Self::salt_path(url) {
            Some(rel) => rel.to_string(),
            None => {
                return Err(StateError::args(format!(
                    "templates must come from salt://, got {url:?}"
                )))
            }
        };
        self.renderer
            .render_text_with(&self.session, &rel, None, Some(context))
            .map_err(|e| StateError::host(format!("Unable to render template: {e}")))
    }

    fn list(&self, url: &str) -> Result<Vec<String>, StateError> {
        let rel = Self::salt_path(url)
            .ok_or_else(|| StateError::args(format!("{url:?} is not a salt:// directory")))?;
        let rel = rel.trim_matches('/');
        let mut out = Vec::new();
        for root in self.renderer.roots() {
            let dir = root.join(rel);
            if dir.is_dir() {
                walk(&dir, &dir, &mut out);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn list_dirs(&self, url: &str) -> Result<Vec<String>, StateError> {
        let rel = Self::salt_path(url)
            .ok_or_else(|| StateError::args(format!("{url:?} is not a salt:// directory")))?;
        let missing = || {
            StateError::host(format!(
                "The directory '{}' does not exist on the salt fileserver in saltenv 'base'",
                rel.trim_matches('/')
            ))
        };
        // Normalised like any salt:// name, and the directory must really be
        // under its root, so `..` or a symlink cannot leave the roots.
        let clean = common::render::clean_name(rel).ok_or_else(missing)?;
        let mut found = false;
        let mut out = Vec::new();
        for root in self.renderer.roots() {
            let (Ok(real_root), Ok(dir)) = (root.canonicalize(), root.join(&clean).canonicalize())
            else {
                continue;
            };
            if dir.starts_with(&real_root) && dir.is_dir() {
                found = true;
                walk_dirs(&dir, &dir, &mut out);
            }
        }
        if !found {
            return Err(missing());
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
