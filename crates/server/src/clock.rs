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

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (for people: the start page, the
/// CLI's lists), without a date library (one function does not justify a date crate).
pub fn utc_text(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod utc_tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc_text(1_709_210_096), "2024-02-29 12:34:56 UTC");
        assert_eq!(super::utc_text(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc_text(1_795_288_271), "2026-11-21 19:11:11 UTC");
    }
}
