//! `test`: the fixtures Salt's own tests and many formulas use
//! (`salt/states/test.py`), with Salt's exact comments.
use common::data::Value;
use serde_json::json;

use super::{changes, Applied, ApplyFn, Args, Check, HostRead, StateError};

pub struct Test;

fn pretend_changes() -> common::data::Map<String, Value> {
    changes([(
        "testing",
        json!({"old": "Unchanged", "new": "Something pretended to change"}),
    )])
}

/// `changes=`/`result=` of configurable_test_state: True, False or "Random".
fn tri(args: &Args, key: &str) -> Result<bool, StateError> {
    match args.get(key) {
        None => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("random") => Ok(rand_bool()),
        Some(_) => Err(StateError::args(format!(
            "You have specified the state option '{key}' with invalid arguments. It must be either True, False, or 'Random'"
        ))),
    }
}

fn rand_bool() -> bool {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() & 1 == 1)
        .unwrap_or(false)
}

impl super::StateModule for Test {
    fn name(&self) -> &'static str {
        "test"
    }

    fn signatures(&self) -> &'static [super::Signature] {
        super::signatures::tables::TEST
    }

    /// Salt's `test.mod_watch`: "Watch statement fired.", listing the watched
    /// states that changed; `result`/`comment`/`changes` args override.
    fn watchable(&self) -> bool {
        true
    }

    fn mod_watch_signature(&self) -> Option<&'static super::Signature> {
        Some(&super::signatures::tables::TEST_MOD_WATCH)
    }

    fn mod_watch(
        &self,
        _fun: &str,
        args: &Args,
        _host: &HostRead,
    ) -> Option<Result<Check, StateError>> {
        let changed = args
            .get("__reqs_changed__")
            .cloned()
            .unwrap_or(Value::Array(vec![]));
        let result = match args.get("result") {
            Some(Value::Bool(b)) => *b,
            _ => true,
        };
        let comment = args
            .str("comment")
            .ok()
            .flatten()
            .unwrap_or_else(|| "Watch statement fired.".into());
        let changes = match args.get("changes") {
            Some(Value::Object(m)) => m.clone(),
            _ => changes([("Requisites with changes", changed)]),
        };
        Some(Ok(Check::Reported {
            result,
            comment,
            changes,
        }))
    }

    fn check(&self, fun: &str, args: &Args, _host: &HostRead) -> Result<Check, StateError> {
        let comment = args.str("comment")?;
        Ok(match fun {
            "nop" | "succeed_without_changes" => {
                Check::clean(comment.unwrap_or_else(|| "Success!".into()))
            }
            "fail_without_changes" => Check::Fail {
                comment: comment.unwrap_or_else(|| "Failure!".into()),
                test_comment: Some("If we weren't testing, this would be a failure!".into()),
            },
            "succeed_with_changes" => {
                let done = comment.unwrap_or_else(|| "Success!".into());
                Check::change(
                    pretend_changes(),
                    "If we weren't testing, this would be successful with changes",
                    ApplyFn(move |_: &_| Ok(Applied::ok(done))),
                )
            }
            "fail_with_changes" => {
                let done = comment.unwrap_or_else(|| "Failure!".into());
                Check::change(
                    pretend_changes(),
                    "If we weren't testing, this would be failed with changes",
                    ApplyFn(move |_: &_| Ok(Applied::failed(done, pretend_changes()))),
                )
            }
            "configurable_test_state" => {
                let with_changes = tri(args, "changes")?;
                let result = tri(args, "result")?;
                let allow_failure = args.bool_or("allow_test_mode_failure", false)?;
                let _ = args.get("warnings");
                let comment = comment.unwrap_or_default();
                let test_comment = if comment.is_empty() {
                    "This is a test".to_string()
                } else {
                    comment.clone()
                };
                match (with_changes, result) {
                    (true, _) if !allow_failure || result => Check::change(
                        pretend_changes(),
                        test_comment,
                        ApplyFn(move |_: &_| {
                            Ok(Applied {
                                result,
                                comment,
                                changes: Some(pretend_changes()),
                            })
                        }),
                    ),
                    (_, true) => Check::Clean {
                        comment,
                        test_comment: Some(test_comment),
                    },
                    (_, false) => Check::Fail {
                        comment,
                        test_comment: (!allow_failure).then_some(test_comment),
                    },
                }
            }
            "show_notification" => match args.str("text")? {
                Some(text) if !text.is_empty() => Check::clean(text),
                _ => return Err(StateError::args("Missing required argument text.")),
            },
            other => {
                return Err(StateError::args(format!(
                    "test.{other} is not a state function"
                )))
            }
        })
    }
}
