//! Reader comments over REST: posting (`POST /api/v1/articles/{slug}/comments`), one comment
//! (`GET /api/v1/comments/{id}`, with `view_token` for its poster), and the moderation
//! mirror under `/api/v1/comments` (the rules are `domain::comments`).

use std::collections::BTreeSet;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::extract::{Account, Body, Params, Who};
use crate::domain::CommentStatus;
use crate::domain::access::{self, Caller};
use crate::domain::comments::commenters::{self, Erase};
use crate::domain::comments::moderation::{self, QueueRequest};
use crate::domain::comments::{posting, text};
use crate::entities::{comment, comment_decision};
use crate::error::AppError;
use crate::http::cache_headers;
use crate::http::error::Result;
use crate::state::AppState;

/// A reader's comment: plain text, nothing in it is markup.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// Ignored for signed-in readers (their token's `name`).
    author_name: Option<String>,
    /// Shown to editors only.
    author_email: Option<String>,
    /// Up to 5,000 characters; blank lines make paragraphs, links become clickable.
    body: String,
    /// The approved comment on the same article this one replies to.
    parent_id: Option<i32>,
    /// The honeypot: leave empty.
    website: Option<String>,
    /// When the front end rendered the form.
    rendered_at: Option<DateTime<Utc>>,
}

/// What the poster is told: `APPROVED` or `PENDING` (held and spam both read `PENDING`).
#[derive(Serialize, ToSchema)]
pub struct CommentReceiptView {
    pub id: i32,
    /// APPROVED or PENDING.
    pub status: String,
    /// Pass as `?view_token=` to `GET /api/v1/comments/{id}` to see the pending comment.
    pub view_token: String,
}

/// A comment. `author_email`, `score`, `reasons` and `client_address` are for editors
/// (absent for everyone else).
#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: i32,
    pub article_id: i32,
    pub parent_id: Option<i32>,
    pub author_name: String,
    /// Plain text.
    pub body: String,
    /// Safe HTML: paragraphs, line breaks, nofollow links.
    pub body_html: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Every moderation decision on it, oldest first: who, when, from what status to what,
    /// the note (editors only, on the queue and the comment routes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Vec<DecisionView>>,
}

impl CommentView {
    /// The view of `c`: what anyone may read, and for editors its moderation data too.
    pub fn of(c: comment::Model, editor: bool) -> Self {
        let reasons = c
            .reasons
            .as_deref()
            .and_then(|r| serde_json::from_str::<Vec<String>>(r).ok())
            .unwrap_or_default();
        Self {
            body_html: c.body_html.clone().unwrap_or_else(|| text::render(&c.body)),
            id: c.id,
            article_id: c.article_id,
            parent_id: c.parent_id,
            author_name: c.author_name,
            body: c.body,
            status: c.status.as_str().into(),
            created_at: c.created_at,
            author_email: editor.then_some(c.author_email).flatten(),
            score: editor.then_some(c.score),
            reasons: editor.then_some(reasons),
            client_address: editor.then_some(c.client_address).flatten(),
            user_agent: editor.then_some(c.user_agent).flatten(),
            moderation: None,
        }
    }

    /// Editors' views of `comments`, each with its moderation history (one statement for all).
    async fn for_editors(
        db: &impl sea_orm::ConnectionTrait,
        comments: Vec<comment::Model>,
    ) -> std::result::Result<Vec<Self>, AppError> {
        let ids: Vec<i32> = comments.iter().map(|c| c.id).collect();
        let mut history = moderation::history(db, &ids).await?;
        Ok(comments
            .into_iter()
            .map(|c| {
                let decisions = history.remove(&c.id).unwrap_or_default();
                let mut v = Self::of(c, true);
                v.moderation = Some(decisions.into_iter().map(Into::into).collect());
                v
            })
            .collect())
    }

    /// The view of `c` for the caller: an editor's with its moderation history.
    async fn for_caller(
        db: &impl sea_orm::ConnectionTrait,
        c: comment::Model,
        editor: bool,
    ) -> std::result::Result<Self, AppError> {
        if !editor {
            return Ok(Self::of(c, false));
        }
        Self::for_editors(db, vec![c])
            .await?
            .pop()
            .ok_or_else(|| AppError::internal("a comment's view went missing"))
    }
}

fn private(
    s: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    status: StatusCode,
    body: &impl Serialize,
) -> Response {
    let mut res = cache_headers::json(
        &cache_headers::Caching::of(s, c, headers),
        status,
        body,
        &BTreeSet::new(),
        None,
    );
    // Never kept by the response cache: moderation changes these answers without a key.
    res.extensions_mut()
        .remove::<crate::response_cache::Cacheable>();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    res
}

