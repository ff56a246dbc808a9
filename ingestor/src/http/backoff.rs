//! Exponential backoff with jitter for transient failures (5xx, timeouts, connection errors).

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first retry): a random point between half
    /// and all of `base * 2^(retry-1)`, capped at `max`. The random half keeps many clients from
    /// retrying in step; the fixed half guarantees the wait grows.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = self.base.saturating_mul(factor).min(self.max);
        let half_ms = u64::try_from(ceiling.as_millis() / 2).unwrap_or(u64::MAX / 2);
        Duration::from_millis(half_ms + rng.gen_range(0..=half_ms))
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn waits_double_with_jitter_and_stop_growing_at_the_cap() {
        let backoff = Backoff {
            base: Duration::from_millis(1_000),
            max: Duration::from_millis(5_000),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let first = backoff.delay(1, &mut rng);
            assert!((500..=1_000).contains(&first.as_millis()), "{first:?}");
            let third = backoff.delay(3, &mut rng);
            assert!((2_000..=4_000).contains(&third.as_millis()), "{third:?}");
            let tenth = backoff.delay(10, &mut rng);
            assert!((2_500..=5_000).contains(&tenth.as_millis()), "{tenth:?}");
        }
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let backoff = Backoff {
            base: Duration::from_millis(1_000),
            max: Duration::from_secs(60),
        };
        let mut rng = StdRng::seed_from_u64(1);
        let waits: std::collections::BTreeSet<_> =
            (0..20).map(|_| backoff.delay(2, &mut rng)).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
