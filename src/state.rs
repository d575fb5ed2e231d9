//! The state every handler shares: the database pool, the GraphQL schema built over it, and
//! the process's limits and response cache. Cheap to clone (all are handles to shared data).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use std::net::IpAddr;

use tokio::sync::Semaphore;

use crate::http::limits::Clients;
use crate::rate_limit::{Rate, RateLimits};

use sea_orm::DatabaseConnection;

use crate::auth::Auth;
use crate::domain::rendered::RenderedBodies;
use crate::domain::site::Site;
use crate::graphql::{self, GazetteSchema};
use crate::replicas::{Db, Fence, Replicas};
use crate::response_cache::{ResponseCache, Settings as CacheSettings};

/// Whether other processes may write to the database (PostgreSQL): then the response cache
/// serves only while it hears their writes.
fn is_shared(db: &DatabaseConnection) -> bool {
    matches!(db, DatabaseConnection::SqlxPostgresPoolConnection(_))
}

/// Shared handles for handlers and resolvers: one reference-counted [`Shared`], so that
/// the clone axum makes for every request and every layer is one atomic increment (the
/// dozen handles inside, cloned and dropped per layer, were a tenth of a cached answer's
/// CPU, their counters bouncing between cores).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
#[derive(Clone)]
pub struct Shared {
    /// The database: the primary, or for an anonymous read the replica chosen for it
    /// (`crate::replicas`).
    pub db: Db,
    /// Token verification.
    pub auth: Arc<Auth>,
    /// The GraphQL schema, with `db` and `auth` in its data.
    pub schema: GazetteSchema,
    /// What a GraphQL request passes before it runs, with the persisted queries.
    pub prepare: Arc<graphql::prepare::Prepare>,
    /// HTTP behaviour: CORS origins, cache lifetimes, time and concurrency limits.
    pub http: Arc<HttpSettings>,
    /// False until the database is migrated and reachable at start-up; requests are 503 until then.
    pub ready: Arc<AtomicBool>,
    /// Per-client rate limits of this process.
    pub limits: Arc<RateLimits>,
    /// Who a request counts against for the rate limits.
    pub clients: Clients,
    /// Permits for requests in flight (`HttpSettings::max_concurrency`), shared by every route.
    pub inflight: Arc<Semaphore>,
    /// Answers to anonymous reads, kept until a write touches what they show.
    pub response_cache: ResponseCache,
    /// The front end's public URLs and the publication (also in the GraphQL schema's data).
    pub site: Arc<Site>,
    /// The GraphQL limits the schema was built with (to build it again).
    pub limits_gql: graphql::Limits,
    /// Article bodies rendered to HTML, per article version (feeds carry them in full).
    pub rendered: RenderedBodies,
    /// ninjs items, per article version (the partner feed carries them in full).
    pub ninjs: crate::domain::ninjs::Items,
    /// Webhooks: the key of their secrets, the SSRF exemption, the delivery schedule (also
    /// given to GraphQL requests).
    pub webhooks: Arc<crate::domain::webhooks::Settings>,
    /// The change stream as this process follows it, for live subscriptions, with their
    /// limits.
    pub live: crate::live::Live,
    /// Reader comments: settings, the external spam checker, keys.
    pub comments: crate::domain::comments::Service,
    /// The read fence of replicas, shared with the response cache (inert without replicas).
    pub fence: Arc<Fence>,
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
    /// Per-client budget of all requests.
    pub read_rate: Rate,
    /// Per-client budget of writes (REST writes and GraphQL mutations), on top.
    pub write_rate: Rate,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// How long an `Idempotency-Key` and its response are kept.
    pub idempotency_retention: Duration,
}

impl HttpSettings {
    /// The rate limiters these settings describe.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits::new(self.read_rate, self.write_rate)
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_origins: None,
            public_cache_control: "public, max-age=60, stale-while-revalidate=300".into(),
            request_timeout: Duration::from_secs(10),
            max_concurrency: 512,
            read_rate: Rate {
                per_second: 100,
                burst: 200,
            },
            write_rate: Rate {
                per_second: 10,
                burst: 30,
            },
            trusted_proxies: Vec::new(),
            idempotency_retention: Duration::from_secs(24 * 3600),
        }
    }
}

