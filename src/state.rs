//! The state every handler shares: the database pool and the GraphQL schema built over it.
//! Cheap to clone (both are handles to shared data).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::Semaphore;

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
    /// HTTP behaviour: CORS origins, cache lifetimes, time and concurrency limits.
    pub http: Arc<HttpSettings>,
    /// False until the database is migrated and reachable at start-up; requests are 503 until then.
    pub ready: Arc<AtomicBool>,
    /// Permits for requests in flight (`HttpSettings::max_concurrency`), shared by every route.
    pub inflight: Arc<Semaphore>,
}

/// HTTP settings that handlers and layers read.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Origins allowed by CORS; `None` allows any origin (without credentials).
    pub cors_origins: Option<Vec<String>>,
    /// `Cache-Control` of anonymous reads of published content.
    pub public_cache_control: String,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Most requests served at once; more are shed with 503 and `Retry-After`.
    pub max_concurrency: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_origins: None,
            public_cache_control: "public, max-age=60, stale-while-revalidate=300".into(),
            request_timeout: Duration::from_secs(10),
            max_concurrency: 512,
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
            ready: Arc::new(AtomicBool::new(true)),
            inflight: Arc::new(Semaphore::new(HttpSettings::default().max_concurrency)),
        }
    }

    /// The same state, answering 503 until [`AppState::ready`] is set (start-up).
    pub fn starting(self) -> Self {
        self.ready.store(false, std::sync::atomic::Ordering::SeqCst);
        self
    }

    /// The same state with these GraphQL limits.
    pub fn with_limits(self, limits: &graphql::Limits) -> Self {
        let schema = graphql::schema_with(self.db.clone(), self.auth.clone(), limits);
        Self { schema, ..self }
    }

    /// The same state with these HTTP settings.
    pub fn with_http(self, http: HttpSettings) -> Self {
        Self {
            inflight: Arc::new(Semaphore::new(http.max_concurrency.max(1))),
            http: Arc::new(http),
            ..self
        }
    }
}
