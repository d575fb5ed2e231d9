//! The `gazette` binary: parse settings, start logging, run the subcommand.

use clap::Parser as _;
use gazette::commands;
use gazette::config::{Cli, Command, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: glibc keeps an arena per thread (every SQLite
/// connection has one) and holds on to freed memory in each, which put resident memory
/// over budget under load; mimalloc returns it and is faster at gazette's many small
/// allocations.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("GAZETTE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    gazette::domain::related::configure(cli.related.settings());
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => commands::serve(&cli.db, &cli.auth, &args).await,
        Command::Migrate => commands::migrate(&cli.db).await,
        Command::Import(args) => commands::import(&cli.db, &args).await,
        Command::Token(args) => commands::token(&cli.db, &cli.auth, &args),
    }
}
