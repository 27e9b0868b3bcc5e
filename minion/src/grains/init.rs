//! The `init` grain (salt.grains.core._linux_init_system).

use std::io::Read;

use super::Ctx;

/// `_linux_init_system`.
pub(crate) fn init_system(ctx: &Ctx) -> String {
    if std::fs::metadata(ctx.path("/run/systemd/system")).is_ok() {
        return "systemd".into();
    }
    let Ok(raw) = std::fs::read(ctx.path("/proc/1/cmdline")) else {
        return "unknown".into();
    };
    let text = String::from_utf8_lossy(&raw).replace('\0', " ");
    let cmdline: Vec<&str> = text.split_whitespace().collect();
    let init_bin = cmdline.first().and_then(|c| ctx.which(c));
    if let Some(bin) = init_bin.filter(|b| b.ends_with("bin/init")) {
        return scan_init_binary(ctx, &bin).unwrap_or_else(|| "unknown".into());
    }
    let in_cmdline = |exe: &str| {
        ctx.which(exe)
            .is_some_and(|p| cmdline.iter().any(|c| *c == p))
    };
    if in_cmdline("supervisord") {
        "supervisord".into()
    } else if in_cmdline("dumb-init") {
        "dumb-init".into()
    } else if in_cmdline("tini") {
        "tini".into()
    } else if cmdline == ["runit"] || cmdline.contains(&"/sbin/my_init") {
        "runit".into()
    } else {
        "unknown".into()
    }
}

/// Looks for "upstart", "sysvinit" or "systemd" in the init binary, in
/// 256 KiB lowercased chunks carrying 7 bytes over, as Salt does; the first
/// chunk with a hit decides, in that priority order.
fn scan_init_binary(ctx: &Ctx, bin: &str) -> Option<String> {
    const BUF: usize = 262_144;
    const ITEMS: [&[u8]; 3] = [b"upstart", b"sysvinit", b"systemd"];
    let mut f = std::fs::File::open(ctx.path(bin)).ok()?;
    let mut edge: Vec<u8> = Vec::new();
    loop {
        let mut chunk = Vec::with_capacity(BUF);
        (&mut f).take(BUF as u64).read_to_end(&mut chunk).ok()?;
        if chunk.is_empty() {
            return None;
        }
        chunk.make_ascii_lowercase();
        let mut buf = std::mem::take(&mut edge);
        buf.extend_from_slice(&chunk);
        for item in ITEMS {
            if buf.windows(item.len()).any(|w| w == item) {
                return Some(String::from_utf8_lossy(item).into_owned());
            }
        }
        edge = buf[buf.len().saturating_sub(7)..].to_vec();
    }
}
