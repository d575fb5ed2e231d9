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
    /// HTTP behaviour: CORS origins and cache lifetimes.
    pub http: Arc<HttpSettings>,
}

/// HTTP settings that handlers and layers read.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Origins allowed by CORS; `None` allows any origin (without credentials).
    pub cors_origins: Option<Vec<String>>,
    /// `Cache-Control` of anonymous reads of published content.
    pub public_cache_control: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_origins: None,
            public_cache_control: "public, max-age=60, stale-while-revalidate=300".into(),
        }
    }
}

impl AppState {
    /// Builds the state over an open (and migrated) database.
    pub fn new(db: DatabaseConnection, auth: Auth) -> Self {
        let auth = Arc::new(auth);
        let schema = graphql::schema(db.clone(), auth.clone());
        Self {
            db,
            auth,
            schema,
            http: Arc::new(HttpSettings::default()),
        }
    }

    /// The same state with these GraphQL limits.
    pub fn with_limits(self, limits: &graphql::Limits) -> Self {
        let schema = graphql::schema_with(self.db.clone(), self.auth.clone(), limits);
        Self { schema, ..self }
    }

    /// The same state with these HTTP settings.
    pub fn with_http(self, http: HttpSettings) -> Self {
        Self {
            http: Arc::new(http),
            ..self
        }
    }
}
