//! The demo newsroom: an original, fictional publication written for gazette, loaded into a
//! new embedded database so `cargo run` serves something real. Never loaded into PostgreSQL
//! unless asked (`gazette import --demo`).

/// The demo content in the import format.
pub const NEWSROOM_JSON: &str = include_str!("newsroom.json");
