//! What one job asks of the compile beyond the minion itself: Salt's
//! `saltenv=`, `pillarenv=` and `pillar=` keyword arguments (`state.apply`,
//! `state.sls`, `state.show_*`), given on the command line or by the config.
use common::data::{merge_recursive, Value};
use common::env_name::{self, InvalidEnvName};
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

/// Why a job's `saltenv=`, `pillarenv=` or `pillar=` was refused. The
/// pillar's text is never part of the message: it may be a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobEnvError {
    #[error("{what} {name:?}: {reason}")]
    BadEnv {
        what: &'static str,
        name: String,
        reason: InvalidEnvName,
    },
    #[error("{what} must be an environment name, not {value}")]
    NotAName { what: &'static str, value: String },
    /// Salt's words (`SaltInvocationError` of every `state.*` function).
    #[error("Pillar data must be formatted as a dictionary, unless pillar_enc is specified.")]
    PillarNotAMap,
    #[error("{0} is given twice")]
    Twice(&'static str),
    #[error(
        "'{0}=' is not an argument of a state run here (saltenv=, pillarenv=, pillar=; --test for test=True)"
    )]
    UnknownKeyword(String),
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

    /// A state run's words as Salt spells them on its command line
    /// (`state.apply web db saltenv=prod pillar='{"k": "v"}'`): the
    /// `saltenv=`, `pillarenv=` and `pillar=` words make the job's
    /// environment, every other word is returned in order (the SLS names).
    /// A `pillar=` value is read as Salt reads a command-line argument
    /// (YAML, so JSON or a flow map); anything but a map is Salt's "Pillar
    /// data must be formatted as a dictionary". Another `key=value` word
    /// whose key is a name is refused rather than taken for an SLS.
    pub fn from_cli_words<S: AsRef<str>>(
        words: &[S],
    ) -> Result<(JobEnv, Vec<String>), JobEnvError> {
        let mut env = JobEnv::default();
        let mut rest = Vec::new();
        for word in words {
            let word = word.as_ref();
            let Some((key, value)) = word.split_once('=').filter(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_')
            }) else {
                rest.push(word.to_string());
                continue;
            };
            match key {
                "saltenv" => env.set_env("saltenv", Some(value.to_string()))?,
                "pillarenv" => env.set_env("pillarenv", Some(value.to_string()))?,
                "pillar" => {
                    if env.pillar.is_some() {
                        return Err(JobEnvError::Twice("pillar"));
                    }
                    // Text that is not YAML stays a string, as Salt's
                    // `yamlify_arg` leaves it, and a string is not a map.
                    let v = common::yaml::load(value).unwrap_or(Value::Null);
                    env.pillar = Some(pillar_map(&v)?.ok_or(JobEnvError::PillarNotAMap)?);
                }
                other => return Err(JobEnvError::UnknownKeyword(other.to_string())),
            }
        }
        Ok((env, rest))
    }

    /// The `--saltenv` / `--pillarenv` flags over the words' environment; an
    /// environment given both ways is refused rather than one ignored.
    pub fn with_flags(
        mut self,
        saltenv: Option<String>,
        pillarenv: Option<String>,
    ) -> Result<JobEnv, JobEnvError> {
        if saltenv.is_some() {
            self.set_env("saltenv", saltenv)?;
        }
        if pillarenv.is_some() {
            self.set_env("pillarenv", pillarenv)?;
        }
        Ok(self)
    }

    /// Salt's `saltenv`, `pillarenv` and `pillar` keyword arguments as an
    /// execution function gets them (`None` or `null`: not given).
    pub fn from_kwargs(
        saltenv: Option<&Value>,
        pillarenv: Option<&Value>,
        pillar: Option<&Value>,
    ) -> Result<JobEnv, JobEnvError> {
        let name = |what: &'static str, v: Option<&Value>| match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => checked(what, s).map(Some),
            Some(other) => Err(JobEnvError::NotAName {
                what,
                value: other.to_string(),
            }),
        };
        Ok(JobEnv {
            saltenv: name("saltenv", saltenv)?,
            pillarenv: name("pillarenv", pillarenv)?,
            pillar: match pillar {
                None => None,
                Some(v) => pillar_map(v)?,
            },
        })
    }

    /// The top-level keys of the command-line pillar: what a record of the
    /// job may show of it (its values may be secrets).
    pub fn pillar_keys(&self) -> Option<Vec<String>> {
        match &self.pillar {
            Some(Value::Object(m)) => Some(m.keys().cloned().collect()),
            _ => None,
        }
    }

    fn set_env(&mut self, what: &'static str, name: Option<String>) -> Result<(), JobEnvError> {
        let slot = match what {
            "saltenv" => &mut self.saltenv,
            _ => &mut self.pillarenv,
        };
        if slot.is_some() {
            return Err(JobEnvError::Twice(what));
        }
        *slot = name.map(|n| checked(what, &n)).transpose()?;
        Ok(())
    }
}

