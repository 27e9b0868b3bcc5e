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

#[test]
fn tar_gz_is_extracted_then_present() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let args = json!({"source": source});

    let (changes, comment) = change(f.check(args.clone()).unwrap());
    assert_eq!(comment, format!("Archive {source} would be extracted to /opt/www/, due to absence of one or more files/dirs"));
    assert_eq!(
        Value::Object(changes),
        json!({"directories_created": ["/opt/www/"], "extracted_files": NAMES})
    );

    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.comment,
        format!("{source} extracted to /opt/www/, due to absence of one or more files/dirs")
    );
    assert_eq!(
        Value::Object(applied.changes.unwrap()),
        json!({"directories_created": ["/opt/www/"], "extracted_files": NAMES})
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    let run = f.root.join("opt/www/app-1.0/bin/run");
    assert_eq!(
        std::fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(
        std::fs::read_link(f.root.join("opt/www/app-1.0/current")).unwrap(),
        Path::new("bin")
    );

    assert_eq!(
        clean(f.check(args).unwrap()),
        "All files in archive are already present"
    );
}

#[test]
fn tar_xz_and_bz2_from_salt_sources() {
    let f = fixture();
    std::fs::write(f.files.join("app.tar.xz"), xz(&tar_bytes(APP))).unwrap();
    std::fs::write(f.files.join("app.tbz2"), bzip(&tar_bytes(APP))).unwrap();
    let applied = f.apply(json!({"source": "salt://app.tar.xz"}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/bin/run"), "#!/bin/sh\n");
    clean(f.check(json!({"source": "salt://app.tar.xz"})).unwrap());

    let applied = f.apply(json!({"source": "salt://app.tbz2", "name": "/opt/other"}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/other/app-1.0/README"), "hello\n");

    let missing = fail(f.check(json!({"source": "salt://nope.tar.gz"})).unwrap());
    assert_eq!(
        missing,
        "Source file salt://nope.tar.gz not found in saltenv 'base'"
    );
}

#[test]
fn zip_is_extracted_with_modes_and_links() {
    let f = fixture();
    let source = f.local("app.zip", &zip_bytes(APP));
    let applied = f.apply(json!({"source": source}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    let run = f.root.join("opt/www/app-1.0/bin/run");
    assert_eq!(
        std::fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(
        std::fs::symlink_metadata(f.root.join("opt/www/app-1.0/current"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    clean(f.check(json!({"source": source})).unwrap());
}

#[test]
fn hostile_archives_are_refused_and_change_nothing() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("opt/www")).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot.tar.gz",
            gzip(&tar_bytes(&[
                Dir("app/"),
                File("app/../../evil", "x", 0o644),
            ])),
        ),
        ("abs.tar", tar_bytes(&[File("/etc/evil", "x", 0o644)])),
        (
            "link.tar.xz",
            xz(&tar_bytes(&[
                Dir("app/"),
                Symlink("app/link", "../../outside"),
                File("app/link/evil", "x", 0o644),
            ])),
        ),
        (
            "abslink.tar",
            tar_bytes(&[Dir("app/"), Symlink("app/etc", "/etc")]),
        ),
        (
            "chain.tar",
            tar_bytes(&[
                Dir("app/"),
                Symlink("app/here", "."),
                Symlink("app/up", "here/../.."),
            ]),
        ),
        (
            "hard.tar",
            tar_bytes(&[Dir("app/"), Hardlink("app/passwd", "../../etc/passwd")]),
        ),
        (
            "dotdot.zip",
            zip_bytes(&[Dir("app/"), File("app/../../evil", "x", 0o644)]),
        ),
        (
            "link.zip",
            zip_bytes(&[Dir("app/"), Symlink("app/link", "../../../tmp")]),
        ),
    ];
    for (name, bytes) in cases {
        let source = f.local(name, &bytes);
        let before = snapshot(&f.root);
        let msg = fail(
            f.check(json!({"source": source, "enforce_toplevel": false}))
                .unwrap(),
        );
        assert!(
            msg.contains("was refused and nothing was extracted"),
            "{name}: {msg}"
        );
        assert_eq!(before, snapshot(&f.root), "{name}");
    }
    assert!(!f.root.join("evil").exists());
    assert!(!f.root.join("opt/evil").exists());
}

#[test]
fn a_symlink_already_on_disk_cannot_lead_outside() {
    let f = fixture();
    std::fs::create_dir_all(f.root.join("opt/www")).unwrap();
    std::fs::create_dir_all(f.root.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(f.root.join("elsewhere"), f.root.join("opt/www/app-1.0")).unwrap();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    // A symlink where the archive has a directory is the wrong type...
    let msg = fail(f.check(json!({"source": source})).unwrap());
    assert!(msg.ends_with("\n\n- app-1.0/"), "{msg}");
    // ...and `force` replaces the link itself, never writing through it.
    let applied = f.apply(json!({"source": source, "force": true}));
    assert!(applied.result, "{}", applied.comment);
    assert!(f.root.join("opt/www/app-1.0").is_dir());
    assert!(!std::fs::symlink_metadata(f.root.join("opt/www/app-1.0"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_dir(f.root.join("elsewhere")).unwrap().count(),
        0
    );

    // Had it been written (a race, or a path the listing did not name), the
    // extraction itself refuses to go through it.
    let listing = super::entries::list(&tar_bytes(APP), super::entries::Format::Tar, 0).unwrap();
    std::fs::remove_dir_all(f.root.join("opt/www/app-1.0")).unwrap();
    std::os::unix::fs::symlink(f.root.join("elsewhere"), f.root.join("opt/www/app-1.0")).unwrap();
    assert_eq!(
        super::extract::escapes_on_disk(&f.root.join("opt/www"), &listing).as_deref(),
        Some("app-1.0")
    );
    let err = super::extract::extract(
        &HostWrite::new(f.host()),
        &tar_bytes(APP),
        super::entries::Format::Tar,
        0,
        &f.root.join("opt/www"),
    );
    assert!(
        matches!(err, Err(super::entries::ArchiveError::Unsafe(_))),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read_dir(f.root.join("elsewhere")).unwrap().count(),
        0
    );
}

#[test]
fn enforce_toplevel_as_salt() {
    let f = fixture();
    let bomb = f.local(
        "bomb.tar",
        &tar_bytes(&[File("a/x", "1", 0o644), File("b/y", "2", 0o644)]),
    );
    assert_eq!(
        fail(f.check(json!({"source": bomb})).unwrap()),
        "Archive does not have a single top-level directory. To allow this archive to be extracted, set 'enforce_toplevel' to False. To avoid a 'tar-bomb' it may also be advisable to set a top-level directory by adding it to the 'name' value (for example, setting 'name' to /opt/www/some_dir instead of /opt/www/)."
    );
    let loose = f.local("loose.zip", &zip_bytes(&[File("x", "1", 0o644)]));
    assert!(fail(f.check(json!({"source": loose})).unwrap()).contains("'zip-bomb'"));
    let applied = f.apply(json!({"source": bomb, "enforce_toplevel": false}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/b/y"), "2");
}

#[test]
fn if_missing_and_source_hash() {
    let f = fixture();
    let bytes = gzip(&tar_bytes(APP));
    let source = f.local("app.tar.gz", &bytes);
    std::fs::write(f.root.join("srv/flag"), "").unwrap();
    assert_eq!(
        clean(
            f.check(json!({"source": source, "if_missing": "/srv/flag"}))
                .unwrap()
        ),
        "Path /srv/flag exists"
    );
    assert_eq!(
        fail(
            f.check(json!({"source": source, "if_missing": "srv/flag"}))
                .unwrap()
        ),
        "Value for 'if_missing' is not an absolute path"
    );

    let sha = super::hash::digest("sha256", &bytes);
    let md5 = super::hash::digest("md5", &bytes);
    change(
        f.check(json!({"source": source, "source_hash": format!("sha256={sha}")}))
            .unwrap(),
    );
    change(
        f.check(json!({"source": source, "source_hash": md5}))
            .unwrap(),
    );
    let wrong = "0".repeat(64);
    assert_eq!(
        fail(
            f.check(json!({"source": source, "source_hash": wrong}))
                .unwrap()
        ),
        format!("{source} does not match the desired source_hash {wrong}")
    );
    change(
        f.check(json!({"source": source, "source_hash": wrong, "skip_verify": true}))
            .unwrap(),
    );
    std::fs::write(
        f.root.join("srv/SHA256SUMS"),
        format!("{wrong}  other.tar.gz\n{sha}  app.tar.gz\n"),
    )
    .unwrap();
    change(
        f.check(json!({"source": source, "source_hash": "/srv/SHA256SUMS"}))
            .unwrap(),
    );
    assert!(fail(
        f.check(json!({"source": source, "source_hash": "sha256=xyz"}))
            .unwrap()
    )
    .starts_with("Source hash sha256=xyz format is invalid."));
}

#[test]
fn overwrite_clean_and_source_hash_update() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    f.apply(json!({"source": source}));
    std::fs::write(f.root.join("opt/www/app-1.0/README"), "edited\n").unwrap();
    std::fs::write(f.root.join("opt/www/app-1.0/stray"), "x").unwrap();
    // Every path is there: nothing to do, as Salt.
    clean(f.check(json!({"source": source})).unwrap());

    let sha = super::hash::digest(
        "sha256",
        &std::fs::read(f.root.join("srv/app.tar.gz")).unwrap(),
    );
    let args = json!({"source": source, "source_hash": sha, "source_hash_update": true});
    let (_, comment) = change(f.check(args.clone()).unwrap());
    assert!(
        comment.ends_with(", due to source_hash update"),
        "{comment}"
    );
    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    clean(f.check(args).unwrap());

    std::fs::write(f.root.join("opt/www/app-1.0/README"), "edited\n").unwrap();
    let applied = f.apply(json!({"source": source, "overwrite": true, "clean": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["removed"],
        json!(["/opt/www/app-1.0/"])
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
    assert!(!f.root.join("opt/www/app-1.0/stray").exists());
}

#[test]
fn wrong_types_need_force() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    std::fs::create_dir_all(f.root.join("opt/www/app-1.0/README")).unwrap();
    let msg = fail(f.check(json!({"source": source})).unwrap());
    assert_eq!(msg, "The below paths (relative to /opt/www/) exist, but are the incorrect type (file instead of directory, symlink instead of file, etc.). To proceed with extraction, set 'force' to True. Note that this will remove these paths before extracting.\n\n- app-1.0/README");
    let applied = f.apply(json!({"source": source, "force": true}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["removed"],
        json!(["/opt/www/app-1.0/README"])
    );
    assert_eq!(f.read("/opt/www/app-1.0/README"), "hello\n");
}

#[test]
fn options_and_trim_output() {
    let f = fixture();
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let applied = f.apply(
        json!({"source": source, "options": "--strip-components=1", "enforce_toplevel": false}),
    );
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(f.read("/opt/www/README"), "hello\n");
    clean(f.check(json!({"source": source, "options": "v --strip-components 1", "enforce_toplevel": false})).unwrap());
    let msg = fail(
        f.check(json!({"source": source, "options": "--to-command=sh"}))
            .unwrap(),
    );
    assert!(
        msg.starts_with("The tar option '--to-command=sh' is not supported"),
        "{msg}"
    );

    let many: Vec<String> = (0..5).map(|i| format!("d/f{i}")).collect();
    let members: Vec<Member> = many.iter().map(|n| File(n, "x", 0o644)).collect();
    let zip = f.local("many.zip", &zip_bytes(&members));
    let applied = f.apply(json!({"source": zip, "name": "/opt/many", "trim_output": 2}));
    assert!(applied.result, "{}", applied.comment);
    assert_eq!(
        applied.changes.unwrap()["extracted_files"],
        json!(["d/f0", "d/f1", "List trimmed after 2 files."])
    );
    assert!(applied
        .comment
        .ends_with(". Output was trimmed to 2 number of lines"));
}

#[test]
fn bad_sources_and_names() {
    let f = fixture();
    assert_eq!(
        fail(f.check(json!({"source": "/srv/missing.tar.gz"})).unwrap()),
        "Source file '/srv/missing.tar.gz' does not exist"
    );
    assert!(fail(
        f.check(json!({"source": "https://example.com/a.tar.gz"}))
            .unwrap()
    )
    .starts_with("Source 'https://example.com/a.tar.gz' is not supported"));
    assert_eq!(
        fail(f.check(json!({"source": "/srv/x", "name": "opt"})).unwrap()),
        "opt is not an absolute path"
    );
    let source = f.local("app.bin", &gzip(&tar_bytes(APP)));
    assert!(fail(f.check(json!({"source": source})).unwrap())
        .starts_with("Could not guess archive_format"));
    change(
        f.check(json!({"source": source, "archive_format": "tar"}))
            .unwrap(),
    );
    let junk = f.local("junk.zip", b"not a zip at all");
    assert!(fail(f.check(json!({"source": junk})).unwrap())
        .starts_with("Unable to list contents of /srv/junk.zip"));
    assert_eq!(
        fail(
            f.check(
                json!({"source": source, "archive_format": "tar", "user": "no-such-user-brine"})
            )
            .unwrap()
        ),
        "User no-such-user-brine does not exist"
    );
    std::fs::write(f.root.join("srv/file"), "").unwrap();
    assert_eq!(
        fail(
            f.check(json!({"source": source, "name": "/srv/file"}))
                .unwrap()
        ),
        "/srv/file exists and is not a directory"
    );
}

/// A user and a group that exist only in the fixture root's account files
/// (ids no real host gives out), so only a root-aware lookup finds them.
fn root_only_accounts(root: &Path) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/passwd"),
        "brine-only:x:64201:64202::/home/brine-only:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(root.join("etc/group"), "brine-grp:x:64203:\n").unwrap();
}

#[test]
fn owners_are_looked_up_in_the_roots_account_files() {
    let f = fixture();
    root_only_accounts(&f.root);
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    // Known only to the root: resolved.
    let args = json!({"source": source, "user": "brine-only", "group": "brine-grp"});
    change(f.check(args).unwrap());
    // Known to this host (NSS) but not to the root: not resolved.
    assert_eq!(
        fail(f.check(json!({"source": source, "user": "root"})).unwrap()),
        "User root does not exist"
    );
    assert_eq!(
        fail(f.check(json!({"source": source, "group": "root"})).unwrap()),
        "Group root does not exist"
    );
}

#[test]
fn user_and_group_own_the_extracted_tree() {
    // Changing owners needs root; elsewhere there is nothing to check.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let f = fixture();
    root_only_accounts(&f.root);
    let (nobody, nogroup) = ((64201, 64202), 64203);
    let source = f.local("app.tar.gz", &gzip(&tar_bytes(APP)));
    let args = json!({"source": source, "user": "brine-only", "group": "brine-grp"});
    let (changes, _) = change(f.check(args.clone()).unwrap());
    assert_eq!(changes["updated ownership"], json!(true));
    let applied = f.apply(args.clone());
    assert!(applied.result, "{}", applied.comment);
    for path in [
        "opt/www/app-1.0",
        "opt/www/app-1.0/bin/run",
        "opt/www/app-1.0/current",
    ] {
        let meta = std::fs::symlink_metadata(f.root.join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (nobody.0, nogroup), "{path}");
    }
    clean(f.check(args.clone()).unwrap());

    std::os::unix::fs::lchown(f.root.join("opt/www/app-1.0/README"), Some(0), Some(0)).unwrap();
    let (changes, comment) = change(f.check(args.clone()).unwrap());
    assert_eq!(Value::Object(changes), json!({"updated ownership": true}));
    assert_eq!(comment, "All files in archive are already present. Ownership would be updated on one or more files/directories.");
    let applied = f.apply(args.clone());
    assert_eq!(applied.comment, "All files in archive are already present");
    clean(f.check(args).unwrap());
}

#[test]
fn registered_in_the_registry() {
    let names: Vec<_> = super::super::registry().iter().map(|m| m.name()).collect();
    assert!(
        names.contains(&"archive") && names.contains(&"git"),
        "{names:?}"
    );
}
