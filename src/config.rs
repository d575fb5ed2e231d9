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

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub related: RelatedArgs,

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

    /// Most database connections this process opens (on SQLite at most twice the cores,
    /// and at least 4).
    #[arg(long, env = "GAZETTE_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool: u32,
}

/// Token keys. Without any, the embedded default generates a secret in the data directory;
/// on PostgreSQL gazette then serves reads only.
#[derive(Clone, Args)]
pub struct AuthArgs {
    /// HS256 secret shared with whoever issues tokens (at least 32 bytes).
    #[arg(
        long,
        env = "GAZETTE_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// PEM file of the RS256 or EdDSA public key that verifies tokens.
    #[arg(long, env = "GAZETTE_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<PathBuf>,

    /// Required `iss` of tokens, when set.
    #[arg(long, env = "GAZETTE_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// Required `aud` of tokens, when set.
    #[arg(long, env = "GAZETTE_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
}

impl std::fmt::Debug for AuthArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthArgs")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_public_key", &self.jwt_public_key)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .finish()
    }
}

impl AuthArgs {
    /// The settings the verifier takes.
    pub fn settings(&self) -> crate::auth::AuthSettings {
        crate::auth::AuthSettings {
            secret: self.jwt_secret.clone(),
            public_key: self.jwt_public_key.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the API (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate,
    /// Import a newsroom: gazette's JSON, or a WordPress or Ghost export (see README, "Moving in").
    Import(ImportArgs),
    /// Write the newsroom in the import format (see README, "Moving in").
    Export(ExportArgs),
    /// Print a token the local server accepts (shared secret or the generated one).
    Token(TokenArgs),
}

/// Settings of `token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The account (`sub`); a writer owns articles whose byline author has this subject; a
    /// partner token's `sub` is the partner's slug.
    #[arg(long)]
    pub sub: String,

    /// writer, editor, admin, partner or reader (the last two see only what anonymous readers see).
    #[arg(long, value_parser = ["writer", "editor", "admin", "partner", "reader"])]
    pub role: String,

    /// For a reader token: the name shown with their comments (the `name` claim).
    #[arg(long)]
    pub name: Option<String>,

    /// For a partner token: the key id it names (default: the partner's newest active key,
    /// read from the database).
    #[arg(long)]
    pub key: Option<String>,

    /// Lifetime: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: i64,
}

/// Parses `90`, `90s`, `15m`, `1h`, `7d` into seconds: a [`parse_delay`] of whole seconds.
pub fn parse_ttl(s: &str) -> Result<i64, String> {
    let d = parse_delay(s)?;
    match i64::try_from(d.as_secs()) {
        Ok(secs) if secs > 0 && d.subsec_nanos() == 0 => Ok(secs),
        _ => Err("the lifetime must be whole seconds, between 1 second and a year".into()),
    }
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GAZETTE_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Origins allowed by CORS, comma-separated, or `*` for any (then without credentials).
    #[arg(long, env = "GAZETTE_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,

    /// `max-age` of anonymous reads, in seconds.
    #[arg(long, env = "GAZETTE_CACHE_MAX_AGE", default_value_t = 60)]
    pub cache_max_age: u32,

    /// `stale-while-revalidate` of anonymous reads, in seconds.
    #[arg(
        long,
        env = "GAZETTE_CACHE_STALE_WHILE_REVALIDATE",
        default_value_t = 300
    )]
    pub cache_stale_while_revalidate: u32,

    /// Bytes of anonymous answers kept in memory by the response cache (0 switches it off).
    #[arg(long, env = "GAZETTE_RESPONSE_CACHE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub response_cache_bytes: u64,

    /// Bytes of article bodies rendered to HTML kept in memory, per article version, for
    /// the feeds (0 renders every body on every request). Never stale: an edit makes a new
    /// version.
    #[arg(long, env = "GAZETTE_RENDER_CACHE_BYTES", default_value_t = crate::domain::rendered::DEFAULT_BYTES)]
    pub render_cache_bytes: u64,