fn checked(what: &'static str, name: &str) -> Result<String, JobEnvError> {
    env_name::check(name).map_err(|reason| JobEnvError::BadEnv {
        what,
        name: name.to_string(),
        reason,
    })?;
    Ok(name.to_string())
}

/// A `pillar=` value: a map, or `None`/`null` (not given); anything else is
/// Salt's refusal.
fn pillar_map(v: &Value) -> Result<Option<Value>, JobEnvError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(v.clone())),
        _ => Err(JobEnvError::PillarNotAMap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn words(w: &[&str]) -> Result<(JobEnv, Vec<String>), JobEnvError> {
        JobEnv::from_cli_words(w)
    }

    #[test]
    fn job_env_words_are_taken_out_of_the_sls_names() {
        let (env, rest) = words(&[
            "web",
            "saltenv=prod",
            "db",
            "pillarenv=stage",
            r#"pillar={"k": "v", "n": {"a": 1}}"#,
        ])
        .unwrap();
        assert_eq!(rest, ["web", "db"]);
        assert_eq!(env.saltenv.as_deref(), Some("prod"));
        assert_eq!(env.pillarenv.as_deref(), Some("stage"));
        assert_eq!(env.pillar, Some(json!({"k": "v", "n": {"a": 1}})));
        assert_eq!(env.pillar_keys().unwrap(), ["k", "n"]);
        // A YAML flow map, as Salt's command line reads it.
        let (env, rest) = words(&["pillar={k: v, n: 2}"]).unwrap();
        assert!(rest.is_empty());
        assert_eq!(env.pillar, Some(json!({"k": "v", "n": 2})));
        assert_eq!(
            words(&["a", "b"]).unwrap(),
            (JobEnv::default(), vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn job_env_pillar_that_is_not_a_map_is_salts_error() {
        for bad in [
            "pillar=[1, 2]",
            "pillar=text",
            "pillar=5",
            "pillar={unclosed",
            "pillar=",
        ] {
            let e = words(&[bad]).unwrap_err();
            assert_eq!(e, JobEnvError::PillarNotAMap, "{bad}");
        }
        assert_eq!(
            JobEnvError::PillarNotAMap.to_string(),
            "Pillar data must be formatted as a dictionary, unless pillar_enc is specified."
        );
        // The value never shows in an error.
        let e = words(&["pillar=s3cr3t"]).unwrap_err().to_string();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn job_env_names_are_labels() {
        for bad in ["saltenv=", "saltenv=../x", "pillarenv=a/b", "saltenv=.."] {
            let e = words(&[bad]).unwrap_err();
            assert!(matches!(e, JobEnvError::BadEnv { .. }), "{bad}: {e}");
        }
        let e = words(&["saltenv=a", "saltenv=b"]).unwrap_err();
        assert_eq!(e, JobEnvError::Twice("saltenv"));
        let e = words(&["test=True"]).unwrap_err();
        assert_eq!(e, JobEnvError::UnknownKeyword("test".into()));
        // A word with '=' that is not `name=` is an SLS name as before.
        assert_eq!(words(&["a.b=c"]).unwrap().1, ["a.b=c"]);
    }

    #[test]
    fn job_env_flags_join_the_words_and_may_not_repeat_them() {
        let (env, _) = words(&["pillarenv=stage"]).unwrap();
        let env = env.with_flags(Some("prod".into()), None).unwrap();
        assert_eq!(env.saltenv.as_deref(), Some("prod"));
        assert_eq!(env.pillarenv.as_deref(), Some("stage"));
        let e = env.with_flags(None, Some("x".into())).unwrap_err();
        assert_eq!(e, JobEnvError::Twice("pillarenv"));
        let e = JobEnv::default()
            .with_flags(Some("a/b".into()), None)
            .unwrap_err();
        assert!(
            matches!(
                e,
                JobEnvError::BadEnv {
                    what: "saltenv",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn job_env_from_kwargs_reads_salts_keyword_arguments() {
        let env = JobEnv::from_kwargs(
            Some(&json!("prod")),
            Some(&Value::Null),
            Some(&json!({"k": 1})),
        )
        .unwrap();
        assert_eq!(env.saltenv.as_deref(), Some("prod"));
        assert_eq!(env.pillarenv, None);
        assert_eq!(env.pillar, Some(json!({"k": 1})));
        assert_eq!(
            JobEnv::from_kwargs(None, None, None).unwrap(),
            JobEnv::default()
        );
        let e = JobEnv::from_kwargs(None, None, Some(&json!("x"))).unwrap_err();
        assert_eq!(e, JobEnvError::PillarNotAMap);
        let e = JobEnv::from_kwargs(Some(&json!(3)), None, None).unwrap_err();
        assert!(
            matches!(
                e,
                JobEnvError::NotAName {
                    what: "saltenv",
                    ..
                }
            ),
            "{e}"
        );
    }
}
