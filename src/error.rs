//! The domain's one error type, and the one table of error codes.
//!
//! [`AppError`] is what a rule of the newsroom can fail with. It knows nothing of HTTP or
//! GraphQL: each transport renders it at its own edge (`crate::http::error` as an RFC 9457
//! problem with a status, `crate::graphql::error` as an error with `extensions.code`), and
//! both read the same [`Code`] table, so a code and its HTTP status are written down once.
//!
//! User errors carry a sentence a client can show. Database and internal errors are logged
//! by the transport that renders them, with their context, and reach the client only as a
//! generic `INTERNAL` naming the request id. A database that cannot serve (down, cut off,
//! full, read-only, in contention) is `UNAVAILABLE`, classified in [`classify`], the one place
//! that reads SQLSTATEs.

pub mod classify;

pub use classify::Failure;

use crate::telemetry;

/// Every kind of refusal a client can see: its stable code (REST `code`, GraphQL
/// `extensions.code`) and the HTTP status a REST answer carries. The one table both
/// transports read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The input breaks a rule (422).
    BadUserInput,
    /// The request is malformed before any rule is read: bad JSON, a bad batch (400).
    MalformedRequest,
    /// The route does not take this method (405).
    MethodNotAllowed,
    /// No representation the client accepts (406).
    NotAcceptable,
    /// The body is too large (413).
    PayloadTooLarge,
    /// The body is not in a media type the route reads (415).
    UnsupportedMediaType,
    /// The request's headers are too large (431).
    HeadersTooLarge,
    /// Nothing there, or nothing the caller may see (404).
    NotFound,
    /// A stale version or a taken name (409).
    Conflict,
    /// A stale `If-Match` (412); the same code as any other lost race.
    PreconditionFailed,
    /// A write that names no version to base it on (428).
    PreconditionRequired,
    /// No valid credentials where they are needed, or a bad token (401).
    Unauthenticated,
    /// Valid credentials, not allowed (403).
    Forbidden,
    /// Too many requests from this client (429).
    RateLimited,
    /// The database (or the process) cannot answer now; retry (503).
    Unavailable,
    /// Anything else; never shown in detail (500).
    Internal,
    /// A representation the route does not implement (501): oEmbed answers an unsupported
    /// `format` so, as its specification asks.
    NotImplemented,
    /// A change-stream position older than the stream keeps (410): sync again from scratch.
    ResyncRequired,
}

impl Code {
    /// The machine-readable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput
            | Self::MalformedRequest
            | Self::MethodNotAllowed
            | Self::NotAcceptable
            | Self::PayloadTooLarge
            | Self::UnsupportedMediaType
            | Self::HeadersTooLarge
            | Self::PreconditionRequired
            | Self::NotImplemented => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict | Self::PreconditionFailed => "CONFLICT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::ResyncRequired => "RESYNC_REQUIRED",
        }
    }

    /// The HTTP status number of a REST answer (and of a GraphQL refusal before execution).
    pub const fn status(self) -> u16 {
        match self {
            Self::BadUserInput => 422,
            Self::MalformedRequest => 400,
            Self::MethodNotAllowed => 405,
            Self::NotAcceptable => 406,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::HeadersTooLarge => 431,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::PreconditionRequired => 428,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
            Self::NotImplemented => 501,
            Self::ResyncRequired => 410,
        }
    }

    /// The entry for an HTTP status a framework refused a request with (a client error
    /// without an entry of its own is a malformed request; a server error is internal).
    pub fn of_status(status: u16) -> Self {
        const ALL: [Code; 18] = [
            Code::BadUserInput,
            Code::MalformedRequest,
            Code::MethodNotAllowed,
            Code::NotAcceptable,
            Code::PayloadTooLarge,
            Code::UnsupportedMediaType,
            Code::HeadersTooLarge,
            Code::NotFound,
            Code::Conflict,
            Code::PreconditionFailed,
            Code::PreconditionRequired,
            Code::Unauthenticated,
            Code::Forbidden,
            Code::RateLimited,
            Code::Unavailable,
            Code::Internal,
            Code::NotImplemented,
            Code::ResyncRequired,
        ];
        match ALL.into_iter().find(|c| c.status() == status) {
            Some(c) => c,
            None if status >= 500 => Self::Internal,
            None => Self::MalformedRequest,
        }
    }
}