    /// Bytes of IPTC ninjs items kept in memory, per article version, for the partner feed
    /// and `/ninjs` (0 builds every item on every request). Never stale: an edit makes a
    /// new version, and an item is kept with what it names of sections, authors and tags.
    #[arg(long, env = "GAZETTE_NINJS_CACHE_BYTES", default_value_t = crate::domain::ninjs::DEFAULT_BYTES)]
    pub ninjs_cache_bytes: u64,

    /// Longest the response cache keeps an answer, in seconds: a backstop, since every write
    /// invalidates what it touches at once.
    #[arg(long, env = "GAZETTE_RESPONSE_CACHE_TTL", default_value_t = 600)]
    pub response_cache_ttl: u64,

    /// Deepest GraphQL selection.
    #[arg(long, env = "GAZETTE_GRAPHQL_MAX_DEPTH", default_value_t = 12)]
    pub graphql_max_depth: usize,

    /// Largest GraphQL query cost (a connection costs its page size times its children).
    #[arg(long, env = "GAZETTE_GRAPHQL_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub graphql_max_complexity: usize,

    /// Most aliases in one GraphQL document.
    #[arg(long, env = "GAZETTE_GRAPHQL_MAX_ALIASES", default_value_t = 30)]
    pub graphql_max_aliases: usize,

    /// Most root fields in one GraphQL operation.
    #[arg(long, env = "GAZETTE_GRAPHQL_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub graphql_max_root_fields: usize,

    /// Whether GraphQL introspection is on (`false` to switch it off).
    #[arg(long, env = "GAZETTE_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphql_introspection: bool,

    /// Longest a request may take before it is answered 503, in milliseconds.
    #[arg(long, env = "GAZETTE_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Most requests served at once; more are shed with 503 and Retry-After.
    #[arg(long, env = "GAZETTE_MAX_CONCURRENCY", default_value_t = 512)]
    pub max_concurrency: usize,

    /// Requests per second per client (token subject, else IP), with twice that as burst.
    #[arg(long, env = "GAZETTE_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,

    /// Writes per second per client, with three times that as burst.
    #[arg(long, env = "GAZETTE_WRITE_RATE_LIMIT", default_value_t = 10)]
    pub write_rate_limit: u32,

    /// Comma-separated IPs of proxies whose X-Forwarded-For names the client.
    #[arg(long, env = "GAZETTE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// How long an `Idempotency-Key` and the response it was answered with are kept, as a
    /// duration (`90s`, `15m`, `24h`, `7d`): a retry within it gets the same response.
    #[arg(long, env = "GAZETTE_IDEMPOTENCY_RETENTION", default_value = "24h", value_parser = parse_ttl)]
    pub idempotency_retention: i64,

    /// How long the change stream keeps events, as a duration (`30d`): a client whose
    /// position is older must sync again from a snapshot (`RESYNC_REQUIRED`).
    #[arg(long, env = "GAZETTE_CHANGES_RETENTION", default_value = "30d", value_parser = parse_ttl)]
    pub changes_retention: i64,

