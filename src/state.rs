//! The state every handler shares: the database pool and the GraphQL schema built over it.
//! Cheap to clone (both are handles to shared data).

use sea_orm::DatabaseConnection;

use crate::graphql::{self, GazetteSchema};

/// Shared handles for handlers and resolvers.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The GraphQL schema, with `db` in its data.
    pub schema: GazetteSchema,
}

impl AppState {
    /// Builds the state over an open (and migrated) database.
    pub fn new(db: DatabaseConnection) -> Self {
        let schema = graphql::schema(db.clone());
        Self { db, schema }
    }
}
