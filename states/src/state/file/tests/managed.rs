use serde_json::json;

use super::super::fsio::{umask, FAIL_BEFORE_RENAME};
use super::*;

const NOTE: &str = "\nNote: No changes made, actual changes may\nbe different due to other states.";

fn default_mode() -> u32 {
    0o666 & !umask()
}

#[test]
fn contents_create_then_clean_then_diff() {
    let fx = Fixture::new();
    let args = json!({"name": "/etc/motd", "contents": "hello"});
    let seen = fx.seen("managed", args.clone());
    assert_eq!(seen.changes(), &json!({"newfile": "/etc/motd"}));
    assert_eq!(
        seen.comment(),
        format!("The file /etc/motd is set to be changed{NOTE}")
    );

    let done = fx.apply("managed", args.clone());
    assert!(done.result);
    assert_eq!(done.comment, "File /etc/motd updated");
    assert_eq!(applied_changes(&done), json!({"diff": "New file"}));
    assert_eq!(fx.read("/etc/motd"), "hello\n");
    assert_eq!(fx.mode("/etc/motd"), default_mode());

    match fx.check("managed", args).unwrap() {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(comment, "File /etc/motd is in the correct state");
            assert_eq!(
                test_comment.as_deref(),
                Some("The file /etc/motd is in the correct state")
            );
        }
        _ => panic!("second run must be clean"),
    }

    let bye = json!({"name": "/etc/motd", "contents": "bye", "mode": 600});
    let seen = fx.seen("managed", bye.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "--- \n+++ \n@@ -1 +1 @@\n-hello\n+bye\n", "mode": "0600"})
    );
    let done = fx.apply("managed", bye.clone());
    assert_eq!(done.comment, "File /etc/motd updated");
    assert_eq!(
        applied_changes(&done),
        json!({"diff": "--- \n+++ \n@@ -1 +1 @@\n-hello\n+bye\n", "mode": "0600"})
    );
    assert_eq!(
        (fx.read("/etc/motd").as_str(), fx.mode("/etc/motd")),
        ("bye\n", 0o600)
    );
    fx.assert_clean("managed", bye);
    assert!(fx.temp_files().is_empty());
}

#[test]
fn new_file_mode_reports_follow_salt() {
    let fx = Fixture::new();
    fx.write_src("app.conf", "from source\n");
    // Salt creates a source file 0600 and then sets the mode: it reports it.
    let done = fx.apply(
        "managed",
        json!({"name": "/a", "source": "salt://app.conf"}),
    );
    let mut want = json!({"diff": "New file"});
    if default_mode() != 0o600 {
        want["mode"] = json!(format!("{:04o}", default_mode()));
    }
    assert_eq!(applied_changes(&done), want);
    assert_eq!(fx.read("/a"), "from source\n");
    let done = fx.apply(
        "managed",
        json!({"name": "/b", "source": "salt://app.conf", "mode": "0600"}),
    );
    assert_eq!(applied_changes(&done), json!({"diff": "New file"}));
    let done = fx.apply(
        "managed",
        json!({"name": "/c", "contents": "x", "mode": 644}),
    );
    assert_eq!(
        applied_changes(&done),
        json!({"diff": "New file", "mode": "0644"})
    );
    // Nothing to write: an empty file, Salt's "Empty file".
    let done = fx.apply("managed", json!({"name": "/e", "mode": 755}));
    assert_eq!(done.comment, "Empty file");
    assert_eq!(
        applied_changes(&done),
        json!({"new": "file /e created", "mode": "0755"})
    );
    assert_eq!((fx.read("/e").as_str(), fx.mode("/e")), ("", 0o755));
    fx.assert_clean("managed", json!({"name": "/e", "mode": 755}));
}

