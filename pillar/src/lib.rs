//! Pillar: the pillar top.sls, each matched pillar SLS rendered with the
//! minion's grains, and the results deep-merged in order, as Salt's
//! `Pillar.render_pillar` does (maps merge key by key, anything else is replaced).
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::config::{EnvRoots, Environments};
use common::data::{merge_recursive, Map, Value};
use common::render::{ExternalRenderers, HostProbe, Pipeline, Renderer, Secret, Session};
use common::saltenvs::{env_vars, Saltenvs};
use common::target::Facts;
use common::top;
use common::tree_error::{TreeError, TreeErrors};

/// Who a tree is compiled for: the pillar here, and the state tree in
/// `states::compile` with the pillar this one produced.
///
/// The pillar is not a field: it is the output of compiling the pillar tree
/// for this minion, so a field would be empty (or an `Option` that is `None`)
/// exactly while it is being computed. Passing it beside the `Minion` to the
/// state compiler makes "state compile needs the pillar first" a signature.
pub struct Minion<'a> {
    pub id: &'a str,
    pub grains: &'a Value,
    /// The minion's config as templates see it in `opts`.
    pub opts: &'a Value,
    /// How templates ask the minion's host (`salt['cmd.run']`, ...).
    pub probe: Arc<dyn HostProbe>,
}

/// The pillar trees of every pillar env (`pillar_roots`). Cheap to clone:
/// the renderers are shared.
#[derive(Clone)]
pub struct PillarTree {
    saltenvs: Saltenvs,
    /// `pillarenv`: `None` merges the tops of every pillar env.
    pillarenv: Option<String>,
    nodegroups: Map<String, Value>,
}

impl PillarTree {
    /// One pillar env's tree (benches, tests).
    pub fn new(pillar_roots: Vec<PathBuf>, saltenv: &str) -> Self {
        PillarTree::from_envs(&Environments {
            pillar_roots: EnvRoots::single(saltenv, pillar_roots),
            ..Environments::default()
        })
    }

    /// Every pillar env of `pillar_roots`, with the config's `pillarenv`.
    pub fn from_envs(envs: &Environments) -> Self {
        PillarTree {
            saltenvs: Saltenvs::new(&envs.pillar_roots).map_renderers(Renderer::for_pillar),
            pillarenv: envs.pillarenv.clone(),
            nodegroups: Map::new(),
        }
    }

    pub fn with_nodegroups(mut self, nodegroups: Map<String, Value>) -> Self {
        self.nodegroups = nodegroups;
        self
    }

    /// Programs for the `py` and `gpg` renderers, and the `renderer` option.
    pub fn with_renderers(
        mut self,
        external: Arc<dyn ExternalRenderers>,
        default: Pipeline,
    ) -> Self {
        self.saltenvs = self.saltenvs.map_renderers(|r| {
            r.for_pillar()
                .with_external(external.clone())
                .with_default_pipeline(default.clone())
        });
        self
    }

    /// Whether `pillar_roots` has the pillar env `env`.
    pub fn has_env(&self, env: &str) -> bool {
        self.saltenvs.contains(env)
    }

    /// The same trees for a job with its own pillarenv; `None` keeps the
    /// config's.
    pub fn for_pillarenv(&self, pillarenv: Option<&str>) -> PillarTree {
        let mut t = self.clone();
        if let Some(env) = pillarenv {
            t.pillarenv = Some(env.to_string());
        }
        t
    }

    /// The minion's merged pillar; empty when no pillar root exists (a
    /// master or minion without a pillar tree is not an error).
    pub fn compile(&self, m: &Minion) -> Result<Value, TreeErrors> {
        self.compile_secrets(m).map(|(pillar, _)| pillar)
    }

    /// [`compile`](Self::compile), and the values its `gpg` renderers
    /// decrypted, by key path.
    pub fn compile_secrets(&self, m: &Minion) -> Result<(Value, Vec<Secret>), TreeErrors> {
        let any_root = self
            .saltenvs
            .names()
            .filter_map(|e| self.saltenvs.get(e))
            .any(|r| r.roots().iter().any(|p| p.is_dir()));
        if !any_root {
            return Ok((Value::Object(Map::new()), Vec::new()));
        }
        // While pillar compiles, templates see an empty `pillar`, as in Salt.
        let empty = Value::Object(Map::new());
        let session_env = self.pillarenv.as_deref().unwrap_or("base");
        let session = Session::new(m.grains, &empty, m.opts, session_env, m.probe.clone());
        let mut errors = Vec::new();
        // Salt's pillar `get_tops`: only pillarenv's top when it is set (none
        // when it is not configured), else base's and every configured one's.
        let read: Vec<String> = match &self.pillarenv {
            Some(env) if self.saltenvs.contains(env) => vec![env.clone()],
            Some(_) => vec![],
            None => {
                let mut envs = vec!["base".to_string()];
                envs.extend(
                    self.saltenvs
                        .names()
                        .filter(|e| *e != "base")
                        .map(str::to_string),
                );
                envs
            }
        };
        let tops = top::get_tops(&self.saltenvs, &session, &read, &mut errors);
        let top = top::merge_every_section(&tops, &mut errors);
        let facts = Facts {
            id: m.id,
            grains: m.grains,
            pillar: &empty,
        };
        let scope = top::MatchScope {
            only: self.pillarenv.as_deref(),
            saltenvs: &self.saltenvs,
        };
        let matches = top::top_matches(&top, &facts, &self.nodegroups, &scope, &mut errors);
        let mut pillar = Value::Object(Map::new());
        for (saltenv, pstates) in &matches {
            let Some(renderer) = self.saltenvs.get(saltenv) else {
                errors.push(TreeError::Tree(format!(
                    "No matching pillar environment for environment '{saltenv}' found"
                )));
                continue;
            };
            let env = PillarEnv {
                name: saltenv,
                renderer,
                session: &session,
            };
            let mut avail: Option<Vec<String>> = None;
            let mut mods: HashMap<String, Option<Value>> = HashMap::new();
            let mut files = Vec::new();
            for sls_match in pstates {
                let found = top::filter_avail(renderer, &mut avail, sls_match);
                if found.is_empty() {
                    files.push(sls_match.clone());
                } else {
                    files.extend(found);
                }
            }
            for sls in files {
                let pstate = env.render_pstate(&sls, None, &mut mods, &mut avail, &mut errors);
                match pstate {
                    Some(Value::Object(p)) => {
                        merge_recursive(&mut pillar, &Value::Object(p), false)
                    }
                    Some(Value::Null) | None => {}
                    Some(_) => tracing::warn!(sls, "pillar SLS did not render to a map; ignored"),
                }
            }
        }
        if errors.is_empty() {
            Ok((pillar, session.secrets()))
        } else {
            Err(TreeErrors(errors))
        }
    }
}

