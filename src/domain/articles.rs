//! Reading articles: one by slug or id, and pages of listings, batched so that any number
//! of listings in one GraphQL request (a front page of ten sections) costs one statement.
//!
//! A listing always carries the statuses the caller may see (an [`ArticleFilter`] holds the
//! caller's [`crate::domain::access::Visibility`]) and [`crate::domain::filter`] is the one
//! place that turns it into SQL; whether one article may be read is
//! [`crate::domain::access::read_article`]. Every article row is read through
//! `article_row`, so a row of an unknown stored status is skipped, never fatal.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Condition, Expr, Order, Query, SelectStatement, SimpleExpr};
use std::collections::HashMap;

use sea_orm::prelude::Json;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _, FromQueryResult, Iterable as _,
    QueryFilter as _, QueryResult, QuerySelect as _,
};

use super::batched::{Page, keyed, paginate, union_of, wrapped};
use super::cursor::{Cursor, micros_to_time};
use super::filter::{
    ArticleFilter, AuthorRef, SectionIds, col, condition, filter_condition, section_ids,
};
use crate::entities::{article, article_author};
use crate::error::{AppError, Result};

/// Largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// One page of one listing: newest first, `first` items after the cursor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub filter: ArticleFilter,
    pub first: u64,
    pub after: Option<(DateTime<Utc>, i32)>,
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

/// The article with this slug, whatever its status: callers decide whether it is visible
/// ([`crate::domain::access::read_article`]).
pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<article::Model>> {
    // No stored slug is invalid, so an invalid one (NUL bytes, 10 kB, SQL) is not looked up.
    if !super::slug::is_valid(slug) {
        return Ok(None);
    }
    find_one(
        db,
        article::Entity::find().filter(article::Column::Slug.eq(slug)),
    )
    .await
}

/// The article with this id, whatever its status (see [`find_by_slug`]).
pub async fn find_by_id(db: &impl ConnectionTrait, id: i32) -> Result<Option<article::Model>> {
    find_one(db, article::Entity::find_by_id(id)).await
}

/// Every article `select` finds, read through `article_row` (rows of an unknown stored
/// status are skipped).
pub async fn find_all(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<article::Entity>,
) -> Result<Vec<article::Model>> {
    let stmt = sea_orm::QueryTrait::build(&select, db.get_database_backend());
    let mut out = Vec::new();
    for row in db.query_all(stmt).await? {
        out.extend(article_row(&row)?);
    }
    Ok(out)
}

/// [`find_all`] without the bodies (JSON `null` in their place, see [`lacks_body`]): for
/// readers that take bodies rendered (`domain::rendered`) or not at all.
pub async fn find_all_without_body(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<article::Entity>,
) -> Result<Vec<article::Model>> {
    let backend = db.get_database_backend();
    let mut select = select.select_only();
    for c in article::Column::iter() {
        select = if matches!(c, article::Column::Body) {
            select.column_as(no_body(backend), "body")
        } else {
            select.column(c)
        };
    }
    find_all(db, select).await
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
                tracing::warn!(
                    article = id,
                    status,
                    "skipped an article whose stored status is unknown"
                );
                Ok(None)
            }
            _ => Err(e.into()),
        },
    }
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
    // An author's public stories are read from the bylines' index by time (see
    // `index_bylines`), newest first, rather than by walking every newer article. The index
    // holds public ones only, so callers who also see embargoed ones take the general path.
    let by_author = match &req.filter.author {
        Some(AuthorRef::Id(id))
            if req.filter.published_only()
                && req.filter.visibility == crate::domain::access::Visibility::Published =>
        {
            Some(*id)
        }
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

/// The bodies of these articles as blocks, by id, in one statement: read as JSON text and
/// parsed straight into blocks (a listing's feed shows every body, and building each one as
/// a JSON value first was a large part of its cost). A body that does not parse is skipped
/// with a warning (every write stores valid blocks).
pub async fn body_blocks(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<super::blocks::Block>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let text = match db.get_database_backend() {
        DbBackend::Postgres => Expr::cust("body::text"),
        _ => Expr::cust("body"),
    };
    let mut q = Query::select();
    q.column(article::Column::Id)
        .expr_as(text, Alias::new("body"))
        .from(article::Entity)
        .and_where(Expr::col(article::Column::Id).is_in(ids.iter().copied()));
    let rows = db.query_all(db.get_database_backend().build(&q)).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: i32 = row.try_get("", "id")?;
        let text: String = row.try_get("", "body")?;
        match serde_json::from_str(&text) {
            Ok(blocks) => {
                out.insert(id, blocks);
            }
            Err(e) => {
                tracing::warn!(article = id, error = %e, "skipped a body that does not parse")
            }
        }
    }
    Ok(out)
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
    let backend = db.get_database_backend();
    let sqlite = backend == DbBackend::Sqlite;
    // On SQLite the rows come back as one text of `kind,article,id,position;` quads: sqlx
    // moves each row from SQLite's worker thread to the awaiting task, and for the few
    // hundred bylines and tags of a page those hand-offs cost more than the query.
    let mut q = super::sql::Sql::new(
        backend,
        if sqlite {
            "SELECT group_concat(kind || ',' || article_id || ',' || id || ',' || position, ';') \
             FROM (SELECT 0 AS kind, article_id, author_id AS id, position FROM article_authors \
             WHERE article_id IN "
        } else {
            "SELECT 0 AS kind, article_id, author_id AS id, position FROM article_authors WHERE article_id IN "
        },
    );
    q.list(article_ids).push(
        " UNION ALL SELECT 1, article_id, tag_id, position FROM article_tags WHERE article_id IN ",
    );
    q.list(article_ids);
    let mut quads: Vec<[i32; 4]> = Vec::new();
    if sqlite {
        q.push(")");
        let text: Option<String> = match db.query_one(q.build()).await? {
            Some(row) => row.try_get_by_index(0)?,
            None => None,
        };
        for quad in text
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter(|q| !q.is_empty())
        {
            let mut n = [0i32; 4];
            let mut parts = quad.split(',');
            for slot in &mut n {
                *slot = parts.next().and_then(|p| p.parse().ok()).ok_or_else(|| {
                    AppError::internal(format!("a byline or tagging read as {quad:?}"))
                })?;
            }
            quads.push(n);
        }
        quads.sort_unstable_by_key(|&[kind, article, _, position]| (kind, article, position));
    } else {
        q.push(" ORDER BY 1, 2, 4");
        for row in db.query_all(q.build()).await? {
            quads.push([
                row.try_get_by_index(0)?,
                row.try_get_by_index(1)?,
                row.try_get_by_index(2)?,
                0,
            ]);
        }
    }
    for [kind, article, id, _] in quads {
        let entry = out.entry(article).or_default();
        if kind == 0 {
            entry.authors.push(id);
        } else {
            entry.tags.push(id);
        }
    }
    Ok(out)
}
