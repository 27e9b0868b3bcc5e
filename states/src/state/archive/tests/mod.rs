//! `archive.extracted` on archives built here (tar.gz, tar.xz, tar.bz2,
//! zip), hostile ones included, extracted under a temp root.
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::data::{Map, Value};
use serde_json::json;

use super::super::{Applied, Args, Check, HostRead, HostWrite, Sources, StateError, StateModule};
use super::Archive;

mod extracting;
mod refusing;

/// `salt://x` is the file `x` under a directory.
struct DirSources(PathBuf);

impl Sources for DirSources {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, StateError> {
        let rel = url
            .strip_prefix("salt://")
            .ok_or_else(|| StateError::args("not salt://"))?;
        std::fs::read(self.0.join(rel))
            .map_err(|_| StateError::host(format!("Source file {url} not found in saltenv 'base'")))
    }
    fn render(&self, url: &str, _: &Map<String, Value>) -> Result<String, StateError> {
        Err(StateError::host(format!("no template {url}")))
    }
    fn list(&self, _: &str) -> Result<Vec<String>, StateError> {
        Ok(Vec::new())
    }
}

/// One member of a test archive.
enum Member<'a> {
    Dir(&'a str),
    File(&'a str, &'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}
use Member::*;

/// A tar with names written verbatim (so hostile names can be made: the
/// tar crate's own path setters refuse `..` and absolute paths).
fn tar_bytes(members: &[Member]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for member in members {
        let mut header = tar::Header::new_gnu();
        let (name, data): (&str, &[u8]) = match member {
            Dir(n) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                (n, b"")
            }
            File(n, content, mode) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                (n, content.as_bytes())
            }
            Symlink(n, target) | Hardlink(n, target) => {
                header.set_entry_type(if matches!(member, Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                header.set_mode(0o777);
                let field = &mut header.as_gnu_mut().unwrap().linkname;
                field[..target.len()].copy_from_slice(target.as_bytes());
                (n, b"")
            }
        };
        let field = &mut header.as_gnu_mut().unwrap().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap()
}

fn bzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn zip_bytes(members: &[Member]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for member in members {
        match member {
            Dir(n) => w.add_directory(*n, opts.unix_permissions(0o755)).unwrap(),
            File(n, content, mode) => {
                w.start_file(*n, opts.unix_permissions(*mode)).unwrap();
                w.write_all(content.as_bytes()).unwrap();
            }
            Symlink(n, target) => w.add_symlink(*n, *target, opts).unwrap(),
            Hardlink(..) => unreachable!("zip has no hard links"),
        }
    }
    w.finish().unwrap().into_inner()
}

const APP: &[Member] = &[
    Dir("app-1.0/"),
    File("app-1.0/README", "hello\n", 0o644),
    Dir("app-1.0/bin/"),
    File("app-1.0/bin/run", "#!/bin/sh\n", 0o755),
    Symlink("app-1.0/current", "bin"),
];

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    files: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let files = dir.path().join("file_roots");
    std::fs::create_dir_all(root.join("srv")).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    Fixture {
        root,
        files,
        _dir: dir,
    }
}

impl Fixture {
    fn host(&self) -> HostRead {
        HostRead::new(self.root.clone(), Arc::new(DirSources(self.files.clone())))
    }

    /// Puts an archive at `/srv/<name>` under the root; returns its path as
    /// the state names it.
    fn local(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.root.join("srv").join(name), bytes).unwrap();
        format!("/srv/{name}")
    }

    fn check(&self, extra: Value) -> Result<Check, StateError> {
        let mut chunk = json!({"state": "archive", "fun": "extracted", "name": "/opt/www"})
            .as_object()
            .unwrap()
            .clone();
        for (k, v) in extra.as_object().unwrap() {
            chunk.insert(k.clone(), v.clone());
        }
        let before = snapshot(&self.root);
        let args = Args::new(&chunk);
        let result = Archive.check("extracted", &args, &self.host());
        assert_eq!(
            args.unknown(),
            Vec::<String>::new(),
            "every argument is read"
        );
        assert_eq!(before, snapshot(&self.root), "check changed the disk");
        result
    }

    fn apply(&self, extra: Value) -> Applied {
        match self.check(extra).unwrap() {
            Check::Change { apply, .. } => apply.apply(&HostWrite::new(self.host())).unwrap(),
            Check::Clean { comment, .. } => panic!("expected a change, got clean: {comment}"),
            Check::Fail { comment, .. } => panic!("expected a change, got failure: {comment}"),
            Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
        }
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path.trim_start_matches('/'))).unwrap()
    }
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let extra = if meta.is_file() {
                format!("{:?}", std::fs::read(&path).unwrap())
            } else if meta.file_type().is_symlink() {
                format!("-> {:?}", std::fs::read_link(&path).unwrap())
            } else {
                String::new()
            };
            out.insert(
                path.clone(),
                format!(
                    "{:?} {:o} {} {}:{} {extra}",
                    meta.file_type(),
                    meta.mode(),
                    meta.mtime(),
                    meta.uid(),
                    meta.gid()
                ),
            );
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

fn change(check: Check) -> (Map<String, Value>, String) {
    match check {
        Check::Change {
            changes, comment, ..
        } => (changes, comment),
        Check::Clean { comment, .. } => panic!("expected a change, got clean: {comment}"),
        Check::Fail { comment, .. } => panic!("expected a change, got failure: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}

fn clean(check: Check) -> String {
    match check {
        Check::Clean { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected clean, got change: {comment}"),
        Check::Fail { comment, .. } => panic!("expected clean, got failure: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}

fn fail(check: Check) -> String {
    match check {
        Check::Fail { comment, .. } => comment,
        Check::Change { comment, .. } => panic!("expected failure, got change: {comment}"),
        Check::Clean { comment, .. } => panic!("expected failure, got clean: {comment}"),
        Check::Reported { comment, .. } => panic!("unexpected report: {comment}"),
    }
}

const NAMES: [&str; 5] = [
    "app-1.0/",
    "app-1.0/README",
    "app-1.0/bin/",
    "app-1.0/bin/run",
    "app-1.0/current",
];
