//! The renderers that run a program, for the binaries to hand to their
//! renderers (`common::render::ExternalRenderers`): `#!py` runs the system's
//! `python3` in a subprocess with a small shim (no Python in a Brine
//! process), `gpg` runs the system's `gpg` against `gpg_keydir`.
pub mod gpg;
pub mod python;

use std::path::PathBuf;

use common::data::Value;
use common::render::{ExternalError, ExternalRenderers, PyContext, SaltCall};

/// Where the programs are and which keyring `gpg` uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Programs {
    /// The interpreter for `#!py` (`python3` on PATH by default).
    pub python: PathBuf,
    /// `gpg_keydir`: the GnuPG home holding the master's secret key.
    pub gpg_keydir: PathBuf,
}

impl ExternalRenderers for Programs {
    fn python(
        &self,
        file: &str,
        source: &str,
        context: &PyContext,
        salt: SaltCall<'_>,
    ) -> Result<Value, ExternalError> {
        python::render(&self.python, file, source, context, salt)
    }

    fn gpg_decrypt(&self, armored: &str) -> Result<String, ExternalError> {
        gpg::decrypt(&self.gpg_keydir, armored)
    }
}
