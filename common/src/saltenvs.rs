//! The renderer of every configured saltenv (`file_roots` or
//! `pillar_roots`), and the template variables that name the saltenv a file
//! is rendered for. A saltenv is a label looked up here, never a path.
use std::sync::Arc;

use crate::config::EnvRoots;
use crate::data::{Map, Value};
use crate::render::Renderer;

/// One renderer per saltenv, in the config's order.
#[derive(Clone)]
pub struct Saltenvs {
    envs: Vec<(String, Arc<Renderer>)>,
}

impl Saltenvs {
    pub fn new(roots: &EnvRoots) -> Self {
        Saltenvs {
            envs: roots
                .0
                .iter()
                .map(|(env, dirs)| (env.clone(), Arc::new(Renderer::new(dirs.clone()))))
                .collect(),
        }
    }

    /// Every renderer rebuilt on its roots by `f` (the `renderer` option,
    /// programs for `py` and `gpg`, pillar mode): a builder step, so the
    /// renderers have no compiled templates to lose yet.
    pub fn map_renderers(self, f: impl Fn(Renderer) -> Renderer) -> Self {
        Saltenvs {
            envs: self
                .envs
                .into_iter()
                .map(|(env, r)| (env, Arc::new(f(Renderer::new(r.roots().to_vec())))))
                .collect(),
        }
    }

    /// One saltenv served by an existing renderer.
    pub fn single(saltenv: &str, renderer: Arc<Renderer>) -> Self {
        Saltenvs {
            envs: vec![(saltenv.to_string(), renderer)],
        }
    }

    /// The renderer of `saltenv`; `None` when it is not configured.
    pub fn get(&self, saltenv: &str) -> Option<&Arc<Renderer>> {
        self.envs.iter().find(|(e, _)| e == saltenv).map(|(_, r)| r)
    }

    pub fn contains(&self, saltenv: &str) -> bool {
        self.get(saltenv).is_some()
    }

    /// The saltenvs, in the config's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.envs.iter().map(|(e, _)| e.as_str())
    }
}

/// The variables that say which saltenv a file is rendered for (`saltenv`
/// and its old name `env`), laid over the session's, with `extra` (a pillar
/// include's `defaults:`) last.
pub fn env_vars(saltenv: &str, extra: Option<&Map<String, Value>>) -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert("saltenv".into(), Value::String(saltenv.to_string()));
    vars.insert("env".into(), Value::String(saltenv.to_string()));
    for (k, v) in extra.into_iter().flatten() {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

/// The name of the saltenv a message shows ("No matching salt environment
/// for environment 'qa' found").
pub fn not_configured(saltenv: &str) -> String {
    format!("No matching salt environment for environment '{saltenv}' found")
}