#[test]
fn template_source_list_and_missing_sources() {
    let fx = Fixture::new();
    fx.write_src(
        "web/site.conf.j2",
        "server {{ name }} for {{ who }} on {{ port }}\n",
    );
    let args = json!({
        "name": "/etc/site.conf",
        "source": ["salt://web/missing.j2", "salt://web/site.conf.j2"],
        "template": "jinja",
        "defaults": {"who": "nobody", "port": 80},
        "context": {"who": "ops"},
    });
    fx.apply("managed", args.clone());
    assert_eq!(
        fx.read("/etc/site.conf"),
        "server /etc/site.conf for ops on 80\n"
    );
    fx.assert_clean("managed", args);

    let seen = fx.seen("managed", json!({"name": "/x", "source": "salt://nope"}));
    assert_eq!(
        seen.comment(),
        "Source file salt://nope not found in saltenv 'base'"
    );
    assert!(seen.is_fail());
    let seen = fx.seen(
        "managed",
        json!({"name": "/x", "source": ["salt://a", "salt://b"]}),
    );
    assert_eq!(
        seen.comment(),
        "Unable to manage file: none of the specified sources were found"
    );
    let seen = fx.seen("managed", json!({"name": "/x", "source": "/srv/local.txt"}));
    assert_eq!(
        seen.comment(),
        "Local file source /srv/local.txt does not exist"
    );
    fx.write("/srv/local.txt", "local\n");
    fx.apply("managed", json!({"name": "/x", "source": "/srv/local.txt"}));
    assert_eq!(fx.read("/x"), "local\n");
    let seen = fx.seen(
        "managed",
        json!({"name": "/y", "source": "ftp://example.invalid/f"}),
    );
    assert!(
        seen.comment().contains("ftp:// sources are not supported"),
        "{seen:?}"
    );
    // A download needs a hash (state::http_sources_tests downloads for real).
    let seen = fx.seen(
        "managed",
        json!({"name": "/y", "source": "https://example.invalid/f"}),
    );
    assert_eq!(
        seen.comment(),
        "Unable to verify upstream hash of source file https://example.invalid/f, please set source_hash or set skip_verify to True"
    );
    let seen = fx.seen(
        "managed",
        json!({"name": "/y", "source": "salt://web/site.conf.j2", "template": "mako"}),
    );
    assert_eq!(
        seen.comment(),
        "Specified template format mako is not supported"
    );
}

#[test]
fn source_hash_is_verified_in_every_form() {
    let fx = Fixture::new();
    fx.write_src("f.txt", "payload\n");
    let sha = super::super::source::HashKind::Sha256.digest(b"payload\n");
    let md5 = super::super::source::HashKind::Md5.digest(b"payload\n");
    for spec in [format!("sha256={sha}"), md5.clone(), format!("md5={md5}")] {
        let seen = fx.seen(
            "managed",
            json!({"name": "/f", "source": "salt://f.txt", "source_hash": spec}),
        );
        assert_eq!(seen.changes(), &json!({"newfile": "/f"}), "{spec}");
    }
    fx.write_src(
        "f.txt.sha256",
        &format!("{sha}  f.txt\n{}  other\n", "0".repeat(64)),
    );
    let args =
        json!({"name": "/f", "source": "salt://f.txt", "source_hash": "salt://f.txt.sha256"});
    fx.apply("managed", args.clone());
    fx.assert_clean("managed", args);

    let bad = format!("sha256={}", "1".repeat(64));
    let seen = fx.seen(
        "managed",
        json!({"name": "/g", "source": "salt://f.txt", "source_hash": bad}),
    );
    assert!(seen.is_fail());
    assert!(
        seen.comment().starts_with(&format!(
            "Specified sha256 checksum for salt://f.txt ({}) does not match actual checksum ({sha})",
            "1".repeat(64)
        )),
        "{seen:?}"
    );
    let seen = fx.seen(
        "managed",
        json!({"name": "/g", "source": "salt://f.txt", "source_hash": "nonsense"}),
    );
    assert!(
        seen.comment().starts_with("Invalid source_hash"),
        "{seen:?}"
    );
}

#[test]
fn replace_false_create_false_and_perms_only() {
    let fx = Fixture::new();
    fx.write("/keep", "mine\n");
    fx.chmod("/keep", 0o644);
    let args = json!({"name": "/keep", "contents": "theirs", "replace": false, "mode": 600});
    let seen = fx.seen("managed", args.clone());
    assert_eq!(seen.changes(), &json!({"mode": "0600"}));
    assert_eq!(
        seen.comment(),
        "File /keep will be updated with permissions 0600 from its current state of 0644"
    );
    let done = fx.apply("managed", args.clone());
    assert_eq!(applied_changes(&done), json!({"mode": "0600"}));
    assert_eq!(
        (fx.read("/keep").as_str(), fx.mode("/keep")),
        ("mine\n", 0o600)
    );
    match fx.check("managed", args).unwrap() {
        Check::Clean {
            comment,
            test_comment,
        } => {
            assert_eq!(
                comment,
                "File /keep exists with proper permissions. No changes made."
            );
            assert_eq!(test_comment.as_deref(), Some("File /keep not updated"));
        }
        _ => panic!("expected clean"),
    }
    let seen = fx.seen(
        "managed",
        json!({"name": "/absent", "contents": "x", "create": false}),
    );
    assert_eq!(
        seen.comment(),
        "File /absent is not present and is not set for creation"
    );
    std::fs::create_dir_all(fx.p("/adir")).unwrap();
    let seen = fx.seen("managed", json!({"name": "/adir", "contents": "x"}));
    assert_eq!(seen.comment(), "Specified target /adir is a directory");
}

