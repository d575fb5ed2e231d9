//! Input types of the mutations, converted into the domain's plain structs.

use async_graphql::{InputObject, MaybeUndefined, OneofObject};
use chrono::{DateTime, Utc};

use crate::domain::blocks as body;
use crate::domain::content::{ArticleContent, Rights, Source};
use crate::domain::publishing::{ArticlePatch, NewArticle};
use crate::domain::{authors, sections};

/// One block of a body: exactly one of its fields.
#[derive(OneofObject)]
pub enum BlockInput {
    Heading(HeadingInput),
    Paragraph(ParagraphInput),
    List(ListInput),
    Quote(QuoteInput),
    Image(ImageInput),
    Embed(EmbedInput),
}

/// A sub-heading, level 2 to 6.
#[derive(InputObject)]
pub struct HeadingInput {
    pub level: i32,
    pub text: String,
}

/// A paragraph of inline HTML (cleaned to the allow-list on write).
#[derive(InputObject)]
pub struct ParagraphInput {
    pub html: String,
}

/// A list; items are inline HTML.
#[derive(InputObject)]
pub struct ListInput {
    pub ordered: bool,
    pub items: Vec<String>,
}

/// A pull quote of inline HTML.
#[derive(InputObject)]
pub struct QuoteInput {
    pub html: String,
    pub attribution: Option<String>,
}

/// An image (a body block, or an article's featured image).
#[derive(InputObject)]
pub struct ImageInput {
    pub url: String,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// An embedded post or video.
#[derive(InputObject)]
pub struct EmbedInput {
    pub url: String,
}

/// The outlet a story draws on.
#[derive(InputObject)]
pub struct SourceInput {
    pub name: String,
    pub url: Option<String>,
}

/// The terms a story travels with to partners. Empty texts are dropped.
#[derive(InputObject)]
pub struct RightsInput {
    /// What a partner may do with the story ("Online use only, no archiving").
    pub usage_terms: Option<String>,
    pub copyright_holder: Option<String>,
    /// "© 2026 The Example Times".
    pub copyright_notice: Option<String>,
    /// Keeps the article out of every partner route while it stays public.
    #[graphql(default)]
    pub not_for_syndication: bool,
}

impl From<RightsInput> for Rights {
    fn from(r: RightsInput) -> Self {
        Self {
            usage_terms: r.usage_terms,
            copyright_holder: r.copyright_holder,
            copyright_notice: r.copyright_notice,
            not_for_syndication: r.not_for_syndication,
        }
    }
}

impl From<ImageInput> for body::Image {
    fn from(i: ImageInput) -> Self {
        Self {
            url: i.url,
            alt: i.alt,
            caption: i.caption,
            credit: i.credit,
        }
    }
}

impl From<SourceInput> for Source {
    fn from(s: SourceInput) -> Self {
        Self {
            name: s.name,
            url: s.url,
        }
    }
}

impl From<BlockInput> for body::Block {
    fn from(b: BlockInput) -> Self {
        match b {
            BlockInput::Heading(h) => Self::Heading(body::Heading {
                level: h.level,
                text: h.text,
            }),
            BlockInput::Paragraph(p) => Self::Paragraph(body::Paragraph { html: p.html }),
            BlockInput::List(l) => Self::List(body::List {
                ordered: l.ordered,
                items: l.items,
            }),
            BlockInput::Quote(q) => Self::Quote(body::Quote {
                html: q.html,
                attribution: q.attribution,
            }),
            BlockInput::Image(i) => Self::Image(i.into()),
            BlockInput::Embed(e) => Self::Embed(body::Embed { url: e.url }),
        }
    }
}

/// A new article; it starts as a `DRAFT`.
#[derive(InputObject)]
pub struct ArticleInput {
    pub headline: String,
    /// Derived from the headline when absent.
    pub slug: Option<String>,
    pub dek: Option<String>,
    pub body: Vec<BlockInput>,
    /// Section path.
    pub section: String,
    /// Author slugs, in byline order.
    pub authors: Vec<String>,
    /// Tag names; new ones are created.
    #[graphql(default)]
    pub tags: Vec<String>,
    pub source: Option<SourceInput>,
    pub featured_image: Option<ImageInput>,
    /// Until when the article, once published, stays hidden from readers and from partners
    /// without the embargo permission. Lifted by the server when the time passes.
    pub embargo_until: Option<DateTime<Utc>>,
    pub rights: Option<RightsInput>,
}

impl From<ArticleInput> for NewArticle {
    fn from(a: ArticleInput) -> Self {
        Self {
            slug: a.slug,
            content: ArticleContent {
                headline: a.headline,
                dek: a.dek,
                body: a.body.into_iter().map(Into::into).collect(),
                section: a.section,
                authors: a.authors,
                tags: a.tags,
                source: a.source.map(Into::into),
                featured_image: a.featured_image.map(Into::into),
                embargo_until: a.embargo_until,
                rights: a.rights.map(Into::into),
            },
        }
    }
}

/// Changes to an article: fields left out stay as they are; `null` clears `dek`, `source`,
/// `featuredImage`, `embargoUntil` and `rights`.
#[derive(InputObject)]
#[graphql(name = "ArticlePatch")]
pub struct ArticlePatchInput {
    pub headline: Option<String>,
    /// Changes the URL: for a published article only editors may.
    pub slug: Option<String>,
    pub dek: MaybeUndefined<String>,
    pub body: Option<Vec<BlockInput>>,
    pub section: Option<String>,
    pub authors: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub source: MaybeUndefined<SourceInput>,
    pub featured_image: MaybeUndefined<ImageInput>,
    pub embargo_until: MaybeUndefined<DateTime<Utc>>,
    /// Replaces the rights whole.
    pub rights: MaybeUndefined<RightsInput>,
}

fn maybe<T, U: From<T>>(m: MaybeUndefined<T>) -> Option<Option<U>> {
    match m {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.into())),
    }
}

