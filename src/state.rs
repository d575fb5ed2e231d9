//! The state every handler shares: the database pool and the GraphQL schema built over it.
//! Cheap to clone (both are handles to shared data).

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::Auth;
use crate::graphql::{self, GazetteSchema};

/// Shared handles for handlers and resolvers.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// Token verification.
    pub auth: Arc<Auth>,
    /// The GraphQL schema, with `db` and `auth` in its data.
    pub schema: GazetteSchema,
}

impl AppState {
    /// Builds the state over an open (and migrated) database.
    pub fn new(db: DatabaseConnection, auth: Auth) -> Self {
        let auth = Arc::new(auth);
        let schema = graphql::schema(db.clone(), auth.clone());
        Self { db, auth, schema }
    }
}