#[test]
fn owner_by_name_and_id_and_missing_user_fails_clearly() {
    let fx = Fixture::new();
    let args = json!({"name": "/o", "contents": "x", "user": "deploy", "group": 50});
    let done = fx.apply("managed", args.clone());
    assert_eq!(
        applied_changes(&done),
        json!({"diff": "New file", "user": "deploy", "group": 50})
    );
    assert_eq!(fx.owner("/o"), (DEPLOY, STAFF));
    fx.assert_clean("managed", args);
    let seen = fx.seen(
        "managed",
        json!({"name": "/o", "contents": "x", "user": "root"}),
    );
    assert_eq!(seen.changes(), &json!({"user": "root"}));
    fx.apply(
        "managed",
        json!({"name": "/o", "contents": "x", "user": "root"}),
    );
    assert_eq!(fx.owner("/o"), (0, STAFF));

    // An unknown user is a change in a dry run (an earlier state may create
    // it) and a clear failure when applied.
    let args = json!({"name": "/o", "contents": "x", "user": "ghost"});
    assert_eq!(
        fx.seen("managed", args.clone()).changes(),
        &json!({"user": "ghost"})
    );
    let done = fx.apply("managed", args);
    assert!(!done.result);
    assert_eq!(done.comment, "User ghost is not available");
    assert_eq!(fx.owner("/o"), (0, STAFF));
}

#[test]
fn makedirs_dir_mode_and_missing_parent() {
    let fx = Fixture::new();
    let args = json!({"name": "/opt/app/conf/a.ini", "contents": "k=v", "mode": 640});
    // A dry run cannot know whether an earlier state makes the directory.
    fx.seen("managed", args.clone()).changes();
    let done = fx.apply("managed", args);
    assert!(!done.result);
    assert_eq!(done.comment, "Parent directory not present");
    assert!(!fx.p("/opt").exists());

    let args =
        json!({"name": "/opt/app/conf/a.ini", "contents": "k=v", "mode": 640, "makedirs": true});
    assert!(fx.apply("managed", args.clone()).result);
    // dir_mode defaults to the file mode with execute bits: 0750.
    assert_eq!((fx.mode("/opt"), fx.mode("/opt/app/conf")), (0o750, 0o750));
    assert_eq!(fx.mode("/opt/app/conf/a.ini"), 0o640);
    fx.assert_clean("managed", args);
    let args = json!({"name": "/srv/x/y", "contents": "k", "makedirs": true, "dir_mode": 700});
    fx.apply("managed", args);
    assert_eq!(fx.mode("/srv/x"), 0o700);
}

#[test]
fn show_changes_binary_and_contents_forms() {
    let fx = Fixture::new();
    fx.write("/t", "a\n");
    let seen = fx.seen(
        "managed",
        json!({"name": "/t", "contents": "b", "show_changes": false}),
    );
    assert_eq!(seen.changes(), &json!({"diff": "<show_changes=False>"}));
    std::fs::write(fx.p("/bin"), b"\0\x01\x02").unwrap();
    fx.write_src("blob", "\u{0}new");
    let seen = fx.seen("managed", json!({"name": "/bin", "source": "salt://blob"}));
    assert_eq!(seen.changes(), &json!({"diff": "Replace binary file"}));

    fx.apply(
        "managed",
        json!({"name": "/l", "contents": ["one", "two\nthree"]}),
    );
    assert_eq!(fx.read("/l"), "one\ntwo\nthree\n");
    fx.apply(
        "managed",
        json!({"name": "/n", "contents": "no newline\n\n", "contents_newline": false}),
    );
    assert_eq!(fx.read("/n"), "no newline");
    let seen = fx.seen(
        "managed",
        json!({"name": "/z", "contents": "", "allow_empty": false}),
    );
    assert_eq!(
        seen.comment(),
        "'contents' value would result in empty contents. Set allow_empty to True to allow the managed file to be empty."
    );
    let seen = fx.seen(
        "managed",
        json!({"name": "/z", "contents": "x", "source": "salt://blob"}),
    );
    assert_eq!(
        seen.comment(),
        "'source' cannot be used in combination with 'contents', 'contents_pillar', or 'contents_grains'"
    );
    let seen = fx.seen("managed", json!({"name": "relative/path", "contents": "x"}));
    assert_eq!(
        seen.comment(),
        "Specified file relative/path is not an absolute path"
    );
    assert!(fx
        .check(
            "managed",
            json!({"name": "/z", "contents": "x", "mode": "rw"})
        )
        .is_err());
    assert!(fx
        .check(
            "managed",
            json!({"name": "/z", "contents": "x", "backup": "sideways"})
        )
        .is_err());
}

