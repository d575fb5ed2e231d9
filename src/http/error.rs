//! How refusals look over HTTP: every error is an RFC 9457 `application/problem+json`
//! document whose status and `code` come from the one table, [`crate::error::Code`].
//!
//! [`HttpError`] is the domain's [`AppError`] plus what only HTTP can refuse before any rule
//! is read: a malformed or oversized request, a wrong method or media type, a stale
//! `If-Match`, a client over its rate limit.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, Code};

/// An HTTP answer that refuses the request.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A rule of the newsroom refused it.
    #[error(transparent)]
    App(#[from] AppError),
    /// The request itself is unacceptable (malformed JSON 400, wrong method 405, too large
    /// 413, wrong content type 415, headers too large 431), before any rule is looked at.
    #[error("{message}")]
    Refused { code: Code, message: String },
    /// A conditional write (`If-Match`) whose precondition no longer holds.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Too many requests from this client; `retry_after` seconds until the next is allowed.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
}

/// The HTTP layer's result type.
pub type Result<T, E = HttpError> = std::result::Result<T, E>;

impl HttpError {
    /// Shorthand for [`HttpError::Refused`].
    pub fn refused(code: Code, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    /// The error's entry in the code table.
    pub fn kind(&self) -> Code {
        match self {
            Self::App(e) => e.kind(),
            Self::Refused { code, .. } => *code,
            Self::PreconditionFailed(_) => Code::PreconditionFailed,
            Self::RateLimited { .. } => Code::RateLimited,
        }
    }

    /// The machine-readable code (`BAD_USER_INPUT`, `RATE_LIMITED`, …).
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Seconds the client should wait before retrying, where waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::App(e) => e.retry_after(),
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Logs it (internal errors with their causes) and counts it by code.
    pub fn log(&self) {
        match self {
            Self::App(e) => e.log(),
            other => crate::telemetry::error(other.code()),
        }
    }

    /// The sentence the client is shown.
    pub fn client_message(&self) -> String {
        match self {
            Self::App(e) => e.client_message(),
            other => other.to_string(),
        }
    }

    /// The headers that go with the status: `WWW-Authenticate` on 401, `Retry-After` where
    /// waiting helps.
    pub fn decorate(&self, res: &mut Response) {
        if self.kind() == Code::Unauthenticated {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after() {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // For `crate::http::retry`, which retries reads that lost their connection.
        if let Self::App(e) = self
            && let Some(f) = e.failure()
        {
            res.extensions_mut().insert(f);
        }
    }
}

/// An RFC 9457 problem+json response with gazette's `code` member.
pub fn problem(code: Code, detail: &str) -> Response {
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code.as_str(),
    });
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.log();
        let mut res = problem(self.kind(), &self.client_message());
        self.decorate(&mut res);
        res
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        HttpError::App(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_error_is_problem_json_with_its_status_and_code() {
        let cases = [
            (AppError::bad_input("x").into(), 422, "BAD_USER_INPUT"),
            (AppError::not_found("x").into(), 404, "NOT_FOUND"),
            (
                AppError::Conflict {
                    message: "x".into(),
                    current_version: Some(2),
                }
                .into(),
                409,
                "CONFLICT",
            ),
            (
                AppError::Unauthenticated("x".into()).into(),
                401,
                "UNAUTHENTICATED",
            ),
            (AppError::Forbidden("x".into()).into(), 403, "FORBIDDEN"),
            (
                HttpError::RateLimited {
                    message: "x".into(),
                    retry_after: 3,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                HttpError::refused(Code::PayloadTooLarge, "x"),
                413,
                "BAD_USER_INPUT",
            ),
            (HttpError::PreconditionFailed("x".into()), 412, "CONFLICT"),
            (AppError::unavailable("x").into(), 503, "UNAVAILABLE"),
            (
                AppError::Internal(anyhow::anyhow!("secret detail")).into(),
                500,
                "INTERNAL",
            ),
        ];
        for (err, status, code) in cases {
            let err: HttpError = err;
            let res = err.into_response();
            assert_eq!(res.status().as_u16(), status, "{code}");
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
            assert_eq!(
                res.headers().contains_key(header::WWW_AUTHENTICATE),
                status == 401,
                "{code}"
            );
            assert_eq!(
                res.headers().contains_key(header::RETRY_AFTER),
                status == 429 || status == 503,
                "{code}"
            );
            let bytes = axum::body::to_bytes(res.into_body(), 4096)
                .await
                .expect("a body");
            let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            assert_eq!(body["status"], status);
            assert_eq!(body["code"], code);
            assert!(
                !body.to_string().contains("secret detail"),
                "internal detail never reaches the client"
            );
        }
    }
}
