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

/// A command line's `saltenv=`/`pillarenv=`/`pillar=` that Salt refuses.
/// The pillar's text is never shown: it is pillar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobEnvError {
    #[error("Pillar data must be formatted as a dictionary, unless pillar_enc is specified.")]
    PillarNotAMap,
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{key} given twice, as '{first}' and '{second}'")]
    Twice {
        key: &'static str,
        first: String,
        second: String,
    },
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

    /// Salt's spelling on a command line: `saltenv=ENV`, `pillarenv=ENV` and
    /// `pillar='{"k": "v"}'` (read as YAML, as Salt's argument parser does;
    /// it must be a map) among the positional words. Returns this job's
    /// choices and the other words (the SLS names), in order. `masterless
    /// apply/show` and `master apply` all read their words here.
    pub fn from_cli_words(words: &[String]) -> Result<(JobEnv, Vec<String>), JobEnvError> {
        let mut job = JobEnv::default();
        let mut rest = Vec::new();
        for word in words {
            if let Some(env) = word.strip_prefix("saltenv=") {
                job.set_saltenv(Some(env))?;
            } else if let Some(env) = word.strip_prefix("pillarenv=") {
                job.set_pillarenv(Some(env))?;
            } else if let Some(text) = word.strip_prefix("pillar=") {
                // Salt keeps text that is not YAML as a string: not a map either.
                match common::yaml::load(text) {
                    Ok(value @ Value::Object(_)) => job.pillar = Some(value),
                    _ => return Err(JobEnvError::PillarNotAMap),
                }
            } else {
                rest.push(word.clone());
            }
        }
        Ok((job, rest))
    }

    /// `--saltenv ENV`: as `saltenv=ENV`; both, and different, is an error.
    pub fn set_saltenv(&mut self, env: Option<&str>) -> Result<(), JobEnvError> {
        set_once("saltenv", &mut self.saltenv, env)
    }

    /// `--pillarenv ENV`: as `pillarenv=ENV`; both, and different, is an error.
    pub fn set_pillarenv(&mut self, env: Option<&str>) -> Result<(), JobEnvError> {
        set_once("pillarenv", &mut self.pillarenv, env)
    }
}

fn set_once(
    key: &'static str,
    slot: &mut Option<String>,
    env: Option<&str>,
) -> Result<(), JobEnvError> {
    let Some(env) = env else { return Ok(()) };
    if env.is_empty() {
        return Err(JobEnvError::Empty(key));
    }
    match slot {
        Some(first) if first != env => Err(JobEnvError::Twice {
            key,
            first: first.clone(),
            second: env.to_string(),
        }),
        _ => {
            *slot = Some(env.to_string());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn job_env_words_are_read_and_the_rest_kept_in_order() {
        let (job, rest) = JobEnv::from_cli_words(&words(&[
            "web",
            "saltenv=prod",
            "pillar={\"k\": {\"a\": 1}}",
            "db",
            "pillarenv=base",
        ]))
        .unwrap();
        assert_eq!(rest, ["web", "db"]);
        assert_eq!(job.saltenv.as_deref(), Some("prod"));
        assert_eq!(job.pillarenv.as_deref(), Some("base"));
        assert_eq!(job.pillar, Some(json!({"k": {"a": 1}})));
        // Salt's YAML reading: a flow map without quotes is a map too.
        let (job, _) = JobEnv::from_cli_words(&words(&["pillar={k: v}"])).unwrap();
        assert_eq!(job.pillar, Some(json!({"k": "v"})));
    }

    #[test]
    fn job_env_pillar_must_be_a_map_as_salt_says() {
        for bad in [
            "pillar=[1, 2]",
            "pillar=secret",
            "pillar=",
            "pillar={secret: [unclosed",
        ] {
            let err = JobEnv::from_cli_words(&words(&[bad])).unwrap_err();
            assert_eq!(
                err.to_string(),
                "Pillar data must be formatted as a dictionary, unless pillar_enc is specified.",
                "{bad}"
            );
        }
    }

    #[test]
    fn job_env_flags_and_words_must_agree() {
        let (mut job, _) = JobEnv::from_cli_words(&words(&["saltenv=prod"])).unwrap();
        job.set_saltenv(Some("prod")).unwrap();
        let err = job.set_saltenv(Some("dev")).unwrap_err();
        assert!(err.to_string().contains("saltenv given twice"), "{err}");
        assert!(matches!(
            JobEnv::from_cli_words(&words(&["pillarenv="])),
            Err(JobEnvError::Empty("pillarenv"))
        ));
    }

    #[test]
    fn job_env_override_merges_maps() {
        let job = JobEnv {
            pillar: Some(json!({"a": {"x": 2}, "b": 3})),
            ..JobEnv::default()
        };
        assert_eq!(
            job.override_pillar(json!({"a": {"x": 1, "y": 1}, "c": 4})),
            json!({"a": {"x": 2, "y": 1}, "c": 4, "b": 3})
        );
    }
}
