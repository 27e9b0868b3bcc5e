//! Compiling for one minion: its pillar from the pillar tree, then its low
//! chunks from the state tree rendered with that pillar. The master (jobs,
//! `master render`, `master run ... state.show_lowstate`) and masterless
//! `minion apply --local` / `minion show --local` all go through
//! [`MinionTrees`], so both tops see the same nodegroups and the pillar is
//! compiled the same way everywhere.
use std::sync::Arc;

use common::config::Environments;
use common::data::{Map, Value};
use common::render::{ExternalRenderers, Pipeline, Secret, Session};
use common::saltenvs::not_configured;
use common::tree_error::{TreeError, TreeErrors};
use pillar::PillarTree;

use super::{Chunk, Compiler, JobEnv, Minion};

/// The state trees and the pillar trees of one config (every saltenv's
/// roots, the env keys, nodegroups), ready to compile for any minion.
pub struct MinionTrees {
    pub states: Compiler,
    pub pillar: PillarTree,
    envs: Environments,
}

/// One minion's pillar and the low chunks compiled with it.
pub struct Compiled {
    pub pillar: Value,
    pub chunks: Vec<Chunk>,
    /// The values `gpg` decrypted (pillar and state files): hidden from
    /// what the job returns.
    pub secrets: Vec<Secret>,
    /// A highstate with nothing to run: applying it fails saying why.
    pub no_states: Option<super::NoStates>,
}

impl MinionTrees {
    /// `nodegroups` reach the state top and the pillar top alike.
    pub fn new(envs: &Environments, nodegroups: Map<String, Value>) -> Self {
        MinionTrees {
            states: Compiler::from_envs(envs).with_nodegroups(nodegroups.clone()),
            pillar: PillarTree::from_envs(envs).with_nodegroups(nodegroups),
            envs: envs.clone(),
        }
    }

    /// Programs for the `py` and `gpg` renderers of both trees, and the
    /// `renderer` option.
    pub fn with_renderers(
        mut self,
        external: Arc<dyn ExternalRenderers>,
        default: Pipeline,
    ) -> Self {
        self.states = self
            .states
            .with_renderers(external.clone(), default.clone());
        self.pillar = self.pillar.with_renderers(external, default);
        self
    }

    /// The trees a job with these choices compiles from: its saltenv's
    /// state top (all of them when neither it nor the config names one) and
    /// its pillarenv (Salt's `pillarenv`, `pillarenv_from_saltenv`).
    pub fn for_job(&self, job: &JobEnv) -> (Compiler, PillarTree) {
        let pillarenv = self
            .envs
            .job_pillarenv(job.saltenv.as_deref(), job.pillarenv.as_deref());
        (
            self.states.for_saltenv(job.saltenv.as_deref()),
            self.pillar.for_pillarenv(pillarenv.as_deref()),
        )
    }

    /// A job naming a saltenv or pillarenv the config lacks is refused with
    /// Salt's words, where Salt itself would compile an empty highstate
    /// (`state.apply saltenv=typo`) or pillar and report success.
    pub fn check_envs(&self, job: &JobEnv) -> Result<(), TreeErrors> {
        let mut errors = Vec::new();
        if let Some(env) = job.saltenv.as_deref() {
            if !self.states.saltenvs().contains(env) {
                errors.push(TreeError::Tree(not_configured(env)));
            }
        }
        if let Some(env) = job.pillarenv.as_deref() {
            if !self.pillar.has_env(env) {
                errors.push(TreeError::Tree(format!(
                    "No matching pillar environment for environment '{env}' found"
                )));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(TreeErrors(errors))
        }
    }

    /// The minion's pillar (`pillar.items`).
    pub fn pillar(&self, m: &Minion) -> Result<Value, TreeErrors> {
        self.job_pillar(m, &JobEnv::default())
    }

    /// The minion's pillar for one job: its pillarenv, its `pillar=` over it.
    pub fn job_pillar(&self, m: &Minion, job: &JobEnv) -> Result<Value, TreeErrors> {
        self.check_envs(job)?;
        let (_, pillar) = self.for_job(job);
        Ok(job.override_pillar(pillar.compile(m)?))
    }

    /// The highstate (`sls` empty) or the named SLS files for `m`: its
    /// pillar first (a pillar error stops the compile, as in Salt), then the
    /// ordered low chunks.
    pub fn compile(&self, m: &Minion, sls: &[String]) -> Result<Compiled, TreeErrors> {
        self.compile_job(m, sls, &JobEnv::default())
    }

    /// [`compile`](Self::compile) for one job, as Salt's `state.apply
    /// saltenv=X` (the highstate of X's top only), `state.sls foo
    /// saltenv=X` (foo from X) and `pillarenv=Y`; its command-line pillar
    /// is merged over the compiled one.
    pub fn compile_job(
        &self,
        m: &Minion,
        sls: &[String],
        job: &JobEnv,
    ) -> Result<Compiled, TreeErrors> {
        self.check_envs(job)?;
        let (states, pillar_tree) = self.for_job(job);
        let (pillar, mut secrets) = pillar_tree.compile_secrets(m)?;
        let pillar = job.override_pillar(pillar);
        let low = states.low_chunks(m, &pillar, sls)?;
        secrets.extend(low.secrets);
        Ok(Compiled {
            pillar,
            chunks: low.chunks,
            secrets,
            no_states: low.no_states,
        })
    }

    /// What templates rendered later in the job see (`file.managed
    /// template: jinja`): the inputs the chunks were compiled with.
    pub fn session(&self, m: &Minion, pillar: &Value) -> Session {
        self.states.session(m, pillar)
    }
}

#[cfg(test)]
#[path = "minion_trees_tests.rs"]
mod tests;
