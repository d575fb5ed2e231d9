//! What the subcommands do: `serve`, `migrate` and `import`.

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::Auth;
use crate::config::{AuthArgs, DbArgs, ExportArgs, ImportArgs, ServeArgs, TokenArgs};
use crate::domain::access::Role;
use crate::domain::import::{self, ImportSource, ImportSummary};
use crate::{AppState, db, demo};

/// Opens the configured database. The flag is true when it is the embedded file and that
/// file did not exist before: a new newsroom, which gets the demo content.
async fn open(args: &DbArgs) -> anyhow::Result<(DatabaseConnection, bool)> {
    open_as(args, false).await
}

/// [`open`] for a bulk job (`bulk`: import, export), which keeps few prepared statements.
async fn open_as(args: &DbArgs, bulk: bool) -> anyhow::Result<(DatabaseConnection, bool)> {
    let connect = |url: String| async move {
        if bulk {
            db::connect_bulk(&url, args.db_pool).await
        } else {
            db::connect(&url, args.db_pool).await
        }
    };
    match &args.database_url {
        Some(url) => Ok((connect(url.clone()).await?, false)),
        None => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    args.data_dir.display()
                )
            })?;
            let fresh = !args.data_dir.join("gazette.db").exists();
            let conn = connect(db::embedded_url(&args.data_dir)).await?;
            Ok((conn, fresh))
        }
    }
}

/// The verifier for these settings; the embedded default gets its generated secret.
fn auth(db_args: &DbArgs, auth_args: &AuthArgs) -> anyhow::Result<Auth> {
    let embedded = db_args
        .database_url
        .is_none()
        .then_some(db_args.data_dir.as_path());
    Auth::from_settings(&auth_args.settings(), embedded)
}

/// Like [`open`], without connecting until a connection is needed.
async fn open_lazy(args: &DbArgs) -> anyhow::Result<(DatabaseConnection, bool)> {
    match &args.database_url {
        Some(url) => Ok((db::connect_with(url, args.db_pool, true).await?, false)),
        None => open(args).await,
    }
}

/// `gazette serve`: migrate, load the demo into a new embedded file, publish scheduled
/// articles in the background, serve until signalled.
/// A database from before related articles has published articles and no lists: score
/// the archive once, in the background (its lists read empty until then).
async fn build_related_if_missing(conn: &sea_orm::DatabaseConnection) {
    match crate::domain::related::needs_rebuild(conn).await {
        Ok(false) => {}
        Ok(true) => {
            tracing::info!("scoring related articles for the first time");
            match crate::domain::related::rebuild(conn).await {
                Ok(n) => tracing::info!(articles = n, "related articles scored"),
                Err(err) => tracing::error!(
                    error = format!("{err:#}"),
                    "could not score related articles"
                ),
            }
        }
        Err(err) => tracing::error!(
            error = format!("{err:#}"),
            "could not check related articles"
        ),
    }
}

/// Pools on the read replicas of `DATABASE_READ_URL` (none when unset), opened lazily.
async fn open_replicas(
    db_args: &DbArgs,
    args: &ServeArgs,
) -> anyhow::Result<Vec<(String, DatabaseConnection)>> {
    let urls = crate::replicas::parse_urls(args.database_read_url.as_deref().unwrap_or(""));
    if urls.is_empty() {
        return Ok(Vec::new());
    }
    if !db_args
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"))
    {
        anyhow::bail!("DATABASE_READ_URL needs DATABASE_URL to be PostgreSQL (the primary)");
    }
    let mut replicas = Vec::with_capacity(urls.len());
    for url in urls {
        let name = crate::replicas::name_of(&url);
        tracing::info!(replica = %name, "anonymous reads go to this replica while it keeps up");
        replicas.push((name, db::connect_replica(&url, db_args.db_pool).await?));
    }
    Ok(replicas)
}

