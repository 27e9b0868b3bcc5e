//! `--saltenv` and `--pillarenv`, defined once for every command that
//! compiles states, and the job's environment they make with Salt's
//! `saltenv=`, `pillarenv=` and `pillar=` words.
use anyhow::Result;
use common::data::Value;
use states::compile::{JobEnv, JobEnvError};
use transport::wire::{EnvName, PublishEnv};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnvOpts {
    /// The saltenv to compile from (as Salt's `saltenv=ENV`).
    #[arg(long, value_name = "ENV")]
    pub saltenv: Option<String>,
    /// The pillarenv to compile the pillar from (as Salt's `pillarenv=ENV`).
    #[arg(long, value_name = "ENV")]
    pub pillarenv: Option<String>,
}

impl EnvOpts {
    /// The job's environment from these flags and the command's words; the
    /// words that are not `saltenv=`/`pillarenv=`/`pillar=` are returned.
    pub fn job_env(&self, words: &[String]) -> Result<(JobEnv, Vec<String>)> {
        let (env, rest) = JobEnv::from_cli_words(words)?;
        let env = env.with_flags(self.saltenv.clone(), self.pillarenv.clone())?;
        Ok((env, rest))
    }
}

/// The job's environment as the publish request carries it.
pub fn to_wire(env: &JobEnv) -> Result<PublishEnv> {
    let name = |n: &Option<String>| -> Result<Option<EnvName>> {
        Ok(n.clone().map(EnvName::try_from).transpose()?)
    };
    Ok(PublishEnv {
        saltenv: name(&env.saltenv)?,
        pillarenv: name(&env.pillarenv)?,
        pillar: match &env.pillar {
            None => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => return Err(JobEnvError::PillarNotAMap.into()),
        },
    })
}