    /// PostgreSQL read replicas, comma-separated URLs (`postgres://…@replica-1/news,…`):
    /// anonymous reads go to them, in turn, while they keep up; writes, reads with a token,
    /// the scheduler and the workers use `DATABASE_URL` (the primary).
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true)]
    pub database_read_url: Option<String>,

    /// A replica further behind the primary than this (a duration: `500ms`, `10s`, `1m`) is
    /// taken out of rotation until it catches up.
    #[arg(long, env = "GAZETTE_REPLICA_MAX_LAG", default_value = "10s", value_parser = parse_delay)]
    pub replica_max_lag: std::time::Duration,

    /// How often each replica's state and lag are checked (a duration).
    #[arg(long, env = "GAZETTE_REPLICA_CHECK_INTERVAL", default_value = "1s", value_parser = parse_delay)]
    pub replica_check_interval: std::time::Duration,

    /// How often to publish due scheduled articles and lift embargoes that have passed, in
    /// milliseconds.
    #[arg(long, env = "GAZETTE_SCHEDULER_INTERVAL_MS", default_value_t = 1000)]
    pub scheduler_interval_ms: u64,

    /// How often live subscriptions read the change stream without being woken, in
    /// milliseconds (on SQLite; on PostgreSQL, where every write's notification wakes them,
    /// ten times less often, as a backstop).
    #[arg(long, env = "GAZETTE_LIVE_POLL_MS", default_value_t = 250)]
    pub live_poll_ms: u64,

    /// Most open subscription WebSockets (`/graphql/ws`) per client (token subject, else
    /// address); more are refused with 429.
    #[arg(
        long,
        env = "GAZETTE_WS_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 16
    )]
    pub ws_max_connections_per_client: usize,

    /// Most subscriptions running at once on one WebSocket.
    #[arg(long, env = "GAZETTE_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub ws_max_subscriptions: usize,

    /// A WebSocket with no subscription running that sends nothing for this long is closed,
    /// as a duration (`90s`, `5m`).
    #[arg(long, env = "GAZETTE_WS_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_ttl)]
    pub ws_idle_timeout: i64,

    /// How long a new WebSocket may take to send `connection_init`, as a duration.
    #[arg(long, env = "GAZETTE_WS_INIT_TIMEOUT", default_value = "10s", value_parser = parse_ttl)]
    pub ws_init_timeout: i64,

    /// Largest message a WebSocket client may send, in bytes.
    #[arg(long, env = "GAZETTE_WS_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024)]
    pub ws_max_message_bytes: usize,

    #[command(flatten)]
    pub site: SiteArgs,

    #[command(flatten)]
    pub webhooks: WebhookArgs,

    #[command(flatten)]
    pub comments: CommentArgs,
}

/// Webhooks: the key their secrets are encrypted with, where they may go, and how their
/// deliveries are retried.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Key that encrypts webhook signing secrets at rest: 32 bytes in base64 (`openssl rand
    /// -base64 32`). Without it webhooks are off: creating one is refused.
    #[arg(long, env = "GAZETTE_WEBHOOK_KEY", hide_env_values = true, value_parser = parse_webhook_key)]
    pub webhook_key: Option<crate::domain::webhooks::secrets::SecretKey>,

    /// Allow webhook URLs with plain `http` and loopback or private addresses (local
    /// development and tests only: it switches off the SSRF protection).
    #[arg(long, env = "GAZETTE_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// Waits after each failed webhook attempt, comma-separated (`ms`, `s`, `m`, `h`, `d`);
    /// the last one repeats. Each is jittered by up to 20 %.
    #[arg(long, env = "GAZETTE_WEBHOOK_SCHEDULE", default_value = "5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    pub webhook_schedule: Schedule,

    /// Attempts of one webhook delivery before it is dead-lettered.
    #[arg(long, env = "GAZETTE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,

    /// An endpoint whose attempts have all failed for this long is paused (`5d`).
    #[arg(long, env = "GAZETTE_WEBHOOK_PAUSE_AFTER", default_value = "5d", value_parser = parse_delay)]
    pub webhook_pause_after: std::time::Duration,

    /// Longest one webhook attempt may take, connecting and reading the answer.
    #[arg(long, env = "GAZETTE_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = parse_delay)]
    pub webhook_timeout: std::time::Duration,

    /// How long a rotated-out webhook secret keeps signing beside the new one.
    #[arg(long, env = "GAZETTE_WEBHOOK_ROTATION_OVERLAP", default_value = "24h", value_parser = parse_delay)]
    pub webhook_rotation_overlap: std::time::Duration,

    /// How often the webhook worker looks for new events and due deliveries.
    #[arg(long, env = "GAZETTE_WEBHOOK_INTERVAL", default_value = "1s", value_parser = parse_delay)]
    pub webhook_interval: std::time::Duration,
}

