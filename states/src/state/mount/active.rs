//! The kernel's mount table (salt/modules/mount.py `active(extended=True)`
//! from `/proc/self/mountinfo`) and `mount.mounted`'s test of whether the
//! options asked for are in effect.
use std::path::{Path, PathBuf};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq)]
pub struct Active {
    pub mountpoint: PathBuf,
    pub device: String,
    pub fstype: String,
    pub opts: Vec<String>,
    pub superopts: Vec<String>,
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_mountinfo(text: &str) -> Vec<Active> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let dash = f.iter().position(|x| *x == "-")?;
            Some(Active {
                mountpoint: PathBuf::from(unescape(f.get(4)?)),
                opts: f.get(5)?.split(',').map(String::from).collect(),
                fstype: f.get(dash + 1)?.to_string(),
                device: unescape(f.get(dash + 2)?),
                superopts: f.get(dash + 3)?.split(',').map(String::from).collect(),
            })
        })
        .collect()
}

/// What is mounted at `path` now (the last, top-most mount there).
pub fn mounted_at(path: &Path) -> Result<Option<Active>, String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    Ok(parse_mountinfo(&text)
        .into_iter()
        .rev()
        .find(|a| a.mountpoint == path))
}

/// Options the kernel does not show, so asking for them never forces a remount.
const INVISIBLE_OPTIONS: &[&str] = &[
    "_netdev",
    "actimeo",
    "bg",
    "comment",
    "defaults",
    "delay_connect",
    "direct-io-mode",
    "intr",
    "loop",
    "nointr",
    "nobootwait",
    "nofail",
    "password",
    "reconnect",
    "retry",
    "soft",
    "auto",
    "users",
    "bind",
    "nonempty",
    "transform_symlinks",
    "port",
    "backup-volfile-servers",
];
/// `key=value` options whose value the kernel does not show.
const INVISIBLE_KEYS: &[&str] = &[
    "actimeo",
    "comment",
    "credentials",
    "direct-io-mode",
    "password",
    "port",
    "retry",
    "secretfile",
];

/// Salt's `_size_convert`: `size=2m` is shown as `size=2048k`.
fn size_in_k(opt: &str) -> Option<String> {
    let v = opt.strip_prefix("size=")?;
    let unit = v.chars().last()?;
    let n: u64 = v[..v.len() - 1].parse().ok()?;
    let k = match unit {
        'k' => n,
        'm' => n * 1024,
        'g' => n * 1024 * 1024,
        _ => return None,
    };
    Some(format!("size={k}k"))
}

/// The options of `wanted` that the active mount does not show: Salt's
/// `trigger_remount`. `resolve_id` turns a `uid=`/`gid=` name into its number.
///
/// Salt also rewrites every option to the active `size=` when the mount
/// has one, so it never notices any other option change on such a tmpfs;
/// Brine compares each option as written.
pub fn missing_options(
    wanted: &[String],
    active: &Active,
    fstype: &str,
    extra_invisible: &[String],
    extra_keys: &[String],
    resolve_id: &dyn Fn(&str, &str) -> Option<u32>,
) -> Vec<String> {
    let mut missing = Vec::new();
    for opt in wanted {
        let mut opt = match opt.as_str() {
            "tcp" => "proto=tcp".to_string(),
            "udp" => "proto=udp".to_string(),
            o => o.to_string(),
        };
        let key = opt.split('=').next().unwrap_or("").to_string();
        if INVISIBLE_KEYS.contains(&key.as_str()) || extra_keys.contains(&key) {
            opt = key.clone();
        }
        if let Some(k) = size_in_k(&opt) {
            opt = k;
        }
        if fstype == "cifs" && key == "user" {
            opt = format!("username={}", opt.split('=').nth(1).unwrap_or(""));
        }
        if fstype == "ramfs" && key == "size" {
            opt = key.clone();
        }
        if let Some((k @ ("uid" | "gid"), v)) = opt.split_once('=') {
            if !v.chars().all(|c| c.is_ascii_digit()) {
                if let Some(id) = resolve_id(k, v) {
                    opt = format!("{k}={id}");
                }
            }
        }
        let shown = active.opts.contains(&opt) || active.superopts.contains(&opt);
        let invisible = INVISIBLE_OPTIONS.contains(&opt.as_str())
            || extra_invisible.contains(&opt)
            || INVISIBLE_KEYS.contains(&opt.as_str())
            || extra_keys.contains(&opt)
            || (fstype == "ramfs" && opt == "size");
        if !shown && !invisible {
            missing.push(opt);
        }
    }
    missing.sort();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str =
        "45 27 0:40 / /srv/my\\040cache rw,relatime - tmpfs tmpfs rw,size=1024k,mode=700\n\
                        29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n";

    #[test]
    fn mountinfo_lines() {
        let all = parse_mountinfo(INFO);
        assert_eq!(all[0].mountpoint, Path::new("/srv/my cache"));
        assert_eq!(all[0].superopts, ["rw", "size=1024k", "mode=700"]);
        assert_eq!(all[1].device, "/dev/sda1");
        assert_eq!(all[1].fstype, "ext4");
    }

    #[test]
    fn options_the_mount_does_not_show() {
        let a = &parse_mountinfo(INFO)[0];
        let none = |_: &str, _: &str| None;
        let opts = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        assert!(missing_options(
            &opts("defaults,size=1m,mode=700"),
            a,
            "tmpfs",
            &[],
            &[],
            &none
        )
        .is_empty());
        assert_eq!(
            missing_options(&opts("size=2m,noexec"), a, "tmpfs", &[], &[], &none),
            ["noexec", "size=2048k"]
        );
        assert!(
            missing_options(&opts("noexec"), a, "tmpfs", &["noexec".into()], &[], &none).is_empty()
        );
        let ids = |k: &str, v: &str| (k == "uid" && v == "www").then_some(33);
        assert_eq!(
            missing_options(&opts("uid=www"), a, "tmpfs", &[], &[], &ids),
            ["uid=33"]
        );
    }
}
