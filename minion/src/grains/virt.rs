//! The `virtual` and `virtual_subtype` grains, following
//! salt.grains.core._virtual for Linux.
//!
//! Salt first runs the first available of `virt-what` (alone, if present) or
//! `systemd-detect-virt`, `dmidecode`, then `lspci`, and then applies file
//! checks (/proc, /sys) that can override the answer. We look those tools up
//! on PATH like Salt does, but instead of running them we evaluate what they
//! would report from the same sources they read:
//! - `systemd-detect-virt`: systemd's detect_container()/detect_vm() logic
//!   (container marker files, /run/systemd/container, DMI, CPUID, ...);
//! - `virt-what`: the same detection, mapped to virt-what's vocabulary;
//! - `dmidecode` (root only): the DMI strings in /sys/class/dmi/id;
//! - `lspci`: PCI vendor ids in /sys/bus/pci/devices.

use std::os::unix::fs::MetadataExt;

use super::systemd_virt::detect_virtualization;
use super::{Ctx, Uname};

pub(crate) fn virtual_grains(
    ctx: &Ctx,
    uname: Option<&Uname>,
    cpuinfo: Option<&str>,
) -> (String, Option<String>) {
    let mut virt = "physical".to_string();
    let mut subtype: Option<String> = None;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = ctx.live && unsafe { libc::geteuid() } == 0;

    // Salt's quick exit for Solaris LX branded zones.
    if let Some(u) = uname {
        let fields = [&u.sysname, &u.nodename, &u.release, &u.version, &u.machine];
        if fields.iter().any(|f| f.as_str() == "BrandZ virtual linux") {
            return ("zone".into(), None);
        }
    }

    let mut cmds: Vec<&str> = if ctx.which("virt-what").is_some() {
        vec!["virt-what"]
    } else {
        vec!["systemd-detect-virt", "virt-what", "dmidecode"]
    };
    if ctx.exists("/proc/bus/pci") {
        cmds.push("lspci");
    }
    for cmd in cmds {
        if ctx.which(cmd).is_none() {
            continue;
        }
        match cmd {
            "systemd-detect-virt" => {
                let out = detect_virtualization(ctx);
                let (v, st) = match out.as_str() {
                    "qemu" | "kvm" | "oracle" | "xen" | "bochs" | "chroot" | "uml"
                    | "systemd-nspawn" => (out.clone(), None),
                    o if o.contains("vmware") => ("VMware".into(), None),
                    o if o.contains("microsoft") => ("VirtualPC".into(), None),
                    o if o.contains("lxc") => ("container".into(), Some("LXC")),
                    o if o.contains("podman") => ("container".into(), Some("Podman")),
                    o if o.contains("docker") => ("container".into(), Some("Docker")),
                    o if o.contains("amazon") => ("Nitro".into(), Some("Amazon EC2")),
                    // "none" (exit code 1) or an answer Salt does not map:
                    // go on with the next command.
                    _ => continue,
                };
                virt = v;
                subtype = st.map(str::to_string);
                break;
            }
            "virt-what" => {
                // virt-what needs root; otherwise it fails and Salt moves on.
                if !is_root {
                    continue;
                }
                let facts = virt_what_facts(ctx);
                for line in &facts {
                    let l = line.as_str();
                    let (v, st) = match l {
                        "kvm" | "qemu" | "uml" | "xen" => (l.to_string(), None),
                        _ if l.contains("lxc") => ("container".into(), Some("LXC")),
                        _ if l.contains("docker") => ("container".into(), Some("Docker")),
                        _ if l.contains("vmware") => ("VMware".into(), None),
                        _ if l.contains("parallels") => ("Parallels".into(), None),
                        _ if l.contains("hyperv") => ("HyperV".into(), None),
                        _ => continue,
                    };
                    virt = v;
                    subtype = st.map(str::to_string);
                    break;
                }
                break;
            }
            "dmidecode" => {
                // dmidecode needs root to read the SMBIOS tables.
                if !is_root {
                    continue;
                }
                let out = dmidecode_text(ctx);
                if out.contains("Vendor: QEMU")
                    || out.contains("Manufacturer: QEMU")
                    || out.contains("Vendor: Bochs")
                    || out.contains("Manufacturer: Bochs")
                {
                    virt = "kvm".into();
                }
                if out.contains("BHYVE") {
                    virt = "bhyve".into();
                } else if out.contains("Manufacturer: oVirt") {
                    virt = "kvm".into();
                    subtype = Some("ovirt".into());
                } else if out.contains("Product Name: RHEV Hypervisor") {
                    virt = "kvm".into();
                    subtype = Some("rhev".into());
                } else if out.contains("VirtualBox") {
                    virt = "VirtualBox".into();
                } else if out.contains("VMware") {
                    virt = "VMware".into();
                } else if out.contains(": Microsoft") && out.contains("Virtual Machine") {
                    virt = "VirtualPC".into();
                } else if out.contains("Parallels Software") {
                    virt = "Parallels".into();
                } else if out.contains("Manufacturer: Google") || out.contains("Vendor: SeaBIOS") {
                    // Google Compute Engine, or Proxmox/plain KVM with SeaBIOS.
                    virt = "kvm".into();
                }
                break;
            }
            "lspci" => {
                let vendors = pci_vendors(ctx);
                let has = |id: &str| vendors.iter().any(|v| v == id);
                if has("0x15ad") {
                    virt = "VMware".into();
                } else if has("0x80ee") {
                    virt = "VirtualBox".into();
                } else if has("0x1b36") || has("0x1234") || has("0x1af4") {
                    // QEMU devices (Red Hat 1b36, Bochs VGA 1234) and virtio (1af4).
                    virt = "kvm".into();
                }
                break;
            }
            _ => {}
        }
    }

    file_checks(ctx, cpuinfo, &mut virt, &mut subtype);

    if subtype.is_some() && virt == "physical" {
        virt = "virtual".into();
    }

    // EC2 detection through `dmidecode -t system` (root only).
    if is_root
        && ["qemu", "kvm", "xen", "amazon"].contains(&virt.as_str())
        && ctx.which("dmidecode").is_some()
    {
        let vendor = dmi(ctx, "sys_vendor");
        let product = dmi(ctx, "product_name");
        let version = dmi(ctx, "product_version");
        if vendor == "Amazon EC2" {
            if virt != "xen" {
                virt = "Nitro".into();
            }
            subtype = Some(format!("Amazon EC2 ({product})"));
        } else if version.contains(".amazon") {
            subtype = Some("Amazon EC2".into());
        }
    }
    (virt, subtype)
}

