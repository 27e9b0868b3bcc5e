//! Compile: a state tree plus one minion's grains and pillar → high data → the
//! ordered low chunks an executor runs. Pure: the same inputs give the same
//! chunks, byte for byte; the only host access is the render probe.
mod high;
mod highstate;
mod job_env;
mod low;
mod minion_trees;
mod no_states;
pub mod plan_diff;

use std::path::PathBuf;
use std::sync::Arc;

use common::config::{EnvRoots, Environments, TopMerging};
use common::data::{Map, Value};
use common::render::{ExternalRenderers, Pipeline, Renderer, Secret, Session};
use common::saltenvs::Saltenvs;
use common::target::Facts;
use common::top;

pub use common::tree_error::{TreeError as CompileError, TreeErrors as CompileErrors};
pub use high::High;
pub use job_env::{JobEnv, JobEnvError};
pub use low::Chunk;
pub use minion_trees::{Compiled, MinionTrees};
pub use no_states::NoStates;
pub use pillar::Minion;

/// What [`Compiler::low_chunks`] gives: the ordered chunks, the values
/// `gpg` decrypted in state files, and, for a highstate with nothing to
/// run, why.
pub struct LowChunks {
    pub chunks: Vec<Chunk>,
    pub secrets: Vec<Secret>,
    pub no_states: Option<NoStates>,
}

/// The state trees of every saltenv (`file_roots`), ready to compile for
/// minions. Cheap to clone: the renderers are shared.
#[derive(Clone)]
pub struct Compiler {
    saltenvs: Saltenvs,
    /// `saltenv`: `None` reads every saltenv's top; a job may set it.
    saltenv: Option<String>,
    merging: TopMerging,
    env_order: Vec<String>,
    default_top: String,
    nodegroups: Map<String, Value>,
}

fn finish<T>(value: T, errors: Vec<CompileError>) -> Result<T, CompileErrors> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(CompileErrors(errors))
    }
}

impl Compiler {
    /// One saltenv's tree, the others absent (benches, tests).
    pub fn new(file_roots: Vec<PathBuf>, saltenv: &str) -> Self {
        Compiler::from_envs(&Environments {
            file_roots: EnvRoots::single(saltenv, file_roots),
            ..Environments::default()
        })
    }

