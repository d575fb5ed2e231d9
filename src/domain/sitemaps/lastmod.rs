//! The newest change of each group of public articles (a publication month, a section, an
//! author, a tag) and of the news window, each in one statement: what `lastmod`s are made
//! of, and how many URLs each series has.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend};

use super::{Month, NEWS_WINDOW, public};
use crate::domain::filter::{col, filter_condition};
use crate::domain::syndication::DEPARTURES;
use crate::entities::{article, article_author, article_tag, change_log};
use crate::error::Result;

/// How articles are grouped for `lastmod`s and counts.
#[derive(Clone, Copy, Debug)]
pub(super) enum Group {
    Month,
    Section,
    Author,
    Tag,
}

impl Group {
    fn expr(self, backend: DbBackend) -> SimpleExpr {
        match self {
            Self::Month => Expr::cust(match backend {
                DbBackend::Postgres => {
                    r#"to_char("articles"."published_at" AT TIME ZONE 'UTC', 'YYYY-MM')"#
                }
                _ => r#"strftime('%Y-%m', "articles"."published_at")"#,
            }),
            Self::Section => col(article::Column::SectionId).into(),
            Self::Author => {
                Expr::col((article_author::Entity, article_author::Column::AuthorId)).into()
            }
            Self::Tag => Expr::col((article_tag::Entity, article_tag::Column::TagId)).into(),
        }
    }

    fn join(self, q: &mut SelectStatement) {
        let article_id = (article::Entity, article::Column::Id);
        match self {
            Self::Month | Self::Section => {}
            Self::Author => {
                q.inner_join(
                    article_author::Entity,
                    Expr::col((article_author::Entity, article_author::Column::ArticleId))
                        .equals(article_id),
                );
            }
            Self::Tag => {
                q.inner_join(
                    article_tag::Entity,
                    Expr::col((article_tag::Entity, article_tag::Column::ArticleId))
                        .equals(article_id),
                );
            }
        }
    }
}

/// The public articles of a group.
#[derive(Clone, Copy, Debug)]
pub(super) struct Changes {
    pub(super) count: u64,
    /// The newest change of one of them.
    pub(super) latest: DateTime<Utc>,
}

fn max_time(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    a.max(b)
}

/// Per group: how many public articles, and their newest change (one statement).
pub(super) async fn changes<K>(
    db: &impl ConnectionTrait,
    group: Group,
) -> Result<HashMap<K, Changes>>
where
    K: sea_orm::TryGetable + Eq + Hash,
{
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.expr_as(group.expr(backend), Alias::new("g"))
        .expr_as(Func::count(col(article::Column::Id)), Alias::new("n"))
        .expr_as(Func::max(col(article::Column::UpdatedAt)), Alias::new("u"))
        .expr_as(
            Func::max(col(article::Column::PublishedAt)),
            Alias::new("p"),
        )
        .from(article::Entity);
    group.join(&mut q);
    q.cond_where(filter_condition(&public()))
        .add_group_by([group.expr(backend)]);
    let mut out = HashMap::new();
    for row in db.query_all(backend.build(&q)).await? {
        let Ok(g) = row.try_get::<K>("", "g") else {
            continue;
        };
        let n: i64 = row.try_get("", "n")?;
        let u: Option<DateTime<Utc>> = row.try_get("", "u")?;
        let p: Option<DateTime<Utc>> = row.try_get("", "p")?;
        if let Some(latest) = max_time(u, p) {
            out.insert(
                g,
                Changes {
                    count: u64::try_from(n).unwrap_or(0),
                    latest,
                },
            );
        }
    }
    Ok(out)
}

