//! `#!py`: the module runs in the system's python3 (to be written).
use std::path::Path;

use common::data::Value;
use common::render::{ExternalError, PyContext, SaltCall};

pub fn render(
    _python: &Path,
    _file: &str,
    _source: &str,
    _context: &PyContext,
    _salt: SaltCall<'_>,
) -> Result<Value, ExternalError> {
    Err(ExternalError::Unavailable {
        renderer: "py".into(),
        reason: "not written yet".into(),
    })
}
