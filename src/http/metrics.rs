//! `GET /metrics` in Prometheus text format, and the layer that counts and times every
//! request by route. The recorder and the measurements of other layers (GraphQL operations,
//! errors by code, the scheduler, the response cache) live in [`crate::telemetry`].

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;
use crate::telemetry::handle;

/// Counts and times every request by its route template (never the raw path, so the label
/// set stays bounded), and errors by their problem `code`.
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("gazette_http_requests_total", &labels).increment(1);
    metrics::histogram!("gazette_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    if res.status().as_u16() == 429 {
        metrics::counter!("gazette_rate_limited_total").increment(1);
    }
    res
}

/// The exposition, with the database pool's use read at scrape time.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", content((String = "text/plain")))))]
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(h) = handle() else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable",
        )
            .into_response();
    };
    let primary = state.db.primary();
    let (size, idle) = match primary {
        sea_orm::DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let p = primary.get_postgres_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        sea_orm::DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let p = primary.get_sqlite_connection_pool();
            (p.size(), p.num_idle() as u32)
        }
        _ => (0, 0),
    };
    metrics::gauge!("gazette_db_pool_connections", "state" => "open").set(f64::from(size));
    metrics::gauge!("gazette_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("gazette_db_pool_connections", "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    if let Some(replicas) = state.db.replicas() {
        replica_gauges(replicas);
    }
    let (entries, bytes) = state.response_cache.usage();
    metrics::gauge!("gazette_response_cache_entries").set(entries as f64);
    metrics::gauge!("gazette_response_cache_bytes").set(bytes as f64);
    let mut res = h.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

/// Each replica's state (one of `up`, `lagging`, `down`, `not_standby` is 1) and lag, as
/// its health check last found them.
fn replica_gauges(replicas: &crate::replicas::Replicas) {
    for r in replicas.list() {
        let now = r.state();
        for s in crate::replicas::State::ALL {
            metrics::gauge!("gazette_replica_state", "replica" => r.name.clone(), "state" => s.as_str())
                .set(if s == now { 1.0 } else { 0.0 });
        }
        metrics::gauge!("gazette_replica_lag_seconds", "replica" => r.name.clone())
            .set(r.lag().as_secs_f64());
        metrics::gauge!("gazette_replica_lag_bytes", "replica" => r.name.clone())
            .set(r.lag_bytes() as f64);
    }
}
