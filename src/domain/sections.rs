//! Reading the section tree. A section is addressed by its full path; its ancestors are
//! the prefixes of that path, so a breadcrumb is one lookup of a handful of paths.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};

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
