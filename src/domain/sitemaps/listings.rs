//! The sitemaps of the pages that are not articles: sections (all of them, by path), and
//! authors and tags that have a public article (by slug).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait as _};

use super::lastmod::{Changes, Group, changes, departures};
use super::{Entry, Listing};
use crate::domain::invalidation::Key;
use crate::domain::site::Site;
use crate::entities::{author, tag};
use crate::error::Result;

/// Every URL of a listing (sections by path, authors and tags by slug), noting the keys of
/// what it shows in `keys`.
pub async fn listing(
    db: &DatabaseConnection,
    site: &Site,
    which: Listing,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    site.require_public("the sitemap")?;
    keys.insert(Key::Lists);
    match which {
        Listing::Sections => sections(db, site, keys).await,
        Listing::Authors => authors(db, site, keys).await,
        // A tag never changes once made; its page changes with its articles (`l`).
        Listing::Tags => tags(db, site).await,
    }
}

async fn sections(
    db: &DatabaseConnection,
    site: &Site,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    let mut all = crate::domain::sections::all(db).await?;
    all.sort_by(|a, b| a.path.cmp(&b.path));
    let changed: HashMap<i32, Changes> = changes(db, Group::Section).await?;
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Section).await?;
    // Each section's own newest change, then its subtree's.
    let own: Vec<DateTime<Utc>> = all
        .iter()
        .map(|s| {
            [
                Some(s.updated_at),
                changed.get(&s.id).map(|c| c.latest),
                gone.get(&s.id).copied(),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(s.updated_at)
        })
        .collect();
    let mut out = Vec::with_capacity(all.len());
    for s in &all {
        let below = format!("{}/", s.path);
        let lastmod = all
            .iter()
            .zip(&own)
            .filter(|(t, _)| t.id == s.id || t.path.starts_with(&below))
            .map(|(_, at)| *at)
            .max();
        let Some(loc) = site.section_url(&s.path) else {
            continue;
        };
        keys.insert(Key::Section(s.id));
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}

async fn authors(
    db: &DatabaseConnection,
    site: &Site,
    keys: &mut BTreeSet<Key>,
) -> Result<Vec<Entry>> {
    let changed: HashMap<i32, Changes> = changes(db, Group::Author).await?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Author).await?;
    let mut people = author::Entity::find().all(db).await?;
    people.retain(|a| changed.contains_key(&a.id));
    people.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = Vec::with_capacity(people.len());
    for a in people {
        let Some(loc) = site.author_url(&a.slug) else {
            continue;
        };
        let lastmod = [
            Some(a.updated_at),
            changed.get(&a.id).map(|c| c.latest),
            gone.get(&a.id).copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        keys.insert(Key::Author(a.id));
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}

async fn tags(db: &DatabaseConnection, site: &Site) -> Result<Vec<Entry>> {
    let changed: HashMap<i32, Changes> = changes(db, Group::Tag).await?;
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let gone: HashMap<i32, DateTime<Utc>> = departures(db, Group::Tag).await?;
    let mut all = tag::Entity::find().all(db).await?;
    all.retain(|t| changed.contains_key(&t.id));
    all.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = Vec::with_capacity(all.len());
    for t in all {
        let Some(loc) = site.tag_url(&t.slug) else {
            continue;
        };
        let lastmod = [
            changed.get(&t.id).map(|c| c.latest),
            gone.get(&t.id).copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        out.push(Entry { loc, lastmod });
    }
    Ok(out)
}
