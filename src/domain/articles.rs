//! Reading articles: one by slug or id, and pages of listings, batched so that any number
//! of listings in one GraphQL request (a front page of ten sections) costs one statement.
//!
//! Visibility is decided here: a listing or lookup always carries the statuses the caller
//! may see ([`Visibility`], from [`crate::domain::access::Caller::visibility`]), and
//! `filter_condition` is the one place that turns it into SQL.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Asterisk, Condition, Expr, Func, Order, Query, SelectStatement, SimpleExpr, UnionType,
};
use std::collections::HashMap;

use sea_orm::prelude::Json;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _, FromQueryResult, Iterable as _,
    QueryFilter as _, QueryResult, QuerySelect as _, Statement, Value, Values,
};

use super::ArticleStatus;
use super::access::{Visibility, owned_articles_subquery};
use super::cursor::{Cursor, micros_to_time};
use crate::entities::{article, article_author, article_tag, author, section, tag};
use crate::error::{AppError, Result};

/// Largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// Which author a listing is narrowed to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AuthorRef {
    Id(i32),
    Slug(String),
}

/// Which tag a listing is narrowed to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TagRef {
    Id(i32),
    Slug(String),
}

/// What a listing contains. Every field narrows it further.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArticleFilter {
    /// A section path; the section's descendants are included.
    pub section: Option<String>,
    pub author: Option<AuthorRef>,
    /// Tags that must all be on the article.
    pub tags: Vec<TagRef>,
    /// Tags of which at least one must be on the article (ignored when empty).
    pub any_tags: Vec<TagRef>,
    /// What the caller may see at all ([`crate::domain::access::Caller::visibility`]).
    pub visibility: Visibility,
    /// A workflow status to narrow to, within what is visible.
    pub status: Option<ArticleStatus>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
}

/// Most tags one filter may name.
pub const MAX_FILTER_TAGS: usize = 20;

/// How the tags of a filter combine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagMatch {
    /// At least one of the tags.
    #[default]
    Any,
    /// Every one of the tags.
    All,
}

/// A filter as a client gives it (GraphQL's `ArticleFilter`, REST's query parameters),
/// before it is checked and narrowed to what the caller may see.
#[derive(Debug, Default)]
pub struct FilterInput {
    pub section: Option<String>,
    pub author: Option<String>,
    pub tag: Option<String>,
    pub tags: Vec<String>,
    pub tags_match: TagMatch,
    pub status: Option<ArticleStatus>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
}

impl FilterInput {
    /// The listing this input asks for, within what `visibility` allows.
    pub fn into_filter(self, visibility: Visibility) -> Result<ArticleFilter> {
        if self.tags.len() > MAX_FILTER_TAGS {
            return Err(AppError::bad_input(format!(
                "`tags` names at most {MAX_FILTER_TAGS} tags, not {}",
                self.tags.len()
            )));
        }
        let listed = self.tags.into_iter().map(TagRef::Slug);
        let (mut tags, any_tags) = match self.tags_match {
            TagMatch::All => (listed.collect(), Vec::new()),
            TagMatch::Any => (Vec::new(), listed.collect()),
        };
        tags.extend(self.tag.map(TagRef::Slug));
        Ok(ArticleFilter {
            section: self.section,
            author: self.author.map(AuthorRef::Slug),
            tags,
            any_tags,
            visibility,
            status: self.status,
            published_after: self.published_after,
            published_before: self.published_before,
        })
    }
}

/// One page of one listing: newest first, `first` items after the cursor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub filter: ArticleFilter,
    pub first: u64,
    pub after: Option<(DateTime<Utc>, i32)>,
}

/// One page of results; `has_next` says whether another page follows.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            has_next: false,
        }
    }
}

