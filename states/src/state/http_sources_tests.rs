//! `file.managed` and `archive.extracted` from http(s) sources served by a
//! real local server (`crate::remote::testserver`), through the minion's
//! download cache: apply, a clean re-check, test mode writing nothing, hash
//! mismatches, hash files by URL, `skip_verify`, one download per run.
use std::io::Write;
use std::sync::Arc;

use common::render::{NoHost, Renderer, Session};
use serde_json::json;

use super::testutil::{chunk, comment_of, is_clean, TestHost};
use super::{Check, HostRead, LocalSources};
use crate::remote::{Limits, RemoteFiles};
use ::tests::http_server::{Reply, TestServer};

/// A test root whose sources download through `remote` (a cache of its own).
fn host_with(remote: RemoteFiles) -> TestHost {
    let root = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let session = Arc::new(Session::new(
        &json!({"id": "minion1"}),
        &json!({}),
        &json!({}),
        "base",
        Arc::new(NoHost),
    ));
    let sources = LocalSources::new(
        Arc::new(Renderer::new(vec![files.path().to_path_buf()])),
        session,
    )
    .with_remote(remote);
    let host = HostRead::new(root.path().to_path_buf(), Arc::new(sources));
    TestHost { root, files, host }
}

fn http_host(cache: &tempfile::TempDir) -> TestHost {
    host_with(RemoteFiles::new(cache.path().to_path_buf()))
}

fn https_host(srv: &TestServer, cache: &tempfile::TempDir) -> TestHost {
    let pem = srv.ca_pem.clone().unwrap();
    host_with(
        RemoteFiles::with_roots_pem(
            cache.path().to_path_buf(),
            pem.as_bytes(),
            Limits::default(),
        )
        .unwrap(),
    )
}

fn sha256(data: &[u8]) -> String {
    common::digest::sha256_hex(data)
}

/// The check of a state, asserting it wrote nothing under the root.
fn dry(t: &TestHost, module: &dyn super::StateModule, fun: &str, args: serde_json::Value) -> Check {
    let before = t.snapshot();
    let check = t.check(module, fun, args).expect("check");
    assert_eq!(before, t.snapshot(), "a check wrote under the root");
    check
}

const MOTD: &[u8] = b"welcome from http\n";

