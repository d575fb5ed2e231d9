//! gazette's integration tests: one binary, driving the real router in-process with real
//! queries, against a fresh SQLite file per test and, when `GAZETTE_TEST_POSTGRES_URL` is
//! set, the same tests again in a fresh PostgreSQL schema per test.
//!
//! Storage tests are plain `async fn name(app: &TestApp)` listed in `storage_tests!`, which
//! makes `name::sqlite` and `name::postgres` of each (`cargo test postgres` runs the latter).

mod helpers;

mod articles;
mod comments;
mod contract;
mod directory;
mod graphql_http;
mod hostile;
mod import;
mod layering;
mod postgres_failures;
mod publishing;
mod related;
mod response_cache;
mod rest;
mod search;
mod sections_authors_tags;
mod statements;
mod tokens;
