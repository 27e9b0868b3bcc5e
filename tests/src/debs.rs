//! The .deb packages of `scripts/build-debs.sh`, made from this test build's own
//! binaries (`--profile dev --no-build`), so the fleet tests install the package a
//! user installs with the code the tests test. Built once, under a lock, into
//! `target/debug/debs`, and again only when a binary or a packaging input is
//! newer than the package.
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

/// The packaging inputs besides the binaries (relative to the checkout).
const INPUTS: &[&str] = &[
    "scripts/build-debs.sh",
    "master/Cargo.toml",
    "minion/Cargo.toml",
    "dist",
];

/// `brine-minion_*.deb`, built if missing or stale.
pub fn minion_deb() -> PathBuf {
    deb("brine-minion")
}

/// `brine-master_*.deb`, built if missing or stale.
pub fn master_deb() -> PathBuf {
    deb("brine-master")
}

fn deb(package: &str) -> PathBuf {
    // One build at a time in this process; the file lock below serialises
    // test processes.
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let minion = crate::bin("minion");
    let master = crate::bin("master");
    let profile_dir = minion.parent().unwrap().to_path_buf();
    let assets_tool = profile_dir.join("dist_assets");
    assert!(
        assets_tool.is_file(),
        "{} is not built (cargo build --workspace --bins)",
        assets_tool.display()
    );
    let out = profile_dir.join("debs");
    fs::create_dir_all(&out).unwrap();
    let lock = File::create(profile_dir.join("debs.lock")).unwrap();
    lock.lock().unwrap();

    let mut inputs = vec![minion, master, assets_tool];
    inputs.extend(INPUTS.iter().map(|p| checkout.join(p)));
    let newest_input = inputs.iter().map(|p| newest_mtime(p)).max().unwrap();
    if find(&out, package).is_none_or(|d| mtime(&d) < newest_input) {
        let run = Command::new("bash")
            .arg(checkout.join("scripts/build-debs.sh"))
            .args(["--profile", "dev", "--no-build", "--out"])
            .arg(&out)
            .current_dir(&checkout)
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/build-debs.sh: {e}"));
        assert!(
            run.status.success(),
            "scripts/build-debs.sh --profile dev --no-build failed ({}):\n{}",
            run.status,
            String::from_utf8_lossy(&run.stderr)
        );
    }
    find(&out, package).unwrap_or_else(|| panic!("no {package}_*.deb in {}", out.display()))
}

fn find(dir: &Path, package: &str) -> Option<PathBuf> {
    let prefix = format!("{package}_");
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
}

fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The newest modification time of a file, or of anything under a directory.
fn newest_mtime(path: &Path) -> SystemTime {
    let own = mtime(path);
    match fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| newest_mtime(&e.path()))
            .fold(own, SystemTime::max),
        Err(_) => own,
    }
}
