//! `mount.mounted` and `mount.unmounted` (salt/states/mount.py over
//! salt/modules/mount.py, Linux): the mount itself (`mount`/`umount` argv,
//! the kernel's table read from `/proc/self/mountinfo`) and its line in
//! `/etc/fstab` (`persist`).
//!
//! Under a state root the mount point and the fstab are the root's
//! (`<root>/srv/x`, `<root>/etc/fstab`) but the mount is real: the kernel
//! has one mount table, so a run as root under a temp root mounts there.
//! Devices are the kernel's and are not moved under the root, except a bind
//! mount's source directory, which is part of the tree.
//!
//! Salt's mount cache (`mount.write_mount_cache`, options remembered
//! between runs) is not kept: options are compared with what the kernel
//! shows each time.
mod active;
mod fstab;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use common::pyfmt::py_str;

use self::fstab::{Entry, Status};
use super::{text_file, Applied, ApplyFn, Args, Check, HostRead, HostWrite, StateError};

pub struct Mount;

impl super::StateModule for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::MOUNT
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "mounted" => mounted(args, host),
            "unmounted" => unmounted(args, host),
            other => Err(StateError::args(format!(
                "mount.{other} is not a state function"
            ))),
        }
    }
}

/// Salt arguments Brine does not implement; refused, not ignored.
const MOUNTED_NOT_SUPPORTED: &[&str] = &[
    "user",
    "device_name_regex",
    "extra_mount_ignore_fs_keys",
    "extra_mount_translate_options",
    "bind_mount_copy_active_opts",
];

fn refuse(args: &Args, fun: &str, keys: &[&str]) -> Result<(), StateError> {
    match keys.iter().find(|k| args.get(k).is_some()) {
        Some(k) => Err(StateError::args(format!(
            "mount.{fun}: '{k}' is not supported by Brine yet"
        ))),
        None => Ok(()),
    }
}

/// Options as Salt takes them: `a,b` or a list.
fn opt_list(args: &Args, key: &str) -> Result<Option<Vec<String>>, StateError> {
    Ok(match args.get(key) {
        None => None,
        Some(Value::String(s)) => Some(s.split(',').map(String::from).collect()),
        Some(Value::Array(items)) => Some(items.iter().map(py_str).collect()),
        Some(v) => return Err(StateError::args(format!("'{key}' must be a list, got {v}"))),
    })
}

/// The path a device name stands for, for comparing with the kernel's
/// (`UUID=`/`LABEL=` through `/dev/disk`, symlinks resolved).
fn real_device(device: &str) -> String {
    let resolve = |p: &str| {
        std::fs::canonicalize(p)
            .map(|r| r.to_string_lossy().into_owned())
            .ok()
    };
    let upper = device.to_uppercase();
    if device.starts_with('/') {
        return resolve(device).unwrap_or_else(|| device.to_string());
    }
    for (prefix, dir) in [("UUID=", "by-uuid"), ("LABEL=", "by-label")] {
        if upper.starts_with(prefix) {
            let mut id = device[prefix.len()..].trim_matches('"').to_string();
            if prefix == "UUID=" {
                id = id.to_lowercase();
            }
            return resolve(&format!("/dev/disk/{dir}/{id}")).unwrap_or(id);
        }
    }
    // A FUSE source `sshfs#user@host:/dir` shows as `user@host:/dir`.
    if let Some((kind, dev)) = device.split_once('#') {
        if !kind.is_empty() && kind.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return dev.to_string();
        }
    }
    device.to_string()
}

/// Everything a `mounted` apply does, in Salt's order.
struct MountPlan {
    name: String,
    mountpoint: PathBuf,
    device: String,
    fstype: String,
    opts: Vec<String>,
    /// Options the kernel does not show: remount (or unmount and mount).
    remount: Option<Vec<String>>,
    /// The active mount is another device: the `umount` change's text.
    umount: Option<String>,
    mount: bool,
    mkdir: bool,
    /// Salt's comment when the mount is left as it is.
    kept: String,
    fstab: Option<(PathBuf, Status, Option<String>)>,
}

