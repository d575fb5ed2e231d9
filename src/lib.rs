//! gazette: a headless content API for news publishers.
//!
//! A newsroom keeps its articles, sections, authors, tags and comments here; front ends,
//! apps and syndication partners read them over GraphQL (and REST). It runs on an embedded
//! SQLite file out of the box and on PostgreSQL in production.
//!
//! # Layout
//! - [`config`]: command line and environment settings.
//! - [`db`]: opening and migrating the database (the `migrations` crate holds the steps).
//! - [`entities`]: SeaORM models, one per table; closed sets stored as text are enums here.
//! - [`domain`]: the newsroom's rules; the only code that queries entities. It names no
//!   transport (a test, `tests/api/layering.rs`, keeps it so): GraphQL, REST and the
//!   importers all call the same function for each rule.
//! - [`error`]: the domain's error type and the one table of codes ([`error::Code`]) with
//!   their HTTP statuses; [`http::error`] renders it as problem+json, `graphql::error` as
//!   `extensions.code`.
//! - [`graphql`]: the schema, its types and DataLoaders.
//! - [`http`]: the router, its layers and handlers.
//! - [`response_cache`]: answers to anonymous reads kept in memory, invalidated by writes.
//! - [`replicas`]: PostgreSQL read replicas (`DATABASE_READ_URL`): which connection a
//!   statement goes to ([`replicas::Db`]), their health check, and the read fence that keeps
//!   the response cache from being refilled from a replica that is behind.
//! - [`telemetry`]: the metrics recorder and the request id, for every layer.
//! - [`rate_limit`]: per-client budgets of requests and writes.
//! - [`state`]: what handlers share.
//! - [`auth`]: token verification and minting.
//! - [`scheduler`]: publishes scheduled articles when due.
//! - [`delivery`]: the webhook worker: makes deliveries from the change stream and sends
//!   them, signed ([`domain::webhooks`] holds the rules).
//! - [`live`]: the change stream followed by this process, for GraphQL subscriptions
//!   (`http::ws` speaks their WebSocket protocol, `graphql::subscription` decides what each
//!   subscriber is told).
//! - [`commands`]: what `gazette serve|migrate|import` do.
//!
//! # Database restarts and failovers, by module
//! - [`error::classify`]: the one place a database error is classified (by SQLSTATE class
//!   or SQLite result code): a database that cannot serve is `UNAVAILABLE` (503,
//!   `Retry-After`), never `INTERNAL`.
//! - [`db`]: pools that check connections gone idle before a failure, and drop those left on
//!   a read-only server.
//! - [`domain::transaction`]: every write's transaction: the idempotency key's claim, a run
//!   again after a deadlock, and the outcome of a `COMMIT` that lost its connection.
//! - [`domain::idempotency`] and [`http::idempotency`]: the `Idempotency-Key` header, its
//!   keys and stored responses.
//! - [`http::retry`]: reads that lost their connection run again (GraphQL queries in the
//!   GraphQL handler).
//!
//! # Caching, by module
//! - `http::cache_headers`: an answer's `ETag`, `304`, `Cache-Control` and
//!   `Surrogate-Key` (what a browser or CDN keeps).
//! - [`response_cache`]: the store of anonymous answers in this process, and the rule that
//!   says which write invalidates which answer.
//! - `http::cache_layer`: the middleware that serves answers from that store and fills it.
//! - [`graphql::surrogate_keys`]: which keys a GraphQL answer shows, and which fields they
//!   cover.
//! - [`domain::invalidation`]: the [`domain::invalidation::Key`] type, and how a write
//!   announces the keys it touched (to this process, and to others through PostgreSQL).
//! - [`domain::directory`]: sections, authors and tags held in memory, replaced on the same
//!   announcements.

pub mod auth;
pub mod commands;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod entities;
pub mod error;
pub mod graphql;
pub mod http;
pub mod live;
pub mod rate_limit;
pub mod replicas;
pub mod response_cache;
pub mod scheduler;
pub mod state;
pub mod telemetry;

pub use state::AppState;

/// The whole HTTP API over `state`; tests drive exactly this router. On PostgreSQL this also
/// starts hearing other processes' writes for the response cache; everywhere it gives
/// live subscriptions the change stream to follow.
pub fn app(state: AppState) -> axum::Router {
    response_cache::listener::spawn(&state.response_cache, state.db.primary());
    if let Some(replicas) = state.db.replicas() {
        replicas.spawn_health_check();
    }
    state.live.attach(
        state.db.primary().clone(),
        state.response_cache.stream_wake(),
    );
    http::router(state)
}
