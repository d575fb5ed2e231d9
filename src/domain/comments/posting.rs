//! Posting a comment: check the input, the article and the thread; charge the posting limits
//! (counted in the database, so they hold across processes); score it; write it in one
//! transaction; answer a receipt that tells the poster `APPROVED` or `PENDING` and nothing
//! more (held and spam both read `PENDING`, so the filter teaches spammers nothing).

use std::time::Duration;

use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, Statement,
};
use sha2::{Digest as _, Sha256};

use super::akismet::Submission;
use super::settings::{Service, Settings};
use super::spam::{self, Signals};
use super::text::{self, CommentInput, MAX_USER_AGENT_CHARS};
use crate::domain::access::{self, Caller, Role};
use crate::domain::idempotency::Outcome;
use crate::domain::stream::{self, Event};
use crate::domain::{CommentStatus, articles, now, transaction};
use crate::entities::{article, comment, comment_state};
use crate::error::{AppError, Result};

/// Who sent the request, as the transport saw it.
#[derive(Clone, Debug, Default)]
pub struct Client {
    /// The client's IP address (behind trusted proxies, the forwarded one).
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// What the poster is told.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub id: i32,
    /// `Approved` or `Pending` (a comment held or marked as spam reads `Pending`).
    pub status: CommentStatus,
    /// Shows the poster their own comment while it is not approved.
    pub view_token: String,
}

impl Outcome for comment::Model {
    fn outcome(&self) -> String {
        format!("comment:{}", self.id)
    }
}

/// Whether readers may comment on `a` now: it is public, no editor closed its comments,
/// and it was published less than the setting's days ago.
pub fn is_open(s: &Settings, a: &article::Model, closed_by_editor: bool) -> bool {
    if !access::is_public(a) || closed_by_editor {
        return false;
    }
    if s.close_after_days == 0 {
        return true;
    }
    let days = chrono::Duration::days(i64::from(s.close_after_days));
    a.published_at.is_some_and(|p| p + days > now())
}

/// Whether an editor closed `article_id`'s comments.
pub async fn closed_by_editor(db: &impl ConnectionTrait, article_id: i32) -> Result<bool> {
    Ok(comment_state::Entity::find_by_id(article_id)
        .one(db)
        .await?
        .is_some_and(|s| s.closed))
}

/// Posts `input` on the article `slug` for `caller` (anonymous, or a reader whose token's
/// `name` claim is `reader_name`), from `client`.
pub async fn post(
    db: &sea_orm::DatabaseConnection,
    svc: &Service,
    caller: &Caller,
    reader_name: Option<&str>,
    client: &Client,
    slug: &str,
    input: CommentInput,
) -> Result<Receipt> {
    let s = &svc.settings;
    let signed_in = match caller {
        Caller::Anonymous => None,
        Caller::Account {
            role: Role::Reader, ..
        } => Some(
            reader_name
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| {
                    AppError::bad_input("a reader's token must carry the reader's `name` claim")
                })?,
        ),
        Caller::Account { .. } => None,
        Caller::Partner { .. } => {
            return Err(AppError::Forbidden(
                "syndication partners do not post comments".into(),
            ));
        }
    };
    let checked = text::check(&input, signed_in)?;
    let article = articles::find_by_slug(db, slug)
        .await?
        .filter(access::is_public)
        .ok_or_else(|| AppError::not_found(format!("no article with slug {slug:?}")))?;
    if !is_open(s, &article, closed_by_editor(db, article.id).await?) {
        return Err(AppError::Forbidden(
            "comments are closed on this article".into(),
        ));
    }
    if let Some(parent) = input.parent_id {
        check_parent(db, s, article.id, parent).await?;
    }
    let address = client.address.clone().unwrap_or_else(|| "unknown".into());
    let at = now();
    let digest = digest(&checked.body);
    let email_hash = checked.email.as_deref().and_then(|e| svc.email_hash(e));
    let counts = counts(
        db,
        s,
        &address,
        article.id,
        &digest,
        email_hash.as_deref(),
        at,
    )
    .await?;
    refuse_over_limits(db, s, &address, article.id, &counts, at).await?;
    let user_agent = client
        .user_agent
        .as_deref()
        .map(|u| u.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
    let external = match &svc.akismet {
        Some(k) => Some(
            k.check(&Submission {
                user_ip: address.clone(),
                user_agent: user_agent.clone().unwrap_or_default(),
                permalink: None,
                author: checked.name.clone(),
                author_email: checked.email.clone(),
                content: checked.body.clone(),
                date_gmt: at.to_rfc3339(),
            })
            .await,
        ),
        None => None,
    };
    let signals = Signals {
        honeypot: input
            .website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty()),
        seconds_on_page: input.rendered_at.map(|r| (at - r).num_seconds()),
        duplicates: counts.duplicates,
        burst: counts.burst,
        approved_before: email_hash.as_ref().map(|_| counts.approved),
        external,
    };
    let verdict = spam::assess(s, &checked.name, &checked.body, &signals);
    let reasons = serde_json::to_string(&verdict.reasons).unwrap_or_default();
    let body_html = text::render(&checked.body);
    let actor = caller.sub().map(str::to_owned);
    let parent_id = input.parent_id;
    let saved = transaction::write(db, |txn| {
        let (checked, verdict, address) = (&checked, &verdict, &address);
        let (reasons, body_html, digest, email_hash) = (&reasons, &body_html, &digest, &email_hash);
        let (user_agent, actor, article) = (&user_agent, &actor, &article);
        async move {
            lock(&*txn, address, article.id).await?;
            let c = comment::ActiveModel {
                article_id: Set(article.id),
                parent_id: Set(parent_id),
                author_name: Set(checked.name.clone()),
                body: Set(checked.body.clone()),
                status: Set(verdict.status),
                created_at: Set(at),
                updated_at: Set(at),
                author_email: Set(checked.email.clone()),
                email_hash: Set(email_hash.clone()),
                author_sub: Set(actor.clone()),
                body_html: Set(Some(body_html.clone())),
                score: Set(verdict.score),
                reasons: Set(Some(reasons.clone())),
                body_digest: Set(Some(digest.clone())),
                client_address: Set(Some(address.clone())),
                user_agent: Set(user_agent.clone()),
                ..Default::default()
            }
            .insert(&*txn)
            .await
            .map_err(|e| AppError::from_write(e, "the comment"))?;
            recount(&*txn, s, address, article.id, at).await?;
            if c.status == CommentStatus::Approved {
                stream::append(
                    &*txn,
                    vec![Event::comment(
                        c.id,
                        stream::COMMENT_APPROVED,
                        actor.as_deref(),
                        article,
                    )],
                )
                .await?;
            }
            Ok(c)
        }
    })
    .await?;
    metrics::counter!("gazette_comments_posted_total", "status" => saved.status.as_str())
        .increment(1);
    Ok(Receipt {
        id: saved.id,
        status: match saved.status {
            CommentStatus::Approved => CommentStatus::Approved,
            _ => CommentStatus::Pending,
        },
        view_token: svc.view_token(db, saved.id).await?,
    })
}

