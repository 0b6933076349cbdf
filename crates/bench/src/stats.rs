//! Latency and error bookkeeping: one [`Recorder`] per worker (no sharing on the hot path),
//! merged into a [`Summary`] at the end.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The highest latency a histogram records, in microseconds (one minute); longer values are
/// clamped to it.
const MAX_MICROS: u64 = 60_000_000;
/// How many error messages are kept verbatim, so that a failing run shows why.
const SAMPLES_KEPT: usize = 3;

/// u32 counts (no worker records four billion operations) keep a histogram at 70 KB.
type Counts = Histogram<u32>;

fn histogram() -> Counts {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS)
}

/// What one worker saw: the latency of each completed operation, the time of each named step
/// inside it, and the failures by kind.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: Counts,
    steps: BTreeMap<&'static str, Counts>,
    errors: BTreeMap<String, u64>,
    samples: Vec<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            latency: histogram(),
            steps: BTreeMap::new(),
            errors: BTreeMap::new(),
            samples: Vec::new(),
        }
    }
}

impl Recorder {
    /// A recorder with the histograms of `steps` made now: made at the first step of the
    /// measured window, every worker's histograms together stalled the generator there for
    /// a tenth of a second, which showed as the p99 of a paced run.
    pub fn with_steps(steps: &[&'static str]) -> Self {
        let mut recorder = Recorder::default();
        for name in steps {
            recorder.steps.insert(name, histogram());
        }
        recorder
    }

    /// A completed operation (a request, or a whole login).
    pub fn success(&mut self, latency: Duration) {
        self.latency.saturating_record(micros(latency));
    }

    /// One step inside an operation (only the code flow has several).
    pub fn step(&mut self, name: &'static str, latency: Duration) {
        self.steps
            .entry(name)
            .or_insert_with(histogram)
            .saturating_record(micros(latency));
    }

    /// A failed operation: `kind` is a short stable label (an OAuth error code, `http_500`,
    /// `connect`), `detail` the message.
    pub fn failure(&mut self, kind: &str, detail: &str) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
        if self.samples.len() < SAMPLES_KEPT {
            self.samples.push(format!("{kind}: {detail}"));
        }
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.latency
            .add(&other.latency)
            .expect("same histogram bounds");
        for (name, h) in &other.steps {
            self.steps
                .entry(name)
                .or_insert_with(histogram)
                .add(h)
                .expect("same histogram bounds");
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
        for sample in &other.samples {
            if self.samples.len() < SAMPLES_KEPT {
                self.samples.push(sample.clone());
            }
        }
    }

    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64();
        let completed = self.latency.len();
        Summary {
            completed,
            errors: self.errors.values().sum(),
            elapsed_s: secs,
            throughput: if secs > 0.0 {
                completed as f64 / secs
            } else {
                0.0
            },
            latency_ms: Percentiles::of(&self.latency),
            steps: self
                .steps
                .iter()
                .filter(|(_, h)| !h.is_empty())
                .map(|(name, h)| (name.to_string(), Percentiles::of(h)))
                .collect(),
            error_kinds: self.errors.clone(),
            error_samples: self.samples.clone(),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Counts) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Percentiles {
                count: 0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
            };
        }
        Percentiles {
            count: h.len(),
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// The result of a run, as printed and as written with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Operations that completed without error (requests, or whole logins for the code flow).
    pub completed: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    /// Completed operations per second.
    pub throughput: f64,
    pub latency_ms: Percentiles,
    /// Per-step latency inside an operation (code flow).
    pub steps: BTreeMap<String, Percentiles>,
    pub error_kinds: BTreeMap<String, u64>,
    pub error_samples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_percentiles_throughput_and_errors() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        // 1..=100 ms, split over two workers.
        for ms in 1..=50 {
            a.success(Duration::from_millis(ms));
        }
        for ms in 51..=100 {
            b.success(Duration::from_millis(ms));
        }
        b.failure("unsupported_grant_type", "grant_type: 'client_credentials'");
        b.failure("unsupported_grant_type", "again");
        a.failure("http_500", "boom");
        a.step("userinfo", Duration::from_micros(1500));
        a.merge(&b);

        let s = a.summary(Duration::from_secs(4));
        assert_eq!(s.completed, 100);
        assert_eq!(s.errors, 3);
        assert_eq!(s.error_kinds["unsupported_grant_type"], 2);
        assert_eq!(s.error_kinds["http_500"], 1);
        assert_eq!(s.error_samples.len(), 3);
        assert!((s.throughput - 25.0).abs() < 1e-9);
        // hdrhistogram keeps 3 significant digits.
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(near(s.latency_ms.p50, 50.0), "{:?}", s.latency_ms);
        assert!(near(s.latency_ms.p90, 90.0), "{:?}", s.latency_ms);
        assert!(near(s.latency_ms.p99, 99.0), "{:?}", s.latency_ms);
        assert!(near(s.latency_ms.max, 100.0), "{:?}", s.latency_ms);
        assert!(near(s.latency_ms.mean, 50.5), "{:?}", s.latency_ms);
        assert_eq!(s.steps["userinfo"].count, 1);
        assert!(near(s.steps["userinfo"].p50, 1.5));
    }

    #[test]
    fn an_empty_run_has_zero_figures_not_a_panic() {
        let s = Recorder::default().summary(Duration::ZERO);
        assert_eq!(s.completed, 0);
        assert_eq!(s.throughput, 0.0);
        assert_eq!(s.latency_ms.p99, 0.0);
    }

    #[test]
    fn latencies_beyond_the_bounds_are_clamped() {
        let mut r = Recorder::default();
        r.success(Duration::from_secs(3600));
        r.success(Duration::ZERO);
        let s = r.summary(Duration::from_secs(1));
        assert_eq!(s.completed, 2);
        assert!(s.latency_ms.max >= 59_000.0);
    }
}