/// A retry schedule: the waits after each failed attempt.
#[derive(Debug, Clone)]
pub struct Schedule(pub Vec<std::time::Duration>);

fn parse_webhook_key(s: &str) -> Result<crate::domain::webhooks::secrets::SecretKey, String> {
    crate::domain::webhooks::secrets::SecretKey::parse(s)
}

/// Parses `250ms`, `5s`, `15m`, `2h`, `5d` (a bare number is seconds).
pub fn parse_delay(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 250ms, 5s, 15m, 2h or 5d"))?;
    let ms = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => return Err(format!("unknown unit {other:?}: use ms, s, m, h or d")),
    };
    n.checked_mul(ms)
        .filter(|v| *v > 0 && *v <= 366 * 86_400_000)
        .map(std::time::Duration::from_millis)
        .ok_or_else(|| "a duration must be between 1ms and a year".into())
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let delays = s
        .split(',')
        .map(parse_delay)
        .collect::<Result<Vec<_>, _>>()?;
    if delays.is_empty() {
        return Err("the schedule needs at least one wait".into());
    }
    Ok(Schedule(delays))
}

impl WebhookArgs {
    /// The webhook settings these flags describe.
    pub fn settings(&self) -> crate::domain::webhooks::Settings {
        crate::domain::webhooks::Settings {
            key: self.webhook_key.clone(),
            allow_private: self.webhook_allow_private,
            schedule: self.webhook_schedule.0.clone(),
            max_attempts: self.webhook_max_attempts,
            pause_after: self.webhook_pause_after,
            timeout: self.webhook_timeout,
            rotation_overlap: self.webhook_rotation_overlap,
            interval: self.webhook_interval,
            ..Default::default()
        }
    }
}

/// Reader comments: limits, spam scoring, the external check, data retention.
#[derive(Debug, Clone, Args)]
pub struct CommentArgs {
    /// Comments close this many days after publication (0: never).
    #[arg(long, env = "GAZETTE_COMMENTS_CLOSE_AFTER_DAYS", default_value_t = 30)]
    pub comments_close_after_days: u32,

    /// Deepest comment thread (a top-level comment is depth 1).
    #[arg(long, env = "GAZETTE_COMMENTS_MAX_DEPTH", default_value_t = 3)]
    pub comments_max_depth: u32,

    /// A spam score at or above this holds a comment for moderation (PENDING).
    #[arg(long, env = "GAZETTE_COMMENTS_HOLD_SCORE", default_value_t = 20)]
    pub comments_hold_score: i32,

    /// A spam score at or above this marks a comment as SPAM.
    #[arg(long, env = "GAZETTE_COMMENTS_SPAM_SCORE", default_value_t = 60)]
    pub comments_spam_score: i32,

    /// More links than this in one comment count against it.
    #[arg(long, env = "GAZETTE_COMMENTS_MAX_LINKS", default_value_t = 2)]
    pub comments_max_links: usize,

    /// Blocked words and phrases, comma-separated (whole words, any case).
    #[arg(long, env = "GAZETTE_COMMENTS_BLOCKED_WORDS", default_value = "")]
    pub comments_blocked_words: String,

    /// Blocked link domains, comma-separated (subdomains included).
    #[arg(long, env = "GAZETTE_COMMENTS_BLOCKED_DOMAINS", default_value = "")]
    pub comments_blocked_domains: String,

    /// A file of more blocked words (one per line; `domain:` lines block link domains; `#` comments).
    #[arg(long, env = "GAZETTE_COMMENTS_BLOCKLIST_FILE")]
    pub comments_blocklist_file: Option<std::path::PathBuf>,

