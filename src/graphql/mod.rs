//! The GraphQL API: the schema, its query root, the types that wrap stored rows, and the
//! DataLoaders that batch every relation into one statement per level of a query.
//!
//! Resolvers call `domain/` and never touch entities' queries themselves. Each request gets
//! fresh loaders (so nothing is cached across requests or processes).

mod blocks;
mod connection;
pub mod http_cache;
mod inputs;
pub mod loaders;
mod mutation;
mod query;
mod types;

use std::sync::Arc;

use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::{Context, EmptySubscription, Schema};
use sea_orm::DatabaseConnection;

pub use mutation::MutationRoot;
pub use query::QueryRoot;

use crate::auth::Auth;
use crate::domain::access::Caller;

/// The schema type served at `/graphql`.
pub type GazetteSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The request's verified caller (anonymous when the handler added none).
pub(crate) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// The database pool.
pub(crate) fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// Persisted queries remembered per process (a miss makes the client resend the text).
pub const APQ_CACHE: usize = 1024;

/// Deepest selection accepted; deeper queries are refused before they run.
pub const MAX_DEPTH: usize = 12;

/// Builds the schema over `db`.
pub fn schema(db: DatabaseConnection, auth: Arc<Auth>) -> GazetteSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(db)
        .data(auth)
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(APQ_CACHE)))
        .extension(http_cache::ReadOnlyGet)
        .limit_depth(MAX_DEPTH)
        .finish()
}

/// The schema in SDL, sorted, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(QueryRoot, MutationRoot, EmptySubscription).finish();
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
