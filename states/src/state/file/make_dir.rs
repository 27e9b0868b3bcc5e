//! Applying `file.directory`: moving an obstacle away, making the directory
//! and setting what its check planned, recursion and `clean` included.
use common::data::{Map, Value};

use super::super::{Applied, Apply, HostWrite, StateError};
use super::directory::{recursion_perms, walk, DirSpec, Obstacle};
use super::fsio::{self, make_parents, mkdir, NewMeta};

pub(super) struct MakeDir {
    pub(super) spec: DirSpec,
    pub(super) obstacle: Obstacle,
    pub(super) planned: Map<String, Value>,
    pub(super) removals: Vec<String>,
    pub(super) will_create: bool,
}

impl Apply for MakeDir {
    fn apply(self: Box<Self>, host: &HostWrite) -> Result<Applied, StateError> {
        let spec = &self.spec;
        let name = &spec.name;
        let real = host.path(name)?;
        let perms = match spec.perms.resolve(host) {
            Ok(p) => p,
            Err(msg) => return Ok(Applied::failed(msg, Map::new())),
        };
        let mut changes = Map::new();
        match &self.obstacle {
            Obstacle::None => {}
            Obstacle::Backup { to, .. } => {
                let to_real = host.path(to)?;
                if fsio::lexists(&to_real) {
                    if let Err(e) = fsio::remove_any(host, &to_real) {
                        return Ok(Applied::failed(
                            format!("Unable to remove {to}: {e}"),
                            changes,
                        ));
                    }
                }
                if let Err(e) = host.rename(&real, &to_real) {
                    return Ok(Applied::failed(
                        format!("Unable to rename {name} to backup {to}: {e}"),
                        changes,
                    ));
                }
            }
            Obstacle::Remove { what } => {
                if let Err(e) = fsio::remove_any(host, &real) {
                    return Ok(Applied::failed(
                        format!("Unable to remove {name}: {e}"),
                        changes,
                    ));
                }
                changes.insert(
                    "forced".into(),
                    Value::String(format!("{what} was forcibly replaced")),
                );
            }
        }
        let meta = NewMeta {
            uid: perms.uid(),
            gid: perms.gid(),
            mode: perms.mode,
        };
        if self.will_create || !real.is_dir() {
            if real.parent().is_some_and(|p| !p.is_dir()) {
                if !spec.makedirs {
                    return Ok(Applied::failed(
                        format!("No directory to create {name} in"),
                        changes,
                    ));
                }
                if let Err(e) = make_parents(host, &real, meta) {
                    return Ok(Applied::failed(
                        format!("Failed to create directory {name}: {e}"),
                        changes,
                    ));
                }
            }
            if let Err(e) = mkdir(host, &real, meta) {
                return Ok(Applied::failed(
                    format!("Failed to create directory {name}: {e}"),
                    changes,
                ));
            }
            let mut c = Map::new();
            c.insert("directory".into(), "new".into());
            changes.insert(name.clone(), Value::Object(c));
            // Salt says nothing more about a directory it just made.
            return Ok(Applied::ok_with("", changes));
        }

        changes.extend(self.planned.clone());
        let mut errors = Vec::new();
        if !spec.children_only {
            let out = perms.apply(host, &real, spec.follow_symlinks);
            changes.extend(out.changes);
            errors.extend(out.errors);
        }
        if spec.recurse.on {
            if spec.recurse.silent {
                changes = Map::new();
                changes.insert("recursion".into(), "Changes silenced".into());
            }
            let resolved = DirSpec {
                perms: perms.clone(),
                ..spec.clone()
            };
            let (fperms, dperms) = recursion_perms(&resolved);
            for w in walk(host, name, spec.max_depth) {
                let groups = [
                    (&w.files, &fperms, spec.recurse.ignore_files),
                    (&w.dirs, &dperms, spec.recurse.ignore_dirs),
                ];
                for (names, p, skip) in groups {
                    if skip {
                        continue;
                    }
                    for n in names {
                        let out = p.apply(
                            host,
                            &host.path(&format!("{}/{n}", w.path))?,
                            spec.follow_symlinks,
                        );
                        changes.extend(out.changes);
                        errors.extend(out.errors);
                    }
                }
            }
        }
        let mut comment = String::new();
        if spec.clean {
            let mut removed = Vec::new();
            for path in &self.removals {
                let real = host.path(path)?;
                // Gone already when its directory was removed before it.
                if !fsio::lexists(&real) {
                    continue;
                }
                match fsio::remove_any(host, &real) {
                    Ok(()) => removed.push(Value::String(path.clone())),
                    Err(e) => errors.push(format!("Unable to remove {path}: {e}")),
                }
            }
            if !removed.is_empty() {
                removed.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                changes.insert("removed".into(), Value::Array(removed));
                comment = format!("Files cleaned from directory {name}");
            }
        }
        if comment.is_empty() {
            comment = if spec.children_only {
                format!("Directory {name}/* updated")
            } else if changes.is_empty() {
                format!("Directory {name} is in the correct state")
            } else {
                format!("Directory {name} updated")
            };
        }
        if !errors.is_empty() {
            comment.push_str("\n\nThe following errors were encountered:\n");
            for e in &errors {
                comment.push_str(&format!("\n- {e}"));
            }
            return Ok(Applied::failed(comment, changes));
        }
        Ok(Applied::ok_with(comment, changes))
    }
}