/// Posts a comment on a published article whose comments are open (anonymous readers, and
/// `reader` tokens whose `name` claim is shown). 429 with `Retry-After` past the posting
/// limits, which are counted in the database.
#[utoipa::path(post, path = "/api/v1/articles/{slug}/comments", tag = "comments", request_body = CommentBody,
    params(("slug" = String, Path)),
    responses((status = 201, description = "Received: APPROVED, or PENDING moderation", body = CommentReceiptView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, description = "Comments are closed", body = Problem),
              (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
              (status = 429, description = "Too many comments from this client or on this article; Retry-After", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn post(
    State(s): State<AppState>,
    Who(c): Who,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<CommentBody>,
) -> Result<Response> {
    let client = s.clients.comment_client(peer.map(|p| p.0.0.ip()), &headers);
    let name = s
        .auth
        .name_claim(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()));
    let r = posting::post(
        &s.db,
        &s.comments,
        &c,
        name.as_deref(),
        &client,
        &slug,
        text::CommentInput {
            author_name: b.author_name,
            author_email: b.author_email,
            body: b.body,
            parent_id: b.parent_id,
            website: b.website,
            rendered_at: b.rendered_at,
        },
    )
    .await?;
    let v = CommentReceiptView {
        id: r.id,
        status: r.status.as_str().into(),
        view_token: r.view_token,
    };
    Ok(private(&s, &c, &headers, StatusCode::CREATED, &v))
}

/// `?view_token=` of a receipt.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViewQuery {
    /// The receipt's `view_token`: shows its poster the comment while it is pending.
    view_token: Option<String>,
}

/// One comment: approved ones on public articles to anyone; others to editors, and to their
/// poster with the receipt's `view_token`.
#[utoipa::path(get, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = i32, Path), ViewQuery),
    responses((status = 200, description = "The comment", body = CommentView),
              (status = 400, description = "A malformed path or body", body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(id): Path<i32>,
    Params(q): Params<ViewQuery>,
) -> Result<Response> {
    let missing = || AppError::not_found(format!("no comment {id}"));
    let found = comment::Entity::find_by_id(id)
        .one(&s.db)
        .await
        .map_err(AppError::from)?;
    let Some(cm) = found else {
        return Err(missing().into());
    };
    let editor = c.is_editor();
    let visible = if editor {
        true
    } else if cm.status == CommentStatus::Approved {
        crate::entities::article::Entity::find_by_id(cm.article_id)
            .one(&s.db)
            .await
            .map_err(AppError::from)?
            .is_some_and(|a| access::is_public(&a))
    } else if let Some(t) = q.view_token.as_deref() {
        s.comments.viewed(&s.db, t).await? == Some(cm.id)
    } else {
        false
    };
    if !visible {
        return Err(missing().into());
    }
    let v = CommentView::for_caller(&s.db, cm, editor).await?;
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

use sea_orm::EntityTrait as _;

/// The queue's query.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// PENDING (default), SPAM, APPROVED or REJECTED.
    status: Option<String>,
    /// An article's slug.
    article: Option<String>,
    /// Page size, 1–100 (default 20).
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of the queue.
#[derive(Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<CommentView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn status(s: &str) -> std::result::Result<CommentStatus, AppError> {
    CommentStatus::parse(s).ok_or_else(|| {
        AppError::bad_input(format!(
            "status {s:?} is not PENDING, APPROVED, SPAM or REJECTED"
        ))
    })
}

/// The moderation queue (editors): oldest first, with scores and reasons.
#[utoipa::path(get, path = "/api/v1/comments", tag = "comments", params(QueueQuery),
    responses((status = 200, description = "A page of the queue", body = QueuePage),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn queue(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Params(q): Params<QueueQuery>,
) -> Result<Response> {
    let req = QueueRequest {
        status: q
            .status
            .as_deref()
            .map(status)
            .transpose()?
            .unwrap_or(CommentStatus::Pending),
        article: q.article,
        first: q.limit,
        after: q.cursor,
    };
    let page = moderation::queue(&s.db, &c, &req).await?;
    let next_cursor = page
        .has_next
        .then(|| page.items.last().map(moderation::cursor))
        .flatten();
    let v = QueuePage {
        items: CommentView::for_editors(&s.db, page.items).await?,
        next_cursor,
    };
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

/// A moderation decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// PENDING, APPROVED, SPAM or REJECTED.
    status: String,
    /// Why (kept with the decision).
    note: Option<String>,
}

/// Moderates one comment (editors); recorded, and the article's pages follow at once.
#[utoipa::path(post, path = "/api/v1/comments/{id}/moderate", tag = "comments", request_body = DecisionBody,
    params(("id" = i32, Path)),
    responses((status = 200, description = "The comment as decided", body = CommentView),
              (status = 400, description = "A malformed path or body", body = Problem), (status = 415, description = "The body is not JSON", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn moderate_one(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(id): Path<i32>,
    Body(b): Body<DecisionBody>,
) -> Result<Response> {
    let mut done = moderation::moderate(
        &s.db,
        &s.comments,
        &c,
        &[id],
        status(&b.status)?,
        b.note.as_deref(),
    )
    .await?;
    let one = done
        .pop()
        .ok_or_else(|| AppError::internal("a decision returned no comment"))?;
    let v = CommentView::for_caller(&s.db, one, true).await?;
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

/// Decisions on many comments.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDecisionBody {
    /// Up to 100 comment ids.
    ids: Vec<i32>,
    /// PENDING, APPROVED, SPAM or REJECTED.
    status: String,
    note: Option<String>,
}

/// Moderates up to 100 comments at once (editors): all or nothing.
#[utoipa::path(post, path = "/api/v1/comments/moderate", tag = "comments", request_body = BatchDecisionBody,
    responses((status = 200, description = "The comments as decided", body = Vec<CommentView>),
              (status = 415, description = "The body is not JSON", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn moderate_many(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<BatchDecisionBody>,
) -> Result<Response> {
    let done = moderation::moderate(
        &s.db,
        &s.comments,
        &c,
        &b.ids,
        status(&b.status)?,
        b.note.as_deref(),
    )
    .await?;
    let v = CommentView::for_editors(&s.db, done).await?;
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

/// Opening or closing an article's comments.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    open: bool,
}

/// Whether an article takes comments.
#[derive(Serialize, ToSchema)]
pub struct OpenView {
    pub comments_open: bool,
}

/// Opens or closes an article's comments (editors).
#[utoipa::path(put, path = "/api/v1/articles/{slug}/comments_open", tag = "comments", request_body = OpenBody,
    params(("slug" = String, Path)),
    responses((status = 200, description = "Whether readers may comment now", body = OpenView),
              (status = 415, description = "The body is not JSON", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_open(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<OpenBody>,
) -> Result<Response> {
    c.require(
        crate::domain::access::Role::Editor,
        "open or close comments",
    )?;
    let a = crate::domain::articles::find_by_slug(&s.db, &slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no article with slug {slug:?}")))?;
    let a = moderation::set_open(&s.db, &c, a.id, b.open).await?;
    let v = OpenView {
        comments_open: b.open && posting::is_open(&s.comments.settings, &a, false),
    };
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

/// One commenter, by email (sent in the body, so it stays out of URLs and access logs).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommenterBody {
    email: String,
}

/// A moderation decision: on a comment's editor view, and in a commenter's export.
#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    pub comment_id: Option<i32>,
    pub actor: String,
    pub from_status: String,
    pub to_status: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<comment_decision::Model> for DecisionView {
    fn from(d: comment_decision::Model) -> Self {
        Self {
            comment_id: d.comment_id,
            actor: d.actor,
            from_status: d.from_status,
            to_status: d.to_status,
            note: d.note,
            at: d.at,
        }
    }
}

/// Everything stored about one commenter.
#[derive(Serialize, ToSchema)]
pub struct CommenterExport {
    pub comments: Vec<CommentView>,
    pub decisions: Vec<DecisionView>,
}

/// Exports everything stored under one email address (admins).
#[utoipa::path(post, path = "/api/v1/comments/commenter/export", tag = "comments", request_body = CommenterBody,
    responses((status = 200, description = "The commenter's data", body = CommenterExport),
              (status = 415, description = "The body is not JSON", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn export(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<CommenterBody>,
) -> Result<Response> {
    let e = commenters::export(&s.db, &c, &b.email).await?;
    let v = CommenterExport {
        comments: e
            .comments
            .into_iter()
            .map(|m| CommentView::of(m, true))
            .collect(),
        decisions: e.decisions.into_iter().map(Into::into).collect(),
    };
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}

/// An erasure: `delete` removes the comments (and the replies under them), `anonymise`
/// keeps them as "Anonymous" without any personal data.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    email: String,
    /// `delete` or `anonymise`.
    mode: String,
}

/// What an erasure did.
#[derive(Serialize, ToSchema)]
pub struct ErasureView {
    pub comments: i32,
    pub mode: String,
}

/// Erases everything stored under one email address (admins); the erasure is recorded
/// (who, when, how many, how), never the email.
#[utoipa::path(post, path = "/api/v1/comments/commenter/erase", tag = "comments", request_body = EraseBody,
    responses((status = 200, description = "Erased", body = ErasureView),
              (status = 415, description = "The body is not JSON", body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn erase(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<EraseBody>,
) -> Result<Response> {
    let mode = match b.mode.as_str() {
        "delete" => Erase::Delete,
        "anonymise" | "anonymize" => Erase::Anonymise,
        other => {
            return Err(AppError::bad_input(format!(
                "mode {other:?} is not `delete` or `anonymise`"
            ))
            .into());
        }
    };
    let n = commenters::erase(&s.db, &c, &b.email, mode).await?;
    let v = ErasureView {
        comments: n,
        mode: mode.as_str().into(),
    };
    Ok(private(&s, &c, &headers, StatusCode::OK, &v))
}