/// A reply's parent must exist, be approved, be on the same article, and leave room for
/// one more level.
async fn check_parent(
    db: &impl ConnectionTrait,
    s: &Settings,
    article_id: i32,
    parent: i32,
) -> Result<()> {
    let missing = || AppError::bad_input(format!("`parentId` {parent}: no such comment"));
    let p = comment::Entity::find_by_id(parent)
        .one(db)
        .await?
        .ok_or_else(missing)?;
    if p.article_id != article_id {
        return Err(AppError::bad_input(format!(
            "`parentId` {parent} is a comment on another article"
        )));
    }
    if p.status != CommentStatus::Approved {
        // Not visible to the poster: said as if it did not exist.
        return Err(missing());
    }
    let mut depth = 1;
    let mut up = p.parent_id;
    while let Some(id) = up {
        depth += 1;
        if depth >= s.max_depth {
            break;
        }
        up = comment::Entity::find_by_id(id)
            .one(db)
            .await?
            .and_then(|c| c.parent_id);
    }
    if depth >= s.max_depth {
        return Err(AppError::bad_input(format!(
            "replies nest at most {} levels deep",
            s.max_depth
        )));
    }
    Ok(())
}

/// SHA-256 of the normalised text, hex.
fn digest(body: &str) -> String {
    let d = Sha256::digest(text::normalise_body(body).as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Most duplicates and approved comments counted: more changes no score, and each count
/// stops there, so its cost does not grow with a busy client's or a popular text's history.
const COUNT_CAP: i64 = 10;

/// What one statement counts for the limits and the signals (each count stops at the
/// number that decides, so every one reads a bounded range of an index).
#[derive(Debug, Default)]
struct Counts {
    client: i64,
    article: i64,
    burst: i64,
    duplicates: i64,
    approved: i64,
}

fn since(at: chrono::DateTime<chrono::Utc>, d: Duration) -> chrono::DateTime<chrono::Utc> {
    at - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// `?` placeholders as the backend writes them.
fn placeholders(b: DbBackend, sql: &str) -> String {
    if b != DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

async fn counts(
    db: &impl ConnectionTrait,
    s: &Settings,
    address: &str,
    article_id: i32,
    digest: &str,
    email_hash: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Counts> {
    let b = db.get_database_backend();
    let sql = placeholders(
        b,
        "SELECT \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE client_address = ? AND created_at > ? LIMIT ?) x) AS client, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE article_id = ? AND created_at > ? LIMIT ?) x) AS article, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE client_address = ? AND created_at > ? LIMIT ?) x) AS burst, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE body_digest = ? AND created_at > ? LIMIT ?) x) AS duplicates, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE email_hash = ? AND status = 'APPROVED' LIMIT ?) x) AS approved",
    );
    let window = since(at, s.rate_window);
    let row = db
        .query_one(Statement::from_sql_and_values(
            b,
            sql,
            [
                address.into(),
                window.into(),
                i64::from(s.per_client).into(),
                article_id.into(),
                window.into(),
                i64::from(s.per_article).into(),
                address.into(),
                since(at, s.burst_window).into(),
                i64::from(s.burst_posts).into(),
                digest.into(),
                since(at, s.duplicate_window).into(),
                COUNT_CAP.into(),
                email_hash.unwrap_or("").into(),
                COUNT_CAP.into(),
            ],
        ))
        .await?
        .ok_or_else(|| AppError::internal("the comment counts returned no row"))?;
    Ok(Counts {
        client: row.try_get("", "client")?,
        article: row.try_get("", "article")?,
        burst: row.try_get("", "burst")?,
        duplicates: row.try_get("", "duplicates")?,
        approved: row.try_get("", "approved")?,
    })
}

/// 429 when the client or the article has spent its posting limit, with the seconds until
/// the oldest post of the window leaves it.
async fn refuse_over_limits(
    db: &impl ConnectionTrait,
    s: &Settings,
    address: &str,
    article_id: i32,
    c: &Counts,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let window = since(at, s.rate_window);
    let (filter, what) = if c.client >= i64::from(s.per_client) {
        (
            comment::Column::ClientAddress.eq(address),
            "too many comments from this client",
        )
    } else if c.article >= i64::from(s.per_article) {
        (
            comment::Column::ArticleId.eq(article_id),
            "too many comments on this article just now",
        )
    } else {
        return Ok(());
    };
    let oldest = comment::Entity::find()
        .filter(filter)
        .filter(comment::Column::CreatedAt.gt(window))
        .order_by_asc(comment::Column::CreatedAt)
        .one(db)
        .await?
        .map(|c| c.created_at);
    Err(limited(s, what, oldest, at))
}

fn limited(
    s: &Settings,
    what: &str,
    oldest: Option<chrono::DateTime<chrono::Utc>>,
    at: chrono::DateTime<chrono::Utc>,
) -> AppError {
    let window = chrono::Duration::from_std(s.rate_window).unwrap_or(chrono::Duration::MAX);
    let secs = oldest
        .map_or(s.rate_window.as_secs() as i64, |o| {
            (o + window - at).num_seconds()
        })
        .max(1) as u64;
    AppError::RateLimited {
        message: format!("{what}; retry in {secs} s"),
        retry_after: secs,
    }
}

/// Inside the write, first: on PostgreSQL, takes the client's and the article's advisory
/// locks (in that order, so two posts never wait on each other in a cycle), so that
/// concurrent posts from any number of processes are counted one after another.
async fn lock(txn: &impl ConnectionTrait, address: &str, article_id: i32) -> Result<()> {
    let b = txn.get_database_backend();
    if b == DbBackend::Postgres {
        txn.execute(Statement::from_sql_and_values(
            b,
            "SELECT pg_advisory_xact_lock(hashtext('gazette-comment-client:' || $1)), \
                    pg_advisory_xact_lock(hashtext('gazette-comment-article:' || $2::text))",
            [address.into(), article_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Inside the write, after the insert: counts again, the new comment included, and refuses
/// (rolling the insert back) past a limit. Writing before reading makes a SQLite
/// transaction take the write lock at once instead of upgrading a read, which concurrent
/// posts would lose as `BUSY`.
async fn recount(
    txn: &impl ConnectionTrait,
    s: &Settings,
    address: &str,
    article_id: i32,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let b = txn.get_database_backend();
    let window = since(at, s.rate_window);
    let sql = placeholders(
        b,
        "SELECT \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE client_address = ? AND created_at > ? LIMIT ?) x) AS client, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM comments WHERE article_id = ? AND created_at > ? LIMIT ?) x) AS article",
    );
    let row = txn
        .query_one(Statement::from_sql_and_values(
            b,
            sql,
            [
                address.into(),
                window.into(),
                (i64::from(s.per_client) + 1).into(),
                article_id.into(),
                window.into(),
                (i64::from(s.per_article) + 1).into(),
            ],
        ))
        .await?
        .ok_or_else(|| AppError::internal("the comment counts returned no row"))?;
    let client: i64 = row.try_get("", "client")?;
    let article: i64 = row.try_get("", "article")?;
    if client > i64::from(s.per_client) {
        return Err(limited(s, "too many comments from this client", None, at));
    }
    if article > i64::from(s.per_article) {
        return Err(limited(
            s,
            "too many comments on this article just now",
            None,
            at,
        ));
    }
    Ok(())
}
