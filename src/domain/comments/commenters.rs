//! What is stored about one commenter, for the promises of the comment notice: admins can
//! export and erase everything kept under one email address, and client addresses and user
//! agents are cleared once the retention setting has passed.

use sea_orm::ActiveModelTrait as _;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};

use super::text;
use crate::domain::access::{Caller, Role};
use crate::domain::stream;
use crate::domain::{CommentStatus, now, transaction};
use crate::entities::{comment, comment_decision, comment_erasure};
use crate::error::Result;

/// Everything stored about one email address.
#[derive(Clone, Debug)]
pub struct Export {
    pub comments: Vec<comment::Model>,
    pub decisions: Vec<comment_decision::Model>,
}

/// How an erasure treats the comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Erase {
    /// The comments go, with the replies under them.
    Delete,
    /// The comments stay, under the name "Anonymous", without email, hash, account,
    /// address or user agent.
    Anonymise,
}

impl Erase {
    /// The stored name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Anonymise => "anonymise",
        }
    }
}

fn by_email(email: &str) -> sea_orm::sea_query::SimpleExpr {
    Expr::expr(Func::lower(Expr::col(comment::Column::AuthorEmail)))
        .eq(text::normalise_email(email))
}

/// Every comment (any status) and decision stored under `email` (admins).
pub async fn export(db: &impl ConnectionTrait, caller: &Caller, email: &str) -> Result<Export> {
    caller.require(Role::Admin, "export a commenter's data")?;
    let email = text::check_email(email.trim())?;
    let comments = comment::Entity::find()
        .filter(by_email(&email))
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i32> = comments.iter().map(|c| c.id).collect();
    let decisions = super::moderation::decisions(db, &ids).await?;
    Ok(Export {
        comments,
        decisions,
    })
}

/// Erases what is stored under `email` (admins); records who, when, how and how many,
/// never the email. Returns the number of comments erased.
pub async fn erase(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    email: &str,
    mode: Erase,
) -> Result<i32> {
    caller.require(Role::Admin, "erase a commenter's data")?;
    let email = text::check_email(email.trim())?;
    let actor = caller.sub().unwrap_or_default().to_owned();
    transaction::write(db, |txn| {
        let (email, actor) = (&email, &actor);
        async move {
            let found = comment::Entity::find()
                .filter(by_email(email))
                .all(&*txn)
                .await?;
            let at = now();
            // Deleting a comment deletes the replies under it (the foreign key cascades):
            // readers see those go too, so they are in the stream as removed.
            let (action, mut frontier): (_, Vec<i32>) = match mode {
                Erase::Delete => (
                    stream::COMMENT_REMOVED,
                    found.iter().map(|c| c.id).collect(),
                ),
                Erase::Anonymise => (stream::COMMENT_UPDATED, Vec::new()),
            };
            let mut gone = found.clone();
            while !frontier.is_empty() {
                let replies: Vec<comment::Model> = comment::Entity::find()
                    .filter(comment::Column::ParentId.is_in(frontier.iter().copied()))
                    .all(&*txn)
                    .await?
                    .into_iter()
                    .filter(|r| !gone.iter().any(|c| c.id == r.id))
                    .collect();
                frontier = replies.iter().map(|r| r.id).collect();
                gone.extend(replies);
            }
            let readable: Vec<(comment::Model, String)> = gone
                .into_iter()
                .filter(|c| c.status == CommentStatus::Approved)
                .map(|c| (c, action.to_owned()))
                .collect();
            let events = super::decision_events(&*txn, &readable, actor).await?;
            let ids: Vec<i32> = found.iter().map(|c| c.id).collect();
            match mode {
                Erase::Delete => {
                    comment::Entity::delete_many()
                        .filter(comment::Column::Id.is_in(ids.iter().copied()))
                        .exec(&*txn)
                        .await?;
                }
                Erase::Anonymise => {
                    comment::Entity::update_many()
                        .col_expr(comment::Column::AuthorName, Expr::value("Anonymous"))
                        .col_expr(
                            comment::Column::AuthorEmail,
                            Expr::value(Option::<String>::None),
                        )
                        .col_expr(
                            comment::Column::EmailHash,
                            Expr::value(Option::<String>::None),
                        )
                        .col_expr(
                            comment::Column::AuthorSub,
                            Expr::value(Option::<String>::None),
                        )
                        .col_expr(
                            comment::Column::ClientAddress,
                            Expr::value(Option::<String>::None),
                        )
                        .col_expr(
                            comment::Column::UserAgent,
                            Expr::value(Option::<String>::None),
                        )
                        .col_expr(comment::Column::UpdatedAt, Expr::value(at))
                        .filter(comment::Column::Id.is_in(ids.iter().copied()))
                        .exec(&*txn)
                        .await?;
                }
            }
            comment_erasure::ActiveModel {
                actor: Set(actor.clone()),
                mode: Set(mode.as_str().into()),
                comments: Set(found.len() as i32),
                at: Set(at),
                ..Default::default()
            }
            .insert(&*txn)
            .await?;
            stream::append(&*txn, events).await?;
            Ok(Count(found.len() as i32))
        }
    })
    .await
    .map(|Count(n)| n)
}

struct Count(i32);

impl crate::domain::idempotency::Outcome for Count {
    fn outcome(&self) -> String {
        "done".into()
    }
}

/// Clears the client address and user agent of comments older than `retention`; returns
/// how many comments were cleared (the scheduler's step).
pub async fn clear_expired(
    db: &impl ConnectionTrait,
    retention: std::time::Duration,
) -> Result<u64> {
    let before = now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let res = comment::Entity::update_many()
        .col_expr(
            comment::Column::ClientAddress,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            comment::Column::UserAgent,
            Expr::value(Option::<String>::None),
        )
        .filter(comment::Column::CreatedAt.lt(before))
        .filter(
            sea_orm::Condition::any()
                .add(comment::Column::ClientAddress.is_not_null())
                .add(comment::Column::UserAgent.is_not_null()),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
