//! What a valid article is: the one set of rules every way in applies to an article's
//! content — GraphQL and REST writes (`publishing`), the bulk import (`import`), and any
//! importer to come — with the same limits and the same messages.
//!
//! Checking is two steps. [`check`] cleans and validates everything that needs no lookup
//! (text fields, the body's HTML, the featured image, the source credit, how many authors and
//! tags, tag names), off the async runtime when the caller likes, since cleaning HTML is CPU
//! work. [`Checked::resolve`] then turns the section path and author slugs into ids through
//! whatever lookup the caller has: a query per write, or maps an import loaded once.

use chrono::{DateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};

use super::blocks::{self, Block, Image};
use super::{html, slug};
use crate::error::{AppError, Result};

/// Longest headline, in characters.
pub const MAX_HEADLINE: usize = 300;
/// Longest dek, in characters.
pub const MAX_DEK: usize = 1000;
/// Most authors on one byline, and most tags on one article.
pub const MAX_REFS: usize = 50;
/// Longest tag name, in characters.
pub const MAX_TAG_NAME: usize = 100;
/// Longest source name, in characters.
pub const MAX_SOURCE_NAME: usize = 200;
/// Longest usage terms, in characters.
pub const MAX_USAGE_TERMS: usize = 2000;
/// Longest copyright holder, in characters.
pub const MAX_COPYRIGHT_HOLDER: usize = 200;
/// Longest copyright notice, in characters.
pub const MAX_COPYRIGHT_NOTICE: usize = 500;

/// Where a story draws on another outlet: `Insights from <name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// The terms a story travels with: what a partner may do with it, whose it is, and whether
/// it may go to partners at all (`not_for_syndication` keeps it out of every partner route
/// while it stays public).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rights {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_terms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copyright_holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copyright_notice: Option<String>,
    #[serde(default)]
    pub not_for_syndication: bool,
}