    /// Fewest seconds between the page's rendering (`renderedAt`) and posting.
    #[arg(long, env = "GAZETTE_COMMENTS_MIN_SECONDS", default_value_t = 3)]
    pub comments_min_seconds: u32,

    /// Most comments one client address may post per window (counted in the database).
    #[arg(long, env = "GAZETTE_COMMENTS_PER_CLIENT", default_value_t = 5)]
    pub comments_per_client: u32,

    /// Most comments one article may receive per window (counted in the database).
    #[arg(long, env = "GAZETTE_COMMENTS_PER_ARTICLE", default_value_t = 120)]
    pub comments_per_article: u32,

    /// The window of the two posting limits.
    #[arg(long, env = "GAZETTE_COMMENTS_RATE_WINDOW", default_value = "10m", value_parser = parse_ttl)]
    pub comments_rate_window: i64,

    /// How long commenters' IP addresses and user agents are kept.
    #[arg(long, env = "GAZETTE_COMMENTS_DATA_RETENTION", default_value = "30d", value_parser = parse_ttl)]
    pub comments_data_retention: i64,

    /// Key of the email hashes that let earlier approved comments earn trust (at least 32
    /// bytes). Unset: the embedded default generates one in its data directory; on
    /// PostgreSQL trust by history is off until it is set.
    #[arg(long, env = "GAZETTE_COMMENTS_HMAC_KEY", hide_env_values = true)]
    pub comments_hmac_key: Option<String>,

    /// Akismet API key: with it, comments are also checked by the Akismet API (or a
    /// compatible service at GAZETTE_AKISMET_URL).
    #[arg(long, env = "GAZETTE_AKISMET_KEY", hide_env_values = true)]
    pub akismet_key: Option<String>,

    /// Base URL of the Akismet-compatible API.
    #[arg(
        long,
        env = "GAZETTE_AKISMET_URL",
        default_value = "https://rest.akismet.com/1.1"
    )]
    pub akismet_url: String,

    /// Longest wait for the external check, in milliseconds (then the comment is held).
    #[arg(long, env = "GAZETTE_AKISMET_TIMEOUT_MS", default_value_t = 2000)]
    pub akismet_timeout_ms: u64,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

impl CommentArgs {
    /// The comment settings these flags describe; `data_dir` is the embedded default's
    /// directory (where a missing HMAC key is generated), `blog` the site's public URL.
    pub fn settings(
        &self,
        data_dir: Option<&std::path::Path>,
        blog: Option<&str>,
    ) -> anyhow::Result<crate::domain::comments::Settings> {
        use std::time::Duration;
        let mut words = list(&self.comments_blocked_words);
        let mut domains = list(&self.comments_blocked_domains);
        if let Some(path) = &self.comments_blocklist_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the blocklist {}: {e}", path.display())
            })?;
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                match line.strip_prefix("domain:") {
                    Some(d) => domains.push(d.trim().to_lowercase()),
                    None => words.push(line.to_lowercase()),
                }
            }
        }
        let email_key = match (&self.comments_hmac_key, data_dir) {
            (Some(k), _) => {
                anyhow::ensure!(
                    k.len() >= 32,
                    "GAZETTE_COMMENTS_HMAC_KEY has {} bytes; at least 32 are required",
                    k.len()
                );
                Some(k.as_bytes().to_vec())
            }
            (None, Some(dir)) => Some(crate::auth::local_secret_named(dir, "comments-hmac-key")?),
            (None, None) => {
                tracing::warn!(
                    "no GAZETTE_COMMENTS_HMAC_KEY: trust by comment history is off (every commenter counts as new)"
                );
                None
            }
        };
        let akismet = self
            .akismet_key
            .as_ref()
            .filter(|k| !k.is_empty())
            .map(|key| crate::domain::comments::akismet::AkismetSettings {
                key: key.clone(),
                url: self.akismet_url.clone(),
                blog: blog.unwrap_or("http://localhost").to_owned(),
                timeout: Duration::from_millis(self.akismet_timeout_ms.max(1)),
            });
        Ok(crate::domain::comments::Settings {
            close_after_days: self.comments_close_after_days,
            max_depth: self.comments_max_depth.max(1),
            hold_score: self.comments_hold_score,
            spam_score: self.comments_spam_score,
            max_links: self.comments_max_links,
            blocked_words: words,
            blocked_domains: domains,
            min_seconds: self.comments_min_seconds,
            per_client: self.comments_per_client,
            per_article: self.comments_per_article,
            rate_window: Duration::from_secs(self.comments_rate_window.unsigned_abs()),
            retention: Duration::from_secs(self.comments_data_retention.unsigned_abs()),
            email_key,
            akismet,
            ..crate::domain::comments::Settings::default()
        })
    }
}