pub async fn serve(db_args: &DbArgs, auth_args: &AuthArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let site = args.site.site().map_err(|e| anyhow::anyhow!(e))?;
    if site.base().is_none() {
        tracing::info!(
            "no GAZETTE_PUBLIC_URL: `url` fields are null and feeds, sitemaps, JSON-LD and oEmbed are off"
        );
    }
    let auth = auth(db_args, auth_args)?;
    let configured = auth_args.jwt_secret.is_some() || auth_args.jwt_public_key.is_some();
    if !auth.accepts_tokens() {
        tracing::warn!(
            "no GAZETTE_JWT_SECRET or GAZETTE_JWT_PUBLIC_KEY: serving reads only, every mutation is refused"
        );
    } else if !configured {
        tracing::info!(
            "no token key configured: using the secret generated in {}; get a token with \
             `cargo run --release -- token --sub alice --role editor`",
            db_args.data_dir.join(crate::auth::SECRET_FILE).display()
        );
    }
    let (conn, fresh) = open_lazy(db_args).await?;
    let listener = TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    tracing::info!(
        "serving GraphQL at http://{0}/graphql (subscriptions at ws://{0}/graphql/ws)",
        args.addr
    );
    let embedded = db_args
        .database_url
        .is_none()
        .then_some(db_args.data_dir.as_path());
    let comment_settings = args
        .comments
        .settings(embedded, args.site.public_url.as_deref())?;
    let comment_retention = comment_settings.retention;
    let comments = crate::domain::comments::Service::new(comment_settings)?;
    let state = AppState::new(conn.clone(), auth)
        .with_http(args.http())
        .with_comments(comments)
        .with_limits(&args.limits())
        .with_response_cache(&args.response_cache())
        .with_rendered_bodies(args.render_cache_bytes)
        .with_ninjs_items(args.ninjs_cache_bytes)
        .with_site(site)
        .with_webhooks(args.webhooks.settings())
        .with_live(args.live())
        .with_replicas(open_replicas(db_args, args).await?, args.replicas())?
        .starting();
    // Migrate (waiting for the database if it is down), load the demo into a new embedded
    // file, open for traffic, then publish scheduled articles until shutdown.
    let background = {
        let (conn, ready, every, cache) = (
            conn.clone(),
            state.ready.clone(),
            Duration::from_millis(args.scheduler_interval_ms.max(50)),
            state.response_cache.clone(),
        );
        let retention = Duration::from_secs(args.changes_retention.unsigned_abs());
        tokio::spawn(async move {
            db::migrate_when_reachable(&conn).await;
            if fresh {
                match load_demo(&conn).await {
                    Ok(s) => tracing::info!(
                        articles = s.articles,
                        sections = s.sections,
                        authors = s.authors,
                        "new embedded database: loaded the demo newsroom"
                    ),
                    Err(err) => tracing::error!(
                        error = format!("{err:#}"),
                        "could not load the demo newsroom"
                    ),
                }
            }
            ready.store(true, std::sync::atomic::Ordering::SeqCst);
            tracing::info!("ready");
            build_related_if_missing(&conn).await;
            crate::scheduler::run_with(
                conn,
                every,
                Some(cache),
                crate::scheduler::Retention {
                    changes: retention,
                    commenter_data: comment_retention,
                },
            )
            .await;
        })
    };
    // Webhooks: the dispatcher and the deliveries, once migrated (their tables exist).
    let hooks = {
        let worker = crate::delivery::Worker {
            db: conn.clone(),
            settings: state.webhooks.clone(),
            shapes: Arc::new(crate::http::rest::webhooks::PublicShapes::of(&state)),
        };
        let ready = state.ready.clone();
        tokio::spawn(async move {
            while !ready.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            worker.run().await;
        })
    };
    let upkeep = crate::telemetry::spawn_upkeep();
    let served = axum::serve(
        listener,
        crate::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server failed");
    background.abort();
    hooks.abort();
    if let Some(upkeep) = upkeep {
        upkeep.abort();
    }
    served?;
    conn.close().await.ok();
    tracing::info!("stopped");
    Ok(())
}

/// `gazette token`: prints a token the local server accepts.
/// A partner token names one of the partner's keys: `--key`, or its newest active one.
pub async fn token(db_args: &DbArgs, auth_args: &AuthArgs, args: &TokenArgs) -> anyhow::Result<()> {
    let auth = auth(db_args, auth_args)?;
    anyhow::ensure!(
        auth.accepts_tokens(),
        "no key to sign with: set GAZETTE_JWT_SECRET (PostgreSQL has no generated secret)"
    );
    let role =
        Role::parse(&args.role).context("role must be writer, editor, admin, partner or reader")?;
    let key = match (role, &args.key) {
        (Role::Partner, Some(k)) => Some(k.clone()),
        (Role::Partner, None) => Some(partner_key(db_args, &args.sub).await?),
        (_, Some(_)) => anyhow::bail!("--key is for partner tokens"),
        (_, None) => None,
    };
    println!(
        "{}",
        auth.mint_named(
            &args.sub,
            role,
            key.as_deref(),
            args.name.as_deref(),
            args.ttl
        )?
    );
    Ok(())
}

/// The newest active key of the partner `slug`, from the database.
async fn partner_key(db_args: &DbArgs, slug: &str) -> anyhow::Result<String> {
    let (conn, _) = open(db_args).await?;
    let key = crate::domain::partners::newest_key(&conn, slug)
        .await
        .map_err(|e| match e.code() {
            "NOT_FOUND" => anyhow::anyhow!("{e}"),
            // The CLI's user is the operator: the cause, not the client-facing sentence.
            _ => anyhow::anyhow!(
                "cannot read partner {slug:?} (is the database migrated? `gazette migrate`): {e:?}"
            ),
        })?;
    conn.close().await.ok();
    key.with_context(|| {
        format!("partner {slug:?} is revoked or has no active key: create one with createPartnerKey or POST /api/v1/partners/{slug}/keys")
    })
}

/// `gazette migrate`.
pub async fn migrate(db_args: &DbArgs) -> anyhow::Result<()> {
    let (conn, _) = open(db_args).await?;
    db::migrate(&conn).await?;
    tracing::info!("database is up to date");
    Ok(())
}

/// Imports the built-in demo newsroom.
pub async fn load_demo(conn: &DatabaseConnection) -> anyhow::Result<ImportSummary> {
    let source = ImportSource::bytes(demo::NEWSROOM_JSON.as_bytes());
    let report = import::import(conn, source, 500, &|_, _, _| {})
        .await
        .context("demo content")?;
    Ok(report.summary())
}

/// `gazette import [--from wordpress|ghost] FILE` (or `--demo`), with progress on a terminal and plain lines
/// otherwise, then the report (and `--report FILE` as JSON). Fails when the file cannot be
/// read or nothing in it could be imported; skipped records alone do not fail it.
pub async fn import(db_args: &DbArgs, args: &ImportArgs) -> anyhow::Result<()> {
    let (conn, _) = open_as(db_args, true).await?;
    db::migrate(&conn).await?;
    let source = match &args.file {
        Some(path) if !args.demo => {
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
            ImportSource::file(path)
        }
        _ => ImportSource::bytes(demo::NEWSROOM_JSON.as_bytes()),
    };
    let map = match &args.map {
        Some(path) => {
            anyhow::ensure!(
                args.from.format() != import::Format::Gazette,
                "--map applies to --from wordpress or --from ghost (gazette's own format names each article's section)"
            );
            import::SectionMap::load(path).map_err(anyhow::Error::msg)?
        }
        None => import::SectionMap::default(),
    };
    let batch = args.batch_size.unwrap_or(
        match sea_orm::ConnectionTrait::get_database_backend(&conn) {
            sea_orm::DbBackend::Postgres => 500,
            _ => 250,
        },
    );
    let reporter = Reporter::new();
    let options = import::ForeignOptions {
        site_url: args.site_url.clone(),
        map,
    };
    let report = import::import_from(
        &conn,
        args.from.format(),
        source,
        options,
        batch,
        &|s, d, t| reporter.report(s.name(), d, t),
    )
    .await;
    reporter.finish();
    let report = report.context("import stopped")?;
    eprintln!("{}", report.render(20));
    if let Some((now, peak)) = resident() {
        eprintln!("memory: RSS {now} MB at the end, peak {peak} MB");
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&report)?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    anyhow::ensure!(
        report.imported() > 0,
        "nothing could be imported ({} records in the file, {} skipped)",
        report.seen(),
        report.issues.len()
    );
    Ok(())
}

/// `gazette export`: the newsroom in the import format, to a file or standard output, with
/// progress on a terminal.
pub async fn export(db_args: &DbArgs, args: &ExportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (conn, _) = open_as(db_args, true).await?;
    db::migrate(&conn).await?;
    let mut out: Box<dyn std::io::Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout(),
        )),
    };
    let reporter = Reporter::new();
    // The writes are blocking, into a buffer: this command does nothing else meanwhile.
    let summary = crate::domain::export::export(&conn, args.options(), &mut *out, &|k, d, t| {
        reporter.report(k, d, t)
    })
    .await;
    reporter.finish();
    let summary = summary.context("export stopped")?;
    eprintln!(
        "exported {} sections, {} authors, {} tags, {} articles, {} comments, {} revisions in {:.1} s",
        summary.sections,
        summary.authors,
        summary.tags,
        summary.articles,
        summary.comments,
        summary.revisions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// This process's resident memory now and at its peak, in MB (Linux; `None` elsewhere):
/// progress lines show it so a long import's memory can be followed phase by phase.
pub fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb / 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Shows import progress: a bar on a terminal, a line per ~10% elsewhere.
struct Reporter {
    started: Instant,
    bar: Option<ProgressBar>,
    state: Mutex<(Option<&'static str>, usize)>,
}

impl Reporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>9} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            started: Instant::now(),
            bar,
            state: Mutex::new((None, 0)),
        }
    }

    /// `total` 0: not known in advance.
    fn report(&self, stage: &'static str, done: usize, total: usize) {
        let total = if total == 0 { done } else { total };
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.0 != Some(stage) {
            *state = (Some(stage), 0);
            if let Some(bar) = &self.bar {
                bar.set_length(total as u64);
                bar.set_message(stage);
            }
        }
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
            None => {
                let tenth = (done * 10).checked_div(total).unwrap_or(10);
                if tenth > state.1 || done == total {
                    state.1 = tenth.max(state.1 + 1);
                    eprintln!(
                        "{stage}: {done}/{total} ({:.1} s{})",
                        self.started.elapsed().as_secs_f64(),
                        resident().map_or(String::new(), |(now, peak)| format!(
                            ", RSS {now} MB, peak {peak} MB"
                        ))
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; the server then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
