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

/// mimalloc's `arena_eager_commit` option (its place in mimalloc's `mi_option_t`).
#[cfg(target_os = "linux")]
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Arenas committed on demand. By default mimalloc commits a whole arena on Linux and, when
/// it frees pages there, only marks them reusable (`MADV_FREE`), so the kernel leaves them
/// in the process's resident memory until it runs short: 17-20 MB under load on the
/// 50,000-article SQLite file, for nothing. Committed on demand, freed pages are decommitted
/// (`MADV_DONTNEED`) and leave at once. The option must be set before the first arena is
/// made, that is before the first Rust allocation: hence a constructor, which runs after
/// mimalloc's own (which reads `MIMALLOC_*` variables: one naming another value wins) and
/// before `main`.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ON_DEMAND: extern "C" fn() = commit_on_demand;

#[cfg(target_os = "linux")]
extern "C" fn commit_on_demand() {
    // SAFETY: plain reads and writes of mimalloc's option table, before any other thread.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) == 2 {
            libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        }
    }
}

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
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(args) => commands::serve(&cli.db, &cli.auth, &args).await,
        Command::Migrate => commands::migrate(&cli.db).await,
        Command::Import(args) => commands::import(&cli.db, &args).await,
        Command::Export(args) => commands::export(&cli.db, &args).await,
        Command::Token(args) => commands::token(&cli.db, &cli.auth, &args).await,
    }
}