/// The checks Salt makes for every Linux host after the commands.
fn file_checks(ctx: &Ctx, cpuinfo: Option<&str>, virt: &mut String, subtype: &mut Option<String>) {
    if ctx.is_dir("/proc") {
        if let (Ok(a), Ok(b)) = (
            std::fs::metadata(ctx.path("/")),
            std::fs::metadata(ctx.path("/proc/1/root/.")),
        ) {
            // Python compares the two os.stat() results as tuples (mode, ino,
            // dev, nlink, uid, gid, size, and whole-second times).
            let key = |m: &std::fs::Metadata| {
                (
                    m.mode(),
                    m.ino(),
                    m.dev(),
                    m.nlink(),
                    m.uid(),
                    m.gid(),
                    m.size(),
                    m.atime(),
                    m.mtime(),
                    m.ctime(),
                )
            };
            if key(&a) != key(&b) {
                *subtype = Some("chroot".into());
            }
        }
    }
    if ctx.is_dir("/proc/vz") {
        if ctx.is_file("/proc/vz/version") {
            *virt = "openvzhn".into();
        } else if ctx.is_file("/proc/vz/veinfo") {
            *virt = "openvzve".into();
        }
    }
    if let Some(status) = ctx.read("/proc/self/status") {
        for line in status.lines() {
            if let Some(rest) = line.strip_prefix("envID:") {
                let v = rest.trim_start();
                if v.len() < rest.len() && super::util::is_digits(v) {
                    *virt = if v.trim_start_matches('0').is_empty() {
                        "openvzhn".into()
                    } else {
                        "openvzve".into()
                    };
                }
            }
        }
    }
    if ctx.is_dir("/proc/sys/xen") || ctx.is_dir("/sys/bus/xen") || ctx.is_dir("/proc/xen") {
        if ctx.is_file("/proc/xen/xsd_kva") {
            *subtype = Some("Xen Dom0".into());
        } else if dmi(ctx, "product_name") == "HVM domU" {
            *subtype = Some("Xen HVM DomU".into());
        } else if let Some(caps) = ctx
            .is_file("/proc/xen/capabilities")
            .then(|| ctx.read("/proc/xen/capabilities"))
            .flatten()
        {
            *subtype = Some(if caps.contains("control_d") {
                "Xen Dom0".into()
            } else {
                "Xen PV DomU".into()
            });
        } else if ctx.is_dir("/sys/bus/xen") && ctx.is_dir("/sys/bus/xen/drivers/xenconsole") {
            // Salt's last resort here greps `dmesg`, which we do not run.
            *subtype = Some("Xen PV DomU".into());
        }
        if subtype
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("dom")
        {
            *virt = "xen".into();
        }
    }
    if cpuinfo.is_some_and(|c| c.contains("QEMU Virtual CPU")) {
        *virt = "kvm".into();
    }
    if let Some(product) = ctx.read("/sys/devices/virtual/dmi/id/product_name") {
        if product.contains("VirtualBox") {
            *virt = "VirtualBox".into();
        } else if product.contains("RHEV Hypervisor") {
            *virt = "kvm".into();
            *subtype = Some("rhev".into());
        } else if product.contains("oVirt Node") {
            *virt = "kvm".into();
            *subtype = Some("ovirt".into());
        } else if product.contains("Google") {
            *virt = "gce".into();
        } else if product.contains("BHYVE") {
            *virt = "bhyve".into();
        }
    }
    if let Some(cg) = ctx.read("/proc/1/cgroup") {
        if cg.contains(":/lxc/") {
            *virt = "container".into();
            *subtype = Some("LXC".into());
        } else if cg.contains(":/kubepods/") {
            *subtype = Some("kubernetes".into());
        } else if cg.contains(":/libpod_parent/") {
            *subtype = Some("libpod".into());
        } else if [":/system.slice/docker", ":/docker/", ":/docker-ce/"]
            .iter()
            .any(|m| cg.contains(m))
        {
            *virt = "container".into();
            *subtype = Some("Docker".into());
        }
    }
    if subtype.as_deref() != Some("LXC") {
        if let Ok(env) = std::fs::read(ctx.path("/proc/1/environ")) {
            if String::from_utf8_lossy(&env).contains("container=lxc") {
                *virt = "container".into();
                *subtype = Some("LXC".into());
            }
        }
    }
}

