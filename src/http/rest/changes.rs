//! `/api/v1/changes` (delta sync) and `/api/v1/partner/items` (the partner feed): pages of
//! `domain::changes`, never cached (every write moves them).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::extract::{Params, Who};
use super::views::{self, ArticleView, AuthorView, SectionView, TagView};
use crate::domain::changes::{self, ChangeKind, Entity, Scope};
use crate::domain::{access, ninjs, partners};
use crate::entities::change_log::EntityKind;
use crate::http::error::Result;
use crate::state::AppState;

/// Where a page starts and how long it is.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// The `next` of the previous page; leave it out to start with a snapshot.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    since: Option<String>,
    /// Most entries in the page, 1 to 100 (100 when absent).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// One entry of a page of changes.
#[derive(Serialize, ToSchema)]
pub struct ChangeView {
    /// The position after this entry: a client that stops here resumes from it.
    pub position: String,
    /// `UPSERT` (store the entity given) or `TOMBSTONE` (remove it).
    #[schema(example = "UPSERT")]
    pub kind: &'static str,
    /// `ARTICLE`, `SECTION`, `AUTHOR` or `TAG`.
    pub entity: &'static str,
    pub id: String,
    /// Its slug (a section's path); null for what no longer exists.
    pub slug: Option<String>,
    /// When it last changed.
    pub at: DateTime<Utc>,
    /// Why a tombstone: `deleted`, `unpublished`, `embargoed` or `out_of_view`.
    pub reason: Option<&'static str>,
    /// An article's version after its last change.
    pub version: Option<i32>,
    pub article: Option<ArticleView>,
    pub section: Option<SectionView>,
    pub author: Option<AuthorView>,
    pub tag: Option<TagView>,
}

/// A page of changes, oldest first.
#[derive(Serialize, ToSchema)]
pub struct ChangePageView {
    pub items: Vec<ChangeView>,
    /// Where the next page starts: keep it, it is the client's position.
    pub next: String,
    /// Whether asking again at once, from `next`, would list more.
    pub has_more: bool,
}

// The handler writes this shape as text around the items' own (kept) text.
/// A page of the partner feed: ninjs items, oldest change first.
#[derive(Serialize, ToSchema)]
pub struct PartnerItemsView {
    /// IPTC ninjs items (2.1, or 3.1 with `version=3`); `pubstatus` `withheld` or
    /// `canceled` for stories taken down.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub next: String,
    pub has_more: bool,
}

fn kind_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Upsert => "UPSERT",
        ChangeKind::Tombstone => "TOMBSTONE",
    }
}

fn entity_name(k: EntityKind) -> &'static str {
    match k {
        EntityKind::Article => "ARTICLE",
        EntityKind::Section => "SECTION",
        EntityKind::Author => "AUTHOR",
        EntityKind::Tag => "TAG",
        EntityKind::Comment => "COMMENT",
    }
}