fn mounted(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    refuse(args, "mounted", MOUNTED_NOT_SUPPORTED)?;
    let raw_name = args.name();
    let device = args.str("device")?.unwrap_or_default();
    let fstype = args.str("fstype")?.unwrap_or_default();
    for (value, what) in [
        (&raw_name, "name"),
        (&device, "device"),
        (&fstype, "fstype"),
    ] {
        if value.is_empty() {
            return Ok(Check::fail(format!("Must provide {what} to mount.mounted")));
        }
    }
    let mkmnt = args.bool_or("mkmnt", false)?;
    let opts = opt_list(args, "opts")?.unwrap_or_else(|| vec!["defaults".into()]);
    let dump = args.str_or("dump", "0")?;
    let pass_num = args.str_or("pass_num", "0")?;
    let config = args.str_or("config", "/etc/fstab")?;
    let persist = args.bool_or("persist", true)?;
    let mount = args.bool_or("mount", true)?;
    let match_on = args
        .str_list("match_on")?
        .unwrap_or_else(|| vec!["auto".into()]);
    let mut invisible = opt_list(args, "hidden_opts")?.unwrap_or_default();
    invisible.extend(
        args.str_list("extra_mount_invisible_options")?
            .unwrap_or_default(),
    );
    let invisible_keys = args
        .str_list("extra_mount_invisible_keys")?
        .unwrap_or_default();

    let name = if raw_name == "/" {
        raw_name
    } else {
        raw_name.trim_end_matches('/').to_string()
    };
    let mountpoint = host.path(&name)?;
    let real = std::fs::canonicalize(&mountpoint).unwrap_or_else(|_| mountpoint.clone());
    let bind = opts.iter().any(|o| o == "bind");
    let mount_device = if bind && device.starts_with('/') {
        host.path(&device)?.to_string_lossy().into_owned()
    } else {
        device.clone()
    };
    let active = active::mounted_at(&real).map_err(StateError::host)?;

    let mut plan = MountPlan {
        name: name.clone(),
        mountpoint: real.clone(),
        device: mount_device,
        fstype: fstype.clone(),
        opts: opts.clone(),
        remount: None,
        umount: None,
        mount: false,
        mkdir: false,
        kept: String::new(),
        fstab: None,
    };
    // Salt's dry run returns at once for some findings; the rest carry on
    // to the fstab with `test_base` as the start of the comment.
    let mut test_base = String::new();
    let mut test_early = None;
    match (&active, mount) {
        (Some(a), true) => {
            plan.kept = "Target was already mounted".into();
            test_base = plan.kept.clone();
            // A bind mount shows its source file system's device and options
            // (Salt copies them over), so neither can be compared.
            if !bind {
                let accounts = super::accounts::Accounts::read(host)?;
                let resolve = |k: &str, v: &str| match k {
                    "uid" => accounts.user(v).map(|u| u.uid),
                    _ => accounts.gid_of(v),
                };
                let missing = active::missing_options(
                    &opts,
                    a,
                    &fstype,
                    &invisible,
                    &invisible_keys,
                    &resolve,
                );
                if !missing.is_empty() {
                    let comment = format!(
                        "Remount would be forced because options ({}) changed",
                        missing.join(",")
                    );
                    plan.remount = Some(missing);
                    test_early = Some(comment);
                }
                let wanted = real_device(&device);
                let mut current = vec![a.device.clone()];
                current.push(real_device(&a.device));
                if plan.remount.is_none() && !current.contains(&wanted) {
                    test_base = format!(
                        "An umount would have been forced because devices do not match.  Watched: {device}"
                    );
                    let mut text =
                        format!("Forced unmount because devices don't match. Wanted: {device}");
                    if wanted != device {
                        text.push_str(&format!(" ({wanted})"));
                    }
                    text.push_str(&format!(", current: {}", current.join(", ")));
                    plan.umount = Some(text);
                    plan.mount = true;
                }
            }
        }
        (Some(_), false) => {}
        (None, true) => {
            let exists = mountpoint.exists();
            let test = if exists {
                format!("{name} would be mounted")
            } else if mkmnt {
                format!("{name} would be created and mounted")
            } else {
                format!("{name} does not exist and would not be created")
            };
            if !exists && !mkmnt {
                return Ok(Check::Fail {
                    comment: "Mount directory is not present".into(),
                    test_comment: Some(test),
                });
            }
            plan.mount = true;
            plan.mkdir = !exists;
            test_early = Some(test);
        }
        (None, false) => {
            (test_base, plan.kept) = if mountpoint.exists() {
                (
                    format!("{name} would not be mounted"),
                    format!("{name} not mounted"),
                )
            } else if mkmnt {
                plan.mkdir = true;
                (
                    format!("{name} would be created, but not mounted"),
                    format!("{name} was created, not mounted"),
                )
            } else {
                (
                    format!("{name} does not exist and would neither be created nor mounted"),
                    format!("{name} not present and not mounted"),
                )
            };
        }
    }

    let mut test_comment = test_base.clone();
    if persist {
        let path = host.path(&config)?;
        let Some(text) = text_file::read_optional(&path)? else {
            return Ok(Check::fail(format!("Bad config file \"{config}\"")));
        };
        let keys = fstab::match_keys(&match_on, &fstype).map_err(StateError::args)?;
        let entry = Entry::new(&device, &name, &fstype, &opts.join(","), &dump, &pass_num);
        let (status, new_text) = fstab::set(&text, &entry, &keys);
        let persist_comment = match (status, mount) {
            (Status::Present, _) => None,
            (Status::New, true) => Some(format!("{name} is mounted, but needs to be written to the fstab in order to be made persistent.")),
            (Status::New, false) => Some(format!("{name} needs to be written to the fstab in order to be made persistent.")),
            (Status::Change, true) => Some(format!("{name} is mounted, but its fstab entry must be updated.")),
            (Status::Change, false) => Some(format!("The {name} fstab entry must be updated.")),
        };
        if let Some(c) = persist_comment {
            test_comment = format!("{test_base}. {c}");
        }
        plan.fstab = Some((path, status, new_text));
    }
    let fstab_clean = plan
        .fstab
        .as_ref()
        .is_none_or(|(_, s, _)| *s == Status::Present);
    let nothing_to_do =
        plan.remount.is_none() && plan.umount.is_none() && !plan.mount && !plan.mkdir;
    if nothing_to_do && fstab_clean {
        let mut comment = plan.kept.clone();
        if plan.fstab.is_some() {
            comment.push_str(". Entry already exists in the fstab.");
        }
        return Ok(Check::Clean {
            comment,
            test_comment: Some(test_comment),
        });
    }
    Ok(change(plan, test_early.unwrap_or(test_comment)))
}

