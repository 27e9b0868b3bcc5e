//! `archive`: `archive.extracted` (salt/states/archive.py), extracting tar
//! (plain, gzip, bzip2, xz) and zip archives in-process rather than with
//! `tar`/`unzip`, and refusing any archive with a member that would land
//! outside the destination.
//!
//! `check` reads the whole archive (it is listed anyway to know what is
//! missing), so a hostile or corrupt archive fails the dry run and nothing
//! is written; `apply` cleans (if asked), extracts and sets ownership.
mod args;
mod entries;
mod extract;
mod extraction;
pub mod owner;
mod plan;

use super::source_hash as hash;
use super::{Args, Check, HostRead, StateError, StateModule};
use args::RawArgs;
use plan::plan;

pub struct Archive;

impl StateModule for Archive {
    fn name(&self) -> &'static str {
        "archive"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::ARCHIVE
    }

    fn check(&self, fun: &str, args: &Args, host: &HostRead) -> Result<Check, StateError> {
        match fun {
            "extracted" => {
                let raw = RawArgs::read(args)?;
                Ok(match plan(raw, host)? {
                    Ok(check) => check,
                    Err(comment) => Check::fail(comment),
                })
            }
            other => Err(StateError::args(format!(
                "archive.{other} is not a state function (Brine has: extracted)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