/// One pillar env while a minion's pillar renders from it.
struct PillarEnv<'a> {
    name: &'a str,
    renderer: &'a Renderer,
    session: &'a Session,
}

impl PillarEnv<'_> {
    fn filter(&self, avail: &mut Option<Vec<String>>, pattern: &str) -> Vec<String> {
        top::filter_avail(self.renderer, avail, pattern)
    }

    /// `render_pstate`: one pillar SLS with its includes merged under it.
    fn render_pstate(
        &self,
        sls: &str,
        defaults: Option<&Map<String, Value>>,
        mods: &mut HashMap<String, Option<Value>>,
        avail: &mut Option<Vec<String>>,
        errors: &mut Vec<TreeError>,
    ) -> Option<Value> {
        let Some((file, is_init)) = self.renderer.resolve_sls(sls) else {
            errors.push(TreeError::Tree(format!(
                "Specified SLS '{sls}' in environment '{}' is not available on the salt master",
                self.name
            )));
            return None;
        };
        let vars = env_vars(self.name, defaults);
        let state = match self
            .renderer
            .render_sls_with(self.session, &file, Some(sls), Some(&vars))
        {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(TreeError::Render(e));
                None
            }
        };
        mods.insert(sls.to_string(), state.clone());
        let mut state = match state {
            Some(Value::Object(m)) if !m.is_empty() => m,
            Some(Value::Object(_)) | Some(Value::Null) | None => return state,
            Some(other) => {
                errors.push(TreeError::Tree(format!(
                    "SLS '{sls}' does not render to a dictionary"
                )));
                return Some(other);
            }
        };
        let Some(include) = state.shift_remove("include") else {
            return Some(Value::Object(state));
        };
        let Value::Array(include) = include else {
            errors.push(TreeError::Tree(format!(
                "Include Declaration in SLS '{sls}' is not formed as a list"
            )));
            return Some(Value::Object(state));
        };
        let mut include_states = Vec::new();
        for inc in include {
            let (mut sub_sls, key, sub_defaults) = match inc {
                Value::String(s) => (s, None, None),
                Value::Object(m) => match m.into_iter().next() {
                    Some((s, opts)) => (
                        s,
                        opts.get("key").and_then(Value::as_str).map(str::to_string),
                        opts.get("defaults").and_then(Value::as_object).cloned(),
                    ),
                    None => continue,
                },
                _ => continue,
            };
            let mut matched =
                self.filter(avail, &sub_sls.trim_start_matches('.').replace('/', "."));
            if sub_sls.starts_with('.') {
                let mut parts: Vec<&str> = sls.split('.').collect();
                if !is_init {
                    parts.pop();
                }
                let rest = sub_sls[1..].to_string();
                let mut joined: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                joined.push(rest);
                sub_sls = joined.join(".");
            }
            matched.extend(self.filter(avail, &sub_sls));
            if matched.is_empty() {
                matched.push(sub_sls);
            }
            for m_sub in matched {
                let nstate = match mods.get(&m_sub) {
                    Some(done) => done.clone(),
                    None => self.render_pstate(&m_sub, sub_defaults.as_ref(), mods, avail, errors),
                };
                if let Some(mut nstate) = nstate.filter(common::data::is_truthy) {
                    if let Some(key) = &key {
                        for frag in key.rsplit(':') {
                            let mut wrap = Map::new();
                            wrap.insert(frag.to_string(), nstate);
                            nstate = Value::Object(wrap);
                        }
                    }
                    include_states.push(nstate);
                }
            }
        }
        // The including file is merged last, so its own values win.
        include_states.push(Value::Object(state));
        let mut merged: Option<Value> = None;
        for s in include_states {
            match &mut merged {
                None => merged = Some(s),
                Some(acc) => merge_recursive(acc, &s, false),
            }
        }
        merged
    }
}