impl PageRequest {
    /// Validates a client's `first` and `after` for a newest-first listing.
    pub fn new(filter: ArticleFilter, first: Option<i32>, after: Option<&str>) -> Result<Self> {
        let first = page_size(first, 20)?;
        let after = match after.map(Cursor::decode).transpose()? {
            None => None,
            Some(Cursor::Published(micros, id)) => Some((micros_to_time(micros)?, id)),
            Some(_) => {
                return Err(AppError::bad_input(
                    "`after` is a cursor of another listing",
                ));
            }
        };
        Ok(Self {
            filter,
            first,
            after,
        })
    }
}

/// Checks a requested page size: 0 to [`MAX_PAGE`], `default` when absent.
pub fn page_size(first: Option<i32>, default: u64) -> Result<u64> {
    match first {
        None => Ok(default),
        Some(n) if (0..=MAX_PAGE as i32).contains(&n) => Ok(n as u64),
        Some(n) => Err(AppError::bad_input(format!(
            "`first` must be between 0 and {MAX_PAGE}, not {n}"
        ))),
    }
}

impl ArticleFilter {
    /// Whether the listing holds published articles only, and so sorts by publication time
    /// (the indexed path); other listings sort drafts by creation time among the rest.
    fn published_only(&self) -> bool {
        self.visibility == Visibility::Published || self.status == Some(ArticleStatus::Published)
    }

    /// The sort key of `a` in this listing, as its cursor carries it.
    pub fn sort_time(&self, a: &article::Model) -> DateTime<Utc> {
        match a.published_at {
            Some(t) => t,
            None if self.published_only() => DateTime::<Utc>::MIN_UTC,
            None => a.created_at,
        }
    }

    fn sort_expr(&self) -> SimpleExpr {
        if self.published_only() {
            col(article::Column::PublishedAt).into()
        } else {
            Func::coalesce([
                col(article::Column::PublishedAt).into(),
                col(article::Column::CreatedAt).into(),
            ])
            .into()
        }
    }
}

/// The article with this slug, whatever its status: callers decide whether it is visible
/// ([`crate::domain::access::read_article`]).
pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<article::Model>> {
    // No stored slug is invalid, so an invalid one (NUL bytes, 10 kB, SQL) is not looked up.
    if !super::slug::is_valid(slug) {
        return Ok(None);
    }
    find_one(db, article::Entity::find().filter(article::Column::Slug.eq(slug))).await
}

/// The article with this id, whatever its status (see [`find_by_slug`]).
pub async fn find_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<article::Model>> {
    find_one(db, article::Entity::find_by_id(id)).await
}

/// The one article `select` finds, read through [`article_row`].
async fn find_one(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<article::Entity>,
) -> Result<Option<article::Model>> {
    let stmt = sea_orm::QueryTrait::build(&select.limit(1), db.get_database_backend());
    match db.query_one(stmt).await? {
        Some(row) => article_row(&row),
        None => Ok(None),
    }
}

/// An article row as its model; `None`, with a warning in the log, when the row's stored
/// status is not one this gazette knows (written by a newer version, or by hand). Such an
/// article is not visible to anyone, and a listing that meets it skips it instead of failing.
pub(crate) fn article_row(row: &QueryResult) -> Result<Option<article::Model>> {
    match article::Model::from_query_result(row, "") {
        Ok(a) => Ok(Some(a)),
        Err(e) => match row.try_get::<String>("", "status") {
            Ok(status) if super::ArticleStatus::parse(&status).is_none() => {
                let id = row.try_get::<i32>("", "id").unwrap_or_default();
                tracing::warn!(article = id, status, "skipped an article whose stored status is unknown");
                Ok(None)
            }
            _ => Err(e.into()),
        },
    }
}

fn col(c: article::Column) -> Expr {
    Expr::col((article::Entity, c))
}

fn never() -> SimpleExpr {
    Expr::cust("1 = 0")
}

/// The WHERE clause of a listing.
pub(crate) fn filter_condition(f: &ArticleFilter) -> Condition {
    condition(f, None, false)
}

/// The sections a section path covers (it and its descendants), as resolved beforehand by
/// [`section_ids`].
type SectionIds = HashMap<String, Vec<i32>>;