#[test]
fn contents_pillar_reads_nested_keys() {
    let fx = Fixture::with_pillar(json!({"ssh": {"key": "ssh-ed25519 AAAA", "other": "x"}}));
    fx.apply(
        "managed",
        json!({"name": "/k", "contents_pillar": "ssh:key"}),
    );
    assert_eq!(fx.read("/k"), "ssh-ed25519 AAAA\n");
    let seen = fx.seen(
        "managed",
        json!({"name": "/k", "contents_pillar": "ssh:nope"}),
    );
    assert_eq!(seen.comment(), "Pillar ssh:nope does not exist");
    fx.apply(
        "managed",
        json!({"name": "/k2", "contents_pillar": "ssh/key", "contents_delimiter": "/"}),
    );
    assert_eq!(fx.read("/k2"), "ssh-ed25519 AAAA\n");
}

#[test]
fn symlinks_are_followed_unless_told_not_to() {
    let fx = Fixture::new();
    fx.write("/real/target.conf", "old\n");
    // An absolute link target means that path under the root.
    std::os::unix::fs::symlink("/real/target.conf", fx.p("/link.conf")).unwrap();
    fx.apply("managed", json!({"name": "/link.conf", "contents": "new"}));
    assert_eq!(fx.read("/real/target.conf"), "new\n");
    assert!(fx
        .p("/link.conf")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    let args = json!({"name": "/link.conf", "contents": "new", "follow_symlinks": false});
    let seen = fx.seen("managed", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"diff": "Replace symbolic link with regular file"})
    );
    fx.apply("managed", args.clone());
    assert!(fx.p("/link.conf").symlink_metadata().unwrap().is_file());
    fx.assert_clean("managed", args);
}

#[test]
fn backup_minion_keeps_the_old_content() {
    let fx = Fixture::new();
    fx.write("/etc/app.conf", "v1\n");
    fx.apply(
        "managed",
        json!({"name": "/etc/app.conf", "contents": "v2", "backup": "minion"}),
    );
    let dir = fx.p("/var/cache/brine/minion/file_backup/etc");
    let backups: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(backups.len(), 1);
    let name = backups[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("app.conf_"), "{name}");
    assert_eq!(std::fs::read_to_string(backups[0].path()).unwrap(), "v1\n");
    assert_eq!(fx.read("/etc/app.conf"), "v2\n");
}

#[test]
fn a_write_that_fails_before_the_rename_leaves_the_old_file_and_no_temp() {
    let fx = Fixture::new();
    fx.write("/etc/important", "old content\n");
    fx.chmod("/etc/important", 0o640);
    let args = json!({"name": "/etc/important", "contents": "new content", "mode": 600});
    FAIL_BEFORE_RENAME.with(|f| f.set(true));
    let done = fx.apply("managed", args.clone());
    FAIL_BEFORE_RENAME.with(|f| f.set(false));
    assert!(!done.result);
    assert!(
        done.comment
            .starts_with("Failed to commit change: simulated failure"),
        "{}",
        done.comment
    );
    assert_eq!(fx.read("/etc/important"), "old content\n");
    assert_eq!(fx.mode("/etc/important"), 0o640);
    assert_eq!(fx.temp_files(), Vec::<std::path::PathBuf>::new());

    let done = fx.apply("managed", args);
    assert!(done.result);
    assert_eq!(fx.read("/etc/important"), "new content\n");
    assert_eq!(fx.temp_files(), Vec::<std::path::PathBuf>::new());
}
