//! `retry:` — re-run a state until its result is `until`, as Salt does.
use common::data::Value;

use crate::compile::Chunk;

/// Salt's validated retry settings (`verify_retry_data`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    pub until: bool,
    pub attempts: u32,
    pub interval: u64,
    pub splay: u64,
}

const DEFAULTS: Retry = Retry {
    until: true,
    attempts: 2,
    interval: 30,
    splay: 0,
};

impl Retry {
    /// `retry: True`, `retry: {attempts: 3, ...}`; None when absent. Values of the
    /// wrong type fall back to the defaults, as in Salt.
    pub fn of(chunk: &Chunk) -> Option<Retry> {
        match chunk.get("retry")? {
            Value::Bool(true) => Some(DEFAULTS),
            Value::Bool(false) => Some(Retry {
                attempts: 0,
                ..DEFAULTS
            }),
            Value::Object(m) => Some(Retry {
                until: m
                    .get("until")
                    .and_then(Value::as_bool)
                    .unwrap_or(DEFAULTS.until),
                attempts: m
                    .get("attempts")
                    .and_then(Value::as_u64)
                    .map_or(DEFAULTS.attempts, |a| a as u32),
                interval: m
                    .get("interval")
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULTS.interval),
                splay: m
                    .get("splay")
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULTS.splay),
            }),
            _ => Some(DEFAULTS),
        }
    }

    /// The seconds to wait before the next attempt (interval plus up to `splay`).
    pub fn wait(&self) -> std::time::Duration {
        let jitter = if self.splay == 0 {
            0
        } else {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos() as u64)
                .unwrap_or(0);
            nanos % (self.splay + 1)
        };
        std::time::Duration::from_secs(self.interval + jitter)
    }

    /// Salt's test-mode note.
    pub fn test_note(&self) -> String {
        format!(
            "The state would be retried every {} seconds (with a splay of up to {} seconds) a maximum of {} times or until a result of {} is returned",
            self.interval,
            self.splay,
            self.attempts,
            if self.until { "True" } else { "False" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(v: Value) -> Chunk {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn salt_defaults_and_overrides() {
        assert_eq!(Retry::of(&chunk(json!({}))), None);
        assert_eq!(Retry::of(&chunk(json!({"retry": true}))), Some(DEFAULTS));
        assert_eq!(
            Retry::of(&chunk(json!({"retry": false}))).unwrap().attempts,
            0
        );
        let r = Retry::of(&chunk(
            json!({"retry": {"attempts": 5, "interval": 1, "until": false, "splay": "x"}}),
        ))
        .unwrap();
        assert_eq!(
            r,
            Retry {
                until: false,
                attempts: 5,
                interval: 1,
                splay: 0
            }
        );
    }
}
