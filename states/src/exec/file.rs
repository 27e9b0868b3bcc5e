//! `file.*` reads, under the run's state root. `file.replace`, which
//! writes, is in `file_replace.rs`.
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use common::data::{Map, Value};

use super::{Access, AnsweredBy, ExecCall, ExecError, ExecFunction, Param};
use crate::state::accounts::Accounts;
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

pub const STATS: ExecFunction = ExecFunction {
    name: "file.stats",
    params: &[
        Param::required("path"),
        Param::optional("hash_type"),
        Param::optional("follow_symlinks"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a path's inode, owner, times, size, mode, type and target",
    parse: |a| {
        Ok(ExecCall::FileStats {
            path: a.str("path")?,
            hash_type: a.opt_str("hash_type"),
            follow_symlinks: a.bool("follow_symlinks").unwrap_or(true),
        })
    },
};

pub const GET_HASH: ExecFunction = ExecFunction {
    name: "file.get_hash",
    params: &[
        Param::required("path"),
        Param::optional("form"),
        // How much Salt reads at a time: the sum is the same.
        Param::optional("chunk_size"),
    ],
    access: Access::ReadOnly,
    answered_by: AnsweredBy::Minion,
    state_report: false,
    summary: "a file's hex digest (form: sha256, md5, sha1, sha224, sha384, sha512)",
    parse: |a| {
        Ok(ExecCall::FileGetHash {
            path: a.str("path")?,
            form: a.opt_str("form").unwrap_or_else(|| "sha256".into()),
        })
    },
};

/// Salt's `file.get_hash`: hashlib's name of the algorithm, exactly.
pub fn get_hash(host: &HostRead, path: &str, form: &str) -> Result<String, ExecError> {
    // Python's hashlib has these too; Brine does not compute them.
    const NOT_IN_BRINE: &[&str] = &[
        "sha3_224",
        "sha3_256",
        "sha3_384",
        "sha3_512",
        "blake2b",
        "blake2s",
        "shake_128",
        "shake_256",
    ];
    if NOT_IN_BRINE.contains(&form) {
        return Err(ExecError::Failed(format!(
            "file.get_hash: Brine does not implement the hash type {form}"
        )));
    }
    let invalid = || ExecError::Failed(format!("Invalid hash type: {form}"));
    if form.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid());
    }
    let bytes =
        std::fs::read(host.path(path)?).map_err(|e| ExecError::Failed(format!("{path}: {e}")))?;
    crate::state::file::hex_digest(form, &bytes).ok_or_else(invalid)
}

/// Salt's `file.stats`; owner names come from the root's account files
/// (the number when there is no such user or group, as Salt falls back).
pub fn stats(
    host: &HostRead,
    path: &str,
    hash_type: Option<&str>,
    follow_symlinks: bool,
) -> Result<Value, ExecError> {
    let real = host.path(path)?;
    let not_found = || ExecError::Failed(format!("Path not found: {path}"));
    let meta = if follow_symlinks {
        // A broken symlink still has an owner: Salt lstats it then.
        std::fs::metadata(&real).or_else(|_| std::fs::symlink_metadata(&real))
    } else {
        std::fs::symlink_metadata(&real)
    }
    .map_err(|_| not_found())?;
    let accounts = Accounts::read(host)?;
    let user = accounts
        .user_by_uid(meta.uid())
        .map_or_else(|| Value::from(meta.uid()), |u| Value::from(u.name.clone()));
    let group = accounts
        .group_by_gid(meta.gid())
        .map_or_else(|| Value::from(meta.gid()), |g| Value::from(g.name.clone()));
    // Python's st_atime: seconds plus nanoseconds times 1e-9, as a float.
    let time = |sec: i64, nsec: i64| Value::from(sec as f64 + nsec as f64 * 1e-9);
    let mut out = Map::new();
    out.insert("inode".into(), Value::from(meta.ino()));
    out.insert("uid".into(), Value::from(meta.uid()));
    out.insert("gid".into(), Value::from(meta.gid()));
    out.insert("group".into(), group);
    out.insert("user".into(), user);
    out.insert("atime".into(), time(meta.atime(), meta.atime_nsec()));
    out.insert("mtime".into(), time(meta.mtime(), meta.mtime_nsec()));
    out.insert("ctime".into(), time(meta.ctime(), meta.ctime_nsec()));
    out.insert("size".into(), Value::from(meta.size()));
    out.insert("mode".into(), Value::from(normalize_mode(meta.mode())));
    if let Some(form) = hash_type {
        out.insert("sum".into(), Value::from(get_hash(host, path, form)?));
    }
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "dir"
    } else if t.is_char_device() {
        "char"
    } else if t.is_block_device() {
        "block"
    } else if t.is_symlink() {
        "link"
    } else if t.is_fifo() {
        "pipe"
    } else if t.is_socket() {
        "socket"
    } else {
        "file"
    };
    out.insert("type".into(), Value::from(kind));
    let target = if follow_symlinks {
        real_path(host, &real).unwrap_or_else(|| path.to_string())
    } else {
        path.to_string()
    };
    out.insert("target".into(), Value::from(target));
    Ok(Value::Object(out))
}

/// Salt's `normalize_mode(oct(S_IMODE(mode)))`: no leading zeros, then
/// padded to four digits (`0644`, `1777`, `0000`).
fn normalize_mode(mode: u32) -> String {
    let octal = format!("{:o}", mode & 0o7777);
    format!("{:0>4}", octal.trim_start_matches('0'))
}

/// The path with every symlink resolved, as the state tree names it (under
/// the root); `None` when it cannot be resolved.
fn real_path(host: &HostRead, real: &Path) -> Option<String> {
    let resolved = real.canonicalize().ok()?;
    let root = host.root().canonicalize().ok()?;
    let inside = resolved.strip_prefix(&root).ok()?;
    Some(format!("/{}", inside.to_str()?))
}
