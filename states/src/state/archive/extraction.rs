//! An extraction decided by `archive.extracted`'s check, and its apply.
use std::path::{Path, PathBuf};

use common::data::{Map, Value};
use serde_json::json;

use super::super::{Applied, HostWrite, StateError};
use super::entries::{Format, Listing};
use super::extract;
use super::owner::Owner;

/// An extraction decided by `check`.
pub(super) struct Extraction {
    pub(super) source: String,
    /// The destination as Salt prints it, with a trailing slash.
    pub(super) name: String,
    pub(super) dest: PathBuf,
    pub(super) bytes: Vec<u8>,
    pub(super) format: Format,
    pub(super) strip: usize,
    pub(super) listing: Listing,
    pub(super) incorrect: Vec<String>,
    pub(super) clean: bool,
    pub(super) clean_parent: bool,
    pub(super) owner: Owner,
    pub(super) ownership_targets: Vec<PathBuf>,
    pub(super) trim_output: Option<usize>,
    pub(super) explanation: String,
}

impl Extraction {
    /// `extracted_files` as Salt trims them: tar lists are cut, zip lists
    /// get a closing note (salt/modules/archive.py `_trim_files`).
    fn extracted_files(&self) -> Vec<String> {
        let mut names = self.listing.names.clone();
        if let Some(n) = self.trim_output {
            if names.len() > n {
                names.truncate(n);
                if self.format == Format::Zip {
                    names.push(format!("List trimmed after {n} files."));
                }
            }
        }
        names
    }

    fn removals(&self) -> Vec<String> {
        let mut removed = Vec::new();
        if self.clean {
            for p in self
                .listing
                .top_level_dirs
                .iter()
                .chain(&self.listing.top_level_files)
            {
                if std::fs::symlink_metadata(self.dest.join(p.trim_end_matches('/'))).is_ok() {
                    removed.push(format!("{}{p}", self.name));
                }
            }
        } else if !self.clean_parent {
            removed.extend(self.incorrect.iter().map(|p| format!("{}{p}", self.name)));
        }
        removed
    }

    /// The changes `apply` will report, for the dry run.
    pub(super) fn preview(&self) -> Map<String, Value> {
        let mut changes = Map::new();
        if self.clean_parent && self.dest.exists() {
            changes.insert(
                "removed".into(),
                json!(format!(
                    "Directory {} was removed prior to the extraction",
                    self.name
                )),
            );
        }
        let removed = self.removals();
        if !removed.is_empty() {
            changes.insert("removed".into(), json!(removed));
        }
        if self.owner_will_change() {
            changes.insert("updated ownership".into(), json!(true));
        }
        if !self.dest.is_dir() || self.clean_parent {
            changes.insert("directories_created".into(), json!([self.name]));
        }
        changes.insert("extracted_files".into(), json!(self.extracted_files()));
        changes
    }

    /// Whether setting the owner will change anything: new files belong
    /// to the minion's user until then.
    fn owner_will_change(&self) -> bool {
        // SAFETY: these calls cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        self.owner.uid.is_some_and(|u| u != euid)
            || self.owner.gid.is_some_and(|g| g != egid)
            || self
                .ownership_targets
                .iter()
                .any(|p| self.owner.differs_recursive(p))
    }

    fn run(&self, host: &HostWrite, changes: &mut Map<String, Value>) -> Result<(), String> {
        if self.clean_parent && self.dest.exists() {
            host.remove_dir_all(&self.dest).map_err(|e| {
                format!("Unable to remove the directory {}. The following errors were observed:\n\n- {e}", self.name)
            })?;
            changes.insert(
                "removed".into(),
                json!(format!(
                    "Directory {} was removed prior to the extraction",
                    self.name
                )),
            );
        }
        let removed = self.removals();
        for path in &removed {
            let full = self
                .dest
                .join(path[self.name.len()..].trim_end_matches('/'));
            remove_path(host, &full).map_err(|e| {
                format!("One or more paths could not be cleaned. The following errors were observed:\n\n- {e}")
            })?;
        }
        if !removed.is_empty() {
            changes.insert("removed".into(), json!(removed));
        }
        let created = !self.dest.is_dir();
        if created {
            host.create_dir_all(&self.dest)
                .map_err(|e| format!("{}: {e}", self.name))?;
            let dir_owner = Owner {
                uid: self.owner.uid,
                gid: None,
            };
            dir_owner
                .apply(host, &self.dest)
                .map_err(|e| e.to_string())?;
        }
        if let Err(e) = extract::extract(host, &self.bytes, self.format, self.strip, &self.dest) {
            if created {
                let _ = host.remove_dir(&self.dest);
            }
            return Err(e.to_string());
        }
        if !self.owner.is_none() {
            let mut updated = false;
            let mut failed = Vec::new();
            for target in &self.ownership_targets {
                updated |= self.owner.differs_recursive(target);
                if self.owner.apply_recursive(host, target).is_err() {
                    failed.push(target.display().to_string());
                }
            }
            if updated {
                changes.insert("updated ownership".into(), json!(true));
            }
            if !failed.is_empty() {
                let listed: String = failed.iter().map(|p| format!("\n- {p}")).collect();
                return Err(format!("{} extracted to {}\n\nWhile trying to enforce user/group ownership, Salt was unable to change ownership on the following paths:\n{listed}", self.source, self.name));
            }
        }
        if created {
            changes.insert("directories_created".into(), json!([self.name]));
        }
        Ok(())
    }
}

impl super::super::Apply for Extraction {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let mut changes = Map::new();
        if let Err(msg) = self.run(host, &mut changes) {
            return Ok(Applied::failed(msg, changes));
        }
        let files = self.extracted_files();
        if files.is_empty() {
            return Ok(Applied::failed(
                format!("No files were extracted from {}", self.source),
                changes,
            ));
        }
        changes.insert("extracted_files".into(), json!(files));
        let mut comment = format!(
            "{} extracted to {}{}",
            self.source, self.name, self.explanation
        );
        if let Some(n) = self.trim_output {
            comment.push_str(&format!(". Output was trimmed to {n} number of lines"));
        }
        Ok(Applied::ok_with(comment, changes))
    }
}

/// `rm -rf` of one path, never following a symlink.
fn remove_path(host: &HostWrite, path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => host.remove_dir_all(path),
        Ok(_) => host.remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