impl Rights {
    /// The rights a stored article carries: its `rights` texts and its flag column.
    pub fn of(a: &crate::entities::article::Model) -> Self {
        let mut r: Self = a
            .rights
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        r.not_for_syndication = a.not_for_syndication;
        r
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The texts as stored in the `rights` column (the flag has its own column), or `None`
    /// when there are none.
    pub fn texts_json(&self) -> Option<serde_json::Value> {
        let texts = Self {
            not_for_syndication: false,
            ..self.clone()
        };
        if texts.is_empty() {
            return None;
        }
        let mut v = serde_json::to_value(texts).ok()?;
        if let Some(o) = v.as_object_mut() {
            o.remove("notForSyndication");
        }
        Some(v)
    }
}

/// An article's content as a client or an import file gives it.
#[derive(Clone, Debug, Default)]
pub struct ArticleContent {
    pub headline: String,
    pub dek: Option<String>,
    pub body: Vec<Block>,
    /// Section path.
    pub section: String,
    /// Author slugs, in byline order.
    pub authors: Vec<String>,
    /// Tag names; tags are created on first use.
    pub tags: Vec<String>,
    pub source: Option<Source>,
    pub featured_image: Option<Image>,
    /// Until when a published article stays hidden from everyone without a grant for it.
    pub embargo_until: Option<DateTime<Utc>>,
    pub rights: Option<Rights>,
}

/// Content that passed every rule that needs no lookup, cleaned.
#[derive(Clone, Debug)]
pub struct Checked {
    pub headline: String,
    pub dek: Option<String>,
    pub body: Vec<Block>,
    /// Words of running text in `body`.
    pub word_count: i32,
    /// Section path, as given.
    pub section: String,
    /// Author slugs in byline order, each once.
    pub authors: Vec<String>,
    /// (slug, name) of each tag, in the editor's order, each once.
    pub tags: Vec<(String, String)>,
    pub source: Option<Source>,
    pub featured_image: Option<Image>,
    pub embargo_until: Option<DateTime<Utc>>,
    /// Empty when none are set.
    pub rights: Rights,
}

/// Content whose section and authors exist: ready to write.
#[derive(Clone, Debug)]
pub struct Valid {
    pub content: Checked,
    pub section_id: i32,
    /// In byline order, each once.
    pub author_ids: Vec<i32>,
}

/// Plain text from a field that should hold no markup: control characters go, tags are
/// dropped, entities decoded and runs of white space folded; longer than `max` characters
/// is refused.
pub fn plain_text(field: &str, text: &str, max: usize) -> Result<String> {
    let text = &html::strip_controls(text);
    let cleaned = if text.contains(['<', '&']) {
        html::to_text(&html::strip_all(text))
    } else {
        text.to_string()
    };
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.chars().count() > max {
        return Err(AppError::bad_input(format!(
            "{field} is longer than the limit of {max} characters"
        )));
    }
    Ok(cleaned)
}

/// Applies every rule that needs no lookup. Cleaning the body's HTML is CPU work: async
/// callers run this with `spawn_blocking`.
pub fn check(input: ArticleContent) -> Result<Checked> {
    let headline = plain_text("headline", &input.headline, MAX_HEADLINE)?;
    if headline.is_empty() {
        return Err(AppError::bad_input("headline is empty"));
    }
    let dek = match input.dek {
        Some(d) => Some(plain_text("dek", &d, MAX_DEK)?).filter(|d| !d.is_empty()),
        None => None,
    };
    let body = blocks::clean_body(input.body).map_err(AppError::BadInput)?;
    let featured_image = input
        .featured_image
        .map(blocks::clean_image)
        .transpose()
        .map_err(|e| AppError::bad_input(format!("featuredImage: {e}")))?;
    let source = input.source.map(check_source).transpose()?;
    let rights = input
        .rights
        .map(check_rights)
        .transpose()?
        .unwrap_or_default();
    if input.authors.is_empty() || input.authors.len() > MAX_REFS {
        return Err(AppError::bad_input(format!(
            "authors: an article needs 1 to {MAX_REFS} authors, not {}",
            input.authors.len()
        )));
    }
    let mut authors: Vec<String> = Vec::with_capacity(input.authors.len());
    for a in input.authors {
        if !authors.contains(&a) {
            authors.push(a);
        }
    }
    if input.tags.len() > MAX_REFS {
        return Err(AppError::bad_input(format!(
            "tags: at most {MAX_REFS} tags, not {}",
            input.tags.len()
        )));
    }
    let mut tags: Vec<(String, String)> = Vec::with_capacity(input.tags.len());
    for name in &input.tags {
        let name = plain_text("tags", name, MAX_TAG_NAME)?;
        let slug = slug::slugify(&name);
        if slug.is_empty() {
            return Err(AppError::bad_input(format!(
                "tags: {name:?} has no letters or digits"
            )));
        }
        if !tags.iter().any(|(s, _)| *s == slug) {
            tags.push((slug, name));
        }
    }
    Ok(Checked {
        word_count: blocks::word_count(&body),
        headline,
        dek,
        body,
        section: input.section,
        authors,
        tags,
        source,
        featured_image,
        // Stored times keep microseconds, so what is read back equals what was written.
        embargo_until: input.embargo_until.map(|t| t.trunc_subsecs(6)),
        rights,
    })
}

fn check_rights(r: Rights) -> Result<Rights> {
    let text = |field: &str, v: Option<String>, max: usize| -> Result<Option<String>> {
        Ok(match v {
            Some(t) => Some(plain_text(field, &t, max)?).filter(|t| !t.is_empty()),
            None => None,
        })
    };
    Ok(Rights {
        usage_terms: text("rights.usageTerms", r.usage_terms, MAX_USAGE_TERMS)?,
        copyright_holder: text(
            "rights.copyrightHolder",
            r.copyright_holder,
            MAX_COPYRIGHT_HOLDER,
        )?,
        copyright_notice: text(
            "rights.copyrightNotice",
            r.copyright_notice,
            MAX_COPYRIGHT_NOTICE,
        )?,
        not_for_syndication: r.not_for_syndication,
    })
}

fn check_source(s: Source) -> Result<Source> {
    let name = plain_text("source.name", &s.name, MAX_SOURCE_NAME)?;
    if name.is_empty() {
        return Err(AppError::bad_input("source.name is empty"));
    }
    let url = s.url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if url.as_deref().is_some_and(|u| !html::is_web_url(u)) {
        return Err(AppError::bad_input(
            "source.url must be an absolute http(s) URL",
        ));
    }
    Ok(Source { name, url })
}

impl Checked {
    /// Resolves the section and the authors with the caller's lookups; one that names
    /// nothing is refused with the field it came from.
    pub fn resolve(
        self,
        section_id: Option<i32>,
        author_id: impl Fn(&str) -> Option<i32>,
    ) -> Result<Valid> {
        let section_id = section_id.ok_or_else(|| {
            AppError::bad_input(format!("section: {:?} is not a section", self.section))
        })?;
        let author_ids = self
            .authors
            .iter()
            .map(|s| {
                author_id(s)
                    .ok_or_else(|| AppError::bad_input(format!("authors: {s:?} is not an author")))
            })
            .collect::<Result<Vec<i32>>>()?;
        Ok(Valid {
            content: self,
            section_id,
            author_ids,
        })
    }