/// Everything a rule of the newsroom can fail with.
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
    /// The database cannot serve right now (starting, cut off, exhausted, read-only, in
    /// contention), or the request ran out of time; the client may retry. `failure` says what
    /// the database said, when it said something (`None`: gazette itself refused).
    #[error("{message}")]
    Unavailable {
        message: String,
        failure: Option<Failure>,
    },
    /// A change-stream position older than retention keeps: the client must sync again
    /// from a snapshot.
    #[error("{0}")]
    ResyncRequired(String),
    /// A limit counted in the database (comment posting) is spent; `retry_after` seconds
    /// until the next is allowed.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    /// Anything the client cannot act on. Never shown verbatim.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The service-wide result type.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl AppError {
    /// The error's entry in the [`Code`] table.
    pub fn kind(&self) -> Code {
        match self {
            Self::BadInput(_) => Code::BadUserInput,
            Self::NotFound(_) => Code::NotFound,
            Self::Conflict { .. } => Code::Conflict,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden(_) => Code::Forbidden,
            Self::ResyncRequired(_) => Code::ResyncRequired,
            Self::RateLimited { .. } => Code::RateLimited,
            Self::Unavailable { .. } => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
        }
    }

    /// The stable machine-readable code shared by REST (`code`) and GraphQL (`extensions.code`).
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The version a client should re-read, on a stale `expectedVersion`.
    pub fn current_version(&self) -> Option<i32> {
        match self {
            Self::Conflict {
                current_version, ..
            } => *current_version,
            _ => None,
        }
    }

    /// Seconds a client should wait before trying again, where waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Unavailable { .. } => Some(RETRY_AFTER_SECS),
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// What the database said, when the error is its state rather than the request's fault.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::Unavailable { failure, .. } => *failure,
            _ => None,
        }
    }

    /// Shorthand for an [`AppError::Unavailable`] that gazette itself decided (starting,
    /// overloaded, out of time).
    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::Unavailable {
            message: msg.into(),
            failure: None,
        }
    }

    /// The [`AppError::Unavailable`] of a database failure of kind `failure`.
    pub fn database(failure: Failure) -> Self {
        Self::Unavailable {
            message: failure.message().into(),
            failure: Some(failure),
        }
    }

    /// A copy for a second reader of one error (a DataLoader's batch shared by several
    /// fields): the same kind, message and failure; an internal error keeps its causes as text.
    pub fn duplicate(&self) -> Self {
        match self {
            Self::BadInput(m) => Self::BadInput(m.clone()),
            Self::NotFound(m) => Self::NotFound(m.clone()),
            Self::Conflict {
                message,
                current_version,
            } => Self::Conflict {
                message: message.clone(),
                current_version: *current_version,
            },
            Self::Unauthenticated(m) => Self::Unauthenticated(m.clone()),
            Self::Forbidden(m) => Self::Forbidden(m.clone()),
            Self::ResyncRequired(m) => Self::ResyncRequired(m.clone()),
            Self::RateLimited {
                message,
                retry_after,
            } => Self::RateLimited {
                message: message.clone(),
                retry_after: *retry_after,
            },
            Self::Unavailable { message, failure } => Self::Unavailable {
                message: message.clone(),
                failure: *failure,
            },
            Self::Internal(e) => Self::Internal(anyhow::anyhow!("{e:#}")),
        }
    }

    /// Shorthand for [`AppError::BadInput`].
    pub fn bad_input(msg: impl Into<String>) -> Self {
        Self::BadInput(msg.into())
    }

    /// Shorthand for [`AppError::NotFound`].
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    /// Shorthand for [`AppError::Internal`] from a sentence for the log.
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{msg}"))
    }

    /// Counts the error by code and logs internal ones with their whole cause chain: what
    /// each transport calls once, when it renders the error.
    pub fn log(&self) {
        telemetry::error(self.code());
        if let Self::Internal(err) = self {
            tracing::error!(
                error = format!("{err:#}"),
                request_id = telemetry::request_id().unwrap_or_default(),
                "internal error"
            );
        }
    }

    /// What the client is told: internal errors only say which request to look up.
    pub fn client_message(&self) -> String {
        match (self, telemetry::request_id()) {
            (Self::Internal(_), Some(id)) => format!("internal error (request id {id})"),
            _ => self.to_string(),
        }
    }
}

/// Seconds a client is asked to wait before retrying an `UNAVAILABLE` answer: about the time a
/// PostgreSQL restart or a failover takes, and short against the pool's wait.
pub const RETRY_AFTER_SECS: u64 = 2;

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        match classify::classify(&err) {
            Some(failure) => {
                tracing::warn!(error = %err, failure = failure.as_str(), "database unavailable");
                metrics::counter!("gazette_database_failures_total", "kind" => failure.as_str())
                    .increment(1);
                crate::db::failed(failure);
                Self::database(failure)
            }
            None => Self::Internal(anyhow::Error::new(err).context("database error")),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_keeps_the_kind_and_the_failure() {
        let down = AppError::database(Failure::Connection);
        let copy = down.duplicate();
        assert_eq!(copy.kind(), Code::Unavailable);
        assert_eq!(copy.failure(), Some(Failure::Connection));
        assert_eq!(copy.to_string(), down.to_string());
        let internal = AppError::internal("boom").duplicate();
        assert_eq!(internal.kind(), Code::Internal);
    }

    #[test]
    fn every_status_maps_back_to_its_entry() {
        for status in [
            400, 401, 403, 404, 405, 406, 409, 412, 413, 415, 422, 428, 429, 431, 500, 501, 503,
        ] {
            assert_eq!(Code::of_status(status).status(), status, "{status}");
        }
        assert_eq!(Code::of_status(418), Code::MalformedRequest);
        assert_eq!(Code::of_status(502), Code::Internal);
    }
}
