//! Reader comments in GraphQL: the input of `addComment`, its receipt, and the handles
//! posting needs from the request (the comment service, the client, the reader's name).

use async_graphql::{Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::comments::posting::{Client, Receipt};
use crate::domain::comments::text;

/// A reader's comment. Plain text: nothing in it is ever markup.
#[derive(InputObject)]
pub struct CommentInput {
    /// The name shown with the comment (ignored for signed-in readers: their token's `name`).
    pub author_name: Option<String>,
    /// Shown to editors only; earlier approved comments under it earn a little trust.
    pub author_email: Option<String>,
    /// Up to 5,000 characters; blank lines make paragraphs, links become clickable.
    pub body: String,
    /// The comment this one replies to (approved, on the same article).
    pub parent_id: Option<ID>,
    /// Leave empty: a honeypot for robots, hidden from humans by the front end.
    pub website: Option<String>,
    /// When the front end rendered the form.
    pub rendered_at: Option<DateTime<Utc>>,
}

impl CommentInput {
    /// The domain's input; a malformed `parentId` names no comment (`-1`).
    pub fn into_domain(self) -> text::CommentInput {
        text::CommentInput {
            author_name: self.author_name,
            author_email: self.author_email,
            body: self.body,
            parent_id: self.parent_id.map(|p| p.parse::<i32>().unwrap_or(-1)),
            website: self.website,
            rendered_at: self.rendered_at,
        }
    }
}

/// What the poster is told: `status` is `APPROVED` or `PENDING` (held and spam both read
/// `PENDING`); `viewToken` shows them their own comment while it waits.
#[derive(SimpleObject)]
pub struct CommentReceipt {
    /// The comment's id.
    pub id: ID,
    /// `APPROVED` or `PENDING`.
    pub status: super::enums::CommentStatus,
    /// Pass as `comments(viewToken:)` to see the pending comment (valid two hours).
    pub view_token: String,
}

impl From<Receipt> for CommentReceipt {
    fn from(r: Receipt) -> Self {
        Self {
            id: ID(r.id.to_string()),
            status: r.status.into(),
            view_token: r.view_token,
        }
    }
}

/// The signed-in reader's `name` claim, when the request had one.
#[derive(Clone, Debug, Default)]
pub struct ReaderName(pub Option<String>);

/// The request's client, as posting sees it.
pub(crate) fn client<'a>(ctx: &Context<'a>) -> Client {
    ctx.data_opt::<Client>().cloned().unwrap_or_default()
}