/// Salt's dry runs of `mount` show no changes, only the comment.
fn change(plan: MountPlan, test_comment: String) -> Check {
    Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |host: &HostWrite| plan.run(host)),
    )
}

fn fails(out: &super::CmdRun) -> Option<String> {
    (out.retcode != 0).then(|| {
        let err = out.stderr.trim();
        if err.is_empty() {
            out.stdout.trim().to_string()
        } else {
            err.to_string()
        }
    })
}

impl MountPlan {
    fn mount_cmd(&self, host: &HostWrite, remount: bool) -> Result<Option<String>, StateError> {
        let mut opts = self.opts.join(",");
        if remount {
            opts = format!("remount,{opts}");
        }
        let mp = self.mountpoint.to_string_lossy();
        let out = host.run(
            &["mount", "-t", &self.fstype, "-o", &opts, &self.device, &mp],
            &[],
            None,
        )?;
        Ok(fails(&out))
    }

    fn run(self, host: &HostWrite) -> Result<Applied, StateError> {
        let mut changes = Map::new();
        let failed =
            |comment: String, changes: Map<String, Value>| Ok(Applied::failed(comment, changes));
        if let Some(missing) = &self.remount {
            let opts = missing.join(",");
            let network =
                ["nfs", "cvfs"].contains(&self.fstype.as_str()) || self.fstype.starts_with("fuse");
            let err = if network {
                changes.insert(
                    "umount".into(),
                    format!("Forced unmount and mount because options ({opts}) changed").into(),
                );
                match umount(host, &self.mountpoint)? {
                    Some(e) => Some(e),
                    None => self.mount_cmd(host, false)?,
                }
            } else {
                changes.insert(
                    "umount".into(),
                    format!("Forced remount because options ({opts}) changed").into(),
                );
                self.mount_cmd(host, true)?
            };
            if let Some(e) = err {
                return failed(format!("Unable to remount {}: {e}", self.name), changes);
            }
        }
        if let Some(text) = &self.umount {
            changes.insert("umount".into(), text.clone().into());
            if umount(host, &self.mountpoint)?.is_some() {
                return failed("Unable to unmount".into(), changes);
            }
        }
        if self.mkdir {
            host.create_dir_all(&self.mountpoint)?;
        }
        let mut comment = self.kept.clone();
        if self.mount {
            if let Some(e) = self.mount_cmd(host, false)? {
                return failed(e, changes);
            }
            comment = "Target was successfully mounted".into();
            changes.insert("mount".into(), true.into());
        }
        if let Some((path, status, text)) = &self.fstab {
            if let Some(text) = text {
                text_file::write(host, path, text)?;
            }
            let (word, said) = match status {
                Status::Present => (None, "Entry already exists in the fstab."),
                Status::New => (Some("new"), "Added new entry to the fstab."),
                Status::Change => (Some("update"), "Updated the entry in the fstab."),
            };
            if let Some(w) = word {
                changes.insert("persist".into(), w.into());
            }
            comment = format!("{comment}. {said}");
        }
        Ok(Applied::ok_with(comment, changes))
    }
}

