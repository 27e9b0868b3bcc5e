//! Renderers that need a program: `py` (the system's `python3`) and `gpg`.
//!
//! `common` runs no program itself (its invariant: no host changes, no
//! sockets, no subprocesses), so a [`Renderer`](super::Renderer) is handed an
//! implementation of [`ExternalRenderers`] by the binary that owns it (the
//! master, the minion); the `external_render` crate is that implementation.
//! Where none is given ([`NoExternal`]) a `#!py` or `|gpg` file is an error
//! naming the renderer, never a silent pass-through.
use crate::data::{Map, Value};

/// The dunders a `#!py` SLS sees besides `__salt__`.
#[derive(Debug, Clone, PartialEq)]
pub struct PyContext {
    pub grains: Value,
    pub pillar: Value,
    pub opts: Value,
    /// `__sls__`
    pub sls: String,
    /// `__env__` (the saltenv)
    pub saltenv: String,
}

/// Answers `__salt__['mod.fun'](*args, **kwargs)` for a `#!py` file with
/// the functions templates have (`grains.get`, `pillar.get`, `cmd.run`, …).
pub type SaltCall<'a> = &'a dyn Fn(&str, &[Value], &Map<String, Value>) -> Result<Value, String>;

/// Why an external renderer failed. Messages never hold a decrypted value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExternalError {
    /// No implementation was given to this renderer (or its program is missing).
    #[error("renderer '{renderer}' is not available here: {reason}")]
    Unavailable { renderer: String, reason: String },
    #[error("{0}")]
    Failed(String),
}

/// The renderers that run a program.
pub trait ExternalRenderers: Send + Sync {
    /// `#!py`: runs the module `source` (the file `file`) and returns what
    /// its `run()` returns, as data.
    fn python(
        &self,
        file: &str,
        source: &str,
        context: &PyContext,
        salt: SaltCall<'_>,
    ) -> Result<Value, ExternalError>;

    /// Decrypts one ASCII-armoured PGP message with the configured keyring
    /// (`gpg_keydir`).
    fn gpg_decrypt(&self, armored: &str) -> Result<String, ExternalError>;
}

/// For renderers given no programs: every call is a clear error.
pub struct NoExternal;

impl ExternalRenderers for NoExternal {
    fn python(
        &self,
        _: &str,
        _: &str,
        _: &PyContext,
        _: SaltCall<'_>,
    ) -> Result<Value, ExternalError> {
        Err(ExternalError::Unavailable {
            renderer: "py".into(),
            reason: "no python3 was configured for this render".into(),
        })
    }

    fn gpg_decrypt(&self, _: &str) -> Result<String, ExternalError> {
        Err(ExternalError::Unavailable {
            renderer: "gpg".into(),
            reason: "no gpg keyring was configured for this render".into(),
        })
    }
}
