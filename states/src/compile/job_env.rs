//! What one job asks of the compile beyond the minion itself: Salt's
//! `saltenv=`, `pillarenv=` and `pillar=` keyword arguments (`state.apply`,
//! `state.sls`, `state.show_*`), given on the command line or by the config.
use common::data::{merge_recursive, Value};
use serde::{Deserialize, Serialize};

/// A job's choice of environments and its command-line pillar.
///
/// `None` means "as the config says" (`saltenv`, `pillarenv`,
/// `pillarenv_from_saltenv`; Salt's defaults otherwise). The pillar given on
/// the command line is merged over the compiled pillar for this job only,
/// as Salt's `pillar=` does; it is pillar like any other (redacted from logs
/// and errors).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobEnv {
    pub saltenv: Option<String>,
    pub pillarenv: Option<String>,
    pub pillar: Option<Value>,
}

impl JobEnv {
    /// The compiled pillar with this job's `pillar=` merged over it (maps
    /// key by key, anything else replaced), as Salt merges `pillar_override`.
    pub fn override_pillar(&self, mut pillar: Value) -> Value {
        if let Some(over) = &self.pillar {
            merge_recursive(&mut pillar, over, false);
        }
        pillar
    }
}
