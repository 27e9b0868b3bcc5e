use serde_json::json;

use super::*;

fn tree(fx: &Fixture) {
    fx.write_src("web/conf/site.conf", "site {{ port }}\n");
    fx.write_src("web/conf/sub/extra.conf", "extra\n");
    std::fs::create_dir_all(fx.srv.join("web/conf/empty")).unwrap();
}

#[test]
fn recurse_mirrors_a_tree_then_is_clean() {
    let fx = Fixture::new();
    tree(&fx);
    let args = json!({
        "name": "/etc/web", "source": "salt://web/conf", "template": "jinja",
        "defaults": {"port": 80}, "file_mode": 640, "dir_mode": 750, "include_empty": true,
    });
    let seen = fx.seen("recurse", args.clone());
    let changes = seen.changes().as_object().unwrap();
    assert_eq!(
        changes["/etc/web/site.conf"],
        json!({"newfile": "/etc/web/site.conf"})
    );
    assert_eq!(
        changes["/etc/web/empty"],
        json!({"/etc/web/empty": {"directory": "new"}})
    );
    assert!(seen.comment().contains(
        "#### /etc/web/site.conf ####\nThe file /etc/web/site.conf is set to be changed"
    ));
    let done = fx.apply("recurse", args.clone());
    assert!(done.result, "{}", done.comment);
    assert_eq!(done.comment, "Recursively updated /etc/web");
    let applied = applied_changes(&done);
    assert!(applied.get("/etc/web").is_none(), "{applied}");
    assert_eq!(applied["/etc/web/site.conf"]["diff"], json!("New file"));
    assert_eq!(fx.read("/etc/web/site.conf"), "site 80\n");
    assert_eq!(fx.read("/etc/web/sub/extra.conf"), "extra\n");
    assert!(fx.p("/etc/web/empty").is_dir());
    assert_eq!(
        (fx.mode("/etc/web/sub"), fx.mode("/etc/web/sub/extra.conf")),
        (0o750, 0o640)
    );
    fx.assert_clean("recurse", args.clone());

    // A file changed on the host: only its diff.
    fx.write("/etc/web/sub/extra.conf", "drift\n");
    let seen = fx.seen("recurse", args.clone());
    assert_eq!(
        seen.changes(),
        &json!({"/etc/web/sub/extra.conf": {"diff": "--- \n+++ \n@@ -1 +1 @@\n-drift\n+extra\n"}})
    );
}

#[test]
fn recurse_clean_removes_strays_and_replaces_types() {
    let fx = Fixture::new();
    tree(&fx);
    fx.write("/etc/web/stray", "x");
    fx.write("/etc/web/site.conf/inner", "a directory where a file goes");
    let args = json!({"name": "/etc/web", "source": "salt://web/conf", "clean": true, "template": "jinja", "context": {"port": 1}});
    let seen = fx.seen("recurse", args.clone());
    assert!(
        seen.comment().contains("#### removed ####\n/etc/web/stray"),
        "{}",
        seen.comment()
    );
    let done = fx.apply("recurse", args.clone());
    assert!(done.result, "{}", done.comment);
    let applied = applied_changes(&done);
    assert_eq!(applied["removed"], json!(["/etc/web/stray"]));
    assert_eq!(applied["/etc/web/site.conf"]["diff"], json!("New file"));
    assert_eq!(fx.read("/etc/web/site.conf"), "site 1\n");
    assert!(!fx.p("/etc/web/stray").exists());
    fx.assert_clean("recurse", args);
}

#[test]
fn recurse_bad_arguments() {
    let fx = Fixture::new();
    tree(&fx);
    let seen = fx.seen("recurse", json!({"name": "/x", "source": "salt://nope"}));
    assert_eq!(
        seen.comment(),
        "The directory 'nope' does not exist on the salt fileserver in saltenv 'base'"
    );
    let seen = fx.seen("recurse", json!({"name": "/x", "source": "/local/dir"}));
    assert_eq!(
        seen.comment(),
        "Invalid source '/local/dir' (must be a salt:// URI)"
    );
    let seen = fx.seen(
        "recurse",
        json!({"name": "/x", "source": "salt://web/conf", "mode": 644}),
    );
    assert_eq!(
        seen.comment(),
        "'mode' is not allowed in 'file.recurse'. Please use 'file_mode' and 'dir_mode'."
    );
    let seen = fx.seen("recurse", json!({"name": "/x", "source": "salt://../etc"}));
    assert!(seen.is_fail(), "{seen:?}");
    fx.write("/afile", "");
    let seen = fx.seen(
        "recurse",
        json!({"name": "/afile", "source": "salt://web/conf"}),
    );
    assert_eq!(
        seen.comment(),
        "The path /afile exists and is not a directory"
    );
}
