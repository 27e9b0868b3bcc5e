//! Fixture tests: `detect_under()` on the trees in `testdata/`.
//!
//! Each `testdata/<fixture>/expected.json` was produced by Salt itself:
//! `testdata/salt_expected.py` runs Salt 3007.8's own salt.grains.core
//! helpers (`_linux_distribution_data`, `_linux_cpudata`, `_linux_memdata`,
//! `_linux_init_system`, `_virtual`, `_osrelease_data`) and
//! `get_machine_identifier()` with every host path redirected into the
//! fixture and the `distro` package rooted there. Regenerate with
//! `/root/.cache/brine/salt-venv/bin/python3 minion/src/grains/testdata/salt_expected.py`.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{arch, detect_under, init, os, server_id, set_id, Ctx};

const FIXTURES: &[&str] = &[
    "debian11",
    "debian12",
    "debian-testing",
    "ubuntu2204",
    "ubuntu2404",
    "rhel8",
    "rhel9",
    "rocky9",
    "almalinux9",
    "centos-stream9",
    "centos7",
    "fedora40",
    // No files at all: Salt's fallbacks (empty os strings, 0 CPUs, ...).
    "empty",
];

/// The keys salt_expected.py records (absent there means absent in Salt).
const KEYS: &[&str] = &[
    "os",
    "os_family",
    "osfullname",
    "osrelease",
    "oscodename",
    "lsb_distrib_id",
    "lsb_distrib_release",
    "lsb_distrib_codename",
    "lsb_distrib_description",
    "osrelease_info",
    "osmajorrelease",
    "osfinger",
    "num_cpus",
    "cpu_model",
    "cpu_flags",
    "mem_total",
    "swap_total",
    "init",
    "virtual",
    "virtual_subtype",
    "machine_id",
];

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/grains/testdata")
        .join(name)
}

