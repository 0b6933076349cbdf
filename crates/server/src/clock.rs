//! Time, injected: handlers ask a [`Clock`] rather than the system, so that tests (and merchants'
//! test suites) can move time forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;

    /// Milliseconds since the Unix epoch, for what lives less than a few seconds (caches).
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        system_now()
    }

    fn now_millis(&self) -> i64 {
        system_millis()
    }
}

fn system_now() -> i64 {
    system_millis() / 1000
}

fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The system clock plus an offset that only grows: time can be moved forward, never back.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds.max(0), Ordering::SeqCst);
    }

    /// How far ahead of the system clock this clock is, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        system_now() + self.offset.load(Ordering::SeqCst)
    }

    fn now_millis(&self) -> i64 {
        system_millis() + self.offset.load(Ordering::SeqCst).saturating_mul(1000)
    }
}