/// The ids of the sections each of `paths` covers: the section and its descendants, in one
/// statement. A path that names no section covers none.
async fn section_ids(db: &impl ConnectionTrait, paths: &[&str]) -> Result<SectionIds> {
    let valid: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| super::slug::is_valid_path(p))
        .collect();
    let mut out: SectionIds = paths.iter().map(|p| (p.to_string(), Vec::new())).collect();
    if valid.is_empty() {
        return Ok(out);
    }
    let mut any = Condition::any().add(section::Column::Path.is_in(valid.iter().copied()));
    for p in &valid {
        // Paths hold only [a-z0-9-/], so the LIKE pattern has no wildcards of its own.
        any = any.add(section::Column::Path.like(format!("{p}/%")));
    }
    let rows: Vec<(i32, String)> = section::Entity::find()
        .select_only()
        .column(section::Column::Id)
        .column(section::Column::Path)
        .filter(any)
        .into_tuple()
        .all(db)
        .await?;
    for p in valid {
        let below = format!("{p}/");
        let ids = out.entry(p.to_owned()).or_default();
        ids.extend(
            rows.iter()
                .filter(|(_, path)| path == p || path.starts_with(&below))
                .map(|(id, _)| *id),
        );
        ids.sort_unstable();
    }
    Ok(out)
}

/// The WHERE clause of a listing; with `sections`, a section filter is the list of ids it
/// covers rather than a subquery on paths, which PostgreSQL plans several times faster
/// and answers from the per-section index.
/// With `author_joined`, the author filter is the listing's join to the bylines instead.
fn condition(f: &ArticleFilter, sections: Option<&SectionIds>, author_joined: bool) -> Condition {
    let mut cond = Condition::all();
    let published = || col(article::Column::Status).eq(ArticleStatus::Published.as_str());
    match &f.visibility {
        Visibility::Published => cond = cond.add(published()),
        Visibility::PublishedOrOwn(sub) => {
            cond = cond.add(
                Condition::any()
                    .add(published())
                    .add(col(article::Column::Id).in_subquery(owned_articles_subquery(sub))),
            );
        }
        Visibility::Everything => {}
    }
    if let Some(status) = f.status {
        cond = cond.add(col(article::Column::Status).eq(status.as_str()));
    }
    if let Some(path) = &f.section {
        let resolved = sections.and_then(|s| s.get(path.as_str()));
        cond = cond.add(if let Some(ids) = resolved {
            match ids.as_slice() {
                [] => never(),
                [id] => col(article::Column::SectionId).eq(*id),
                ids => col(article::Column::SectionId).is_in(ids.iter().copied()),
            }
        } else if super::slug::is_valid_path(path) {
            // Paths hold only [a-z0-9-/], so the LIKE pattern has no wildcards of its own.
            col(article::Column::SectionId).in_subquery(
                Query::select()
                    .column(section::Column::Id)
                    .from(section::Entity)
                    .cond_where(
                        Condition::any()
                            .add(Expr::col(section::Column::Path).eq(path.as_str()))
                            .add(Expr::col(section::Column::Path).like(format!("{path}/%"))),
                    )
                    .to_owned(),
            )
        } else {
            never()
        });
    }
    if let Some(a) = f.author.as_ref().filter(|_| !author_joined) {
        let mut sub = Query::select();
        sub.column((article_author::Entity, article_author::Column::ArticleId))
            .from(article_author::Entity);
        match a {
            AuthorRef::Id(id) => {
                sub.and_where(Expr::col(article_author::Column::AuthorId).eq(*id));
            }
            AuthorRef::Slug(slug) if !super::slug::is_valid(slug) => {
                sub.and_where(never());
            }
            AuthorRef::Slug(slug) => {
                sub.inner_join(
                    author::Entity,
                    Expr::col((author::Entity, author::Column::Id))
                        .equals((article_author::Entity, article_author::Column::AuthorId)),
                )
                .and_where(Expr::col((author::Entity, author::Column::Slug)).eq(slug.as_str()));
            }
        }
        cond = cond.add(col(article::Column::Id).in_subquery(sub));
    }
    for t in &f.tags {
        cond = cond.add(col(article::Column::Id).in_subquery(tagged_with(std::slice::from_ref(t))));
    }
    if !f.any_tags.is_empty() {
        cond = cond.add(col(article::Column::Id).in_subquery(tagged_with(&f.any_tags)));
    }
    if let Some(t) = f.published_after {
        cond = cond.add(col(article::Column::PublishedAt).gt(t));
    }
    if let Some(t) = f.published_before {
        cond = cond.add(col(article::Column::PublishedAt).lt(t));
    }
    cond
}

