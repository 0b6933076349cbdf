//! The provider's metrics, which Prometheus reads at `/metrics` (`http::metrics`).
//!
//! Made with prometheus-client, the Prometheus project's own Rust client, rather than the
//! `metrics` facade with its Prometheus exporter: its registry is a value the
//! [`crate::Provider`] holds, not a recorder installed once for the whole process, so that two
//! providers in one process (the tests start many) count apart; and each metric with its labels
//! is a type.
//!
//! Every label takes one of a bounded set of values, none of them sent by a request as it was
//! sent: an endpoint is its route's template (`.../login-actions/{flow_id}`), or `unmatched`;
//! a status, method or grant type is one of a few. So no code, token, secret or NNIN in a path
//! becomes a label, and a scanner that tries a million paths adds one series, not a million.

use crate::store::PoolStatus;
use axum::http::StatusCode;
use bankid_oidc_core::acr::Method;
use bankid_oidc_core::grant_type::GrantType;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// Every metric's name starts with this.
pub const PREFIX: &str = "bankid_oidc";

/// The endpoint label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The method label of a login started without one: the user chooses on the first page.
pub const UNDECIDED: &str = "undecided";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantTypeLabels {
    grant_type: &'static str,
}

/// The metrics of one provider, and the registry they are read from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    logins_started: Family<MethodLabels, Counter>,
    logins_completed: Family<MethodLabels, Counter>,
    tokens_issued: Family<GrantTypeLabels, Counter>,
    store_errors: Counter,
}

/// Request durations from 1 ms to 16 s, each bucket twice the one below; the router answers
/// every request within 30 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    /// The provider's metrics, with the gauges of the store's pool read from `pool` at each
    /// scrape (`store::Housekeeping::pool_status`).
    pub fn new(pool: impl Fn() -> Option<PoolStatus> + Send + Sync + 'static) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by endpoint (the route's template) and status",
            requests.clone(),
        );
        let durations =
            Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (until its response's head), by endpoint",
            Unit::Seconds,
            durations.clone(),
        );
        let logins_started = Family::<MethodLabels, Counter>::default();
        registry.register(
            "logins_started",
            "Login flows started, by method (undecided: the user chooses it)",
            logins_started.clone(),
        );
        let logins_completed = Family::<MethodLabels, Counter>::default();
        registry.register(
            "logins_completed",
            "Login flows completed with a code for the client, by method",
            logins_completed.clone(),
        );
        let tokens_issued = Family::<GrantTypeLabels, Counter>::default();
        registry.register(
            "tokens_issued",
            "Token responses issued at the token endpoint, by grant type",
            tokens_issued.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "store_errors",
            "Store failures a request was answered with server_error for",
            store_errors.clone(),
        );
        registry.register_collector(Box::new(PoolGauges(Box::new(pool))));
        // Every method and grant type from zero, so that a rate is defined before the first.
        logins_started.get_or_create_owned(&MethodLabels { method: UNDECIDED });
        for method in Method::ALL.map(Method::hint) {
            logins_started.get_or_create_owned(&MethodLabels { method });
            logins_completed.get_or_create_owned(&MethodLabels { method });
        }
        for grant_type in GrantType::ALL.map(GrantType::as_str) {
            tokens_issued.get_or_create_owned(&GrantTypeLabels { grant_type });
        }
        Metrics {
            registry,
            requests,
            durations,
            logins_started,
            logins_completed,
            tokens_issued,
            store_errors,
        }
    }

    /// A request answered: `endpoint` is its route's template, none if no route matched.
    pub fn request(&self, endpoint: Option<&str>, status: StatusCode, took: Duration) {
        let endpoint = endpoint.unwrap_or(UNMATCHED).to_owned();
        self.durations
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                status: status.as_u16(),
            })
            .inc();
    }

    /// A login flow started, with its method if the request leaves the user no choice.
    pub fn login_started(&self, method: Option<Method>) {
        let method = method.map_or(UNDECIDED, Method::hint);
        self.logins_started
            .get_or_create(&MethodLabels { method })
            .inc();
    }

    /// A login flow ended with a code for the client.
    pub fn login_completed(&self, method: Method) {
        self.logins_completed
            .get_or_create(&MethodLabels {
                method: method.hint(),
            })
            .inc();
    }

    /// A token response issued.
    pub fn token_issued(&self, grant_type: GrantType) {
        self.tokens_issued
            .get_or_create(&GrantTypeLabels {
                grant_type: grant_type.as_str(),
            })
            .inc();
    }

    /// A store failure answered with `server_error` (see `Provider::store_failed`).
    pub fn store_failed(&self) {
        self.store_errors.inc();
    }

    /// Every metric in Prometheus' text format (version 0.0.4).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The gauges of the store's connection pool, read at each scrape; none for a store that
/// reports no pool.
struct PoolGauges(Box<dyn Fn() -> Option<PoolStatus> + Send + Sync>);

impl std::fmt::Debug for PoolGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolGauges")
    }
}

impl Collector for PoolGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(pool) = (self.0)() else {
            return Ok(());
        };
        for (name, help, value) in [
            (
                "store_pool_size",
                "Connections the store's pool holds, in use or idle",
                pool.size,
            ),
            (
                "store_pool_idle",
                "Idle connections in the store's pool",
                pool.idle,
            ),
            (
                "store_pool_max",
                "The most connections the store's pool opens",
                pool.max,
            ),
        ] {
            let gauge = ConstGauge::new(value as i64);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_gauges_are_read_at_each_scrape_and_absent_without_a_pool() {
        let status = std::sync::Arc::new(std::sync::Mutex::new(None));
        let reported = status.clone();
        let metrics = Metrics::new(move || *reported.lock().unwrap());
        let text = metrics.encode().unwrap();
        assert!(!text.contains("store_pool"), "{text}");
        *status.lock().unwrap() = Some(PoolStatus {
            size: 7,
            idle: 3,
            max: 20,
        });
        let text = metrics.encode().unwrap();
        for line in [
            "bankid_oidc_store_pool_size 7",
            "bankid_oidc_store_pool_idle 3",
            "bankid_oidc_store_pool_max 20",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn every_method_and_grant_type_is_counted_from_zero_and_a_request_without_route_as_unmatched() {
        let metrics = Metrics::new(|| None);
        metrics.request(None, StatusCode::NOT_FOUND, Duration::from_millis(3));
        metrics.login_started(None);
        metrics.login_completed(Method::Bim);
        let text = metrics.encode().unwrap();
        for line in [
            r#"bankid_oidc_logins_started_total{method="undecided"} 1"#,
            r#"bankid_oidc_logins_started_total{method="BID"} 0"#,
            r#"bankid_oidc_logins_completed_total{method="BIM"} 1"#,
            r#"bankid_oidc_logins_completed_total{method="BIS"} 0"#,
            r#"bankid_oidc_tokens_issued_total{grant_type="urn:openid:params:grant-type:ciba"} 0"#,
            r#"bankid_oidc_http_requests_total{endpoint="unmatched",status="404"} 1"#,
            r#"bankid_oidc_http_request_duration_seconds_count{endpoint="unmatched"} 1"#,
            "bankid_oidc_store_errors_total 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
