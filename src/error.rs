//! One error type for the whole service, and the one table that maps it to an HTTP status,
//! an RFC 9457 problem document, and a GraphQL `extensions.code`.
//!
//! User errors carry a sentence a client can show. Database and internal errors are logged
//! here, with their context, and reach the client only as a generic `INTERNAL`.

use async_graphql::ErrorExtensions as _;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

tokio::task_local! {
    /// The request id of the request being served (set by the HTTP layer), so internal
    /// errors can name it to the client while their detail stays in the log.
    pub static REQUEST_ID: String;
}

fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    BadInput(String),
    /// The thing asked for does not exist (or is not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// The write lost a race or collides with existing data.
    #[error("{message}")]
    Conflict {
        message: String,
        /// The version the client should re-read, for stale `expectedVersion`s.
        current_version: Option<i32>,
    },
    /// No valid credentials where they are needed, or a bad token.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Too many requests from this client; `retry_after` seconds until the next is allowed.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    /// The HTTP request itself is unacceptable (malformed JSON 400, wrong method 405,
    /// too large 413, wrong content type 415), before any rule is looked at.
    #[error("{message}")]
    Http { status: StatusCode, message: String },
    /// The database cannot be reached right now (starting, cut off, pool exhausted, or the
    /// request ran out of time); the client may retry.
    #[error("{0}")]
    Unavailable(String),
    /// A conditional write (`If-Match`) whose precondition no longer holds.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Anything the client cannot act on. Never shown verbatim.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The service-wide result type.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// The stable machine-readable code shared by REST (`code`) and GraphQL (`extensions.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput(_) => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict { .. } => "CONFLICT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Http { .. } => "BAD_USER_INPUT",
            Self::PreconditionFailed(_) => "CONFLICT",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of the REST answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Http { status, .. } => *status,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Shorthand for [`AppError::BadInput`].
    pub fn bad_input(msg: impl Into<String>) -> Self {
        Self::BadInput(msg.into())
    }

    /// Shorthand for [`AppError::Http`].
    pub fn http(status: StatusCode, msg: impl Into<String>) -> Self {
        Self::Http {
            status,
            message: msg.into(),
        }
    }

    /// Shorthand for [`AppError::NotFound`].
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    /// Logs internal errors once, at the edge, with their whole cause chain.
    fn log(&self) {
        crate::http::metrics::error(self.code());
        if let Self::Internal(err) = self {
            tracing::error!(
                error = format!("{err:#}"),
                request_id = request_id().unwrap_or_default(),
                "internal error"
            );
        }
    }

    /// What the client is told: internal errors only say which request to look up.
    fn client_message(&self) -> String {
        match (self, request_id()) {
            (Self::Internal(_), Some(id)) => format!("internal error (request id {id})"),
            _ => self.to_string(),
        }
    }

    /// The GraphQL error a resolver returns: the message plus `extensions.code`.
    pub fn into_graphql(self) -> async_graphql::Error {
        self.log();
        let code = self.code();
        let current_version = match &self {
            Self::Conflict {
                current_version, ..
            } => *current_version,
            _ => None,
        };
        async_graphql::Error::new(self.client_message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(v) = current_version {
                ext.set("currentVersion", v);
            }
        })
    }
}

/// Whether a database error means "not reachable now" rather than a fault in the request.
fn unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => matches!(
            e,
            Sqlx::Io(_)
                | Sqlx::PoolTimedOut
                | Sqlx::PoolClosed
                | Sqlx::Protocol(_)
                | Sqlx::WorkerCrashed
                | Sqlx::Tls(_)
        ),
        _ => false,
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Unavailable(
                "the database is not reachable right now; retry shortly".into(),
            );
        }
        Self::Internal(anyhow::Error::new(err).context("database error"))
    }
}

impl AppError {
    /// A failed write: unique-key violations become `CONFLICT` ("{what} is already taken"),
    /// broken references `BAD_USER_INPUT`, anything else goes through `From<DbErr>`.
    pub fn from_write(e: sea_orm::DbErr, what: &str) -> Self {
        match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict {
                message: format!("{what} is already taken"),
                current_version: None,
            },
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::bad_input(format!("{what} refers to something that no longer exists"))
            }
            _ => e.into(),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

/// `Result<T, AppError>` → `async_graphql::Result<T>` with the error's code attached.
pub trait GqlResultExt<T> {
    /// Converts the error with [`AppError::into_graphql`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(AppError::into_graphql)
    }
}

/// An RFC 9457 problem+json response with gazette's `code` member.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut res = problem(self.status(), self.code(), &self.client_message());
        if let Self::Unauthenticated(_) = self {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        let retry_after = match &self {
            Self::Unavailable(_) => Some(2),
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_error_is_problem_json_with_its_status_and_code() {
        let cases = [
            (AppError::bad_input("x"), 422, "BAD_USER_INPUT"),
            (AppError::not_found("x"), 404, "NOT_FOUND"),
            (
                AppError::Conflict {
                    message: "x".into(),
                    current_version: Some(2),
                },
                409,
                "CONFLICT",
            ),
            (
                AppError::Unauthenticated("x".into()),
                401,
                "UNAUTHENTICATED",
            ),
            (AppError::Forbidden("x".into()), 403, "FORBIDDEN"),
            (
                AppError::RateLimited {
                    message: "x".into(),
                    retry_after: 3,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                AppError::http(StatusCode::PAYLOAD_TOO_LARGE, "x"),
                413,
                "BAD_USER_INPUT",
            ),
            (AppError::PreconditionFailed("x".into()), 412, "CONFLICT"),
            (
                AppError::Internal(anyhow::anyhow!("secret detail")),
                500,
                "INTERNAL",
            ),
        ];
        for (err, status, code) in cases {
            let res = err.into_response();
            assert_eq!(res.status().as_u16(), status, "{code}");
            assert_eq!(
                res.headers()[axum::http::header::CONTENT_TYPE],
                "application/problem+json"
            );
            let bytes = axum::body::to_bytes(res.into_body(), 4096)
                .await
                .unwrap_or_default();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            assert_eq!(body["status"], status);
            assert_eq!(body["code"], code);
            assert!(
                !body.to_string().contains("secret detail"),
                "internal detail never reaches the client"
            );
        }
    }
}