#[test]
fn managed_from_http_applies_then_is_clean_and_its_dry_run_writes_nothing() {
    let srv = TestServer::http();
    srv.route("/motd.txt", Reply::Bytes(MOTD.to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let t = http_host(&cache);
    let args = json!({
        "name": "/etc/motd",
        "source": srv.url("/motd.txt"),
        "source_hash": format!("sha256={}", sha256(MOTD)),
        "makedirs": true,
    });
    let check = dry(&t, &super::file::File, "managed", args.clone());
    assert!(
        matches!(check, Check::Change { .. }),
        "{}",
        comment_of(&check)
    );
    t.apply(check);
    assert_eq!(t.read("/etc/motd").as_bytes(), MOTD);
    assert_eq!(
        srv.hits("/motd.txt"),
        1,
        "the dry run's download served the apply"
    );
    let again = dry(&t, &super::file::File, "managed", args);
    assert!(is_clean(&again), "{}", comment_of(&again));
    assert_eq!(
        srv.hits("/motd.txt"),
        1,
        "a file with the hash needs no download"
    );
}

#[test]
fn a_download_that_does_not_match_fails_with_both_hashes_and_writes_nothing() {
    let srv = TestServer::http();
    srv.route("/motd.txt", Reply::Bytes(MOTD.to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let t = http_host(&cache);
    t.write("/etc/motd", "old\n");
    let wrong = sha256(b"something else");
    let check = dry(
        &t,
        &super::file::File,
        "managed",
        json!({"name": "/etc/motd", "source": srv.url("/motd.txt"), "source_hash": wrong}),
    );
    let Check::Fail { comment, .. } = &check else {
        panic!("expected a failure, got {}", comment_of(&check));
    };
    assert!(
        comment.contains(&format!(
            "({wrong}) does not match actual checksum ({})",
            sha256(MOTD)
        )),
        "{comment}"
    );
    assert_eq!(t.read("/etc/motd"), "old\n");
}

#[test]
fn a_hash_file_by_url_gives_the_line_naming_the_source() {
    let srv = TestServer::https();
    srv.route("/dl/motd.txt", Reply::Bytes(MOTD.to_vec()));
    srv.route(
        "/dl/SHA256SUMS",
        Reply::Bytes(
            format!(
                "{}  other.txt\n{}  motd.txt\n",
                sha256(b"other"),
                sha256(MOTD)
            )
            .into_bytes(),
        ),
    );
    let cache = tempfile::tempdir().unwrap();
    let t = https_host(&srv, &cache);
    let args = json!({
        "name": "/etc/motd",
        "source": srv.url("/dl/motd.txt"),
        "source_hash": srv.url("/dl/SHA256SUMS"),
        "makedirs": true,
    });
    let check = dry(&t, &super::file::File, "managed", args.clone());
    t.apply(check);
    assert_eq!(t.read("/etc/motd").as_bytes(), MOTD);
    assert_eq!(
        srv.hits("/dl/SHA256SUMS"),
        1,
        "the hash file is read once per run"
    );
    assert!(is_clean(&dry(&t, &super::file::File, "managed", args)));

    // source_hash_name picks another line: which does not match, so it fails.
    let check = dry(
        &t,
        &super::file::File,
        "managed",
        json!({
            "name": "/etc/motd2",
            "source": srv.url("/dl/motd.txt"),
            "source_hash": srv.url("/dl/SHA256SUMS"),
            "source_hash_name": "other.txt",
        }),
    );
    assert!(
        comment_of(&check).contains(&sha256(b"other")),
        "{}",
        comment_of(&check)
    );
    assert!(!t.path("/etc/motd2").exists());
}

#[test]
fn a_download_without_a_hash_needs_skip_verify() {
    let srv = TestServer::http();
    srv.route("/motd.txt", Reply::Bytes(MOTD.to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let t = http_host(&cache);
    let url = srv.url("/motd.txt").replace("://", "://bob:hunter2@");
    let check = dry(
        &t,
        &super::file::File,
        "managed",
        json!({"name": "/etc/motd", "source": url}),
    );
    assert_eq!(
        comment_of(&check),
        format!(
            "Unable to verify upstream hash of source file {}, please set source_hash or set skip_verify to True",
            srv.url("/motd.txt").replace("://", "://<redacted>@")
        )
    );
    assert_eq!(srv.hits("/motd.txt"), 0, "refused before downloading");
    let args = json!({"name": "/etc/motd", "source": url, "skip_verify": true, "makedirs": true});
    let check = dry(&t, &super::file::File, "managed", args.clone());
    t.apply(check);
    assert_eq!(t.read("/etc/motd").as_bytes(), MOTD);
    assert!(is_clean(&dry(&t, &super::file::File, "managed", args)));
}

#[test]
fn a_missing_url_fails_naming_it() {
    let srv = TestServer::http();
    let cache = tempfile::tempdir().unwrap();
    let t = http_host(&cache);
    let check = dry(
        &t,
        &super::file::File,
        "managed",
        json!({"name": "/etc/motd", "source": srv.url("/nope"), "skip_verify": true}),
    );
    assert_eq!(
        comment_of(&check),
        format!(
            "Failed to cache {0}: Error: HTTP 404: Not Found reading {0}",
            srv.url("/nope")
        )
    );
}

#[test]
fn two_states_naming_one_url_download_it_once() {
    let srv = TestServer::https();
    srv.route("/motd.txt", Reply::Bytes(MOTD.to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let t = https_host(&srv, &cache);
    let low = |id: &str, order: u64| {
        chunk(
            "file",
            "managed",
            json!({
                "__id__": id, "__sls__": "t", "__env__": "base", "order": order,
                "name": format!("/srv/{id}"), "makedirs": true,
                "source": srv.url("/motd.txt"), "skip_verify": true,
            }),
        )
    };
    let report = crate::run::Runner::new(t.host.clone(), false).run(vec![low("a", 1), low("b", 2)]);
    assert_eq!(report.failed(), 0, "{}", report.to_json());
    assert_eq!(t.read("/srv/a").as_bytes(), MOTD);
    assert_eq!(t.read("/srv/b").as_bytes(), MOTD);
    assert_eq!(srv.hits("/motd.txt"), 1);
}

/// `app-1.0/README` and `app-1.0/bin/run` as a .tar.gz.
fn app_tar_gz() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data, mode) in [
        ("app-1.0/README", &b"hello\n"[..], 0o644),
        ("app-1.0/bin/run", &b"#!/bin/sh\n"[..], 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append_data(&mut header, path, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archive_extracted_from_https_applies_then_is_clean() {
    let srv = TestServer::https();
    let archive = app_tar_gz();
    srv.route("/app-1.0.tar.gz", Reply::Bytes(archive.clone()));
    let cache = tempfile::tempdir().unwrap();
    let t = https_host(&srv, &cache);
    let args = json!({
        "name": "/opt",
        "source": srv.url("/app-1.0.tar.gz"),
        "source_hash": format!("sha256={}", sha256(&archive)),
    });
    let check = dry(&t, &super::archive::Archive, "extracted", args.clone());
    assert!(
        matches!(check, Check::Change { .. }),
        "{}",
        comment_of(&check)
    );
    t.apply(check);
    assert_eq!(t.read("/opt/app-1.0/README"), "hello\n");
    let again = dry(&t, &super::archive::Archive, "extracted", args.clone());
    assert!(is_clean(&again), "{}", comment_of(&again));
    assert_eq!(srv.hits("/app-1.0.tar.gz"), 1);

    // A new run with the same cache and hash reads the cached copy.
    let t2 = host_with(
        RemoteFiles::with_roots_pem(
            cache.path().to_path_buf(),
            srv.ca_pem.clone().unwrap().as_bytes(),
            Limits::default(),
        )
        .unwrap(),
    );
    let check = dry(&t2, &super::archive::Archive, "extracted", args);
    assert!(
        matches!(check, Check::Change { .. }),
        "{}",
        comment_of(&check)
    );
    assert_eq!(srv.hits("/app-1.0.tar.gz"), 1, "the cache answered");
}

#[test]
fn archive_extracted_refuses_a_download_that_does_not_match_or_has_no_hash() {
    let srv = TestServer::http();
    let archive = app_tar_gz();
    srv.route("/app-1.0.tar.gz", Reply::Bytes(archive.clone()));
    let cache = tempfile::tempdir().unwrap();
    let t = http_host(&cache);
    let wrong = sha256(b"not the archive");
    let check = dry(
        &t,
        &super::archive::Archive,
        "extracted",
        json!({"name": "/opt", "source": srv.url("/app-1.0.tar.gz"), "source_hash": wrong}),
    );
    assert_eq!(
        comment_of(&check),
        format!(
            "File {} is cached, but the hash ({}) does not match the specified hash ({wrong})",
            srv.url("/app-1.0.tar.gz"),
            sha256(&archive)
        )
    );
    assert!(!t.path("/opt").exists());
    let check = dry(
        &t,
        &super::archive::Archive,
        "extracted",
        json!({"name": "/opt", "source": srv.url("/app-1.0.tar.gz")}),
    );
    assert!(
        comment_of(&check).starts_with("Unable to verify upstream hash of source file"),
        "{}",
        comment_of(&check)
    );
    // skip_verify extracts it.
    let check = dry(
        &t,
        &super::archive::Archive,
        "extracted",
        json!({"name": "/opt", "source": srv.url("/app-1.0.tar.gz"), "skip_verify": true}),
    );
    t.apply(check);
    assert_eq!(t.read("/opt/app-1.0/bin/run"), "#!/bin/sh\n");
}
