//! Sync: each machine's daemon pushes what it records to the user's TimeForged server and pulls
//! the other machines' records back; it may also forward its heartbeats to WakaTime-compatible
//! servers. Here: the protocol ([`wire`]), the HTTP client ([`client`]), what may leave the
//! machine ([`privacy`]) and the retry schedule ([`Backoff`]). The daemon's `sync` module runs
//! it; `timeforged serve` answers the protocol.

pub mod client;
pub mod privacy;
pub mod wire;

use std::time::Duration;

/// Exponential backoff with jitter: 2 s, 4 s, 8 s … up to 15 minutes, each ±25 %, so many
/// machines that lost the server at once do not come back at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    pub failures: u32,
}

/// The first retry's delay.
const BACKOFF_BASE: Duration = Duration::from_secs(2);
/// The longest delay between retries.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

impl Backoff {
    pub fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// How long to wait before the next try (zero after a success).
    pub fn delay(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let exp = self.failures.saturating_sub(1).min(20);
        let base = BACKOFF_BASE.saturating_mul(1u32 << exp).min(BACKOFF_CAP);
        // ±25 %, from the system's randomness (a UUIDv4 is 122 random bits).
        let r = (uuid::Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
        base.mul_f64(0.75 + r * 0.5).min(BACKOFF_CAP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let mut b = Backoff::default();
        assert_eq!(b.delay(), Duration::ZERO);
        let mut last_base = Duration::ZERO;
        for n in 1..=30 {
            b.failed();
            let d = b.delay();
            let base = BACKOFF_BASE
                .saturating_mul(1u32 << (n - 1).min(20))
                .min(BACKOFF_CAP);
            assert!(
                d >= base.mul_f64(0.75) && d <= base.mul_f64(1.25).min(BACKOFF_CAP),
                "{n}: {d:?}"
            );
            assert!(base >= last_base);
            last_base = base;
        }
        assert!(b.delay() <= BACKOFF_CAP);
        b.succeeded();
        assert_eq!(b.delay(), Duration::ZERO);
    }
}
