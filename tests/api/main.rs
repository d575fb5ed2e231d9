//! gazette's integration tests: one binary, driving the real router in-process with real
//! queries, against a fresh SQLite file per test and, on request, the same tests again in a
//! fresh PostgreSQL schema per test.
//!
//! Storage tests are plain `async fn name(app: &TestApp)` listed in `storage_tests!`, which
//! makes `name::sqlite` and `name::postgres` of each. Every test that needs PostgreSQL (those
//! variants, and the few PostgreSQL-only tests, which say `postgres` in their path) is
//! ignored by a plain `cargo test`, and fails rather than passes when run without a server:
//!
//! ```text
//! cargo test                                   # everything on SQLite; PostgreSQL ignored
//! GAZETTE_TEST_POSTGRES_URL=postgres://user@host:port/db \
//!     cargo test --test api postgres -- --include-ignored   # everything on PostgreSQL
//! ```
//!
//! Shared code has one home: `helpers` (the harness, requests, tokens, PostgreSQL set-up)
//! and `fixtures` (files in the import format). A file per area holds only its tests and
//! what no other file needs.

mod changes;
mod fixtures;
mod helpers;

mod articles;
mod comments;
mod contract;
mod directory;
mod embargo;
mod export;
mod feeds;
mod ghost;
mod graphql_http;
mod hostile;
mod idempotency;
mod import;
mod import_format;
mod layering;
mod ninjs;
mod oembed;
mod one_rule;
mod partners;
mod postgres_failures;
mod postgres_replicas;
mod postgres_restarts;
mod publishing;
mod related;
mod response_cache;
mod rest;
mod roles;
mod search;
mod sections_authors_tags;
mod sitemaps;
mod sqlite_busy;
mod statements;
mod structured_data;
mod subscriptions;
mod tokens;
mod webhooks;
mod wordpress;