/// First line of a /sys/class/dmi/id file, "" when missing.
fn dmi(ctx: &Ctx, field: &str) -> String {
    ctx.read(&format!("/sys/class/dmi/id/{field}"))
        .map(|s| s.lines().next().unwrap_or("").trim().to_string())
        .unwrap_or_default()
}

/// The parts of `dmidecode` output Salt's substring tests look at, rebuilt
/// from the DMI strings the kernel exports.
fn dmidecode_text(ctx: &Ctx) -> String {
    let mut s = String::new();
    for (label, field) in [
        ("Vendor", "bios_vendor"),
        ("Version", "bios_version"),
        ("Manufacturer", "sys_vendor"),
        ("Product Name", "product_name"),
        ("Version", "product_version"),
        ("Manufacturer", "board_vendor"),
        ("Product Name", "board_name"),
        ("Manufacturer", "chassis_vendor"),
    ] {
        let v = dmi(ctx, field);
        if !v.is_empty() {
            s.push_str(&format!("\t{label}: {v}\n"));
        }
    }
    s
}

fn pci_vendors(ctx: &Ctx) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(ctx.path("/sys/bus/pci/devices")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("vendor")).ok())
        .map(|v| v.trim().to_lowercase())
        .collect()
}

/// What `virt-what` would print, approximated from systemd-style detection.
fn virt_what_facts(ctx: &Ctx) -> Vec<String> {
    let fact = match detect_virtualization(ctx).as_str() {
        "kvm" => "kvm",
        "qemu" => "qemu",
        "xen" => "xen",
        "uml" => "uml",
        "docker" => "docker",
        "lxc" | "lxc-libvirt" => "lxc",
        "podman" => "podman",
        "vmware" => "vmware",
        "microsoft" => "hyperv",
        "parallels" => "parallels",
        "oracle" => "virtualbox",
        _ => return Vec::new(),
    };
    vec![fact.to_string()]
}
