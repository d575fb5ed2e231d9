//! The section tree: reads (a section is addressed by its full path; its ancestors are the
//! prefixes of that path, so a breadcrumb is one lookup) and editors' writes.

use super::invalidation::Key;
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _,
};

use super::stream::Event;
use crate::entities::change_log::EntityKind;
use crate::entities::section;
use crate::error::Result;

/// The top-level sections, in navigation order.
pub async fn top_level(db: &impl ConnectionTrait) -> Result<Vec<section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::ParentId.is_null())
        .order_by_asc(section::Column::Position)
        .order_by_asc(section::Column::Name)
        .all(db)
        .await?)
}

/// Every section, parents before children.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<section::Model>> {
    Ok(section::Entity::find()
        .order_by_asc(section::Column::Path)
        .all(db)
        .await?)
}

/// The section at `path` (`world/middle-east`).
pub async fn by_path(db: &impl ConnectionTrait, path: &str) -> Result<Option<section::Model>> {
    if !super::slug::is_valid_path(path) {
        return Ok(None);
    }
    Ok(section::Entity::find()
        .filter(section::Column::Path.eq(path))
        .one(db)
        .await?)
}

/// Sections by path.
pub async fn by_paths(
    db: &impl ConnectionTrait,
    paths: &[String],
) -> Result<HashMap<String, section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::Path.is_in(paths.iter().map(String::as_str)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.path.clone(), s))
        .collect())
}

/// Sections by id.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, section::Model>> {
    Ok(section::Entity::find()
        .filter(section::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// The children of each parent, in navigation order.
pub async fn children_of(
    db: &impl ConnectionTrait,
    parent_ids: &[i32],
) -> Result<HashMap<i32, Vec<section::Model>>> {
    let rows = section::Entity::find()
        .filter(section::Column::ParentId.is_in(parent_ids.iter().copied()))
        .order_by_asc(section::Column::Position)
        .order_by_asc(section::Column::Name)
        .all(db)
        .await?;
    let mut out: HashMap<i32, Vec<section::Model>> = HashMap::new();
    for s in rows {
        if let Some(parent) = s.parent_id {
            out.entry(parent).or_default().push(s);
        }
    }
    Ok(out)
}

/// The paths from the root down to `path` itself: `a/b/c` → `a`, `a/b`, `a/b/c`.
pub fn lineage(path: &str) -> Vec<String> {
    path.match_indices('/')
        .map(|(i, _)| path[..i].to_owned())
        .chain(std::iter::once(path.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lineage_lists_root_to_leaf() {
        assert_eq!(super::lineage("world"), ["world"]);
        assert_eq!(
            super::lineage("world/middle-east/gaza"),
            ["world", "world/middle-east", "world/middle-east/gaza"]
        );
    }
}

/// A new section as a client sends it.
#[derive(Clone, Debug, Default)]
pub struct NewSection {
    pub name: String,
    pub slug: Option<String>,
    /// The parent's path.
    pub parent: Option<String>,
    pub description: Option<String>,
}

/// Changes to a section; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SectionPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
}

fn section_name(name: &str) -> Result<String> {
    let name = super::content::plain_text("name", name, 200)?;
    if name.is_empty() {
        return Err(crate::error::AppError::bad_input("name is empty"));
    }
    Ok(name)
}

fn description(d: Option<String>) -> Result<Option<String>> {
    d.map(|d| super::content::plain_text("description", &d, 2000))
        .transpose()
        .map(|d| d.filter(|d| !d.is_empty()))
}

/// Creates a section (editors). Its path is the parent's path plus its slug.
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    caller: &super::access::Caller,
    input: NewSection,
) -> Result<section::Model> {
    use sea_orm::ActiveValue::{NotSet, Set};

    use crate::error::AppError;
    if let Some(id) = super::idempotency::replayed("section")? {
        return by_id(db, id).await;
    }
    caller.require(super::access::Role::Editor, "managing sections")?;
    let name = section_name(&input.name)?;
    let slug = input.slug.unwrap_or_else(|| super::slug::slugify(&name));
    super::slug::check(&slug)?;
    let parent = match input.parent {
        None => None,
        Some(p) => Some(
            by_path(db, &p)
                .await?
                .ok_or_else(|| AppError::bad_input(format!("parent: {p:?} is not a section")))?,
        ),
    };
    let path = match &parent {
        Some(p) => format!("{}/{slug}", p.path),
        None => slug.clone(),
    };
    let siblings = section::Entity::find()
        .filter(match &parent {
            Some(p) => section::Column::ParentId.eq(p.id),
            None => section::Column::ParentId.is_null(),
        })
        .count(db)
        .await?;
    let at = super::now();
    let parent_id = parent.map(|p| p.id);
    let description = description(input.description)?;
    let (slug, name, path, description) = (&slug, &name, &path, &description);
    super::transaction::write(db, move |txn| async move {
        let res = section::Entity::insert(section::ActiveModel {
            id: NotSet,
            slug: Set(slug.clone()),
            name: Set(name.clone()),
            path: Set(path.clone()),
            parent_id: Set(parent_id),
            description: Set(description.clone()),
            position: Set(i32::try_from(siblings).unwrap_or(i32::MAX)),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec(&*txn)
        .await
        .map_err(|e| AppError::from_write(e, &format!("the section path {path:?}")))?;
        // A new section is in the tree, in its parent's children and found by its path (its
        // own key tells the directory).
        let mut touched = vec![Key::Lists, Key::Section(res.last_insert_id)];
        touched.extend(parent_id.map(Key::Section));
        let id = res.last_insert_id;
        let event = Event::new(EntityKind::Section, id, "create", caller.sub(), touched);
        super::stream::append(&*txn, vec![event]).await?;
        section::Entity::find_by_id(res.last_insert_id)
            .one(&*txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("section vanished")))
    })
    .await
}

/// The section with `id` (for a write's answer).
async fn by_id(db: &impl ConnectionTrait, id: i32) -> Result<section::Model> {
    section::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::error::AppError::not_found(format!("no section with id {id}")))
}

/// Renames, describes or reorders a section (editors). Paths never change, so links stay.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    caller: &super::access::Caller,
    id: i32,
    patch: SectionPatch,
) -> Result<section::Model> {
    use sea_orm::ActiveModelTrait as _;
    use sea_orm::ActiveValue::Set;

    use crate::error::AppError;
    if super::idempotency::replayed("section")?.is_some() {
        return by_id(db, id).await;
    }
    caller.require(super::access::Role::Editor, "managing sections")?;
    let current = section::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no section with id {id}")))?;
    let mut m: section::ActiveModel = current.into();
    if let Some(name) = patch.name {
        m.name = Set(section_name(&name)?);
    }
    if let Some(d) = patch.description {
        m.description = Set(description(d)?);
    }
    if let Some(p) = patch.position {
        m.position = Set(p);
    }
    m.updated_at = Set(super::now());
    let m = &m;
    super::transaction::write(db, move |txn| async move {
        let saved = m.clone().update(&*txn).await?;
        // Paths never change, so only what shows this section (its pages, breadcrumbs,
        // bylines' sections, its parent's children in their order) carries its key.
        let keys = [Key::Section(id)];
        let event = Event::new(EntityKind::Section, id, "update", caller.sub(), keys);
        super::stream::append(&*txn, vec![event]).await?;
        Ok(saved)
    })
    .await
}
