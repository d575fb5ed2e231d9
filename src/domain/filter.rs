//! What an article listing contains, and the one place that turns it into SQL.
//!
//! A client's filter ([`FilterInput`]: GraphQL's `ArticleFilter`, REST's query parameters)
//! is checked and narrowed to what the caller may see ([`ArticleFilter`], which always
//! carries a [`Visibility`]); `filter_condition` is its WHERE clause for every listing,
//! count and search.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, Func, Query, SelectStatement, SimpleExpr};
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QuerySelect as _,
};

use super::ArticleStatus;
use super::access::{Visibility, owned_articles_subquery};
use crate::entities::{article, article_author, article_tag, author, section, tag};
use crate::error::{AppError, Result};

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

impl ArticleFilter {
    /// Whether the listing holds published articles only, and so sorts by publication time
    /// (the indexed path); other listings sort drafts by creation time among the rest.
    pub(crate) fn published_only(&self) -> bool {
        matches!(
            self.visibility,
            Visibility::Published | Visibility::Partner { .. }
        ) || self.status == Some(ArticleStatus::Published)
    }

    /// The sort key of `a` in this listing, as its cursor carries it.
    pub fn sort_time(&self, a: &article::Model) -> DateTime<Utc> {
        match a.published_at {
            Some(t) => t,
            None if self.published_only() => DateTime::<Utc>::MIN_UTC,
            None => a.created_at,
        }
    }

    pub(crate) fn sort_expr(&self) -> SimpleExpr {
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

pub(crate) fn col(c: article::Column) -> Expr {
    Expr::col((article::Entity, c))
}

fn never() -> SimpleExpr {
    Expr::cust("1 = 0")
}

/// [`crate::domain::access::is_public`] as SQL: PUBLISHED and not under embargo.
pub(crate) fn public_condition() -> Condition {
    Condition::all()
        .add(col(article::Column::Status).eq(ArticleStatus::Published.as_str()))
        .add(col(article::Column::EmbargoUntil).is_null())
}

/// `access::partner_receives` as SQL.
fn partner_condition(section_ids: &[i32], embargoed: bool) -> Condition {
    let mut c = Condition::all()
        .add(col(article::Column::Status).eq(ArticleStatus::Published.as_str()))
        .add(col(article::Column::NotForSyndication).eq(false))
        .add(match section_ids {
            [] => never(),
            ids => col(article::Column::SectionId).is_in(ids.iter().copied()),
        });
    if !embargoed {
        c = c.add(col(article::Column::EmbargoUntil).is_null());
    }
    c
}

/// What `visibility` may read, as SQL (`access::Visibility::allows` is its Rust twin).
pub(crate) fn visibility_condition(visibility: &Visibility) -> Condition {
    let cond = Condition::all();
    match visibility {
        Visibility::Published => cond.add(public_condition()),
        Visibility::PublishedOrOwn(sub) => cond.add(
            Condition::any()
                .add(public_condition())
                .add(col(article::Column::Id).in_subquery(owned_articles_subquery(sub))),
        ),
        Visibility::Everything => cond,
        Visibility::Partner {
            section_ids,
            embargoed,
        } => cond.add(partner_condition(section_ids, *embargoed)),
    }
}

/// The WHERE clause of a listing.
pub(crate) fn filter_condition(f: &ArticleFilter) -> Condition {
    condition(f, None, false)
}

/// The sections a section path covers (it and its descendants), as resolved beforehand by
/// [`section_ids`].
pub(crate) type SectionIds = HashMap<String, Vec<i32>>;

/// The ids of the sections each of `paths` covers: the section and its descendants, in one
/// statement. A path that names no section covers none.
pub(crate) async fn section_ids(db: &impl ConnectionTrait, paths: &[&str]) -> Result<SectionIds> {
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
pub(crate) fn condition(
    f: &ArticleFilter,
    sections: Option<&SectionIds>,
    author_joined: bool,
) -> Condition {
    let mut cond = visibility_condition(&f.visibility);
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
