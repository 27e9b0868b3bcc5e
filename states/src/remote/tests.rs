//! `RemoteFiles` against real local servers: one download per run, the
//! cache by digest across runs, redirects, limits, https with a test CA.
use std::time::Duration;

use super::*;
use ::tests::http_server::{Reply, TestServer};

fn sum(hash_type: &str, data: &[u8]) -> SourceSum {
    source_hash::parse_inline(&format!(
        "{hash_type}={}",
        source_hash::digest(hash_type, data)
    ))
    .unwrap()
}

#[test]
fn a_url_is_downloaded_once_per_run_and_reused_across_runs_by_digest() {
    let srv = TestServer::http();
    srv.route("/app.txt", Reply::Bytes(b"v1".to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let url = srv.url("/app.txt");

    let run1 = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(run1.fetch(&url, None).unwrap(), b"v1");
    assert_eq!(run1.fetch(&url, None).unwrap(), b"v1");
    assert_eq!(srv.hits("/app.txt"), 1, "one run, one download");
    let sha = common::digest::sha256_hex(b"v1");
    assert_eq!(std::fs::read(cache.path().join(&sha)).unwrap(), b"v1");

    // A later run that knows the digest (of any type) reads the cache.
    let run2 = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(run2.fetch(&url, Some(&sum("md5", b"v1"))).unwrap(), b"v1");
    let run3 = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(
        run3.fetch(&url, Some(&sum("sha256", b"v1"))).unwrap(),
        b"v1"
    );
    assert_eq!(srv.hits("/app.txt"), 1);

    // Without a digest, or with another one, it downloads again.
    srv.route("/app.txt", Reply::Bytes(b"v2".to_vec()));
    let run4 = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(
        run4.fetch(&url, Some(&sum("sha512", b"v2"))).unwrap(),
        b"v2"
    );
    let run5 = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(run5.fetch(&url, None).unwrap(), b"v2");
    assert_eq!(srv.hits("/app.txt"), 3);

    // A cached copy whose bytes no longer match its name is not served.
    std::fs::write(cache.path().join(&sha), b"tampered").unwrap();
    let run6 = RemoteFiles::new(cache.path().to_path_buf());
    srv.route("/app.txt", Reply::Bytes(b"v1".to_vec()));
    assert_eq!(
        run6.fetch(&url, Some(&sum("sha256", b"v1"))).unwrap(),
        b"v1"
    );
    assert_eq!(srv.hits("/app.txt"), 4);
}

#[test]
fn errors_name_the_url_without_its_password() {
    let srv = TestServer::http();
    let cache = tempfile::tempdir().unwrap();
    let files = RemoteFiles::new(cache.path().to_path_buf());
    let url = srv.url("/missing").replace("://", "://bob:hunter2@");
    let e = files.fetch(&url, None).unwrap_err().to_string();
    assert!(
        e.contains("Error: HTTP 404: Not Found reading http://<redacted>@127.0.0.1:"),
        "{e}"
    );
    assert!(!e.contains("hunter2") && !e.contains("bob"), "{e}");
    // Nothing was cached for a failed download.
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_none());
}

#[test]
fn redirects_are_followed_up_to_the_limit() {
    let srv = TestServer::http();
    srv.route("/final", Reply::Bytes(b"here".to_vec()));
    srv.route("/hop1", Reply::Redirect(srv.url("/final")));
    srv.route("/loop", Reply::Redirect(srv.url("/loop")));
    let cache = tempfile::tempdir().unwrap();
    let files = RemoteFiles::new(cache.path().to_path_buf());
    assert_eq!(files.fetch(&srv.url("/hop1"), None).unwrap(), b"here");
    let e = files
        .fetch(&srv.url("/loop"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("redirects more than 10 times"), "{e}");
    assert_eq!(srv.hits("/loop"), 11);
}

#[test]
fn a_download_past_the_size_cap_fails() {
    let srv = TestServer::https();
    srv.route("/big", Reply::Bytes(vec![b'x'; 4096]));
    let cache = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let pem = srv.ca_pem.clone().unwrap();
    let files =
        RemoteFiles::with_roots_pem(cache.path().to_path_buf(), pem.as_bytes(), limits).unwrap();
    let e = files.fetch(&srv.url("/big"), None).unwrap_err().to_string();
    assert!(e.contains("larger than the 1000 bytes"), "{e}");
    assert!(e.contains(&srv.url("/big")), "{e}");
}

#[test]
fn https_trusts_the_given_ca_and_nothing_else() {
    let srv = TestServer::https();
    srv.route("/s.txt", Reply::Bytes(b"secure".to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let pem = srv.ca_pem.clone().unwrap();
    let limits = Limits {
        total: Duration::from_secs(20),
        ..Limits::default()
    };
    let trusting =
        RemoteFiles::with_roots_pem(cache.path().to_path_buf(), pem.as_bytes(), limits).unwrap();
    assert_eq!(trusting.fetch(&srv.url("/s.txt"), None).unwrap(), b"secure");

    // The system's roots do not hold the test CA.
    let other = TestServer::https();
    let pem_other = other.ca_pem.clone().unwrap();
    let wrong =
        RemoteFiles::with_roots_pem(cache.path().to_path_buf(), pem_other.as_bytes(), limits)
            .unwrap();
    let e = wrong
        .fetch(&srv.url("/s.txt"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&srv.url("/s.txt")), "{e}");
    let system = RemoteFiles::new(tempfile::tempdir().unwrap().path().to_path_buf());
    assert!(system.fetch(&srv.url("/s.txt"), None).is_err());
    assert_eq!(srv.hits("/s.txt"), 1, "no request got past TLS untrusted");
}

#[test]
fn only_http_and_https_are_remote() {
    assert!(is_remote("http://h/x") && is_remote("HTTPS://h/x"));
    assert!(!is_remote("salt://x") && !is_remote("/x") && !is_remote("ftp://h/x"));
}
