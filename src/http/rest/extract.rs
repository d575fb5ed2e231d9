//! Request extractors whose refusals are problem+json: the caller (401 for a bad token),
//! an account (401 for anyone without one), JSON bodies (415, 400, 413, 422) and query
//! strings (422).
//!
//! axum runs extractors in the order of the handler's arguments, and the body's comes last;
//! write handlers take [`Account`] first, so an anonymous write is refused before its body
//! is read, and only a caller who may write at all learns what is wrong with a body.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::domain::access::Caller;
use crate::error::Code;
use crate::http::error::HttpError;
use crate::state::AppState;

/// The verified caller; a bad token is refused, never anonymous.
pub struct Who(pub Caller);

impl FromRequestParts<AppState> for Who {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, HttpError> {
        Ok(Who(crate::http::Verified::of_request(&parts.extensions)?))
    }
}

/// A caller with a newsroom account, for the write routes: anonymous callers are refused
/// (`401`, `WWW-Authenticate: Bearer`) before the body is read. What each role may do is
/// decided by the domain call the handler makes (`crate::domain::access`), not here.
pub struct Account(pub Caller);

impl FromRequestParts<AppState> for Account {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let Who(caller) = Who::from_request_parts(parts, state).await?;
        caller.require_account()?;
        Ok(Account(caller))
    }
}

/// A JSON body.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, HttpError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rej) => Err(match rej {
                JsonRejection::MissingJsonContentType(_) => HttpError::refused(
                    Code::UnsupportedMediaType,
                    "send the body as Content-Type: application/json",
                ),
                JsonRejection::JsonSyntaxError(e) => HttpError::refused(
                    Code::MalformedRequest,
                    format!("malformed JSON: {}", e.body_text()),
                ),
                JsonRejection::JsonDataError(e) => {
                    HttpError::refused(Code::BadUserInput, e.body_text())
                }
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    HttpError::refused(Code::PayloadTooLarge, "the request body is too large")
                }
                other => {
                    HttpError::refused(Code::of_status(other.status().as_u16()), other.body_text())
                }
            }),
        }
    }
}

/// Query-string parameters.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Params(v))
            .map_err(|e: QueryRejection| HttpError::refused(Code::BadUserInput, e.body_text()))
    }
}
