//! What `systemd-detect-virt` would print, computed the way systemd's
//! src/basic/virt.c does: detect_container() first (OpenVZ, WSL, proot,
//! /run/host/container-manager, $container of PID 1, /run/systemd/container,
//! /run/.containerenv, /.dockerenv), then detect_vm() (DMI vendor strings,
//! UML, Xen, CPUID hypervisor signature, /sys/hypervisor, device tree).
//! Newer systemd's cgroup-namespace heuristic, which can only yield
//! "container-other" (an answer Salt ignores), is left out.

use super::Ctx;

/// `systemd-detect-virt` output: a container if there is one, else a VM,
/// else "none".
pub(crate) fn detect_virtualization(ctx: &Ctx) -> String {
    let c = detect_container(ctx);
    if c != "none" {
        return c;
    }
    detect_vm(ctx)
}

fn read_one_line(ctx: &Ctx, path: &str) -> Option<String> {
    ctx.read(path)
        .map(|s| s.lines().next().unwrap_or("").trim_end().to_string())
}

/// systemd's detect_container().
fn detect_container(ctx: &Ctx) -> String {
    if ctx.exists("/proc/vz") && !ctx.exists("/proc/bc") {
        return "openvz".into();
    }
    if let Some(o) = read_one_line(ctx, "/proc/sys/kernel/osrelease") {
        if o.contains("Microsoft") || o.contains("WSL") {
            return "wsl".into();
        }
    }
    if let Some(status) = ctx.read("/proc/self/status") {
        let tracer = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .map(|v| v.trim().to_string());
        if let Some(pid) = tracer.filter(|p| p != "0") {
            if read_one_line(ctx, &format!("/proc/{pid}/comm"))
                .is_some_and(|c| c.starts_with("proot"))
            {
                return "proot".into();
            }
        }
    }
    if let Some(m) = read_one_line(ctx, "/run/host/container-manager").filter(|m| !m.is_empty()) {
        return translate_container(ctx, &m);
    }
    if ctx.live && std::process::id() == 1 {
        match std::env::var("container") {
            Ok(e) if e.is_empty() => return "none".into(),
            Ok(e) => return translate_container(ctx, &e),
            Err(_) => return container_files(ctx),
        }
    }
    if let Some(m) = read_one_line(ctx, "/run/systemd/container").filter(|m| !m.is_empty()) {
        return translate_container(ctx, &m);
    }
    if let Ok(env) = std::fs::read(ctx.path("/proc/1/environ")) {
        for var in env.split(|b| *b == 0) {
            if let Some(v) = var.strip_prefix(b"container=") {
                return translate_container(ctx, &String::from_utf8_lossy(v));
            }
        }
    }
    container_files(ctx)
}

fn container_files(ctx: &Ctx) -> String {
    if ctx.path("/run/.containerenv").symlink_metadata().is_ok() {
        return "podman".into();
    }
    if ctx.path("/.dockerenv").symlink_metadata().is_ok() {
        return "docker".into();
    }
    "none".into()
}

fn translate_container(ctx: &Ctx, name: &str) -> String {
    if name == "oci" {
        let f = container_files(ctx);
        return if f == "none" {
            "container-other".into()
        } else {
            f
        };
    }
    match name {
        "lxc" | "lxc-libvirt" | "systemd-nspawn" | "docker" | "podman" | "rkt" | "wsl"
        | "proot" | "pouch" => name.into(),
        _ => "container-other".into(),
    }
}

/// systemd's detect_vm(). CPUID is only consulted on the live host.
fn detect_vm(ctx: &Ctx) -> String {
    let dmi_v = detect_vm_dmi(ctx);
    if ["oracle", "xen", "amazon", "parallels", "google"].contains(&dmi_v.as_str()) {
        return dmi_v;
    }
    // User-mode Linux.
    if let Some(ci) = ctx.read("/proc/cpuinfo") {
        if let Some(l) = ci.lines().find(|l| l.starts_with("vendor_id\t: ")) {
            if l["vendor_id\t: ".len()..].starts_with("User Mode Linux") {
                return "uml".into();
            }
        }
    }
    let mut xen_dom0 = false;
    if ctx.exists("/proc/xen") {
        if !is_xen_dom0(ctx) {
            return "xen".into();
        }
        xen_dom0 = true;
    }
    let mut other = false;
    let mut hyperv = false;
    let cpuid = if ctx.live {
        detect_vm_cpuid()
    } else {
        "none".into()
    };
    match cpuid.as_str() {
        "microsoft" => hyperv = true,
        "vm-other" => other = true,
        "none" => {}
        v => return v.into(),
    }
    let finish = |v: String, hyperv: bool, other: bool| {
        if v == "none" {
            if hyperv {
                return "microsoft".into();
            }
            if other {
                return "vm-other".into();
            }
        }
        v
    };
    if xen_dom0 {
        return finish(cpuid, hyperv, other);
    }
    if dmi_v == "vm-other" {
        other = true;
    } else if dmi_v != "none" {
        return dmi_v;
    }
    if let Some(t) = read_one_line(ctx, "/sys/hypervisor/type") {
        if t == "xen" {
            return "xen".into();
        }
        other = true;
    }
    let dt = detect_vm_device_tree(ctx);
    if dt == "vm-other" {
        other = true;
    } else if dt != "none" {
        return dt;
    }
    finish("none".into(), hyperv, other)
}