/// Where the front end puts things, and the publication as feeds, sitemaps, JSON-LD and
/// oEmbed describe it.
#[derive(Debug, Clone, Args)]
pub struct SiteArgs {
    /// The front end's public base URL (`https://news.example`): `url` fields, feeds,
    /// sitemaps, JSON-LD and oEmbed need it, and are off (`null`, 404) without it.
    #[arg(long, env = "GAZETTE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The publication's name (feed titles, JSON-LD publisher, news sitemaps).
    #[arg(long, env = "GAZETTE_PUBLICATION_NAME", default_value = "gazette")]
    pub publication_name: String,

    /// The publication's language, a BCP 47 tag (`en`, `pt-BR`).
    #[arg(long, env = "GAZETTE_PUBLICATION_LANGUAGE", default_value = "en")]
    pub publication_language: String,

    /// Absolute URL of the publication's logo (JSON-LD publisher).
    #[arg(long, env = "GAZETTE_PUBLICATION_LOGO")]
    pub publication_logo: Option<String>,

    /// Template of an article page below the public URL: `{section_path}`, `{slug}`, `{id}`,
    /// `{year}`, `{month}`, `{day}` (it must hold `{slug}` or `{id}`).
    #[arg(long, env = "GAZETTE_ARTICLE_URL", default_value = crate::domain::site::ARTICLE_TEMPLATE)]
    pub article_url: String,

    /// Template of a section page: `{section_path}`.
    #[arg(long, env = "GAZETTE_SECTION_URL", default_value = crate::domain::site::SECTION_TEMPLATE)]
    pub section_url: String,

    /// Template of an author page: `{slug}`.
    #[arg(long, env = "GAZETTE_AUTHOR_URL", default_value = crate::domain::site::AUTHOR_TEMPLATE)]
    pub author_url: String,

    /// Template of a tag page: `{slug}`.
    #[arg(long, env = "GAZETTE_TAG_URL", default_value = crate::domain::site::TAG_TEMPLATE)]
    pub tag_url: String,

    /// How many articles a feed lists (newest first, at most 500).
    #[arg(long, env = "GAZETTE_FEED_ITEMS", default_value_t = 50)]
    pub feed_items: u64,
}

impl SiteArgs {
    /// The site these settings describe, or the message that names the bad setting.
    pub fn site(&self) -> Result<crate::domain::site::Site, String> {
        crate::domain::site::Site::new(crate::domain::site::SiteSettings {
            public_url: self.public_url.clone(),
            name: self.publication_name.clone(),
            language: self.publication_language.clone(),
            logo: self.publication_logo.clone(),
            article_template: self.article_url.clone(),
            section_template: self.section_url.clone(),
            author_template: self.author_url.clone(),
            tag_template: self.tag_url.clone(),
            feed_items: self.feed_items,
        })
    }
}

impl ServeArgs {
    /// The GraphQL limits these flags describe.
    pub fn limits(&self) -> crate::graphql::Limits {
        crate::graphql::Limits {
            depth: self.graphql_max_depth,
            complexity: self.graphql_max_complexity,
            aliases: self.graphql_max_aliases,
            root_fields: self.graphql_max_root_fields,
            directives: 5,
            introspection: self.graphql_introspection,
        }
    }

