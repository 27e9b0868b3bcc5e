//! `/etc/fstab` as salt/modules/mount.py's `_fstab_entry`, `set_fstab`,
//! `fstab` and `rm_fstab` read and write it.

/// The six fields, as Salt names them.
const KEYS: [&str; 6] = ["device", "name", "fstype", "opts", "dump", "pass_num"];

/// One entry: the six fields as strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub fields: [String; 6],
}

impl Entry {
    pub fn new(device: &str, name: &str, fstype: &str, opts: &str, dump: &str, pass: &str) -> Self {
        Entry {
            fields: [device, name, fstype, opts, dump, pass].map(|s| s.replace("\\ ", "\\040")),
        }
    }

    /// `_fstab_entry.dict_from_line`: `None` for comments and lines that
    /// are not 4 to 6 fields (kept as they are).
    pub fn parse(line: &str) -> Option<Entry> {
        if line.starts_with('#') {
            return None;
        }
        let comps: Vec<&str> = line.split_whitespace().collect();
        if !(4..=6).contains(&comps.len()) {
            return None;
        }
        let field = |i: usize| comps.get(i).copied().unwrap_or("0").to_string();
        Some(Entry {
            fields: [0, 1, 2, 3, 4, 5].map(field),
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        KEYS.iter()
            .position(|k| *k == key)
            .map(|i| self.fields[i].as_str())
    }

    pub fn name(&self) -> &str {
        &self.fields[1]
    }

    pub fn device(&self) -> &str {
        &self.fields[0]
    }

    /// `_fstab_entry.match` on the `keys` given: options compare as sets.
    fn matches(&self, other: &Entry, keys: &[String]) -> bool {
        keys.iter().all(|k| match (self.get(k), other.get(k)) {
            (Some(a), Some(b)) if k == "opts" => sorted_opts(a) == sorted_opts(b),
            (Some(a), Some(b)) => a == b,
            _ => false,
        })
    }

    /// Salt's `fstab_format`.
    pub fn line(&self) -> String {
        let [device, name, fstype, opts, dump, pass] = &self.fields;
        format!("{device}\t\t{name}\t{fstype}\t{opts}\t{dump} {pass}\n")
    }
}

fn sorted_opts(opts: &str) -> Vec<&str> {
    let mut v: Vec<&str> = opts.split(',').collect();
    v.sort_unstable();
    v
}

/// `set_fstab`'s `match_on`: `auto` is the mount point for pseudo file
/// systems, the device otherwise.
pub fn match_keys(match_on: &[String], fstype: &str) -> Result<Vec<String>, String> {
    const SPECIAL: &[&str] = &[
        "none",
        "tmpfs",
        "sysfs",
        "proc",
        "fusectl",
        "debugfs",
        "securityfs",
        "devtmpfs",
        "cgroup",
        "nfs",
        "nfs4",
        "glusterfs",
        "btrfs",
    ];
    if match_on == ["auto"] {
        let key = if SPECIAL.contains(&fstype) {
            "name"
        } else {
            "device"
        };
        return Ok(vec![key.to_string()]);
    }
    let bad: Vec<&String> = match_on
        .iter()
        .filter(|k| !KEYS.contains(&k.as_str()))
        .collect();
    if !bad.is_empty() {
        return Err(format!("Unrecognized keys in match_on: {bad:?}"));
    }
    Ok(match_on.to_vec())
}

/// What `set_fstab` finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Present,
    New,
    Change,
}

/// `set_fstab`: the matching line replaced by `entry` when it differs, or
/// `entry` appended; the new text when it changes.
pub fn set(text: &str, entry: &Entry, keys: &[String]) -> (Status, Option<String>) {
    let mut status = None;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match Entry::parse(line) {
            Some(found) if found.matches(entry, keys) => {
                if found.matches(entry, &KEYS.map(String::from)) {
                    status.get_or_insert(Status::Present);
                    out.push_str(line);
                } else {
                    status = Some(Status::Change);
                    out.push_str(&entry.line());
                }
            }
            _ => out.push_str(line),
        }
    }
    match status {
        Some(Status::Present) => (Status::Present, None),
        Some(s) => (s, Some(out)),
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&entry.line());
            (Status::New, Some(out))
        }
    }
}

/// `mount.fstab`: the last entry for mount point `name`.
pub fn find(text: &str, name: &str) -> Option<Entry> {
    text.lines()
        .rev()
        .filter_map(Entry::parse)
        .find(|e| e.name() == name)
}

/// `rm_fstab`: every line for `name` (and `device`, when given) dropped.
pub fn remove(text: &str, name: &str, device: Option<&str>) -> String {
    text.split_inclusive('\n')
        .filter(|line| {
            !Entry::parse(line)
                .is_some_and(|e| e.name() == name && device.is_none_or(|d| e.device() == d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FSTAB: &str = "# /etc/fstab\nUUID=abc\t/\text4\terrors=remount-ro\t0 1\ntmpfs /srv/cache tmpfs size=1m 0 0\n";

    #[test]
    fn set_finds_present_changed_and_new_entries() {
        let keys = match_keys(&["auto".into()], "tmpfs").unwrap();
        assert_eq!(keys, ["name"]);
        let same = Entry::new("tmpfs", "/srv/cache", "tmpfs", "size=1m", "0", "0");
        assert_eq!(set(FSTAB, &same, &keys), (Status::Present, None));
        let changed = Entry::new("tmpfs", "/srv/cache", "tmpfs", "size=2m,mode=700", "0", "0");
        let (status, text) = set(FSTAB, &changed, &keys);
        assert_eq!(status, Status::Change);
        assert_eq!(
            text.unwrap(),
            "# /etc/fstab\nUUID=abc\t/\text4\terrors=remount-ro\t0 1\ntmpfs\t\t/srv/cache\ttmpfs\tsize=2m,mode=700\t0 0\n"
        );
        let new = Entry::new("/dev/sdb1", "/data", "ext4", "defaults", "0", "2");
        let keys = match_keys(&["auto".into()], "ext4").unwrap();
        let (status, text) = set("x y z w", &new, &keys);
        assert_eq!(status, Status::New);
        assert_eq!(
            text.unwrap(),
            "x y z w\n/dev/sdb1\t\t/data\text4\tdefaults\t0 2\n"
        );
        assert!(match_keys(&["colour".into()], "ext4").is_err());
    }

    #[test]
    fn find_and_remove_by_mount_point() {
        assert_eq!(find(FSTAB, "/srv/cache").unwrap().device(), "tmpfs");
        assert!(find(FSTAB, "/nope").is_none());
        assert_eq!(
            remove(FSTAB, "/srv/cache", None),
            "# /etc/fstab\nUUID=abc\t/\text4\terrors=remount-ro\t0 1\n"
        );
        assert_eq!(remove(FSTAB, "/srv/cache", Some("other")), FSTAB);
    }
}