/// A JSON answer no cache may keep.
fn uncached(body: &impl Serialize) -> Response {
    let mut res = Json(body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    res
}

/// What changed since `since`, oldest first, as the caller may see it now: at most `limit`
/// entities, each once, and tombstones for what left the caller's view. Without `since`, a
/// snapshot of everything the caller may see, then the changes made meanwhile. A position
/// older than the stream keeps is refused with 410 `RESYNC_REQUIRED`.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangesParams),
    responses((status = 200, description = "A page of changes", body = ChangePageView),
              (status = 401, body = Problem),
              (status = 410, description = "The position is older than the stream keeps: sync again without `since`", body = Problem),
              (status = 422, description = "Bad parameters", body = Problem)),
    security((), ("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    Who(c): Who,
    Params(p): Params<ChangesParams>,
) -> Result<Response> {
    let first = changes::page_size(p.limit)?;
    let page = changes::page(&s.db, &c, p.since.as_deref(), first, Scope::Everything).await?;
    let articles: Vec<_> = page
        .items
        .iter()
        .filter_map(|ch| match &ch.now {
            Some(Entity::Article(a)) => Some(a.clone()),
            _ => None,
        })
        .collect();
    let mut views = views::articles(&s.db, s.response_cache.directory(), &s.site, articles, true)
        .await?
        .into_iter();
    let mut items = Vec::with_capacity(page.items.len());
    for ch in page.items {
        let mut v = ChangeView {
            position: ch.position,
            kind: kind_name(ch.kind),
            entity: entity_name(ch.entity),
            id: ch.id.to_string(),
            slug: ch.slug,
            at: ch.at,
            reason: ch.reason,
            version: ch.version,
            article: None,
            section: None,
            author: None,
            tag: None,
        };
        match ch.now {
            Some(Entity::Article(_)) => v.article = views.next(),
            Some(Entity::Section(m)) => v.section = Some(SectionView::new(m, &s.site)),
            Some(Entity::Author(m)) => v.author = Some(AuthorView::new(m, &s.site)),
            Some(Entity::Tag(m)) => v.tag = Some(TagView::new(m, &s.site)),
            None => {}
        }
        items.push(v);
    }
    Ok(uncached(&ChangePageView {
        items,
        next: page.next,
        has_more: page.has_more,
    }))
}

/// Where a partner's page starts, how long it is, and which ninjs.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnerItemsParams {
    /// The `next` of the previous page; leave it out to start with every story of the grant.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    since: Option<String>,
    /// Most items in the page, 1 to 100 (100 when absent).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// 2 for ninjs 2.1 (the default), 3 for ninjs 3.1.
    #[param(minimum = 2, maximum = 3)]
    version: Option<i64>,
}

/// The partner feed: ninjs items of the stories the partner's grant covers, oldest change
/// first, paged by the change stream's positions, so a partner resumes where it stopped.
/// A story that left the grant after the partner could receive it comes back as an item with
/// `pubstatus` `withheld` (unpublished, embargoed again, moved out of the grant) or
/// `canceled` (deleted). Partners, and editors (who see every story).
#[utoipa::path(get, path = "/api/v1/partner/items", tag = "syndication", params(PartnerItemsParams),
    responses((status = 200, description = "A page of ninjs items", body = PartnerItemsView),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 410, description = "The position is older than the stream keeps: start again without `since`", body = Problem),
              (status = 422, description = "Bad parameters", body = Problem)),
    security(("bearer" = [])))]
pub async fn partner_items(
    State(s): State<AppState>,
    Who(c): Who,
    Params(p): Params<PartnerItemsParams>,
) -> Result<Response> {
    access::check_can_receive_ninjs(&c)?;
    let version = ninjs::Version::parse(p.version)?;
    let first = changes::page_size(p.limit)?;
    let page = changes::page(&s.db, &c, p.since.as_deref(), first, Scope::Articles).await?;
    let stories: Vec<_> = page
        .items
        .iter()
        .filter_map(|ch| match &ch.now {
            Some(Entity::Article(a)) => Some(a.clone()),
            _ => None,
        })
        .collect();
    let delivered = stories.len() as u64;
    let mut usable = ninjs::of_articles(ninjs_sources(&s), &stories, version)
        .await?
        .into_iter();
    // The page is written as text around the items' own text (see `PartnerItemsView`).
    let mut out: Vec<u8> = Vec::with_capacity(
        256 + 300 * page.items.len() + usable.as_slice().iter().map(|i| i.len() + 1).sum::<usize>(),
    );
    out.extend_from_slice(b"{\"items\":[");
    for (i, ch) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match ch.now {
            Some(Entity::Article(_)) => out.extend_from_slice(
                usable
                    .next()
                    .ok_or_else(|| crate::error::AppError::internal("a ninjs item vanished"))?
                    .as_bytes(),
            ),
            _ => {
                let status = if ch.reason == Some("deleted") {
                    ninjs::Retracted::Canceled
                } else {
                    ninjs::Retracted::Withheld
                };
                out.extend_from_slice(
                    ninjs::retracted(ch.id, ch.at, ch.version, status, version)?.as_bytes(),
                );
            }
        }
    }
    out.extend_from_slice(b"],\"next\":");
    out.extend_from_slice(json_string(&page.next).as_bytes());
    out.extend_from_slice(if page.has_more {
        b",\"has_more\":true}"
    } else {
        b",\"has_more\":false}"
    });
    partners::count_delivered(&c, delivered);
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        out,
    )
        .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// A string as JSON text.
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Where ninjs items come from in this process.
pub(super) fn ninjs_sources(s: &AppState) -> ninjs::Sources<'_> {
    ninjs::Sources {
        db: &s.db,
        directory: s.response_cache.directory(),
        site: &s.site,
        bodies: &s.rendered,
        items: &s.ninjs,
    }
}