/// `umount <path>`: `None` when it worked, else why not.
fn umount(host: &HostWrite, path: &Path) -> Result<Option<String>, StateError> {
    let out = host.run(&["umount", &path.to_string_lossy()], &[], None)?;
    Ok(fails(&out))
}

fn unmounted(args: &Args, host: &HostRead) -> Result<Check, StateError> {
    refuse(args, "unmounted", &["user"])?;
    let name = args.name();
    if name.is_empty() {
        return Ok(Check::fail("Must provide name to mount.unmounted"));
    }
    let device = args.str("device")?;
    let persist = args.bool_or("persist", false)?;
    let config = args.str_or("config", "/etc/fstab")?;
    let mountpoint = host.path(&name)?;
    let is_active = active::mounted_at(&mountpoint)
        .map_err(StateError::host)?
        .is_some();

    let mut purge = None;
    let mut suffix = String::new();
    if persist {
        let path = host.path(&config)?;
        let text = text_file::read_optional(&path)?.unwrap_or_default();
        match fstab::find(&text, &name) {
            None => suffix = ". fstab entry not found".into(),
            Some(e) if device.as_deref().is_some_and(|d| d != e.device()) => {
                suffix = format!(
                    ". fstab entry for device {} not found",
                    device.as_deref().unwrap_or_default()
                )
            }
            Some(_) => purge = Some((path, fstab::remove(&text, &name, device.as_deref()))),
        }
    }
    if !is_active && purge.is_none() {
        return Ok(Check::clean(format!(
            "Target was already unmounted{suffix}"
        )));
    }
    let test_comment = if is_active {
        format!("Mount point {name} is mounted but should not be")
    } else {
        format!("Mount point {name} is unmounted but needs to be purged from {config} to be made persistent")
    };
    Ok(Check::change(
        Map::new(),
        test_comment,
        ApplyFn(move |host: &HostWrite| {
            let mut changes = Map::new();
            let mut comment = "Target was already unmounted".to_string();
            if is_active {
                if let Some(e) = umount(host, &mountpoint)? {
                    return Ok(Applied::failed(e, changes));
                }
                comment = "Target was successfully unmounted".into();
                changes.insert("umount".into(), true.into());
            }
            match purge {
                Some((path, text)) => {
                    text_file::write(host, &path, &text)?;
                    comment.push_str(". Removed target from fstab");
                    changes.insert("persist".into(), "purged".into());
                }
                None => comment.push_str(&suffix),
            }
            Ok(Applied::ok_with(comment, changes))
        }),
    ))
}
