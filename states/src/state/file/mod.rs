//! `file`: Salt's file states (`salt/states/file.py`) with Salt's argument
//! names, comments and `changes` keys.
//!
//! Every function reads the host in `check` and returns what it would do
//! (a file's unified diff included); writes happen only in the returned
//! `Apply`, and content is always written atomically (see `fsio`).
pub(crate) mod accumulated;
mod append;
mod blockreplace;
mod comment;
mod diff;
mod directory;
mod edit;
mod file_plan;
mod fsio;
mod line;
mod make_dir;
mod managed;
mod owner;
mod perms;
mod pyregex;
mod recurse;
mod replace;
mod serialize;
mod simple;
mod source;
mod symlink;
#[cfg(test)]
mod tests;

use common::data::Value;

use super::{Args, Check, HostRead, StateError};

pub struct File;

impl super::StateModule for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::FILE
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "managed" => managed::check(args, host),
            "directory" => directory::check(args, host),
            "absent" => simple::absent(args, host),
            "exists" => simple::exists(args, host),
            "missing" => simple::missing(args, host),
            "symlink" => symlink::check(args, host),
            "recurse" => recurse::check(args, host),
            "append" => append::append(args, host),
            "replace" => replace::replace(args, host),
            "line" => line::line(args, host),
            "blockreplace" => blockreplace::blockreplace(args, host),
            "accumulated" => accumulated::accumulated(args, host),
            "comment" => comment::comment(args, host),
            "uncomment" => comment::uncomment(args, host),
            "touch" => simple::touch(args, host),
            "copy" => simple::copy(args, host),
            "serialize" => serialize::check(args, host),
            other => Err(StateError::args(format!(
                "file.{other} is not a state function"
            ))),
        }
    }
}

/// The hex digest of `bytes` by a hashlib name (`md5`, `sha256`, ...; any
/// case), for `file.get_hash`; `None` for a name Brine does not hash.
pub(crate) fn hex_digest(form: &str, bytes: &[u8]) -> Option<String> {
    source::HashKind::parse(form).map(|k| k.digest(bytes))
}

/// The state's `name`, which must be an absolute path (Salt's wording when
/// it is not).
fn absolute_name(args: &Args) -> Result<String, Check> {
    let name = args.name();
    if name.starts_with('/') && !name.contains('\0') {
        Ok(name)
    } else {
        Err(Check::fail(format!(
            "Specified file {name} is not an absolute path"
        )))
    }
}

/// Salt's check that `context`/`defaults` are maps.
fn fail_unless_dict(value: Option<&Value>, message: &str) -> Option<Check> {
    match value {
        None | Some(Value::Object(_)) => None,
        Some(_) => Some(Check::fail(message)),
    }
}

/// `backup:` of `file.managed`/`serialize`: `minion` (or `both`) keeps a
/// copy of the old file in the minion's backup directory.
fn read_backup(args: &Args) -> Result<bool, StateError> {
    match args.str("backup")?.as_deref() {
        None | Some("") => Ok(false),
        Some("minion") | Some("both") => Ok(true),
        Some("master") => Err(StateError::args(
            "backup: master is not supported (Salt never implemented it either); use backup: minion",
        )),
        Some(other) => Err(StateError::args(format!(
            "backup must be 'minion' or empty, got {other:?}"
        ))),
    }
}

/// `include_pat`/`exclude_pat`: globs, or regexes written `E@…`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Patterns(Vec<Pattern>);

#[derive(Debug, Clone)]
enum Pattern {
    Glob(String),
    Regex(regex::Regex),
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Pattern::Glob(a), Pattern::Glob(b)) => a == b,
            (Pattern::Regex(a), Pattern::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Patterns {
    fn from_arg(value: Option<&Value>) -> Result<Patterns, StateError> {
        let items: Vec<String> = match value {
            None => return Ok(Patterns::default()),
            Some(Value::Array(items)) => items.iter().map(common::pyfmt::py_str).collect(),
            Some(v) => vec![common::pyfmt::py_str(v)],
        };
        items
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| match p.strip_prefix("E@") {
                Some(re) => pyregex::compile(re, pyregex::Flags::default())
                    .map(Pattern::Regex)
                    .map_err(StateError::args),
                None => Ok(Pattern::Glob(p)),
            })
            .collect::<Result<_, _>>()
            .map(Patterns)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn any_match(&self, path: &str) -> bool {
        self.0.iter().any(|p| match p {
            Pattern::Glob(g) => common::target::fnmatch(path, g),
            Pattern::Regex(r) => r.is_match(path),
        })
    }
}

/// Salt's `check_include_exclude`: whether a relative path is included.
fn include_exclude(path: &str, include: &Patterns, exclude: &Patterns) -> bool {
    (include.is_empty() || include.any_match(path)) && !exclude.any_match(path)
}
