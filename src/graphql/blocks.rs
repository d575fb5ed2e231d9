//! The `Block` union of an article body, built from the stored blocks.

use async_graphql::{SimpleObject, Union};

use crate::domain::blocks as domain;
use crate::domain::html;

/// One block of an article body, in order.
#[derive(Union)]
pub enum Block {
    Heading(HeadingBlock),
    Paragraph(ParagraphBlock),
    List(ListBlock),
    Quote(QuoteBlock),
    Image(ImageBlock),
    Embed(EmbedBlock),
}

/// A sub-heading (level 2 to 6), plain text.
#[derive(SimpleObject)]
pub struct HeadingBlock {
    pub level: i32,
    pub text: String,
}

/// A paragraph.
#[derive(SimpleObject)]
pub struct ParagraphBlock {
    /// Inline HTML from the allow-list (a, b, strong, i, em, br, code, sub, sup).
    pub html: String,
    /// The same paragraph as plain text.
    pub text: String,
}

/// A bulleted or numbered list.
#[derive(SimpleObject)]
pub struct ListBlock {
    pub ordered: bool,
    /// Each item as inline HTML.
    pub items: Vec<String>,
}

/// A pull quote.
#[derive(SimpleObject)]
pub struct QuoteBlock {
    /// Inline HTML.
    pub html: String,
    /// Who said it.
    pub attribution: Option<String>,
}

/// An image with caption and credit.
#[derive(SimpleObject)]
pub struct ImageBlock {
    pub url: String,
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// An embedded post or video.
#[derive(SimpleObject)]
pub struct EmbedBlock {
    pub url: String,
    /// The service it comes from ("YouTube"), or its host name.
    pub provider: Option<String>,
}

impl From<domain::Block> for Block {
    fn from(block: domain::Block) -> Self {
        match block {
            domain::Block::Heading(h) => Self::Heading(HeadingBlock {
                level: h.level,
                text: h.text,
            }),
            domain::Block::Paragraph(p) => Self::Paragraph(ParagraphBlock {
                text: html::to_text(&p.html),
                html: p.html,
            }),
            domain::Block::List(l) => Self::List(ListBlock {
                ordered: l.ordered,
                items: l.items,
            }),
            domain::Block::Quote(q) => Self::Quote(QuoteBlock {
                html: q.html,
                attribution: q.attribution,
            }),
            domain::Block::Image(i) => Self::Image(ImageBlock {
                url: i.url,
                alt: i.alt,
                caption: i.caption,
                credit: i.credit,
            }),
            domain::Block::Embed(e) => Self::Embed(EmbedBlock {
                provider: e.provider(),
                url: e.url,
            }),
        }
    }
}
