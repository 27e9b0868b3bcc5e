//! A token bucket: up to `burst` events at once, `per_second` on average.
//! The listener spends one token per handshake and the key store one per
//! pending key written, so a flood costs a bounded amount of work per second.
use std::time::Instant;

#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket: the first `burst` events pass at once.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_second: f64::from(per_second),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Spends a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn passed(b: &mut TokenBucket, at: Instant, tries: usize) -> usize {
        (0..tries).filter(|_| b.take(at)).count()
    }

    #[test]
    fn a_burst_passes_then_the_rate_refills_it() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(500, 1000, t0);
        assert_eq!(passed(&mut b, t0, 5000), 1000);
        assert!(!b.take(t0));
        // 100 ms later: 50 more, never more than the burst.
        assert_eq!(passed(&mut b, t0 + Duration::from_millis(100), 5000), 50);
        assert_eq!(passed(&mut b, t0 + Duration::from_secs(3600), 5000), 1000);
    }

    #[test]
    fn a_clock_read_out_of_order_gives_nothing_extra() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(1);
        let mut b = TokenBucket::new(10, 10, t0);
        assert_eq!(passed(&mut b, later, 100), 10);
        assert_eq!(passed(&mut b, t0, 100), 0);
        assert_eq!(passed(&mut b, later, 100), 0);
    }
}
