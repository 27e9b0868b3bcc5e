//! The `osarch` grain (salt.grains.core._osarch): the package manager's
//! name for the architecture.

use std::io::Read;

use super::Ctx;

/// `_osarch`. Debian asks `dpkg --print-architecture`; dpkg's native
/// architecture is the one it was built for, read here from the ELF header
/// of the dpkg binary. RedHat/Suse ask `rpm --eval %{_host_cpu}`, which is
/// the kernel's machine name on every supported architecture. Others use
/// `cpuarch`.
pub(crate) fn osarch(ctx: &Ctx, os_family: &str, cpuarch: &str) -> Option<String> {
    if os_family == "Debian" {
        if let Some(arch) = dpkg_arch(ctx) {
            return Some(arch);
        }
        return debian_arch_from_machine(cpuarch);
    }
    (!cpuarch.is_empty()).then(|| cpuarch.to_string())
}

/// Debian architecture name of the dpkg binary, from its ELF header.
fn dpkg_arch(ctx: &Ctx) -> Option<String> {
    let mut f = std::fs::File::open(ctx.path("/usr/bin/dpkg")).ok()?;
    let mut h = [0u8; 52];
    f.read_exact(&mut h).ok()?;
    if &h[0..4] != b"\x7fELF" {
        return None;
    }
    let class64 = h[4] == 2;
    let le = h[5] == 1;
    let u16_at = |o: usize| {
        if le {
            u16::from_le_bytes([h[o], h[o + 1]])
        } else {
            u16::from_be_bytes([h[o], h[o + 1]])
        }
    };
    let u32_at = |o: usize| {
        let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let machine = u16_at(18);
    // e_flags sits after e_entry/e_phoff/e_shoff, whose size depends on the class.
    let flags = if class64 { None } else { Some(u32_at(36)) };
    let arch = match (machine, class64, le) {
        (62, true, _) => "amd64",
        (62, false, _) => "x32",
        (3, _, _) => "i386",
        (183, _, _) => "arm64",
        // EF_ARM_ABI_FLOAT_HARD tells armhf from armel.
        (40, _, _) => {
            if flags.unwrap_or(0) & 0x400 != 0 {
                "armhf"
            } else {
                "armel"
            }
        }
        (21, true, true) => "ppc64el",
        (21, true, false) => "ppc64",
        (20, false, false) => "powerpc",
        (22, true, _) => "s390x",
        (243, true, _) => "riscv64",
        (258, true, _) => "loong64",
        (8, true, true) => "mips64el",
        (8, false, true) => "mipsel",
        (2, true, _) | (43, true, _) => "sparc64",
        _ => return None,
    };
    Some(arch.to_string())
}

/// Fallback when there is no dpkg binary to look at.
fn debian_arch_from_machine(cpuarch: &str) -> Option<String> {
    let arch = match cpuarch {
        "" => return None,
        "x86_64" => "amd64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "aarch64" => "arm64",
        "armv7l" | "armv8l" => "armhf",
        "ppc64le" => "ppc64el",
        other => other,
    };
    Some(arch.to_string())
}