/// Per group: when one of its stories last left public view (unpublished, archived), as
/// the change log has it (one statement).
pub(super) async fn departures<K>(
    db: &impl ConnectionTrait,
    group: Group,
) -> Result<HashMap<K, DateTime<Utc>>>
where
    K: sea_orm::TryGetable + Eq + Hash,
{
    let backend = db.get_database_backend();
    let mut q = Query::select();
    q.expr_as(group.expr(backend), Alias::new("g"))
        .expr_as(
            Func::max(Expr::col((change_log::Entity, change_log::Column::At))),
            Alias::new("at"),
        )
        .from(change_log::Entity)
        .inner_join(
            article::Entity,
            col(article::Column::Id).equals((change_log::Entity, change_log::Column::EntityId)),
        );
    group.join(&mut q);
    q.and_where(Expr::col((change_log::Entity, change_log::Column::Entity)).eq("article"))
        .and_where(
            Expr::col((change_log::Entity, change_log::Column::Action))
                .is_in(DEPARTURES.iter().copied()),
        )
        .and_where(col(article::Column::PublishedAt).is_not_null())
        .add_group_by([group.expr(backend)]);
    let mut out = HashMap::new();
    for row in db.query_all(backend.build(&q)).await? {
        if let (Ok(g), Ok(Some(at))) = (
            row.try_get::<K>("", "g"),
            row.try_get::<Option<DateTime<Utc>>>("", "at"),
        ) {
            out.insert(g, at);
        }
    }
    Ok(out)
}

/// The months that have public articles: how many, and the newest change of each (theirs,
/// or a departure of another story of that month).
pub(super) async fn months(db: &impl ConnectionTrait) -> Result<BTreeMap<Month, Changes>> {
    let gone: HashMap<String, DateTime<Utc>> = departures(db, Group::Month).await?;
    let mut out = BTreeMap::new();
    for (m, mut c) in changes::<String>(db, Group::Month).await? {
        let Some(month) = Month::parse(&m) else {
            continue;
        };
        c.latest = c.latest.max(gone.get(&m).copied().unwrap_or(c.latest));
        out.insert(month, c);
    }
    Ok(out)
}

/// The news window at `now`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Window {
    pub(super) count: u64,
    /// The newest change of what the news sitemap shows or showed: a story's update, a
    /// story leaving by age or by departure.
    pub(super) latest: Option<DateTime<Utc>>,
    /// When its oldest story leaves.
    pub(super) fresh_until: Option<DateTime<Utc>>,
}

pub(super) async fn window(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Window> {
    let backend = db.get_database_backend();
    let cutoff = now - NEWS_WINDOW;
    let mut inside = public();
    inside.published_after = Some(cutoff);
    let mut q = Query::select();
    q.expr_as(Func::count(col(article::Column::Id)), Alias::new("n"))
        .expr_as(Func::max(col(article::Column::UpdatedAt)), Alias::new("u"))
        .expr_as(
            Func::max(col(article::Column::PublishedAt)),
            Alias::new("p"),
        )
        .expr_as(
            Func::min(col(article::Column::PublishedAt)),
            Alias::new("oldest"),
        )
        .from(article::Entity)
        .cond_where(filter_condition(&inside));
    let row = db.query_one(backend.build(&q)).await?;
    let get = |name: &str| -> Result<Option<DateTime<Utc>>> {
        Ok(match &row {
            Some(r) => r.try_get::<Option<DateTime<Utc>>>("", name)?,
            None => None,
        })
    };
    let (u, p, oldest) = (get("u")?, get("p")?, get("oldest")?);
    let count = match &row {
        Some(r) => u64::try_from(r.try_get::<i64>("", "n")?).unwrap_or(0),
        None => 0,
    };
    // The newest story that has aged out left when it turned NEWS_WINDOW old.
    let mut outside = public();
    outside.published_before = Some(cutoff + TimeDelta::microseconds(1));
    let mut q = Query::select();
    q.expr_as(
        Func::max(col(article::Column::PublishedAt)),
        Alias::new("p"),
    )
    .from(article::Entity)
    .cond_where(filter_condition(&outside));
    let aged = match db.query_one(backend.build(&q)).await? {
        Some(r) => r
            .try_get::<Option<DateTime<Utc>>>("", "p")?
            .map(|p| p + NEWS_WINDOW),
        None => None,
    };
    // Any story that left public view within the window may have been in it.
    let departed = crate::domain::syndication::last_departure(db)
        .await?
        .filter(|at| *at > cutoff);
    Ok(Window {
        count,
        latest: [u, p, aged, departed].into_iter().flatten().max(),
        fresh_until: oldest.map(|o| o + NEWS_WINDOW),
    })
}
