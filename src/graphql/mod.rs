//! The GraphQL API: the schema, its query root, the types that wrap stored rows, and the
//! DataLoaders that batch every relation into one statement per level of a query.
//!
//! Resolvers call `domain/` and never touch entities' queries themselves. Each request gets
//! fresh loaders (so nothing is cached across requests or processes).

mod blocks;
mod connection;
pub mod loaders;
mod query;
mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use sea_orm::DatabaseConnection;

pub use query::QueryRoot;

/// The schema type served at `/graphql`.
pub type GazetteSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Deepest selection accepted; deeper queries are refused before they run.
pub const MAX_DEPTH: usize = 12;

/// Builds the schema over `db`.
pub fn schema(db: DatabaseConnection) -> GazetteSchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(MAX_DEPTH)
        .finish()
}

/// The schema in SDL, sorted, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(QueryRoot, EmptyMutation, EmptySubscription).finish();
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
