//! Compiling for one minion: its pillar from the pillar tree, then its low
//! chunks from the state tree rendered with that pillar. The master (jobs,
//! `master render`, `master run ... state.show_lowstate`) and masterless
//! `minion apply --local` / `minion show --local` all go through
//! [`MinionTrees`], so both tops see the same nodegroups and the pillar is
//! compiled the same way everywhere.
use std::path::PathBuf;
use std::sync::Arc;

use common::data::{Map, Value};
use common::render::{ExternalRenderers, Pipeline, Secret, Session};
use common::tree_error::TreeErrors;
use pillar::PillarTree;

use super::{Chunk, Compiler, JobEnv, Minion};
use common::tree_error::TreeError;

/// The state tree and the pillar tree of one config (roots, saltenv,
/// nodegroups), ready to compile for any minion.
pub struct MinionTrees {
    pub states: Compiler,
    pub pillar: PillarTree,
}

/// One minion's pillar and the low chunks compiled with it.
pub struct Compiled {
    pub pillar: Value,
    pub chunks: Vec<Chunk>,
    /// The pillar values `gpg` decrypted: hidden from what the job returns.
    pub secrets: Vec<Secret>,
}

impl MinionTrees {
    /// `nodegroups` reach the state top and the pillar top alike.
    pub fn new(
        file_roots: Vec<PathBuf>,
        pillar_roots: Vec<PathBuf>,
        saltenv: &str,
        nodegroups: Map<String, Value>,
    ) -> Self {
        MinionTrees {
            states: Compiler::new(file_roots, saltenv).with_nodegroups(nodegroups.clone()),
            pillar: PillarTree::new(pillar_roots, saltenv).with_nodegroups(nodegroups),
        }
    }

    /// Programs for the `py` and `gpg` renderers of both trees, and the
    /// `renderer` option.
    pub fn with_renderers(self, external: Arc<dyn ExternalRenderers>, default: Pipeline) -> Self {
        MinionTrees {
            states: self
                .states
                .with_renderers(external.clone(), default.clone()),
            pillar: self.pillar.with_renderers(external, default),
        }
    }

    /// The minion's pillar (`pillar.items`).
    pub fn pillar(&self, m: &Minion) -> Result<Value, TreeErrors> {
        self.pillar.compile(m)
    }

    /// The highstate (`sls` empty) or the named SLS files for `m`: its
    /// pillar first (a pillar error stops the compile, as in Salt), then the
    /// ordered low chunks.
    pub fn compile(&self, m: &Minion, sls: &[String]) -> Result<Compiled, TreeErrors> {
        let (pillar, secrets) = self.pillar.compile_secrets(m)?;
        let chunks = if sls.is_empty() {
            self.states.lowstate(m, &pillar)?
        } else {
            self.states.sls_lowstate(m, &pillar, sls)?
        };
        Ok(Compiled {
            pillar,
            chunks,
            secrets,
        })
    }

    /// [`compile`](Self::compile) for one job: its `saltenv`/`pillarenv`
    /// and its command-line pillar, merged over the compiled one.
    pub fn compile_job(
        &self,
        m: &Minion,
        sls: &[String],
        job: &JobEnv,
    ) -> Result<Compiled, TreeErrors> {
        // Until several saltenvs are compiled, a job naming another one is
        // refused rather than compiled from the wrong tree.
        for (what, env) in [("saltenv", &job.saltenv), ("pillarenv", &job.pillarenv)] {
            if let Some(env) = env {
                if env != self.states.saltenv() {
                    return Err(TreeErrors(vec![TreeError::Tree(format!(
                        "{what} '{env}' is not configured (only '{}')",
                        self.states.saltenv()
                    ))]));
                }
            }
        }
        let (pillar, secrets) = self.pillar.compile_secrets(m)?;
        let pillar = job.override_pillar(pillar);
        let chunks = if sls.is_empty() {
            self.states.lowstate(m, &pillar)?
        } else {
            self.states.sls_lowstate(m, &pillar, sls)?
        };
        Ok(Compiled {
            pillar,
            chunks,
            secrets,
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