    /// The body as stored (JSON).
    pub fn body_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(&self.body).map_err(anyhow::Error::from)?)
    }

    /// The featured image as stored (JSON).
    pub fn featured_image_json(&self) -> Result<Option<serde_json::Value>> {
        Ok(self
            .featured_image
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(anyhow::Error::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> ArticleContent {
        ArticleContent {
            headline: "A headline".into(),
            section: "news".into(),
            authors: vec!["a".into()],
            ..ArticleContent::default()
        }
    }

    #[test]
    fn each_rule_refuses_with_the_field_it_breaks() {
        let many = |n: usize| (0..n).map(|i| format!("x{i}")).collect::<Vec<_>>();
        let cases: Vec<(&str, ArticleContent, &str)> = vec![
            (
                "empty headline",
                ArticleContent {
                    headline: " <b></b> ".into(),
                    ..content()
                },
                "headline is empty",
            ),
            (
                "long headline",
                ArticleContent {
                    headline: "x".repeat(MAX_HEADLINE + 1),
                    ..content()
                },
                "headline is longer",
            ),
            (
                "long dek",
                ArticleContent {
                    dek: Some("x".repeat(MAX_DEK + 1)),
                    ..content()
                },
                "dek is longer",
            ),
            (
                "no authors",
                ArticleContent {
                    authors: vec![],
                    ..content()
                },
                "authors: an article needs 1 to 50 authors",
            ),
            (
                "51 authors",
                ArticleContent {
                    authors: many(51),
                    ..content()
                },
                "authors: an article needs 1 to 50 authors, not 51",
            ),
            (
                "51 tags",
                ArticleContent {
                    tags: many(51),
                    ..content()
                },
                "tags: at most 50 tags, not 51",
            ),
            (
                "a tag of punctuation",
                ArticleContent {
                    tags: vec!["!!!".into()],
                    ..content()
                },
                "has no letters or digits",
            ),
            (
                "a source without a name",
                ArticleContent {
                    source: Some(Source {
                        name: " ".into(),
                        url: None,
                    }),
                    ..content()
                },
                "source.name is empty",
            ),
            (
                "a source with a script URL",
                ArticleContent {
                    source: Some(Source {
                        name: "Wire".into(),
                        url: Some("javascript:alert(1)".into()),
                    }),
                    ..content()
                },
                "source.url must be an absolute http(s) URL",
            ),
            (
                "long usage terms",
                ArticleContent {
                    rights: Some(Rights {
                        usage_terms: Some("x".repeat(MAX_USAGE_TERMS + 1)),
                        ..Rights::default()
                    }),
                    ..content()
                },
                "rights.usageTerms is longer",
            ),
        ];
        for (case, input, message) in cases {
            match check(input) {
                Err(AppError::BadInput(m)) => assert!(m.contains(message), "{case}: {m}"),
                other => panic!("{case}: expected BAD_USER_INPUT, got {other:?}"),
            }
        }
    }

    #[test]
    fn text_is_cleaned_and_repeats_are_dropped() {
        let checked = check(ArticleContent {
            headline: "  Port <i>reopens</i>\u{0}  &amp; ferries   run ".into(),
            dek: Some("   ".into()),
            authors: vec!["a".into(), "b".into(), "a".into()],
            tags: vec!["Ferry Strike".into(), "ferry strike".into(), "Port".into()],
            ..content()
        })
        .expect("valid");
        assert_eq!(checked.headline, "Port reopens & ferries run");
        assert_eq!(checked.dek, None);
        assert_eq!(checked.authors, ["a", "b"]);
        assert_eq!(
            checked.tags,
            [
                ("ferry-strike".to_owned(), "Ferry Strike".to_owned()),
                ("port".to_owned(), "Port".to_owned())
            ]
        );
        let valid = checked
            .clone()
            .resolve(Some(7), |s| {
                (s == "a").then_some(1).or((s == "b").then_some(2))
            })
            .expect("resolved");
        assert_eq!((valid.section_id, valid.author_ids), (7, vec![1, 2]));
        assert!(
            checked
                .clone()
                .resolve(None, |_| Some(1))
                .is_err_and(|e| e.to_string() == "section: \"news\" is not a section")
        );
        assert!(
            checked
                .resolve(Some(7), |s| (s == "a").then_some(1))
                .is_err_and(|e| e.to_string() == "authors: \"b\" is not an author")
        );
    }
}
