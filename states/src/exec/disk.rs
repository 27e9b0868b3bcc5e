//! `disk.usage`: what Salt's parse of `df -P` gives, computed as GNU df
//! computes it, from `statvfs` of each mount the kernel lists in
//! `/proc/mounts` (the live kernel's, like `network.*`: mounts are not files
//! under a state root).
use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;

use common::data::{Map, Value};
use serde_json::json;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};

pub const USAGE: ExecFunction = ExecFunction {
    name: "disk.usage",
    // Extra `df` flags: Brine runs no df.
    params: &[Param::unsupported("args")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "each mount's filesystem, 1K-blocks, used, available and capacity, by mount point",
    parse: |_| Ok(ExecCall::DiskUsage),
};

/// File systems df leaves out unless `-a` (gnulib's `ME_DUMMY`, and df's
/// `rootfs`).
const DUMMY_TYPES: &[&str] = &[
    "autofs",
    "proc",
    "subfs",
    "debugfs",
    "devpts",
    "fusectl",
    "fuse.portal",
    "mqueue",
    "rpc_pipefs",
    "sysfs",
    "devfs",
    "kernfs",
    "ignore",
    "none",
    "rootfs",
];

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    device: String,
    dir: String,
    fstype: String,
}

/// `/proc/mounts`' fields, with the kernel's octal escapes (`\040` for a
/// space) undone.
fn parse_mounts(text: &str) -> Vec<Mount> {
    let unescape = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let octal = b
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
            match (b[i], octal) {
                (b'\\', Some(d)) => {
                    out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                    i += 4;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            Some(Mount {
                device: unescape(f.next()?),
                dir: unescape(f.next()?),
                fstype: f.next()?.to_string(),
            })
        })
        .collect()
}

/// df's choice among mounts of one device (`filter_mount_list`): the
/// shortest mount point wins, and a later mount over the same directory
/// replaces the earlier one.
fn shown_mounts(mounts: Vec<Mount>, device_of: impl Fn(&str) -> Option<u64>) -> Vec<Mount> {
    let mut shown: Vec<Mount> = Vec::new();
    let mut by_dev: HashMap<u64, usize> = HashMap::new();
    for m in mounts {
        if DUMMY_TYPES.contains(&m.fstype.as_str()) {
            continue;
        }
        let Some(dev) = device_of(&m.dir) else {
            continue;
        };
        match by_dev.get(&dev) {
            Some(&i) if shown[i].dir.len() > m.dir.len() || shown[i].dir == m.dir => {
                shown[i] = m;
            }
            Some(_) => {}
            None => {
                by_dev.insert(dev, shown.len());
                shown.push(m);
            }
        }
    }
    shown
}

/// A mount's sizes as `df -P` prints them: 1024-byte blocks rounded up,
/// capacity rounded up; `None` for a file system without blocks (df hides
/// those unless `-a`).
fn usage_of(dir: &str) -> Option<(u64, u64, u64, String)> {
    let path = CString::new(dir).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we pass; `path` is a
    // NUL-terminated string alive for the call.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut st) != 0 {
            return None;
        }
        st
    };
    let (blocks, free, avail): (u64, u64, u64) = (st.f_blocks, st.f_bfree, st.f_bavail);
    if blocks == 0 {
        return None;
    }
    let unit: u64 = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    };
    let kib = |n: u64| (u128::from(n) * u128::from(unit)).div_ceil(1024) as u64;
    let used = blocks - free;
    let capacity = match used + avail {
        0 => "-".to_string(),
        total => format!("{}%", (u128::from(used) * 100).div_ceil(u128::from(total))),
    };
    Some((kib(blocks), kib(used), kib(avail), capacity))
}

/// Salt's `disk.usage` on Linux.
pub fn usage() -> Result<Value, ExecError> {
    let text = std::fs::read_to_string("/proc/mounts")
        .map_err(|e| ExecError::Failed(format!("disk.usage: /proc/mounts: {e}")))?;
    let device_of = |dir: &str| std::fs::metadata(dir).ok().map(|m| m.dev());
    let mut out = Map::new();
    for m in shown_mounts(parse_mounts(&text), device_of) {
        let Some((blocks, used, avail, capacity)) = usage_of(&m.dir) else {
            continue;
        };
        out.insert(
            m.dir,
            json!({
                "filesystem": m.device,
                "1K-blocks": blocks.to_string(),
                "used": used.to_string(),
                "available": avail.to_string(),
                "capacity": capacity,
            }),
        );
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_are_unescaped_and_chosen_as_df_chooses() {
        let text = "proc /proc proc rw 0 0\n\
                    /dev/vda / ext4 rw 0 0\n\
                    tmpfs /dev/shm tmpfs rw 0 0\n\
                    /dev/vda /var/lib/x ext4 rw 0 0\n\
                    tmpfs /dev/shm tmpfs rw 0 0\n\
                    /dev/vdb /mnt/my\\040disk ext4 rw 0 0\n";
        let mounts = parse_mounts(text);
        assert_eq!(mounts[5].dir, "/mnt/my disk");
        let dev = |dir: &str| {
            Some(match dir {
                "/" | "/var/lib/x" => 1,
                "/dev/shm" => 2,
                _ => 3,
            })
        };
        let dirs: Vec<String> = shown_mounts(mounts, dev)
            .into_iter()
            .map(|m| m.dir)
            .collect();
        assert_eq!(dirs, ["/", "/dev/shm", "/mnt/my disk"]);
    }

    #[test]
    fn root_has_df_numbers() {
        let all = usage().unwrap();
        let root = &all["/"];
        let n = |k: &str| root[k].as_str().unwrap().parse::<u64>().unwrap();
        assert!(n("1K-blocks") > 0 && n("used") <= n("1K-blocks"), "{root}");
        assert!(root["capacity"].as_str().unwrap().ends_with('%'), "{root}");
        assert!(all.get("/proc").is_none(), "{all}");
    }
}
