//! How the domain's errors look in a GraphQL response: the client's sentence as `message`,
//! and the code of the one table ([`crate::error::Code`]) as `extensions.code`, with
//! `extensions.currentVersion` on a stale `expectedVersion`. A database failure rides along
//! as the error's source ([`crate::error::Failure`]), so the HTTP layer can answer 503 and
//! retry reads without reading messages.

use async_graphql::ErrorExtensions as _;

use crate::error::{AppError, Result};

/// The GraphQL error a resolver returns for `err` (logged and counted once, here).
pub fn to_graphql(err: AppError) -> async_graphql::Error {
    err.log();
    let code = err.code();
    let current_version = err.current_version();
    let failure = err.failure();
    let mut out = async_graphql::Error::new(err.client_message());
    if let Some(f) = failure {
        out.source = Some(std::sync::Arc::new(f));
    }
    out.extend_with(|_, ext| {
        ext.set("code", code);
        if let Some(v) = current_version {
            ext.set("currentVersion", v);
        }
    })
}

/// `AppError` → `async_graphql::Error`, as a method.
pub trait IntoGraphql {
    /// Converts with [`to_graphql`].
    fn into_graphql(self) -> async_graphql::Error;
}

impl IntoGraphql for AppError {
    fn into_graphql(self) -> async_graphql::Error {
        to_graphql(self)
    }
}

/// `Result<T, AppError>` → `async_graphql::Result<T>` with the error's code attached.
pub trait GqlResultExt<T> {
    /// Converts the error with [`to_graphql`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_graphql)
    }
}
