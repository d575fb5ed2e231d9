//! Command line and environment settings. Every flag also reads the environment variable
//! named beside it; the doc comments below are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// gazette: a headless content API for news publishers.
#[derive(Debug, Parser)]
#[command(name = "gazette", version, about)]
pub struct Cli {
    /// Settings of `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub db: DbArgs,

    /// Log line format.
    #[arg(
        long,
        env = "GAZETTE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the content lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL (`postgres://user@host/db` or `sqlite://path?mode=rwc`). When unset,
    /// gazette uses the embedded SQLite file `gazette.db` in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Directory of the embedded database file.
    #[arg(long, env = "GAZETTE_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Most database connections this process opens.
    #[arg(long, env = "GAZETTE_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Import sections, authors, articles and comments from a JSON file (see README).
    Import(ImportArgs),
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GAZETTE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

/// Settings of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The JSON file to import.
    #[arg(required_unless_present = "demo")]
    pub file: Option<PathBuf>,

    /// Import the built-in demo newsroom (never loaded into PostgreSQL unless asked here).
    #[arg(long, conflicts_with = "file")]
    pub demo: bool,

    /// Articles per transaction; a bad record rolls back its batch only.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}