    /// The live-subscription settings these flags describe.
    pub fn live(&self) -> crate::live::Settings {
        let secs = |s: i64| std::time::Duration::from_secs(s.unsigned_abs());
        crate::live::Settings {
            poll: std::time::Duration::from_millis(self.live_poll_ms.max(10)),
            max_connections_per_client: self.ws_max_connections_per_client.max(1),
            max_subscriptions: self.ws_max_subscriptions.max(1),
            idle_timeout: secs(self.ws_idle_timeout),
            init_timeout: secs(self.ws_init_timeout),
            max_message_bytes: self.ws_max_message_bytes.max(1024),
            ..Default::default()
        }
    }

    /// How replicas are taken in and out of rotation.
    pub fn replicas(&self) -> crate::replicas::Settings {
        crate::replicas::Settings {
            max_lag: self.replica_max_lag,
            check_every: self
                .replica_check_interval
                .max(crate::replicas::health::FAST),
        }
    }

    /// The response cache these flags describe.
    pub fn response_cache(&self) -> crate::response_cache::Settings {
        crate::response_cache::Settings {
            max_bytes: self.response_cache_bytes,
            ttl: std::time::Duration::from_secs(self.response_cache_ttl.max(1)),
        }
    }

    /// The HTTP settings these flags describe.
    pub fn http(&self) -> crate::state::HttpSettings {
        let origins: Vec<String> = self
            .cors_origins
            .split(',')
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        crate::state::HttpSettings {
            cors_origins: (!origins.iter().any(|o| o == "*")).then_some(origins),
            public_cache_control: format!(
                "public, max-age={}, stale-while-revalidate={}",
                self.cache_max_age, self.cache_stale_while_revalidate
            ),
            request_timeout: std::time::Duration::from_millis(self.request_timeout_ms.max(1)),
            max_concurrency: self.max_concurrency.max(1),
            read_rate: crate::rate_limit::Rate {
                per_second: self.rate_limit,
                burst: self.rate_limit.saturating_mul(2),
            },
            write_rate: crate::rate_limit::Rate {
                per_second: self.write_rate_limit,
                burst: self.write_rate_limit.saturating_mul(3),
            },
            trusted_proxies: self
                .trusted_proxies
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect(),
            idempotency_retention: std::time::Duration::from_secs(
                self.idempotency_retention.unsigned_abs(),
            ),
        }
    }
}

/// How related articles are scored: each part is between 0 and 1 before its weight.
#[derive(Debug, Clone, Args)]
pub struct RelatedArgs {
    /// Weight of shared tags (cosine of the two tag sets, each tag weighted by its rarity).
    #[arg(
        long,
        env = "GAZETTE_RELATED_TAGS",
        default_value_t = 1.0,
        global = true
    )]
    pub related_tags: f64,

    /// Weight of shared byline authors.
    #[arg(
        long,
        env = "GAZETTE_RELATED_AUTHORS",
        default_value_t = 0.2,
        global = true
    )]
    pub related_authors: f64,

    /// Weight of the same section (half for a parent or child section).
    #[arg(
        long,
        env = "GAZETTE_RELATED_SECTION",
        default_value_t = 0.3,
        global = true
    )]
    pub related_section: f64,

    /// Weight of similar wording (cosine of the two articles' TF-IDF signatures).
    #[arg(
        long,
        env = "GAZETTE_RELATED_WORDING",
        default_value_t = 3.0,
        global = true
    )]
    pub related_wording: f64,

    /// Weight of freshness (2^(-days apart / half-life)).
    #[arg(
        long,
        env = "GAZETTE_RELATED_FRESHNESS",
        default_value_t = 0.1,
        global = true
    )]
    pub related_freshness: f64,

    /// Days apart at which freshness counts half.
    #[arg(
        long,
        env = "GAZETTE_RELATED_HALF_LIFE_DAYS",
        default_value_t = 30.0,
        global = true
    )]
    pub related_half_life_days: f64,
}