/// The ids of articles carrying any of `tags`.
fn tagged_with(tags: &[TagRef]) -> SelectStatement {
    let mut sub = Query::select();
    sub.column((article_tag::Entity, article_tag::Column::ArticleId))
        .from(article_tag::Entity);
    let ids: Vec<i32> = tags
        .iter()
        .filter_map(|t| match t {
            TagRef::Id(id) => Some(*id),
            TagRef::Slug(_) => None,
        })
        .collect();
    // No stored slug is invalid, so an invalid one matches nothing and is never sent.
    let slugs: Vec<&str> = tags
        .iter()
        .filter_map(|t| match t {
            TagRef::Slug(s) if super::slug::is_valid(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    let mut any = Condition::any();
    if !ids.is_empty() {
        any = any.add(Expr::col((article_tag::Entity, article_tag::Column::TagId)).is_in(ids));
    }
    if !slugs.is_empty() {
        any = any.add(
            Expr::col((article_tag::Entity, article_tag::Column::TagId)).in_subquery(
                Query::select()
                    .column(tag::Column::Id)
                    .from(tag::Entity)
                    .and_where(Expr::col(tag::Column::Slug).is_in(slugs))
                    .to_owned(),
            ),
        );
    }
    if any.is_empty() {
        sub.and_where(never());
    } else {
        sub.cond_where(any);
    }
    sub
}

/// JSON `null` in the place of a body: listings leave bodies out (see [`pages`]).
fn no_body(backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust("'null'::jsonb"),
        _ => Expr::cust("'null'"),
    }
}

/// Whether `a` was read without its body (a listing's row); [`bodies`] fetches it.
pub fn lacks_body(a: &article::Model) -> bool {
    a.body.is_null()
}

/// Most sections of a subtree whose listing is read section by section (see
/// [`page_select`]); a larger subtree is read in one pass over all of its sections.
const MAX_SPLIT_SECTIONS: usize = 64;

/// The SELECT of one keyed page (`k` is its key in [`keyed`]).
///
/// A published listing of a section with descendants reads each section's newest rows
/// from the (section, status, time) index and merges them: `LIMIT first + 1` per section,
/// then once more over the merge. One pass over `section_id IN (...)` would instead read
/// every published article of the subtree and sort them all (the front page read the
/// whole archive, ten times), since neither database merges an index's order across the
/// values of an IN list.
fn page_select(
    req: &PageRequest,
    k: usize,
    backend: DbBackend,
    sections: &SectionIds,
) -> SelectStatement {
    let split = match (&req.filter.section, &req.filter.author) {
        (Some(path), None) if req.filter.published_only() => sections
            .get(path.as_str())
            .filter(|ids| (2..=MAX_SPLIT_SECTIONS).contains(&ids.len()))
            .map(|ids| (path, ids)),
        _ => None,
    };
    let Some((path, ids)) = split else {
        return page_select_one(req, k, backend, sections);
    };
    let parts = ids.iter().enumerate().map(|(j, id)| {
        let one: SectionIds = [(path.clone(), vec![*id])].into();
        wrapped(page_select_one(req, k, backend, &one), &format!("s{j}"))
    });
    let Some(merged) = union_of(parts) else {
        return page_select_one(req, k, backend, sections);
    };
    let mut q = wrapped(merged, "subtree");
    q.order_by(article::Column::PublishedAt, Order::Desc)
        .order_by(article::Column::Id, Order::Desc)
        .limit(req.first + 1);
    q
}

/// `SELECT * FROM (inner) AS alias`. (Built in place: a builder chain ending in
/// `.to_owned()` would copy the whole statement, subqueries and all.)
fn wrapped(inner: SelectStatement, alias: &str) -> SelectStatement {
    let mut q = Query::select();
    q.column(Asterisk).from_subquery(inner, Alias::new(alias));
    q
}

fn page_select_one(
    req: &PageRequest,
    k: usize,
    backend: DbBackend,
    sections: &SectionIds,
) -> SelectStatement {
    let mut q = Query::select();
    q.expr_as(Expr::cust(k.to_string()), Alias::new("k"));
    // Every column but the body, which is most of a row's bytes and which no listing
    // shows: reading, decoding and copying it made up most of a listing's cost.
    for c in article::Column::iter() {
        if matches!(c, article::Column::Body) {
            q.expr_as(no_body(backend), Alias::new("body"));
        } else {
            q.column((article::Entity, c));
        }
    }
    q.from(article::Entity);
    // An author's published stories are read from the bylines' index by time (see
    // `index_bylines`), newest first, rather than by walking every newer article.
    let by_author = match &req.filter.author {
        Some(AuthorRef::Id(id)) if req.filter.published_only() => Some(*id),
        _ => None,
    };
    let byline = |c: article_author::Column| Expr::col((article_author::Entity, c));
    let (sort, tie): (SimpleExpr, SimpleExpr) = match by_author {
        Some(author) => {
            q.inner_join(
                article_author::Entity,
                Condition::all()
                    .add(
                        byline(article_author::Column::ArticleId)
                            .equals((article::Entity, article::Column::Id)),
                    )
                    .add(byline(article_author::Column::AuthorId).eq(author)),
            )
            .and_where(byline(article_author::Column::PublishedAt).is_not_null());
            (
                byline(article_author::Column::PublishedAt).into(),
                byline(article_author::Column::ArticleId).into(),
            )
        }
        None => (req.filter.sort_expr(), col(article::Column::Id).into()),
    };
    q.cond_where(condition(&req.filter, Some(sections), by_author.is_some()));
    if let Some((at, id)) = req.after {
        q.cond_where(
            Condition::any().add(Expr::expr(sort.clone()).lt(at)).add(
                Condition::all()
                    .add(Expr::expr(sort.clone()).eq(at))
                    .add(Expr::expr(tie.clone()).lt(id)),
            ),
        );
    }
    q.order_by_expr(sort, Order::Desc)
        .order_by_expr(tie, Order::Desc)
        .limit(req.first + 1);
    q
}

/// Runs one keyed SELECT per request (`select(request, k)`, with a leading `k` column) as
/// one UNION ALL statement, and gives each request its rows (`decode`d), in the order asked.
///
/// The parts go in a sorted order ([`statement_order`]), so the same requests make the same
/// SQL text whatever order a DataLoader handed them in (its batches come in hash order):
/// the database reuses the prepared statement and its plan instead of parsing and planning
/// a new text for every request, and a connection's statement cache is not flooded with
/// permutations of one listing.
pub(crate) async fn keyed<R: std::fmt::Debug, T>(
    db: &impl ConnectionTrait,
    reqs: &[R],
    select: impl Fn(&R, usize) -> SelectStatement,
    decode: impl Fn(&QueryResult) -> Result<Option<T>>,
) -> Result<Vec<Vec<T>>> {
    let order = statement_order(reqs);
    // Each part is wrapped so its own ORDER BY and LIMIT stay legal on SQLite.
    let parts = order
        .iter()
        .enumerate()
        .map(|(k, &i)| wrapped(select(&reqs[i], k), &format!("p{k}")));
    let mut out: Vec<Vec<T>> = (0..reqs.len()).map(|_| Vec::new()).collect();
    let Some(all) = union_of(parts) else {
        return Ok(out);
    };
    let stmt = inline_limits(db.get_database_backend().build(&all));
    for row in db.query_all(stmt).await? {
        let k: i32 = row.try_get("", "k")?;
        let asked = usize::try_from(k).ok().and_then(|k| order.get(k));
        if let Some(slot) = asked.and_then(|&i| out.get_mut(i))
            && let Some(item) = decode(&row)?
        {
            slot.push(item);
        }
    }
    Ok(out)
}

/// The parts as one UNION ALL; `None` for none.
fn union_of(mut parts: impl Iterator<Item = SelectStatement>) -> Option<SelectStatement> {
    let mut all = parts.next()?;
    for part in parts {
        all.union(UnionType::All, part);
    }
    Some(all)
}

/// The order of a batch's requests in its statement: sorted by their description, which
/// fixes the statement's text for a given set of requests.
fn statement_order<T: std::fmt::Debug>(reqs: &[T]) -> Vec<usize> {
    let keys: Vec<String> = reqs.iter().map(|r| format!("{r:?}")).collect();
    let mut order: Vec<usize> = (0..reqs.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

/// A row of a keyed statement as `T`.
pub(crate) fn model<T: FromQueryResult>(row: &QueryResult) -> Result<Option<T>> {
    Ok(Some(T::from_query_result(row, "")?))
}

/// On PostgreSQL, writes a statement's page sizes (its `LIMIT`s, the only unsigned 64-bit
/// values these statements bind) into its text instead of binding them.
///
/// PostgreSQL plans a prepared statement for each execution until a generic plan looks no
/// dearer than the custom ones; with `LIMIT $n` it prices the generic plan as if a tenth
/// of the table were read, so it never switches, and planning a front page's 24 index reads
/// took ~3 ms of its ~3.5. With the limits written in it settles on one generic plan per
/// connection after five executions (0.3 ms in all). A page size takes one of few values
/// (1-101), so the statement cache holds few texts per shape.
fn inline_limits(mut stmt: Statement) -> Statement {
    if stmt.db_backend != DbBackend::Postgres {
        return stmt;
    }
    let Some(Values(values)) = stmt.values.take() else {
        return stmt;
    };
    // Per placeholder: its new number, or the literal that replaces it.
    let mut kept = Vec::with_capacity(values.len());
    let mut map: Vec<std::result::Result<usize, u64>> = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Value::BigUnsigned(Some(n)) => map.push(Err(n)),
            other => {
                kept.push(other);
                map.push(Ok(kept.len()));
            }
        }
    }
    stmt.values = Some(Values(kept));
    if map.iter().all(std::result::Result::is_ok) {
        return stmt;
    }
    let sql = &stmt.sql;
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    // Inside a string literal or a quoted name, `$1` is text.
    let (mut copied, mut i, mut quote) = (0, 0, None::<u8>);
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') if quote.is_none_or(|open| open == q) => {
                quote = if quote.is_some() { None } else { Some(q) };
            }
            b'$' if quote.is_none() => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let slot = sql[i + 1..i + 1 + digits]
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| map.get(n.wrapping_sub(1)));
                if let Some(slot) = slot {
                    out.push_str(&sql[copied..i]);
                    match slot {
                        Ok(n) => out.push_str(&format!("${n}")),
                        Err(literal) => out.push_str(&literal.to_string()),
                    }
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    stmt.sql = out;
    stmt
}

/// Loads many pages in one statement, in the order asked. Sections' subtrees and authors
/// named by slug come from the directory (when it is bypassed, a section subtree costs one
/// statement more and an author slug is matched in the listing's own statement). The
/// articles come without their bodies (JSON `null`, see [`lacks_body`]); [`bodies`] reads
/// those that are shown.
pub async fn pages(
    db: &sea_orm::DatabaseConnection,
    directory: &super::directory::Directory,
    reqs: &[PageRequest],
) -> Result<Vec<Page<article::Model>>> {
    let snapshot = directory.snapshot(db).await;
    // An author named by slug is read by id, through the bylines' index by time.
    let mut resolved: Vec<PageRequest> = Vec::new();
    let reqs = match &snapshot {
        Some(s)
            if reqs
                .iter()
                .any(|r| matches!(r.filter.author, Some(AuthorRef::Slug(_)))) =>
        {
            for r in reqs {
                let mut r = r.clone();
                if let Some(AuthorRef::Slug(slug)) = &r.filter.author
                    && let Some(a) = s.author_by_slug(slug)
                {
                    r.filter.author = Some(AuthorRef::Id(a.id));
                }
                resolved.push(r);
            }
            resolved.as_slice()
        }
        _ => reqs,
    };
    let paths = section_paths(reqs);
    let sections = match (&snapshot, paths.is_empty()) {
        (_, true) => SectionIds::new(),
        (Some(s), false) => paths
            .iter()
            .map(|p| (p.to_string(), s.subtree(p)))
            .collect(),
        (None, false) => section_ids(db, &paths).await?,
    };
    let backend = db.get_database_backend();
    let select = |r: &PageRequest, k| page_select(r, k, backend, &sections);
    let grouped = keyed(db, reqs, select, article_row).await?;
    Ok(paginate(grouped, reqs.iter().map(|r| r.first)))
}

/// The distinct section paths the listings are narrowed to.
fn section_paths(reqs: &[PageRequest]) -> Vec<&str> {
    let mut paths: Vec<&str> = reqs
        .iter()
        .filter_map(|r| r.filter.section.as_deref())
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// The bodies of these articles, by id, in one statement.
pub async fn bodies(db: &impl ConnectionTrait, ids: &[i32]) -> Result<HashMap<i32, Json>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, Json)> = article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .column(article::Column::Body)
        .filter(article::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Turns rows fetched with one extra per page (`LIMIT first + 1`) into pages that know
/// whether another follows.
pub(crate) fn paginate<T>(grouped: Vec<Vec<T>>, firsts: impl Iterator<Item = u64>) -> Vec<Page<T>> {
    grouped
        .into_iter()
        .zip(firsts)
        .map(|(mut items, first)| {
            let has_next = items.len() as u64 > first;
            items.truncate(first as usize);
            Page { items, has_next }
        })
        .collect()
}

/// Counts many listings in one statement, in the order asked.
pub async fn counts(db: &impl ConnectionTrait, filters: &[ArticleFilter]) -> Result<Vec<i64>> {
    let select = |f: &ArticleFilter, k: usize| {
        let mut q = Query::select();
        q.expr_as(Expr::cust(k.to_string()), Alias::new("k"))
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from(article::Entity)
            .cond_where(filter_condition(f));
        q
    };
    let n = |row: &QueryResult| Ok(Some(row.try_get::<i64>("", "n")?));
    let counted = keyed(db, filters, select, n).await?;
    Ok(counted
        .into_iter()
        .map(|n| n.first().copied().unwrap_or(0))
        .collect())
}

/// The author ids of each article's byline and its tag ids, in order, in one statement
/// (the rows themselves come from [`crate::domain::directory`]).
pub async fn relation_ids(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<HashMap<i32, super::directory::RelationIds>> {
    let mut out: HashMap<i32, super::directory::RelationIds> = HashMap::new();
    if article_ids.is_empty() {
        return Ok(out);
    }
    let mut q = super::sql::Sql::new(
        db.get_database_backend(),
        "SELECT 0 AS kind, article_id, author_id AS id, position FROM article_authors WHERE article_id IN ",
    );
    q.list(article_ids).push(
        " UNION ALL SELECT 1, article_id, tag_id, position FROM article_tags WHERE article_id IN ",
    );
    q.list(article_ids).push(" ORDER BY 1, 2, 4");
    for row in db.query_all(q.build()).await? {
        let kind: i32 = row.try_get_by_index(0)?;
        let article: i32 = row.try_get_by_index(1)?;
        let id: i32 = row.try_get_by_index(2)?;
        let entry = out.entry(article).or_default();
        if kind == 0 {
            entry.authors.push(id);
        } else {
            entry.tags.push(id);
        }
    }
    Ok(out)
}

/// Copies each article's publication time onto its bylines while it is published (NULL
/// otherwise), which is what an author's listing reads through its index. Every write that
/// changes bylines, status or publication time calls this, in its transaction.
pub(crate) async fn index_bylines(db: &impl ConnectionTrait, article_ids: &[i32]) -> Result<()> {
    for ids in article_ids.chunks(1000) {
        let mut q = super::sql::Sql::new(
            db.get_database_backend(),
            "UPDATE article_authors SET published_at = (
                SELECT CASE WHEN articles.status = ",
        );
        q.bind(ArticleStatus::Published.as_str()).push(
            " THEN articles.published_at END
                FROM articles WHERE articles.id = article_authors.article_id)
             WHERE article_id IN ",
        );
        q.list(ids);
        db.execute(q.build()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DbBackend, Statement, Value, Values, inline_limits, statement_order};

    #[test]
    fn a_batch_makes_one_statement_order_whatever_order_it_came_in() {
        let asked = ["world", "business", "sport", "business/markets"];
        let shuffled = ["sport", "business/markets", "world", "business"];
        let sorted = |reqs: &[&str]| -> Vec<String> {
            statement_order(reqs)
                .iter()
                .map(|&i| reqs[i].to_owned())
                .collect()
        };
        assert_eq!(
            sorted(&asked),
            sorted(&shuffled),
            "the same text either way"
        );
    }

    fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(backend, sql, values)
    }

    #[test]
    fn limits_are_written_into_postgres_statements_and_the_rest_renumbered() {
        let s = inline_limits(stmt(
            DbBackend::Postgres,
            "SELECT '$1' AS \"a$2\", x FROM t WHERE a = $1 AND b = $3 LIMIT $2 UNION ALL SELECT 'it''s $4', x FROM t WHERE c = $4 LIMIT $5",
            vec![
                Value::from("PUBLISHED"),
                Value::BigUnsigned(Some(6)),
                Value::Int(Some(3)),
                Value::Int(Some(4)),
                Value::BigUnsigned(Some(21)),
            ],
        ));
        assert_eq!(
            s.sql,
            "SELECT '$1' AS \"a$2\", x FROM t WHERE a = $1 AND b = $2 LIMIT 6 UNION ALL SELECT 'it''s $4', x FROM t WHERE c = $3 LIMIT 21"
        );
        assert_eq!(
            s.values,
            Some(Values(vec![
                Value::from("PUBLISHED"),
                Value::Int(Some(3)),
                Value::Int(Some(4))
            ]))
        );
    }

    #[test]
    fn statements_without_limits_and_sqlite_statements_are_unchanged() {
        let sql = "SELECT x FROM t WHERE a = $1 AND b = $2";
        let s = inline_limits(stmt(
            DbBackend::Postgres,
            sql,
            vec![Value::Int(Some(1)), Value::Int(Some(2))],
        ));
        assert_eq!(s.sql, sql);
        assert_eq!(
            s.values,
            Some(Values(vec![Value::Int(Some(1)), Value::Int(Some(2))]))
        );
        let s = inline_limits(stmt(
            DbBackend::Sqlite,
            "SELECT x FROM t WHERE a = ? LIMIT ?",
            vec![Value::Int(Some(1)), Value::BigUnsigned(Some(6))],
        ));
        assert_eq!(s.sql, "SELECT x FROM t WHERE a = ? LIMIT ?");
        assert_eq!(s.values.map(|v| v.0.len()), Some(2));
    }
}