fn detect_vm_dmi(ctx: &Ctx) -> String {
    const TABLE: &[(&str, &str)] = &[
        ("KVM", "kvm"),
        ("OpenStack", "kvm"),
        ("KubeVirt", "kvm"),
        ("Amazon EC2", "amazon"),
        ("QEMU", "qemu"),
        ("VMware", "vmware"),
        ("VMW", "vmware"),
        ("innotek GmbH", "oracle"),
        ("VirtualBox", "oracle"),
        ("Oracle Corporation", "oracle"),
        ("Xen", "xen"),
        ("Bochs", "bochs"),
        ("Parallels", "parallels"),
        ("BHYVE", "bhyve"),
        ("Hyper-V", "microsoft"),
        ("Apple Virtualization", "apple"),
        ("Google Compute Engine", "google"),
    ];
    if !cfg!(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "loongarch64"
    )) {
        return "none".into();
    }
    let mut found = "none".to_string();
    'files: for f in [
        "product_name",
        "sys_vendor",
        "board_vendor",
        "bios_vendor",
        "product_version",
    ] {
        let Some(s) = read_one_line(ctx, &format!("/sys/class/dmi/id/{f}")) else {
            continue;
        };
        for (vendor, id) in TABLE {
            if s.starts_with(vendor) {
                found = (*id).to_string();
                break 'files;
            }
        }
    }
    let smbios_vm_bit = || -> Option<bool> {
        let raw = std::fs::read(ctx.path("/sys/firmware/dmi/entries/0-0/raw")).ok()?;
        if raw.len() < 20 || raw[1] < 20 {
            return None;
        }
        Some(raw[19] & (1 << 4) != 0)
    };
    if found == "amazon" {
        return match smbios_vm_bit() {
            Some(true) => "amazon".into(),
            Some(false) => "none".into(),
            None => {
                let product = read_one_line(ctx, "/sys/class/dmi/id/product_name");
                match product {
                    Some(p) => match p.find(".metal") {
                        Some(i) if matches!(p[i + 6..].chars().next(), None | Some('-')) => {
                            "none".into()
                        }
                        _ => "amazon".into(),
                    },
                    None => "amazon".into(),
                }
            }
        };
    }
    if found == "none" && smbios_vm_bit() == Some(true) {
        return "vm-other".into();
    }
    found
}

fn is_xen_dom0(ctx: &Ctx) -> bool {
    if let Some(f) = read_one_line(ctx, "/sys/hypervisor/properties/features") {
        if let Ok(bits) = u64::from_str_radix(f.trim().trim_start_matches("0x"), 16) {
            return bits & (1 << 11) != 0;
        }
    }
    match read_one_line(ctx, "/proc/xen/capabilities") {
        Some(c) => c.split(',').any(|w| w.trim() == "control_d"),
        None => false,
    }
}

fn detect_vm_device_tree(ctx: &Ctx) -> String {
    if !cfg!(any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "riscv64"
    )) {
        return "none".into();
    }
    match read_one_line(ctx, "/proc/device-tree/hypervisor/compatible") {
        Some(hv) if hv == "linux,kvm" => "kvm".into(),
        Some(hv) if hv.contains("xen") => "xen".into(),
        Some(hv) if hv.contains("vmware") => "vmware".into(),
        Some(_) => "vm-other".into(),
        None => {
            if ctx.exists("/proc/device-tree/ibm,partition-name")
                && ctx.exists("/proc/device-tree/hmc-managed?")
                && !ctx.exists("/proc/device-tree/chosen/qemu,graphic-width")
            {
                return "powervm".into();
            }
            if let Ok(rd) = std::fs::read_dir(ctx.path("/proc/device-tree")) {
                if rd
                    .filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().contains("fw-cfg"))
                {
                    return "qemu".into();
                }
            }
            if read_one_line(ctx, "/proc/device-tree/compatible")
                .is_some_and(|c| c.trim_end_matches('\0') == "qemu,pseries")
            {
                return "qemu".into();
            }
            "none".into()
        }
    }
}

/// The hypervisor vendor signature in CPUID leaf 0x40000000.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn detect_vm_cpuid() -> String {
    #[cfg(target_arch = "x86")]
    use std::arch::x86::__cpuid;
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::__cpuid;
    const TABLE: &[(&[u8], &str)] = &[
        (b"XenVMMXenVMM", "xen"),
        (b"KVMKVMKVM\0\0\0", "kvm"),
        (b"Linux KVM Hv", "kvm"),
        (b"TCGTCGTCGTCG", "qemu"),
        (b"VMwareVMware", "vmware"),
        (b"Microsoft Hv", "microsoft"),
        (b"bhyve bhyve ", "bhyve"),
        (b"QNXQVMBSQG\0\0", "qnx"),
        (b"ACRNACRNACRN", "acrn"),
        (b"SRESRESRESRE", "sre"),
        (b"Apple VZ\0\0\0\0", "apple"),
    ];
    // CPUID is always available on x86_64 (and on any x86 Rust targets).
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
    if leaf1.ecx & 0x8000_0000 == 0 {
        return "none".into();
    }
    #[allow(unused_unsafe)]
    let hv = unsafe { __cpuid(0x4000_0000) };
    let mut sig = [0u8; 12];
    sig[0..4].copy_from_slice(&hv.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&hv.ecx.to_le_bytes());
    sig[8..12].copy_from_slice(&hv.edx.to_le_bytes());
    TABLE
        .iter()
        .find(|(s, _)| *s == sig)
        .map_or("vm-other", |(_, v)| v)
        .to_string()
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
fn detect_vm_cpuid() -> String {
    "none".into()
}