fn expected(name: &str) -> Map<String, Value> {
    let text =
        std::fs::read_to_string(testdata(name).join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn fixtures_match_salt() {
    let mut diffs = Vec::new();
    for name in FIXTURES {
        let want = expected(name);
        let got = detect_under(&testdata(name));
        for key in KEYS {
            if want.get(*key) != got.get(*key) {
                diffs.push(format!(
                    "{name}/{key}: salt={:?} brine={:?}",
                    want.get(*key),
                    got.get(*key)
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn every_fixture_dir_is_tested() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/grains/testdata");
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .expect("testdata")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn key_fixture_values() {
    // Spot checks, readable without opening the JSON files.
    let g = detect_under(&testdata("rhel9"));
    assert_eq!(g["os"], "RedHat");
    assert_eq!(g["os_family"], "RedHat");
    assert_eq!(g["osfinger"], "Red Hat Enterprise Linux-9");
    assert_eq!(g["osrelease_info"], json!([9, 4]));
    assert_eq!(g["osmajorrelease"], 9);
    assert_eq!(g["oscodename"], "Plow");
    assert_eq!(g["cpu_model"], "IBM/S390");
    assert_eq!(g["num_cpus"], 2);
    assert_eq!(g["init"], "systemd");

    let g = detect_under(&testdata("ubuntu2204"));
    assert_eq!(g["osfinger"], "Ubuntu-22.04");
    assert_eq!(g["osrelease_info"], json!([22, 4]));
    assert_eq!(g["cpu_model"], "Unknown");
    assert_eq!(g["virtual"], "container");
    assert_eq!(g["virtual_subtype"], "Docker");

    let g = detect_under(&testdata("rocky9"));
    assert_eq!(g["osfinger"], "Rocky Linux-9");
    assert_eq!(g["oscodename"], "Blue Onyx");

    let g = detect_under(&testdata("fedora40"));
    assert_eq!(g["osfinger"], "Fedora Linux-40");
    assert_eq!(g["oscodename"], "");
    assert_eq!(g["virtual"], "kvm");

    let g = detect_under(&testdata("centos7"));
    assert_eq!(g["osrelease"], "7.9.2009");
}

#[test]
fn kernel_identity_from_proc() {
    let g = detect_under(&testdata("debian11"));
    assert_eq!(g["kernel"], "Linux");
    assert_eq!(g["nodename"], "bullseye-host");
    assert_eq!(g["kernelrelease"], "5.10.0-28-amd64");
    assert_eq!(g["kernelversion"], "#1 SMP Debian 5.10.209-2 (2024-01-31)");
    assert_eq!(g["cpuarch"], "x86_64");
    // No dpkg binary in the fixture: the Debian name of the machine type.
    assert_eq!(g["osarch"], "amd64");
}

#[test]
fn missing_files_use_salt_fallbacks() {
    // The "empty" fixture holds only expected.json; spell out the fallbacks.
    let g = detect_under(&testdata("empty"));
    assert_eq!(g["os"], "");
    assert_eq!(g["num_cpus"], 0);
    assert_eq!(g["cpu_model"], "Unknown");
    assert_eq!(g["cpu_flags"], json!([]));
    assert_eq!(g["mem_total"], 0);
    assert_eq!(g["init"], "unknown");
    assert_eq!(g["virtual"], "physical");
    assert!(!g.contains_key("machine_id"));
    assert!(!g.contains_key("osfinger"));
    assert!(!g.contains_key("osarch"));
    assert!(!g.contains_key("kernel"));
}

/// A 64-byte ELF header with the given class, data encoding and machine.
fn elf_header(class64: bool, le: bool, machine: u16, flags32: u32) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[0..4].copy_from_slice(b"\x7fELF");
    h[4] = if class64 { 2 } else { 1 };
    h[5] = if le { 1 } else { 2 };
    let m = if le {
        machine.to_le_bytes()
    } else {
        machine.to_be_bytes()
    };
    h[18..20].copy_from_slice(&m);
    if !class64 {
        let f = if le {
            flags32.to_le_bytes()
        } else {
            flags32.to_be_bytes()
        };
        h[36..40].copy_from_slice(&f);
    }
    h
}

#[test]
fn osarch_from_dpkg_elf_header() {
    let cases = [
        (elf_header(true, true, 62, 0), "amd64"),
        (elf_header(true, true, 183, 0), "arm64"),
        (elf_header(false, true, 40, 0x0500_0400), "armhf"),
        (elf_header(false, true, 40, 0x0500_0200), "armel"),
        (elf_header(false, true, 3, 0), "i386"),
        (elf_header(true, true, 21, 0), "ppc64el"),
        (elf_header(true, false, 22, 0), "s390x"),
        (elf_header(true, true, 243, 0), "riscv64"),
    ];
    for (header, want) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("usr/bin")).expect("mkdir");
        std::fs::write(dir.path().join("usr/bin/dpkg"), header).expect("write");
        let ctx = Ctx {
            root: dir.path().to_path_buf(),
            live: false,
        };
        // The dpkg binary wins over the kernel's machine name.
        assert_eq!(
            arch::osarch(&ctx, "Debian", "x86_64").as_deref(),
            Some(want)
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = Ctx {
        root: dir.path().to_path_buf(),
        live: false,
    };
    assert_eq!(
        arch::osarch(&ctx, "RedHat", "aarch64").as_deref(),
        Some("aarch64")
    );
    assert_eq!(
        arch::osarch(&ctx, "Debian", "aarch64").as_deref(),
        Some("arm64")
    );
    assert_eq!(
        arch::osarch(&ctx, "Arch", "x86_64").as_deref(),
        Some("x86_64")
    );
}

#[test]
fn init_binary_scan_spans_chunks() {
    // "systemd" split across Salt's 256 KiB read boundary is still found,
    // and an earlier chunk's hit wins.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("proc/1")).expect("mkdir");
    std::fs::create_dir_all(root.join("sbin")).expect("mkdir");
    std::fs::write(root.join("proc/1/cmdline"), b"/sbin/init\0").expect("write");
    let mut bin = vec![b'x'; 262_144 - 3];
    bin.extend_from_slice(b"SYSTEMD and later upstart");
    let init = root.join("sbin/init");
    std::fs::write(&init, &bin).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ctx = Ctx {
        root: root.to_path_buf(),
        live: false,
    };
    // Chunk 2 holds "temd and later upstart" plus the carried "sys": both
    // names are in it, and upstart has priority within a chunk.
    assert_eq!(init::init_system(&ctx), "upstart");

    let mut bin = vec![b'x'; 100];
    bin.extend_from_slice(b"/usr/lib/sysvinit/");
    std::fs::write(&init, &bin).expect("write");
    assert_eq!(init::init_system(&ctx), "sysvinit");

    // Not executable: `which` does not accept it, so Salt falls through.
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert_eq!(init::init_system(&ctx), "unknown");
}

#[test]
fn derive_os_grain_like_salt() {
    assert_eq!(
        os::derive_os_grain("Red Hat Enterprise Linux", Some("rhel")),
        "RedHat"
    );
    assert_eq!(
        os::derive_os_grain("Debian GNU/Linux", Some("debian")),
        "Debian"
    );
    assert_eq!(
        os::derive_os_grain("AlmaLinux", Some("almalinux")),
        "AlmaLinux"
    );
    assert_eq!(os::derive_os_grain("Rocky Linux", Some("rocky")), "Rocky");
    assert_eq!(
        os::derive_os_grain("Fedora Linux", Some("fedora")),
        "Fedora"
    );
    assert_eq!(
        os::derive_os_grain("CentOS Stream", Some("centos")),
        "CentOS Stream"
    );
    assert_eq!(os::derive_os_grain("Pop!_OS", Some("pop")), "Pop");
    assert_eq!(os::derive_os_grain("Linux Mint", Some("linuxmint")), "Mint");
    assert_eq!(
        os::derive_os_grain("openSUSE Leap", Some("opensuse-leap")),
        "openSUSE Leap"
    );
}

#[test]
fn osrelease_data_like_salt() {
    let d: Map<String, Value> = os::osrelease_data("Ubuntu", "Ubuntu", "24.04")
        .into_iter()
        .collect();
    assert_eq!(d["osrelease_info"], json!([24, 4]));
    assert_eq!(d["osmajorrelease"], 24);
    assert_eq!(d["osfinger"], "Ubuntu-24.04");
    let d: Map<String, Value> = os::osrelease_data("Debian", "Debian GNU/Linux", "trixie/sid")
        .into_iter()
        .collect();
    assert_eq!(d["osrelease_info"], json!(["trixie/sid"]));
    assert!(!d.contains_key("osmajorrelease"));
    assert_eq!(d["osfinger"], "Debian-trixie/sid");
    let d: Map<String, Value> = os::osrelease_data("Arch", "Arch Linux", "20240101.0.1")
        .into_iter()
        .collect();
    assert_eq!(d["osrelease_info"], json!([20240101, 0, 1]));
    assert_eq!(d["osfinger"], "Arch Linux-20240101");
}

#[test]
fn server_id_is_salts() {
    // Salt 3007.8 on the build host reported server_id 2067164805 for id "vm".
    assert_eq!(server_id("vm"), 2_067_164_805);
    let mut g = Map::new();
    set_id(&mut g, "vm");
    assert_eq!(g["id"], "vm");
    assert_eq!(g["server_id"], 2_067_164_805);
}
