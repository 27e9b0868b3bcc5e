//! `file.*` reads, under the run's state root.
use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::HostRead;

pub const READ: ExecFunction = ExecFunction {
    name: "file.read",
    params: &[Param::required("path"), Param::unsupported("binary")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a file's text",
    parse: |a| {
        Ok(ExecCall::FileRead {
            path: a.str("path")?,
        })
    },
};

pub const FILE_EXISTS: ExecFunction = ExecFunction {
    name: "file.file_exists",
    params: &[Param::required("path")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "whether a path is a regular file",
    parse: |a| {
        Ok(ExecCall::FileExists {
            path: a.str("path")?,
        })
    },
};

pub const DIRECTORY_EXISTS: ExecFunction = ExecFunction {
    name: "file.directory_exists",
    params: &[Param::required("path")],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "whether a path is a directory",
    parse: |a| {
        Ok(ExecCall::DirectoryExists {
            path: a.str("path")?,
        })
    },
};

pub fn read(host: &HostRead, path: &str) -> Result<String, ExecError> {
    std::fs::read_to_string(host.path(path)?).map_err(|e| ExecError::Failed(format!("{path}: {e}")))
}

pub fn file_exists(host: &HostRead, path: &str) -> Result<bool, ExecError> {
    Ok(host.path(path)?.is_file())
}

pub fn directory_exists(host: &HostRead, path: &str) -> Result<bool, ExecError> {
    Ok(host.path(path)?.is_dir())
}
