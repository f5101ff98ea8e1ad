//! A probe server for the sandbox tests: it shows what a request carried and
//! can redirect, so a test can prove what a plugin could and could not see or
//! reach.
//!
//! - `GET /echo` answers `{"method", "path", "headers": {name: value}}` with
//!   every request header, as a hostile server that reflects credentials would;
//! - `GET /redirect?to=URL` answers `302 Found` with `Location: URL`;
//! - `POST /sink` reads the body, keeps only its length, and answers
//!   `{"bytes": n}`;
//! - `GET` or `POST /encoded` answers a body marked `Content-Encoding: gzip` that
//!   nobody asked for.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::server::{self, RecordedRequest, RequestLog, Running};

/// A running probe server.
pub struct ProbeServer {
    running: Running,
    log: RequestLog,
}

#[derive(Deserialize)]
struct RedirectQuery {
    to: String,
}

impl ProbeServer {
    /// Starts the probe on `listen` (port 0 for a free one).
    pub async fn start(listen: SocketAddr) -> io::Result<ProbeServer> {
        let log = RequestLog::new();
        let router = Router::new()
            .route("/echo", get(echo))
            .route("/redirect", get(redirect))
            .route(
                "/sink",
                post(sink).layer(axum::extract::DefaultBodyLimit::max(128 << 20)),
            )
            .route("/encoded", get(encoded).post(encoded));
        let running = server::serve(log.wrap(router), listen).await?;
        Ok(ProbeServer { running, log })
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}

async fn echo(request: Request) -> Response {
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = serde_json::json!({
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "headers": headers,
    });
    // The credential also goes back as a response header, the other way a
    // careless server could hand it to the client.
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let mut response = axum::Json(body).into_response();
    if let Some(value) = authorization {
        response.headers_mut().insert("x-echo-authorization", value);
    }
    response
}

async fn sink(body: axum::body::Bytes) -> Response {
    axum::Json(serde_json::json!({ "bytes": body.len() })).into_response()
}

async fn encoded() -> Response {
    (
        [(header::CONTENT_ENCODING, "gzip")],
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00".to_vec(),
    )
        .into_response()
}

async fn redirect(Query(query): Query<RedirectQuery>) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, query.to)]).into_response()
}