impl AppState {
    /// Builds the state over an open (and migrated) database.
    pub fn new(db: DatabaseConnection, auth: Auth) -> Self {
        let auth = Arc::new(auth);
        let site = Arc::new(Site::default());
        let schema = graphql::schema_with(
            db.clone(),
            auth.clone(),
            site.clone(),
            &graphql::Limits::default(),
        );
        Self(Arc::new(Shared {
            auth,
            schema,
            prepare: Arc::new(graphql::prepare::Prepare::new(&graphql::Limits::default())),
            http: Arc::new(HttpSettings::default()),
            ready: Arc::new(AtomicBool::new(true)),
            inflight: Arc::new(Semaphore::new(HttpSettings::default().max_concurrency)),
            limits: Arc::new(HttpSettings::default().rate_limits()),
            clients: Clients::default(),
            response_cache: ResponseCache::new(&CacheSettings::default(), is_shared(&db)),
            site,
            limits_gql: graphql::Limits::default(),
            rendered: RenderedBodies::default(),
            ninjs: crate::domain::ninjs::Items::default(),
            webhooks: Arc::default(),
            live: crate::live::Live::default(),
            comments: crate::domain::comments::Service::default(),
            fence: Arc::default(),
            db: Db::new(db),
        }))
    }

    /// The state with `change` applied (while it is being built, before it is shared).
    fn map(self, change: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Arc::try_unwrap(self.0).unwrap_or_else(|a| (*a).clone());
        change(&mut shared);
        Self(Arc::new(shared))
    }

    /// The same state with a response cache of these settings.
    pub fn with_response_cache(self, settings: &CacheSettings) -> Self {
        self.map(|s| {
            s.response_cache = ResponseCache::new(settings, is_shared(s.db.primary()));
            if s.db.replicas().is_some() {
                s.response_cache.use_fence(s.fence.clone(), s.db.primary());
            }
        })
    }

    /// The same state reading anonymous requests from replicas: pools on them, opened
    /// (lazily) by the caller, named `host:port/database`. Fails unless the primary and
    /// every replica are PostgreSQL.
    pub fn with_replicas(
        self,
        replicas: Vec<(String, DatabaseConnection)>,
        settings: crate::replicas::Settings,
    ) -> anyhow::Result<Self> {
        if replicas.is_empty() {
            return Ok(self);
        }
        let primary = self.db.primary().clone();
        let replicas = Replicas::new(primary.clone(), replicas, self.fence.clone(), settings)?;
        Ok(self.map(|s| {
            s.response_cache.use_fence(s.fence.clone(), &primary);
            s.db = Db::with_replicas(primary, replicas);
        }))
    }

    /// The same state, answering 503 until [`Shared::ready`] is set (start-up).
    pub fn starting(self) -> Self {
        self.ready.store(false, std::sync::atomic::Ordering::SeqCst);
        self
    }

    /// The same state with these GraphQL limits.
    pub fn with_limits(self, limits: &graphql::Limits) -> Self {
        self.map(|s| {
            s.schema = graphql::schema_with(
                s.db.primary().clone(),
                s.auth.clone(),
                s.site.clone(),
                limits,
            );
            s.limits_gql = limits.clone();
            s.prepare = Arc::new(graphql::prepare::Prepare::new(limits));
        })
    }

    /// The same state keeping at most `max_bytes` of rendered bodies (0: none).
    pub fn with_rendered_bodies(self, max_bytes: u64) -> Self {
        self.map(|s| s.rendered = RenderedBodies::new(max_bytes))
    }

    /// The same state keeping at most `max_bytes` of ninjs items (0: none).
    pub fn with_ninjs_items(self, max_bytes: u64) -> Self {
        self.map(|s| s.ninjs = crate::domain::ninjs::Items::new(max_bytes))
    }

    /// The same state with this site (public URLs, the publication).
    pub fn with_site(self, site: Site) -> Self {
        self.map(|s| {
            s.site = Arc::new(site);
            s.schema = graphql::schema_with(
                s.db.primary().clone(),
                s.auth.clone(),
                s.site.clone(),
                &s.limits_gql,
            );
        })
    }

    /// The same state with these webhook settings.
    pub fn with_webhooks(self, settings: crate::domain::webhooks::Settings) -> Self {
        self.map(|s| s.webhooks = Arc::new(settings))
    }

    /// The same state with these live-subscription settings.
    pub fn with_live(self, settings: crate::live::Settings) -> Self {
        self.map(|s| s.live = crate::live::Live::new(settings))
    }

    /// The same state with this comment service (settings, external checker).
    pub fn with_comments(self, comments: crate::domain::comments::Service) -> Self {
        self.map(|s| s.comments = comments)
    }

    /// The same state with these HTTP settings.
    pub fn with_http(self, http: HttpSettings) -> Self {
        self.map(|s| {
            s.inflight = Arc::new(Semaphore::new(http.max_concurrency.max(1)));
            s.limits = Arc::new(http.rate_limits());
            s.clients = Clients::new(http.trusted_proxies.clone());
            s.http = Arc::new(http);
        })
    }
}
