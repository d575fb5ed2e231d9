//! How related two articles are, and why: the score is a weighted sum of five parts, each
//! between 0 and 1, and every part that counts becomes a reason in words.
//!
//! - tags: the cosine of the two articles' tags weighted by rarity (IDF), so sharing a
//!   rare tag says more than sharing `politics`;
//! - authors: shared bylines, `shared / sqrt(|a| × |b|)`;
//! - section: 1 for the same section, 0.5 when one is inside the other;
//! - wording: the cosine of the two signatures (TF-IDF over headline, dek and body, names
//!   of people, places and organisations included);
//! - freshness: `2^(-days apart / half-life)`.
//!
//! Every part is symmetric, so the score of `a` for `b` is the score of `b` for `a`: one
//! computation updates both lists.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// The weights of the parts and the shape of signatures; settings with documented defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub tags: f64,
    pub authors: f64,
    pub section: f64,
    pub wording: f64,
    pub freshness: f64,
    /// Days after which freshness counts half.
    pub half_life_days: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            tags: 1.0,
            authors: 0.2,
            section: 0.3,
            wording: 3.0,
            freshness: 0.1,
            half_life_days: 30.0,
        }
    }
}

/// What scoring needs to know of one published article.
#[derive(Clone, Debug)]
pub struct Profile {
    pub id: i32,
    pub section_id: i32,
    pub published_at: DateTime<Utc>,
    pub authors: Vec<i32>,
    pub tags: Vec<i32>,
}

/// Names to put in reasons, and the rarity of tags.
#[derive(Default)]
pub struct Lookup {
    /// Section id → (path, name).
    pub sections: HashMap<i32, (String, String)>,
    pub authors: HashMap<i32, String>,
    pub tags: HashMap<i32, String>,
    /// Tag id → IDF among published articles.
    pub tag_idf: HashMap<i32, f64>,
}

/// A scored pair with its reasons, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub score: f64,
    pub reasons: Vec<String>,
}

fn list(names: &[String]) -> String {
    names.join(", ")
}

/// Scores `b` against `a`. `wording` is the cosine of their signatures and `shared_terms`
/// the terms both hold, most telling first.
pub fn score(
    w: &Weights,
    look: &Lookup,
    a: &Profile,
    b: &Profile,
    wording: f64,
    shared_terms: &[String],
) -> Scored {
    let mut parts: Vec<(f64, String)> = Vec::with_capacity(5);

    let idf = |t: &i32| look.tag_idf.get(t).copied().unwrap_or(0.0);
    let norm = |tags: &[i32]| tags.iter().map(|t| idf(t).powi(2)).sum::<f64>().sqrt();
    let mut shared_tags: Vec<i32> = a
        .tags
        .iter()
        .filter(|t| b.tags.contains(t))
        .copied()
        .collect();
    if !shared_tags.is_empty() {
        let denom = norm(&a.tags) * norm(&b.tags);
        let cos = if denom > 0.0 {
            shared_tags.iter().map(|t| idf(t).powi(2)).sum::<f64>() / denom
        } else {
            0.0
        };
        shared_tags.sort_by(|x, y| idf(y).total_cmp(&idf(x)).then(x.cmp(y)));
        let names: Vec<String> = shared_tags
            .iter()
            .filter_map(|t| look.tags.get(t).cloned())
            .collect();
        let n = shared_tags.len();
        let what = if n == 1 {
            "1 shared tag"
        } else {
            "shared tags"
        };
        let text = if n == 1 {
            format!("{what}: {}", list(&names))
        } else {
            format!("{n} {what}: {}", list(&names))
        };
        parts.push((w.tags * cos, text));
    }

    let shared_authors: Vec<i32> = a
        .authors
        .iter()
        .filter(|x| b.authors.contains(x))
        .copied()
        .collect();
    if !shared_authors.is_empty() {
        let part =
            shared_authors.len() as f64 / ((a.authors.len() * b.authors.len()) as f64).sqrt();
        let names: Vec<String> = shared_authors
            .iter()
            .filter_map(|x| look.authors.get(x).cloned())
            .collect();
        let text = if names.len() == 1 {
            format!("same author: {}", list(&names))
        } else {
            format!("{} shared authors: {}", names.len(), list(&names))
        };
        parts.push((w.authors * part, text));
    }

    if let (Some((pa, na)), Some((pb, nb))) = (
        look.sections.get(&a.section_id),
        look.sections.get(&b.section_id),
    ) {
        if a.section_id == b.section_id {
            parts.push((w.section, format!("same section: {na}")));
        } else if pa.starts_with(&format!("{pb}/")) {
            parts.push((w.section * 0.5, format!("related section: {nb}")));
        } else if pb.starts_with(&format!("{pa}/")) {
            parts.push((w.section * 0.5, format!("related section: {na}")));
        }
    }

    if wording > 0.0 {
        let text = if shared_terms.is_empty() {
            "similar wording".to_owned()
        } else {
            let top: Vec<String> = shared_terms.iter().take(3).cloned().collect();
            format!("similar wording: {}", list(&top))
        };
        parts.push((w.wording * wording, text));
    }

    let days = (a.published_at - b.published_at).num_seconds().abs() as f64 / 86_400.0;
    let fresh = (-days / w.half_life_days.max(0.001)).exp2();
    if w.freshness > 0.0 {
        let text = match days {
            d if d < 1.0 => "published the same day".to_owned(),
            d if d <= 7.0 => format!("published {} days apart", d.ceil() as i64),
            _ => String::new(),
        };
        parts.push((w.freshness * fresh, text));
    }

    let score = parts.iter().map(|(s, _)| s).sum::<f64>();
    parts.sort_by(|x, y| y.0.total_cmp(&x.0));
    let reasons = parts
        .into_iter()
        .filter(|(s, text)| *s > 0.0 && !text.is_empty())
        .map(|(_, text)| text)
        .collect();
    Scored { score, reasons }
}