impl From<ArticlePatchInput> for ArticlePatch {
    fn from(p: ArticlePatchInput) -> Self {
        Self {
            headline: p.headline,
            slug: p.slug,
            dek: maybe::<String, String>(p.dek),
            body: p.body.map(|b| b.into_iter().map(Into::into).collect()),
            section: p.section,
            authors: p.authors,
            tags: p.tags,
            source: maybe(p.source),
            featured_image: maybe(p.featured_image),
            embargo_until: maybe::<DateTime<Utc>, DateTime<Utc>>(p.embargo_until),
            rights: maybe(p.rights),
        }
    }
}

/// A new section.
#[derive(InputObject)]
pub struct SectionInput {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    /// The parent section's path.
    pub parent: Option<String>,
    pub description: Option<String>,
}

impl From<SectionInput> for sections::NewSection {
    fn from(s: SectionInput) -> Self {
        Self {
            name: s.name,
            slug: s.slug,
            parent: s.parent,
            description: s.description,
        }
    }
}

/// Changes to a section (its path never changes, so links stay valid).
#[derive(InputObject)]
pub struct SectionPatch {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
    /// Order among siblings.
    pub position: Option<i32>,
}

impl From<SectionPatch> for sections::SectionPatch {
    fn from(p: SectionPatch) -> Self {
        Self {
            name: p.name,
            description: maybe::<String, String>(p.description),
            position: p.position,
        }
    }
}

/// A new author.
#[derive(InputObject)]
pub struct AuthorInput {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    /// The JWT `sub` of the account that writes as this author.
    pub subject: Option<String>,
}

impl From<AuthorInput> for authors::AuthorFields {
    fn from(a: AuthorInput) -> Self {
        Self {
            name: Some(a.name),
            slug: a.slug,
            title: a.title,
            bio: a.bio,
            avatar_url: a.avatar_url,
            subject: a.subject,
        }
    }
}

/// Changes to an author; an empty string clears an optional field.
#[derive(InputObject)]
pub struct AuthorPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub subject: Option<String>,
}

impl From<AuthorPatch> for authors::AuthorFields {
    fn from(a: AuthorPatch) -> Self {
        Self {
            name: a.name,
            slug: a.slug,
            title: a.title,
            bio: a.bio,
            avatar_url: a.avatar_url,
            subject: a.subject,
        }
    }
}
