//! Reading authors: by slug, alphabetical pages, and the ordered bylines of articles.

use super::invalidation::Key;
use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Condition, Expr, Order, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, FromQueryResult as _, PaginatorTrait as _,
    QueryFilter as _,
};

use super::articles::page_size;
use super::batched::Page;
use super::cursor::Cursor;
use super::stream::Event;
use crate::entities::change_log::EntityKind;
use crate::entities::{article_author, author};
use crate::error::{AppError, Result};

/// The author with this slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<author::Model>> {
    if !super::slug::is_valid(slug) {
        return Ok(None);
    }
    Ok(author::Entity::find()
        .filter(author::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// Authors in alphabetical order, `first` after the cursor.
pub async fn page(
    db: &impl ConnectionTrait,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<Page<author::Model>> {
    let first = page_size(first, 20)?;
    let mut q = Query::select();
    q.column(sea_orm::sea_query::Asterisk).from(author::Entity);
    match after.map(Cursor::decode).transpose()? {
        None => {}
        Some(Cursor::Name(name, id)) => {
            q.cond_where(
                Condition::any()
                    .add(Expr::col(author::Column::Name).gt(name.as_str()))
                    .add(
                        Condition::all()
                            .add(Expr::col(author::Column::Name).eq(name.as_str()))
                            .add(Expr::col(author::Column::Id).gt(id)),
                    ),
            );
        }
        Some(_) => {
            return Err(AppError::bad_input(
                "`after` is a cursor of another listing",
            ));
        }
    }
    q.order_by(author::Column::Name, Order::Asc)
        .order_by(author::Column::Id, Order::Asc)
        .limit(first + 1);
    let rows = db.query_all(db.get_database_backend().build(&q)).await?;
    let mut items = rows
        .iter()
        .map(|r| author::Model::from_query_result(r, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let has_next = items.len() as u64 > first;
    items.truncate(first as usize);
    Ok(Page { items, has_next })
}

/// How many authors there are.
pub async fn count(db: &impl ConnectionTrait) -> Result<i64> {
    Ok(author::Entity::find().count(db).await? as i64)
}

/// The byline of each article, in byline order.
pub async fn bylines(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<HashMap<i32, Vec<author::Model>>> {
    let q = Query::select()
        .expr_as(
            Expr::col((article_author::Entity, article_author::Column::ArticleId)),
            Alias::new("k"),
        )
        .column((author::Entity, sea_orm::sea_query::Asterisk))
        .from(article_author::Entity)
        .inner_join(
            author::Entity,
            Expr::col((author::Entity, author::Column::Id))
                .equals((article_author::Entity, article_author::Column::AuthorId)),
        )
        .and_where(
            Expr::col((article_author::Entity, article_author::Column::ArticleId))
                .is_in(article_ids.iter().copied()),
        )
        .order_by(
            (article_author::Entity, article_author::Column::Position),
            Order::Asc,
        )
        .to_owned();
    let mut out: HashMap<i32, Vec<author::Model>> = HashMap::new();
    for row in db.query_all(db.get_database_backend().build(&q)).await? {
        let k: i32 = row.try_get("", "k")?;
        out.entry(k)
            .or_default()
            .push(author::Model::from_query_result(&row, "")?);
    }
    Ok(out)
}

/// A new author, or every field of an update (`None` leaves a field as it is; an empty
/// string clears an optional one).
#[derive(Clone, Debug, Default)]
pub struct AuthorFields {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub subject: Option<String>,
}

fn optional(field: &str, v: String, max: usize) -> Result<Option<String>> {
    let v = super::content::plain_text(field, &v, max)?;
    Ok(Some(v).filter(|v| !v.is_empty()))
}

fn avatar(v: String) -> Result<Option<String>> {
    let v = v.trim().to_owned();
    if v.is_empty() {
        return Ok(None);
    }
    if !super::html::is_web_url(&v) {
        return Err(AppError::bad_input(
            "avatarUrl must be an absolute http(s) URL",
        ));
    }
    Ok(Some(v))
}

/// Creates an author (editors).
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    caller: &super::access::Caller,
    f: AuthorFields,
) -> Result<author::Model> {
    use sea_orm::ActiveValue::{NotSet, Set};
    if let Some(id) = super::idempotency::replayed("author")? {
        return by_id(db, id).await;
    }
    caller.require(super::access::Role::Editor, "managing authors")?;
    let name = optional("name", f.name.unwrap_or_default(), 200)?
        .ok_or_else(|| AppError::bad_input("name is empty"))?;
    let slug = f.slug.unwrap_or_else(|| super::slug::slugify(&name));
    super::slug::check(&slug)?;
    let at = super::now();
    let row = author::ActiveModel {
        id: NotSet,
        slug: Set(slug),
        name: Set(name),
        title: Set(f
            .title
            .map(|t| optional("title", t, 200))
            .transpose()?
            .flatten()),
        bio: Set(f
            .bio
            .map(|t| optional("bio", t, 5000))
            .transpose()?
            .flatten()),
        avatar_url: Set(f.avatar_url.map(avatar).transpose()?.flatten()),
        subject: Set(f
            .subject
            .map(|t| optional("subject", t, 256))
            .transpose()?
            .flatten()),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let row = &row;
    super::transaction::write(db, move |txn| async move {
        let res = author::Entity::insert(row.clone())
            .exec(&*txn)
            .await
            .map_err(|e| AppError::from_write(e, "that author slug"))?;
        // A new author is listed and found by slug (its own key tells the directory).
        let keys = [Key::Lists, Key::Author(res.last_insert_id)];
        let event = Event::new(
            EntityKind::Author,
            res.last_insert_id,
            "create",
            caller.sub(),
            keys,
        );
        super::stream::append(&*txn, vec![event]).await?;
        author::Entity::find_by_id(res.last_insert_id)
            .one(&*txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("author vanished")))
    })
    .await
}

/// The author with `id` (for a write's answer).
async fn by_id(db: &impl ConnectionTrait, id: i32) -> Result<author::Model> {
    author::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no author with id {id}")))
}

/// Updates an author (editors). Changing `subject` moves ownership of their articles at once.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    caller: &super::access::Caller,
    id: i32,
    f: AuthorFields,
) -> Result<author::Model> {
    use sea_orm::ActiveModelTrait as _;
    use sea_orm::ActiveValue::Set;
    if super::idempotency::replayed("author")?.is_some() {
        return by_id(db, id).await;
    }
    caller.require(super::access::Role::Editor, "managing authors")?;
    let current = author::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no author with id {id}")))?;
    let renamed = f.name.as_ref().is_some_and(|n| *n != current.name)
        || f.slug.as_ref().is_some_and(|s| *s != current.slug);
    let mut m: author::ActiveModel = current.into();
    if let Some(name) = f.name {
        m.name =
            Set(optional("name", name, 200)?.ok_or_else(|| AppError::bad_input("name is empty"))?);
    }
    if let Some(slug) = f.slug {
        super::slug::check(&slug)?;
        m.slug = Set(slug);
    }
    if let Some(t) = f.title {
        m.title = Set(optional("title", t, 200)?);
    }
    if let Some(t) = f.bio {
        m.bio = Set(optional("bio", t, 5000)?);
    }
    if let Some(t) = f.avatar_url {
        m.avatar_url = Set(avatar(t)?);
    }
    if let Some(t) = f.subject {
        m.subject = Set(optional("subject", t, 256)?);
    }
    m.updated_at = Set(super::now());
    // Everything that shows the author carries its key; a new name or slug also moves it in
    // the alphabetical listing and in lookups by slug.
    let mut touched = vec![Key::Author(id)];
    if renamed {
        touched.push(Key::Lists);
    }
    let (m, touched) = (&m, &touched);
    super::transaction::write(db, move |txn| async move {
        let saved = m
            .clone()
            .update(&*txn)
            .await
            .map_err(|e| AppError::from_write(e, "that author slug"))?;
        let keys = touched.iter().copied();
        let event = Event::new(EntityKind::Author, id, "update", caller.sub(), keys);
        super::stream::append(&*txn, vec![event]).await?;
        Ok(saved)
    })
    .await
}
