//! Another origin (another port), which a misbehaving provider redirects to; it records whatever
//! reaches it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// One request that reached [`Elsewhere`].
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub uri: Uri,
    pub authorization: Option<String>,
    pub body: String,
}

/// Another origin (another port), which a misbehaving provider redirects to. Answers 200 `{}`
/// to anything and keeps what it received.
pub struct Elsewhere {
    pub origin: String,
    pub received: Mutex<Vec<Recorded>>,
}

impl Elsewhere {
    pub async fn start() -> Arc<Elsewhere> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let elsewhere = Arc::new(Elsewhere {
            origin: format!("http://{}", listener.local_addr().unwrap()),
            received: Mutex::default(),
        });
        let app = Router::new()
            .fallback(any(record))
            .with_state(elsewhere.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        elsewhere
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State(e): State<Arc<Elsewhere>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    e.received.lock().unwrap().push(Recorded {
        method,
        uri,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    axum::Json(json!({})).into_response()
}