    /// Every saltenv of `file_roots`, with the config's `saltenv` and top
    /// merging keys.
    pub fn from_envs(envs: &Environments) -> Self {
        Compiler {
            saltenvs: Saltenvs::new(&envs.file_roots),
            saltenv: envs.saltenv.clone(),
            merging: envs.top_file_merging_strategy,
            env_order: envs.env_order.clone(),
            default_top: envs.default_top.clone(),
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
        self.saltenvs = self.saltenvs.map_renderers(|r: Renderer| {
            r.with_external(external.clone())
                .with_default_pipeline(default.clone())
        });
        self
    }

    /// The same trees for a job naming its saltenv (`saltenv=prod`); `None`
    /// keeps the config's.
    pub fn for_saltenv(&self, saltenv: Option<&str>) -> Compiler {
        let mut c = self.clone();
        if let Some(env) = saltenv {
            c.saltenv = Some(env.to_string());
        }
        c
    }

    /// The saltenv `state.sls` renders from: the job's or config's, else `base`.
    pub fn saltenv(&self) -> &str {
        self.saltenv.as_deref().unwrap_or("base")
    }

    /// The renderer of every saltenv (`salt://` sources of the job).
    pub fn saltenvs(&self) -> &Saltenvs {
        &self.saltenvs
    }

    /// What the templates of this tree see for `m` with `pillar`; states
    /// that render later (`file.managed template: jinja`) use the same.
    pub fn session(&self, m: &Minion, pillar: &Value) -> Session {
        Session::new(m.grains, pillar, m.opts, self.saltenv(), m.probe.clone())
    }

    fn matches(
        &self,
        m: &Minion,
        pillar: &Value,
        session: &Session,
        errors: &mut Vec<CompileError>,
    ) -> top::Matches {
        let read = match &self.saltenv {
            Some(env) => vec![env.clone()],
            None => top::env_list(&self.saltenvs, &self.env_order),
        };
        let tops = top::get_tops(&self.saltenvs, session, &read, errors);
        let top = top::merge_tops(&tops, self.merging, &self.default_top, errors);
        let facts = Facts {
            id: m.id,
            grains: m.grains,
            pillar,
        };
        let scope = top::MatchScope {
            only: self.saltenv.as_deref(),
            saltenvs: &self.saltenvs,
        };
        top::top_matches(&top, &facts, &self.nodegroups, &scope, errors)
    }

    /// `state.show_top`: `{saltenv: [sls, ...]}`.
    pub fn top(&self, m: &Minion, pillar: &Value) -> Result<Value, CompileErrors> {
        let mut errors = Vec::new();
        let session = self.session(m, pillar);
        let matches = self.matches(m, pillar, &session, &mut errors);
        let out: Map<String, Value> = matches
            .into_iter()
            .map(|(env, sls)| {
                (
                    env,
                    Value::Array(sls.into_iter().map(Value::String).collect()),
                )
            })
            .collect();
        finish(Value::Object(out), errors)
    }

    /// `state.show_highstate`: the rendered high data, before extend/requisite passes.
    pub fn highstate(&self, m: &Minion, pillar: &Value) -> Result<High, CompileErrors> {
        let (high, errors, _) = self.render_top(m, pillar, &self.session(m, pillar));
        finish(high, errors)
    }

    /// Renders what top.sls gives the minion; the errors of both steps.
    /// The highstate's high data, its errors, and whether the top gave
    /// this minion anything at all.
    fn render_top(
        &self,
        m: &Minion,
        pillar: &Value,
        session: &Session,
    ) -> (High, Vec<CompileError>, bool) {
        let mut errors = Vec::new();
        let matches = self.matches(m, pillar, session, &mut errors);
        let matched = !matches.is_empty();
        let mut builder = highstate::HighBuilder::new(&self.saltenvs, session);
        let high = builder.render_highstate(&matches);
        errors.extend(builder.errors);
        (high, errors, matched)
    }

    /// `state.show_sls`: the high data of the named SLS files.
    pub fn sls(&self, m: &Minion, pillar: &Value, names: &[String]) -> Result<High, CompileErrors> {
        let (high, mut errors) = self.render_named(&self.session(m, pillar), names);
        errors.extend(high::verify_high(&high).into_iter().map(CompileError::Tree));
        finish(high, errors)
    }

    fn render_named(&self, session: &Session, names: &[String]) -> (High, Vec<CompileError>) {
        let matches = vec![(self.saltenv().to_string(), names.to_vec())];
        let mut builder = highstate::HighBuilder::new(&self.saltenvs, session);
        let high = builder.render_highstate(&matches);
        (high, builder.errors)
    }

    /// `state.show_lowstate`: the ordered low chunks of the highstate.
    pub fn lowstate(&self, m: &Minion, pillar: &Value) -> Result<Vec<Chunk>, CompileErrors> {
        self.low_chunks(m, pillar, &[]).map(|low| low.chunks)
    }

    /// Low chunks of the named SLS files only (`state.sls`).
    pub fn sls_lowstate(
        &self,
        m: &Minion,
        pillar: &Value,
        names: &[String],
    ) -> Result<Vec<Chunk>, CompileErrors> {
        self.low_chunks(m, pillar, names).map(|low| low.chunks)
    }

    /// The low chunks of the highstate (`names` empty) or of the named SLS
    /// files, and the values `gpg` decrypted in the state files on the way
    /// (a `#!yaml|gpg` SLS), which the job's returns must not show.
    pub fn low_chunks(
        &self,
        m: &Minion,
        pillar: &Value,
        names: &[String],
    ) -> Result<LowChunks, CompileErrors> {
        let session = self.session(m, pillar);
        let (high, errors, matched) = if names.is_empty() {
            self.render_top(m, pillar, &session)
        } else {
            let (high, errors) = self.render_named(&session, names);
            (high, errors, true)
        };
        let chunks = self.to_low(high, errors)?;
        // Salt's call_highstate: a highstate with nothing to run is a
        // failure, never an empty success (a CI run with a mistyped root
        // would otherwise pass).
        let no_states = match (names.is_empty(), matched, chunks.is_empty()) {
            (true, false, _) => Some(NoStates::NoTopMatch),
            (true, true, true) => Some(NoStates::Empty),
            _ => None,
        };
        Ok(LowChunks {
            chunks,
            secrets: session.secrets(),
            no_states,
        })
    }

    fn to_low(
        &self,
        mut high: High,
        mut errors: Vec<CompileError>,
    ) -> Result<Vec<Chunk>, CompileErrors> {
        let mut msgs = Vec::new();
        high::reconcile_extend(&mut high, false, &mut msgs);
        msgs.extend(high::verify_high(&high));
        high::requisite_in(&mut high, &mut msgs);
        high::apply_exclude(&mut high);
        errors.extend(msgs.into_iter().map(CompileError::Tree));
        if !errors.is_empty() {
            return Err(CompileErrors(errors));
        }
        Ok(low::compile_high_data(&high))
    }
}