impl RelatedArgs {
    /// The scoring settings these flags describe (signatures keep their built-in shape).
    pub fn settings(&self) -> crate::domain::related::Settings {
        crate::domain::related::Settings {
            weights: crate::domain::related::Weights {
                tags: self.related_tags.max(0.0),
                authors: self.related_authors.max(0.0),
                section: self.related_section.max(0.0),
                wording: self.related_wording.max(0.0),
                freshness: self.related_freshness.max(0.0),
                half_life_days: self.related_half_life_days.max(0.001),
            },
            shape: Default::default(),
        }
    }
}

/// Settings of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The file to import (gazette JSON, or a WordPress or Ghost export with `--from`).
    #[arg(required_unless_present = "demo")]
    pub file: Option<PathBuf>,

    /// Import the built-in demo newsroom (never loaded into PostgreSQL unless asked here).
    #[arg(long, conflicts_with = "file")]
    pub demo: bool,

    /// Articles per transaction (comments: four times as many); default 250 on SQLite, 500
    /// on PostgreSQL (on the 50,000-article file SQLite peaked at 129 MB with 250 against
    /// 229 MB with 500, no slower; PostgreSQL took 207 s with 500 against 230 s with 250,
    /// at 187 MB).
    #[arg(long)]
    pub batch_size: Option<usize>,

    /// Also write the import report to this file, as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,

    /// The file's format: gazette's own JSON, a WordPress export (WXR, the XML of Tools →
    /// Export) or a Ghost export (the JSON of Settings → Labs → Export).
    #[arg(long, value_enum, default_value_t = ImportFrom::Gazette, conflicts_with = "demo")]
    pub from: ImportFrom,

    /// The old site's address, for Ghost's `__GHOST_URL__`, relative image URLs and Ghost
    /// posts' old URLs (WordPress exports name their site; this overrides it).
    #[arg(long)]
    pub site_url: Option<String>,

    /// With `--from wordpress|ghost`: a file of `category-or-tag-slug = section/path` lines
    /// saying which category (WordPress) or tag (Ghost) files a post under which section
    /// (README, "Moving in"); without it, a post's first category or primary tag.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
}

/// What `import --from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFrom {
    /// gazette's own JSON import format.
    Gazette,
    /// A WordPress export (WXR 1.1 or 1.2).
    Wordpress,
    /// A Ghost 4 or 5 JSON export.
    Ghost,
}

impl ImportFrom {
    /// The domain's format.
    pub fn format(self) -> crate::domain::import::Format {
        use crate::domain::import::Format;
        match self {
            Self::Gazette => Format::Gazette,
            Self::Wordpress => Format::WordPress,
            Self::Ghost => Format::Ghost,
        }
    }
}

/// Settings of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Write here instead of to standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// Only articles updated at or after this time (RFC 3339, `2026-03-01T00:00:00Z`), with
    /// their comments and revisions; sections, authors and tags are always written whole.
    #[arg(long)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,

    /// Also export these, comma-separated: `drafts` (articles in every status, not only
    /// published ones), `comments` (in every moderation status), `revisions`.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub include: Vec<ExportInclude>,
}

/// What `export --include` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportInclude {
    /// Articles in every status.
    Drafts,
    /// Every stored revision of each exported article.
    Revisions,
    /// Comments of the exported articles, in every moderation status.
    Comments,
}

impl ExportArgs {
    /// The export's options.
    pub fn options(&self) -> crate::domain::export::ExportOptions {
        crate::domain::export::ExportOptions {
            since: self.since,
            drafts: self.include.contains(&ExportInclude::Drafts),
            revisions: self.include.contains(&ExportInclude::Revisions),
            comments: self.include.contains(&ExportInclude::Comments),
        }
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}
