//! gazette: a headless content API for news publishers.
//!
//! A newsroom keeps its articles, sections, authors, tags and comments here; front ends,
//! apps and syndication partners read them over GraphQL (and REST). It runs on an embedded
//! SQLite file out of the box and on PostgreSQL in production.
//!
//! # Layout
//! - [`config`]: command line and environment settings.
//! - [`db`]: opening and migrating the database (the `migrations` crate holds the steps).
//! - [`entities`]: SeaORM models, one per table.
//! - [`domain`]: the newsroom's rules; the only code that queries entities.
//! - [`graphql`]: the schema, its types and DataLoaders.
//! - [`http`]: the router, its layers and handlers.
//! - [`response_cache`]: answers to anonymous reads kept in memory, invalidated by writes.
//! - [`state`]: what handlers share.
//! - [`auth`]: token verification and minting.
//! - [`scheduler`]: publishes scheduled articles when due.
//! - [`error`]: the one error type and its mapping to HTTP and GraphQL.
//! - [`commands`]: what `gazette serve|migrate|import` do.

pub mod auth;
pub mod commands;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod entities;
pub mod error;
pub mod graphql;
pub mod http;
pub mod response_cache;
pub mod scheduler;
pub mod state;
pub mod telemetry;

pub use state::AppState;

/// The whole HTTP API over `state`; tests drive exactly this router. On PostgreSQL this also
/// starts hearing other processes' writes for the response cache.
pub fn app(state: AppState) -> axum::Router {
    response_cache::listener::spawn(&state.response_cache, &state.db);
    http::router(state)
}
