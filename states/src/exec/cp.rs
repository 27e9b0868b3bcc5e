//! `cp.*`: the master's files. `cp.get_file` runs on the minion and fetches
//! through the job's file server (the `Sources` its `HostRead` carries: the
//! master, by the same request a state's `salt://` source makes);
//! `cp.list_states` and `cp.list_master` are answered by the master from its
//! file roots, since listing them from the minion would need a request the
//! wire does not have for a function's job.
use std::path::Path;

use common::data::Value;

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, MasterCall, Param};
use crate::state::{existing_meta, HostRead, HostWrite, Meta};

/// `cp.get_file`'s arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct GetFile {
    /// `salt://…`, with `saltenv` folded into it.
    pub url: String,
    pub dest: String,
    pub makedirs: bool,
}

pub const GET_FILE: ExecFunction = ExecFunction {
    name: "cp.get_file",
    params: &[
        Param::required("path"),
        Param::required("dest"),
        Param::optional("saltenv"),
        Param::optional("makedirs"),
        Param::unsupported("template"),
        Param::unsupported("gzip"),
    ],
    access: Access::ChangesHost,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "copies salt://path to dest on the minion; dest, '' when the master has no such file",
    parse: |a| {
        let path = a.str("path")?;
        common::salt_url::path(&path).map_err(|e| a.bad("path", e.to_string()))?;
        let dest = a.str("dest")?;
        if !dest.starts_with('/') {
            return Err(a.bad("dest", "must be an absolute path"));
        }
        // A `?saltenv=` in the URL wins over the argument, as in Salt.
        let saltenv = a.opt_str("saltenv").unwrap_or_else(|| "base".into());
        Ok(ExecCall::CpGetFile(GetFile {
            url: common::salt_url::in_env(&path, &saltenv),
            dest,
            makedirs: a.bool("makedirs").unwrap_or(false),
        }))
    },
};

pub const LIST_STATES: ExecFunction = ExecFunction {
    name: "cp.list_states",
    params: &[Param::optional("saltenv")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "the SLS names of a saltenv (base when not given) on the master",
    parse: |a| {
        Ok(ExecCall::Master(MasterCall::ListStates {
            saltenv: a.opt_str("saltenv"),
        }))
    },
};

pub const LIST_MASTER: ExecFunction = ExecFunction {
    name: "cp.list_master",
    params: &[Param::optional("saltenv"), Param::optional("prefix")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Master,
    state_report: false,
    summary: "the files of a saltenv (base when not given) on the master, under prefix",
    parse: |a| {
        Ok(ExecCall::Master(MasterCall::ListMaster {
            saltenv: a.opt_str("saltenv"),
            prefix: a.opt_str("prefix").unwrap_or_default(),
        }))
    },
};

impl GetFile {
    /// Salt's `fileclient.get_file`: a directory `dest` (or one ending in
    /// `/`) gets the file's own name; a missing parent is `False` unless
    /// `makedirs`; a file already the same is left alone.
    pub(super) fn run(
        &self,
        host: &HostRead,
        write: impl Fn() -> HostWrite,
    ) -> Result<Value, ExecError> {
        let data = match host.sources().fetch(&self.url) {
            Ok(d) => d,
            // Salt's `hash_file` found nothing: `''`.
            Err(e) if e.to_string().contains("not found") => {
                return Ok(Value::String(String::new()))
            }
            Err(e) => return Err(e.into()),
        };
        let mut dest = self.dest.clone();
        if dest.ends_with('/') || host.path(&dest)?.is_dir() {
            let rel =
                common::salt_url::path(&self.url).map_err(|e| ExecError::Failed(e.to_string()))?;
            let name = rel.rsplit('/').next().unwrap_or(rel);
            dest = format!("{}/{name}", dest.trim_end_matches('/'));
        }
        let target = host.path(&dest)?;
        if std::fs::read(&target).is_ok_and(|have| have == data) {
            return Ok(Value::String(dest));
        }
        let parent = target.parent().unwrap_or(Path::new("/"));
        let w = write();
        if !parent.is_dir() {
            if !self.makedirs {
                return Ok(Value::Bool(false));
            }
            w.create_dir_all(parent).map_err(|e| {
                ExecError::Failed(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let meta = existing_meta(&target).unwrap_or(Meta {
            mode: 0o644,
            owner: None,
        });
        w.write_file(&target, &data, meta)?;
        Ok(Value::String(dest))
    }
}
