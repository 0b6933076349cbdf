//! The library's sense of time, injected: every time the library reads (token times, request
//! objects, client assertions, machine-token expiry, the age of cached discovery and keys)
//! comes from a [`Clock`], so that tests move a [`ManualClock`] instead of sleeping. Waiting
//! goes through it too ([`Clock::sleep`]: the pause between the polls of a backchannel
//! authentication request), so a test's clock can skip the wait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock and monotonic time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock time: compared with the provider's `exp`, `iat` and `nbf`, written into
    /// request objects and client assertions, and the base of machine-token expiry.
    fn now(&self) -> SystemTime;
    /// Monotonic time: the age of cached discovery documents and keys, and refetch intervals.
    fn instant(&self) -> Instant;
    /// Waits `duration` on this clock: the pause between polls of a backchannel authentication
    /// request ([`crate::ciba`]). By default a real (tokio) sleep; a clock that owns its time
    /// moves it instead and returns at once, as [`ManualClock`] does.
    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The future [`Clock::sleep`] returns.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The operating system's clocks; the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told: its wall and monotonic time start when it is made (or at a
/// chosen wall time) and both advance by [`ManualClock::advance`], never by themselves. Its
/// [`Clock::sleep`] advances it by the duration and returns at once.
#[derive(Debug)]
pub struct ManualClock {
    wall: SystemTime,
    instant: Instant,
    advanced: Mutex<Duration>,
}

impl ManualClock {
    /// Stopped at the present moment.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// Stopped at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        ManualClock {
            wall,
            instant: Instant::now(),
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves both times forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut advanced = self.advanced.lock().unwrap_or_else(|p| p.into_inner());
        *advanced = advanced.saturating_add(by);
    }

    fn advanced(&self) -> Duration {
        *self.advanced.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.wall.checked_add(self.advanced()).unwrap_or(self.wall)
    }

    fn instant(&self) -> Instant {
        self.instant
            .checked_add(self.advanced())
            .unwrap_or(self.instant)
    }

    fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Seconds since the Unix epoch, as JWT times count them (0 before the epoch).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long ago `then` was on `clock`'s monotonic time (zero if it is in the future).
pub(crate) fn age(clock: &dyn Clock, then: Instant) -> Duration {
    clock.instant().saturating_duration_since(then)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_both_times_together() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let clock = ManualClock::starting_at(start);
        let (wall, mono) = (clock.now(), clock.instant());
        assert_eq!(wall, start);
        assert_eq!(clock.instant(), mono);
        clock.advance(Duration::from_secs(90));
        assert_eq!(unix_seconds(clock.now()), 1_800_000_090);
        assert_eq!(age(&clock, mono), Duration::from_secs(90));
        // Far beyond what the clocks can represent: it stops instead of panicking.
        clock.advance(Duration::MAX);
        clock.now();
        clock.instant();
    }

    #[tokio::test]
    async fn a_manual_clock_sleeps_by_moving_itself() {
        let clock = ManualClock::new();
        let mono = clock.instant();
        clock.sleep(Duration::from_secs(5)).await;
        assert_eq!(age(&clock, mono), Duration::from_secs(5));
    }
}
