//! Probes for orchestrators: `/healthz` says the process is up, `/readyz` that the database
//! answers, so a load balancer only sends traffic to instances that can serve it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// Always 200 while the process serves requests.
pub async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when the database answers a ping, 503 otherwise.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.ping().await {
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
