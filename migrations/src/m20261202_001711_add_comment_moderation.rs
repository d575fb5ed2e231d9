//! Reader comments: what posting and moderation keep about a comment, and the records they
//! leave.
//!
//! - `comments` gains the commenter's email (shown to editors only), its keyed hash (the
//!   trust-by-history lookup), the signed-in reader's subject, the rendered HTML, the spam
//!   score and its reasons, a digest of the normalised text (duplicates), and the client
//!   address and user agent (cleared by the scheduler after the retention setting).
//! - `comment_decisions`: every moderation decision (who, when, from what to what, a note).
//! - `comment_erasures`: every erasure of one commenter's data (who, when, how many, how),
//!   without the email itself.
//! - `comment_states`: an editor's closing of an article's comments (absent: open).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_001711_add_comment_moderation"
    }
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let text_cols = [
            Comments::AuthorEmail,
            Comments::EmailHash,
            Comments::AuthorSub,
            Comments::BodyHtml,
            Comments::Reasons,
            Comments::BodyDigest,
            Comments::ClientAddress,
            Comments::UserAgent,
        ];
        for c in text_cols {
            m.alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .add_column(ColumnDef::new(c).text().null())
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Comments::Table)
                .add_column(
                    ColumnDef::new(Comments::Score)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            (
                "ix_comments_status_created",
                &[Comments::Status, Comments::CreatedAt, Comments::Id][..],
            ),
            (
                "ix_comments_client_created",
                &[Comments::ClientAddress, Comments::CreatedAt][..],
            ),
            (
                "ix_comments_article_created",
                &[Comments::ArticleId, Comments::CreatedAt][..],
            ),
            (
                "ix_comments_digest_created",
                &[Comments::BodyDigest, Comments::CreatedAt][..],
            ),
            (
                "ix_comments_email_hash",
                &[Comments::EmailHash, Comments::Status][..],
            ),
            ("ix_comments_created", &[Comments::CreatedAt][..]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Comments::Table);
            for c in cols {
                idx.col(*c);
            }
            m.create_index(idx.to_owned()).await?;
        }
        let time = |c: CommentDecisions| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(CommentDecisions::Table)
                .col(
                    ColumnDef::new(CommentDecisions::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(CommentDecisions::CommentId).integer().null())
                .col(
                    ColumnDef::new(CommentDecisions::ArticleId)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(CommentDecisions::Actor).text().not_null())
                .col(
                    ColumnDef::new(CommentDecisions::FromStatus)
                        .text()
                        .not_null(),
                )
                .col(ColumnDef::new(CommentDecisions::ToStatus).text().not_null())
                .col(ColumnDef::new(CommentDecisions::Note).text().null())
                .col(ColumnDef::new(CommentDecisions::Reported).text().null())
                .col(time(CommentDecisions::At))
                .foreign_key(
                    ForeignKey::create()
                        .from(CommentDecisions::Table, CommentDecisions::CommentId)
                        .to(Comments::Table, Comments::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_comment_decisions_comment")
                .table(CommentDecisions::Table)
                .col(CommentDecisions::CommentId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CommentErasures::Table)
                .col(
                    ColumnDef::new(CommentErasures::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(CommentErasures::Actor).text().not_null())
                .col(ColumnDef::new(CommentErasures::Mode).text().not_null())
                .col(
                    ColumnDef::new(CommentErasures::Comments)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CommentErasures::At)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CommentStates::Table)
                .col(
                    ColumnDef::new(CommentStates::ArticleId)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(CommentStates::Closed).boolean().not_null())
                .col(ColumnDef::new(CommentStates::ChangedBy).text().not_null())
                .col(
                    ColumnDef::new(CommentStates::ChangedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CommentStates::Table, CommentStates::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CommentStates::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CommentErasures::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CommentDecisions::Table).to_owned())
            .await?;
        for name in [
            "ix_comments_status_created",
            "ix_comments_client_created",
            "ix_comments_article_created",
            "ix_comments_digest_created",
            "ix_comments_email_hash",
            "ix_comments_created",
        ] {
            m.drop_index(Index::drop().name(name).table(Comments::Table).to_owned())
                .await?;
        }
        for c in [
            Comments::Score,
            Comments::UserAgent,
            Comments::ClientAddress,
            Comments::BodyDigest,
            Comments::Reasons,
            Comments::BodyHtml,
            Comments::AuthorSub,
            Comments::EmailHash,
            Comments::AuthorEmail,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Comments::Table)
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    ArticleId,
    Status,
    CreatedAt,
    AuthorEmail,
    EmailHash,
    AuthorSub,
    BodyHtml,
    Score,
    Reasons,
    BodyDigest,
    ClientAddress,
    UserAgent,
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum CommentDecisions {
    Table,
    Id,
    CommentId,
    ArticleId,
    Actor,
    FromStatus,
    ToStatus,
    Note,
    /// What was reported to the external checker (`spam`, `ham`), if anything.
    Reported,
    At,
}

#[derive(DeriveIden)]
enum CommentErasures {
    Table,
    Id,
    Actor,
    Mode,
    Comments,
    At,
}

#[derive(DeriveIden)]
enum CommentStates {
    Table,
    ArticleId,
    Closed,
    ChangedBy,
    ChangedAt,
}
