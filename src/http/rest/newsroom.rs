//! `/api/v1/sections`, `/api/v1/authors` and `/api/v1/tags`.

use crate::domain::invalidation::Key;
use std::collections::{BTreeSet, HashMap};

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::articles::{limit, paged};
use super::extract::{Account, Body, Params, Who};
use super::views::{AuthorView, Page, SectionTree, SectionView, TagView};
use crate::domain::authors::{self, AuthorFields};
use crate::domain::cursor::Cursor;
use crate::domain::sections::{self, NewSection, SectionPatch};
use crate::domain::site::Site;
use crate::entities::section;
use crate::error::AppError;
use crate::http::cache_headers;
use crate::http::error::Result;
use crate::state::AppState;

fn tree(all: &[section::Model], site: &Site) -> Vec<SectionTree> {
    let by_path: HashMap<&str, &section::Model> =
        all.iter().map(|s| (s.path.as_str(), s)).collect();
    let mut children: HashMap<Option<i32>, Vec<&section::Model>> = HashMap::new();
    for s in all {
        children.entry(s.parent_id).or_default().push(s);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
    }
    fn build(
        s: &section::Model,
        by_path: &HashMap<&str, &section::Model>,
        children: &HashMap<Option<i32>, Vec<&section::Model>>,
        site: &Site,
    ) -> SectionTree {
        SectionTree {
            section: SectionView::new(s.clone(), site),
            breadcrumb: sections::lineage(&s.path)
                .iter()
                .filter_map(|p| by_path.get(p.as_str()))
                .map(|x| SectionView::new((*x).clone(), site))
                .collect(),
            children: children
                .get(&Some(s.id))
                .map(|c| {
                    c.iter()
                        .map(|x| build(x, by_path, children, site))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
    children
        .get(&None)
        .map(|top| {
            top.iter()
                .map(|s| build(s, &by_path, &children, site))
                .collect()
        })
        .unwrap_or_default()
}

fn section_keys(t: &SectionTree, keys: &mut BTreeSet<Key>) {
    keys.insert(Key::Section(t.section.id));
    t.children.iter().for_each(|c| section_keys(c, keys));
}

/// The section tree: top-level sections in navigation order, subsections nested.
#[utoipa::path(get, path = "/api/v1/sections", tag = "sections",
    responses((status = 200, description = "The tree", body = Vec<SectionTree>), (status = 304, description = "Not modified"), (status = 401, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn list_sections(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
) -> Result<Response> {
    let all = sections::all(&s.db).await?;
    let t = tree(&all, &s.site);
    let mut keys = BTreeSet::new();
    t.iter().for_each(|x| section_keys(x, &mut keys));
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &t,
        &keys,
        None,
    ))
}

async fn one_section(s: &AppState, path: &str) -> Result<SectionTree> {
    let all = sections::all(&s.db).await?;
    fn find(t: Vec<SectionTree>, path: &str) -> Option<SectionTree> {
        for x in t {
            if x.section.path == path {
                return Some(x);
            }
            if path.starts_with(&format!("{}/", x.section.path)) {
                return find(x.children, path);
            }
        }
        None
    }
    find(tree(&all, &s.site), path)
        .ok_or_else(|| AppError::not_found(format!("no section {path:?}")).into())
}

/// A section by its full path (`world` or `world/middle-east`), with children and breadcrumb.
/// Its articles are at `/api/v1/articles?section=…`.
#[utoipa::path(get, path = "/api/v1/sections/{path}", tag = "sections", params(("path" = String, Path, description = "Full path; may contain slashes")),
    responses((status = 200, description = "The section", body = SectionTree), (status = 304, description = "Not modified"), (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn get_section(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response> {
    let t = one_section(&s, &path).await?;
    let mut keys = BTreeSet::new();
    section_keys(&t, &mut keys);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &t,
        &keys,
        None,
    ))
}

/// A new section.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionBody {
    name: String,
    slug: Option<String>,
    /// The parent's path.
    parent: Option<String>,
    description: Option<String>,
}

/// Creates a section (editors).
#[utoipa::path(post, path = "/api/v1/sections", tag = "sections", request_body = SectionBody,
    responses((status = 201, description = "Created", body = SectionView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_section(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<SectionBody>,
) -> Result<Response> {
    let created = sections::create(
        &s.db,
        &c,
        NewSection {
            name: b.name,
            slug: b.slug,
            parent: b.parent,
            description: b.description,
        },
    )
    .await?;
    let keys = BTreeSet::from([Key::Section(created.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::CREATED,
        &SectionView::new(created, &s.site),
        &keys,
        None,
    ))
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a section (its path never changes).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionPatchBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    position: Option<i32>,
}

/// Renames, describes or reorders a section (editors).
#[utoipa::path(patch, path = "/api/v1/sections/{path}", tag = "sections", request_body = SectionPatchBody, params(("path" = String, Path)),
    responses((status = 200, description = "Changed", body = SectionView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_section(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(path): Path<String>,
    Body(b): Body<SectionPatchBody>,
) -> Result<Response> {
    let id = s
        .response_cache
        .directory()
        .section_by_path(&s.db, &path)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no section {path:?}")))?
        .id;
    let saved = sections::update(
        &s.db,
        &c,
        id,
        SectionPatch {
            name: b.name,
            description: b.description,
            position: b.position,
        },
    )
    .await?;
    let keys = BTreeSet::from([Key::Section(saved.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &SectionView::new(saved, &s.site),
        &keys,
        None,
    ))
}

/// Paging of `GET /authors`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorParams {
    /// Page size, 1 to 100 (20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Authors in alphabetical order.
#[utoipa::path(get, path = "/api/v1/authors", tag = "authors", params(AuthorParams),
    responses((status = 200, description = "A page of authors", body = Page<AuthorView>, headers(("Link" = String))), (status = 304, description = "Not modified"),
              (status = 401, body = Problem), (status = 422, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn list_authors(
    State(s): State<AppState>,
    Who(c): Who,
    uri: OriginalUri,
    headers: HeaderMap,
    Params(p): Params<AuthorParams>,
) -> Result<Response> {
    let page = authors::page(&s.db, limit(p.limit)?, p.cursor.as_deref()).await?;
    let next = match (page.has_next, page.items.last()) {
        (true, Some(a)) => Some(Cursor::Name(a.name.clone(), a.id).encode()),
        _ => None,
    };
    let keys: BTreeSet<Key> = page.items.iter().map(|a| Key::Author(a.id)).collect();
    let data: Vec<AuthorView> = page
        .items
        .into_iter()
        .map(|a| AuthorView::new(a, &s.site))
        .collect();
    Ok(paged(
        &cache_headers::Caching::of(&s, &c, &headers),
        &uri,
        data,
        next,
        &keys,
    ))
}

/// An author by slug. Their articles are at `/api/v1/articles?author=…`.
#[utoipa::path(get, path = "/api/v1/authors/{slug}", tag = "authors", params(("slug" = String, Path)),
    responses((status = 200, description = "The author", body = AuthorView), (status = 304, description = "Not modified"), (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn get_author(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response> {
    let a = s
        .response_cache
        .directory()
        .author_by_slug(&s.db, &slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no author {slug:?}")))?;
    let keys = BTreeSet::from([Key::Author(a.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &AuthorView::new(a, &s.site),
        &keys,
        None,
    ))
}

/// An author's fields; in a patch, fields left out stay and an empty string clears.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorBody {
    name: Option<String>,
    slug: Option<String>,
    title: Option<String>,
    bio: Option<String>,
    avatar_url: Option<String>,
    /// The JWT `sub` of the account that writes as this author.
    subject: Option<String>,
}

impl From<AuthorBody> for AuthorFields {
    fn from(b: AuthorBody) -> Self {
        Self {
            name: b.name,
            slug: b.slug,
            title: b.title,
            bio: b.bio,
            avatar_url: b.avatar_url,
            subject: b.subject,
        }
    }
}

/// Creates an author (editors).
#[utoipa::path(post, path = "/api/v1/authors", tag = "authors", request_body = AuthorBody,
    responses((status = 201, description = "Created", body = AuthorView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_author(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<AuthorBody>,
) -> Result<Response> {
    let a = authors::create(&s.db, &c, b.into()).await?;
    let keys = BTreeSet::from([Key::Author(a.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::CREATED,
        &AuthorView::new(a, &s.site),
        &keys,
        None,
    ))
}

/// Updates an author (editors).
#[utoipa::path(patch, path = "/api/v1/authors/{slug}", tag = "authors", request_body = AuthorBody, params(("slug" = String, Path)),
    responses((status = 200, description = "Changed", body = AuthorView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch_author(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<AuthorBody>,
) -> Result<Response> {
    let id = s
        .response_cache
        .directory()
        .author_by_slug(&s.db, &slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no author {slug:?}")))?
        .id;
    let a = authors::update(&s.db, &c, id, b.into()).await?;
    let keys = BTreeSet::from([Key::Author(a.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &AuthorView::new(a, &s.site),
        &keys,
        None,
    ))
}

/// A tag by slug. Its articles are at `/api/v1/articles?tag=…`.
#[utoipa::path(get, path = "/api/v1/tags/{slug}", tag = "tags", params(("slug" = String, Path)),
    responses((status = 200, description = "The tag", body = TagView), (status = 304, description = "Not modified"), (status = 401, body = Problem), (status = 404, body = Problem)),
    security((), ("bearer" = [])))]
pub async fn get_tag(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response> {
    let t = s
        .response_cache
        .directory()
        .tag_by_slug(&s.db, &slug)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no tag {slug:?}")))?;
    let keys = BTreeSet::from([Key::Tag(t.id)]);
    Ok(cache_headers::json(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        &TagView::new(t, &s.site),
        &keys,
        None,
    ))
}
