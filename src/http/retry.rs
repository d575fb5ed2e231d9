//! Reads that lost their database connection are run again, transparently: a restart or a
//! failover closes every pooled connection, and the first statement on each fails
//! (`terminating connection due to administrator command`, or a reset socket) although a
//! fresh connection would serve it. The pool checks its other idle connections before handing
//! them out once one has failed (`crate::db`), so one more run usually succeeds; while the
//! database is down, the run waits for a connection within the pool's wait, then answers 503.
//!
//! Only reads: `GET` and `HEAD` here, GraphQL queries over `POST` in `crate::http::graphql`.
//! A write that fails before `COMMIT` answers 503 and is left to the client (with its
//! `Idempotency-Key`), so that nothing is applied twice behind its back. Only failures of
//! the connection ([`Failure::Connection`]), which the handlers mark on their response: a
//! pool that is exhausted or a statement that timed out would only fail again, later.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::Failure;

/// Most runs of one read.
pub const ATTEMPTS: u32 = 3;

/// Whether `res` failed because its connection was lost.
pub fn lost_connection(res: &Response) -> bool {
    res.extensions().get::<Failure>() == Some(&Failure::Connection)
}

/// The pause before run `attempt` (2, 3, …): enough for the pool to notice.
pub fn pause(attempt: u32) -> Duration {
    Duration::from_millis(50 * u64::from(attempt))
}

/// Runs `GET`s and `HEAD`s again (up to [`ATTEMPTS`] runs in all) while they fail for a lost
/// connection. The gate's time limit bounds the whole.
pub async fn reads(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let again = || {
        let mut r = Request::new(axum::body::Body::empty());
        *r.method_mut() = parts.method.clone();
        *r.uri_mut() = parts.uri.clone();
        *r.version_mut() = parts.version;
        *r.headers_mut() = parts.headers.clone();
        *r.extensions_mut() = parts.extensions.clone();
        r
    };
    let first = again();
    drop(body);
    let mut res = next.clone().run(first).await;
    for attempt in 2..=ATTEMPTS {
        if !lost_connection(&res) {
            break;
        }
        metrics::counter!("gazette_read_retries_total").increment(1);
        tokio::time::sleep(pause(attempt)).await;
        res = next.clone().run(again()).await;
    }
    res
}
