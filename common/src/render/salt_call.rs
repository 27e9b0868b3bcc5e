//! `__salt__['mod.fun'](*args, **kwargs)` from outside a template: what a
//! `#!py` SLS calls, answered by the same functions as `salt[...]` in Jinja.
use super::Session;
use crate::data::{Map, Value};

impl Session {
    /// Calls the template function `fun` with data arguments.
    pub fn call_salt(
        &self,
        fun: &str,
        _args: &[Value],
        _kwargs: &Map<String, Value>,
    ) -> Result<Value, String> {
        Err(format!("'{fun}' cannot be called from a #!py file yet"))
    }
}
