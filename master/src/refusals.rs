//! Refused input logged so an operator sees every kind of attempt without a
//! flood filling the disk: the first refusal of a kind is logged at once;
//! later ones of the same kind within a second are counted and logged as one
//! line with their number (by [`Refusals::flush`], or with the next one).
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Tally {
    logged_at: Option<Instant>,
    held_back: u64,
}

#[derive(Debug)]
pub struct Refusals {
    /// What was refused: "a peer before its handshake on tcp://…".
    what: String,
    tallies: BTreeMap<&'static str, Tally>,
}

impl Refusals {
    pub fn new(what: String) -> Self {
        Refusals {
            what,
            tallies: BTreeMap::new(),
        }
    }

    /// One refusal for `reason`.
    pub fn note(&mut self, reason: &'static str, now: Instant) {
        let t = self.tallies.entry(reason).or_default();
        t.held_back += 1;
        if due(t, now) {
            log(&self.what, reason, t, now);
        }
    }

    /// Logs what was held back a second or more; call it every second.
    pub fn flush(&mut self, now: Instant) {
        for (reason, t) in &mut self.tallies {
            if t.held_back > 0 && due(t, now) {
                log(&self.what, reason, t, now);
            }
        }
    }
}

fn due(t: &Tally, now: Instant) -> bool {
    t.logged_at
        .is_none_or(|at| now.saturating_duration_since(at) >= INTERVAL)
}

fn log(what: &str, reason: &str, t: &mut Tally, now: Instant) {
    tracing::warn!(count = t.held_back, "refused {what}: {reason}");
    t.held_back = 0;
    t.logged_at = Some(now);
}
