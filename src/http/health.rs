//! Probes for orchestrators: `/healthz` says the process is up, `/readyz` that the database
//! (the primary) answers, so a load balancer only sends traffic to instances that can serve
//! it. Read replicas do not count: without them reads go to the primary.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// Liveness: 200 while the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Object, example = json!({"status": "ok"}))))]
pub async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database (the primary) answers a ping, 503 otherwise. Read
/// replicas do not count: while one is out, reads go to the primary.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Object, example = json!({"status": "ready"})),
              (status = 503, description = "The database (the primary; read replicas do not count) does not answer", body = Object)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if !state.ready.load(std::sync::atomic::Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "starting", "reason": "waiting for the database" })),
        );
    }
    // The primary only: a replica's outage sends reads to the primary, and is no reason to
    // take this process out of its load balancer (`/metrics` shows the replicas).
    match state.db.primary().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "reason": "database unreachable" })),
            )
        }
    }
}
