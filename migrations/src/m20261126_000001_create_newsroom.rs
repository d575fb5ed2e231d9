//! The newsroom's tables: sections, authors, tags, articles with their ordered bylines and
//! tags, threaded comments, every article revision, and an ordered change log.
//!
//! Every lookup the API makes has an index: by slug or path, listings by
//! `(status, published_at, id)` overall and per section, bylines by author, taggings by tag,
//! comments by article, due scheduled articles by `(status, scheduled_at)`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_create_newsroom"
    }
}

/// Article workflow states, kept in one CHECK so both databases refuse anything else.
const ARTICLE_STATUSES: &str =
    "status IN ('DRAFT','IN_REVIEW','SCHEDULED','PUBLISHED','UNPUBLISHED','ARCHIVED')";
const COMMENT_STATUSES: &str = "status IN ('PENDING','APPROVED','SPAM','REJECTED')";

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

fn time(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn time_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn fk<
    A: IntoIden + 'static,
    B: IntoIden + 'static,
    C: IntoIden + 'static,
    D: IntoIden + 'static,
>(
    name: &str,
    from: (A, B),
    to: (C, D),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Sections::Table)
                .col(id(Sections::Id))
                .col(text(Sections::Slug))
                .col(text(Sections::Name))
                .col(text(Sections::Path).unique_key())
                .col(ColumnDef::new(Sections::ParentId).integer().null())
                .col(text_null(Sections::Description))
                .col(int(Sections::Position).default(0))
                .col(time(Sections::CreatedAt))
                .col(time(Sections::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_sections_parent",
                    (Sections::Table, Sections::ParentId),
                    (Sections::Table, Sections::Id),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_sections_parent",
            Sections::Table,
            &[Sections::ParentId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Authors::Table)
                .col(id(Authors::Id))
                .col(text(Authors::Slug).unique_key())
                .col(text(Authors::Name))
                .col(text_null(Authors::Title))
                .col(text_null(Authors::Bio))
                .col(text_null(Authors::AvatarUrl))
                .col(text_null(Authors::Subject))
                .col(time(Authors::CreatedAt))
                .col(time(Authors::UpdatedAt))
                .to_owned(),
        )
        .await?;
        index(m, "ix_authors_subject", Authors::Table, &[Authors::Subject]).await?;
        index(
            m,
            "ix_authors_name",
            Authors::Table,
            &[Authors::Name, Authors::Id],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Tags::Table)
                .col(id(Tags::Id))
                .col(text(Tags::Slug).unique_key())
                .col(text(Tags::Name))
                .col(time(Tags::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Articles::Table)
                .col(id(Articles::Id))
                .col(text(Articles::Slug).unique_key())
                .col(text(Articles::Headline))
                .col(text_null(Articles::Dek))
                .col(ColumnDef::new(Articles::Body).json_binary().not_null())
                .col(int(Articles::WordCount).default(0))
                .col(int(Articles::SectionId))
                .col(text(Articles::Status).check(Expr::cust(ARTICLE_STATUSES)))
                .col(text_null(Articles::SourceName))
                .col(text_null(Articles::SourceUrl))
                .col(ColumnDef::new(Articles::FeaturedImage).json_binary().null())
                .col(time(Articles::CreatedAt))
                .col(time(Articles::UpdatedAt))
                .col(time_null(Articles::PublishedAt))
                .col(time_null(Articles::ScheduledAt))
                .col(int(Articles::Version).default(1))
                .foreign_key(&mut fk(
                    "fk_articles_section",
                    (Articles::Table, Articles::SectionId),
                    (Sections::Table, Sections::Id),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        use Articles as A;
        index(
            m,
            "ix_articles_status_published",
            A::Table,
            &[A::Status, A::PublishedAt, A::Id],
        )
        .await?;
        index(
            m,
            "ix_articles_section_published",
            A::Table,
            &[A::SectionId, A::Status, A::PublishedAt, A::Id],
        )
        .await?;
        index(
            m,
            "ix_articles_status_scheduled",
            A::Table,
            &[A::Status, A::ScheduledAt],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ArticleAuthors::Table)
                .col(int(ArticleAuthors::ArticleId))
                .col(int(ArticleAuthors::AuthorId))
                .col(int(ArticleAuthors::Position))
                .primary_key(
                    Index::create()
                        .col(ArticleAuthors::ArticleId)
                        .col(ArticleAuthors::AuthorId),
                )
                .foreign_key(&mut fk(
                    "fk_article_authors_article",
                    (ArticleAuthors::Table, ArticleAuthors::ArticleId),
                    (Articles::Table, Articles::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_article_authors_author",
                    (ArticleAuthors::Table, ArticleAuthors::AuthorId),
                    (Authors::Table, Authors::Id),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_article_authors_author",
            ArticleAuthors::Table,
            &[ArticleAuthors::AuthorId, ArticleAuthors::ArticleId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ArticleTags::Table)
                .col(int(ArticleTags::ArticleId))
                .col(int(ArticleTags::TagId))
                .col(int(ArticleTags::Position))
                .primary_key(
                    Index::create()
                        .col(ArticleTags::ArticleId)
                        .col(ArticleTags::TagId),
                )
                .foreign_key(&mut fk(
                    "fk_article_tags_article",
                    (ArticleTags::Table, ArticleTags::ArticleId),
                    (Articles::Table, Articles::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_article_tags_tag",
                    (ArticleTags::Table, ArticleTags::TagId),
                    (Tags::Table, Tags::Id),
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_article_tags_tag",
            ArticleTags::Table,
            &[ArticleTags::TagId, ArticleTags::ArticleId],
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Comments::Table)
                .col(id(Comments::Id))
                .col(int(Comments::ArticleId))
                .col(ColumnDef::new(Comments::ParentId).integer().null())
                .col(text(Comments::AuthorName))
                .col(text(Comments::Body))
                .col(text(Comments::Status).check(Expr::cust(COMMENT_STATUSES)))
                .col(text_null(Comments::ImportKey))
                .col(time(Comments::CreatedAt))
                .col(time(Comments::UpdatedAt))
                .foreign_key(&mut fk(
                    "fk_comments_article",
                    (Comments::Table, Comments::ArticleId),
                    (Articles::Table, Articles::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_comments_parent",
                    (Comments::Table, Comments::ParentId),
                    (Comments::Table, Comments::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_comments_article",
            Comments::Table,
            &[Comments::ArticleId, Comments::Status, Comments::CreatedAt],
        )
        .await?;
        index(
            m,
            "ix_comments_parent",
            Comments::Table,
            &[Comments::ParentId],
        )
        .await?;
        // An import file's comment keys are unique per article, so two files never collide.
        m.create_index(
            Index::create()
                .name("ux_comments_import_key")
                .table(Comments::Table)
                .col(Comments::ArticleId)
                .col(Comments::ImportKey)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ArticleRevisions::Table)
                .col(id(ArticleRevisions::Id))
                .col(int(ArticleRevisions::ArticleId))
                .col(int(ArticleRevisions::Version))
                .col(text(ArticleRevisions::Action))
                .col(text_null(ArticleRevisions::Actor))
                .col(
                    ColumnDef::new(ArticleRevisions::Snapshot)
                        .json_binary()
                        .not_null(),
                )
                .col(time(ArticleRevisions::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_article_revisions_article",
                    (ArticleRevisions::Table, ArticleRevisions::ArticleId),
                    (Articles::Table, Articles::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_article_revisions_version")
                .table(ArticleRevisions::Table)
                .col(ArticleRevisions::ArticleId)
                .col(ArticleRevisions::Version)
                .unique()
                .to_owned(),
        )
        .await?;

        // The change log outlives what it describes (a deleted article keeps its tombstone),
        // so it has no foreign keys.
        m.create_table(
            Table::create()
                .table(ChangeLog::Table)
                .col(id(ChangeLog::Seq))
                .col(text(ChangeLog::Entity))
                .col(int(ChangeLog::EntityId))
                .col(text(ChangeLog::Action))
                .col(text_null(ChangeLog::Actor))
                .col(time(ChangeLog::At))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_change_log_entity",
            ChangeLog::Table,
            &[ChangeLog::Entity, ChangeLog::EntityId],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChangeLog::Table.into_iden(),
            ArticleRevisions::Table.into_iden(),
            Comments::Table.into_iden(),
            ArticleTags::Table.into_iden(),
            ArticleAuthors::Table.into_iden(),
            Articles::Table.into_iden(),
            Tags::Table.into_iden(),
            Authors::Table.into_iden(),
            Sections::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn index<T: IntoIden + Copy + 'static>(
    m: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[T],
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    m.create_index(stmt.to_owned()).await
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
    Slug,
    Name,
    Path,
    ParentId,
    Description,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Authors {
    Table,
    Id,
    Slug,
    Name,
    Title,
    Bio,
    AvatarUrl,
    Subject,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Tags {
    Table,
    Id,
    Slug,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
    Slug,
    Headline,
    Dek,
    Body,
    WordCount,
    SectionId,
    Status,
    SourceName,
    SourceUrl,
    FeaturedImage,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    ScheduledAt,
    Version,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleAuthors {
    Table,
    ArticleId,
    AuthorId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleTags {
    Table,
    ArticleId,
    TagId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum Comments {
    Table,
    Id,
    ArticleId,
    ParentId,
    AuthorName,
    Body,
    Status,
    ImportKey,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleRevisions {
    Table,
    Id,
    ArticleId,
    Version,
    Action,
    Actor,
    Snapshot,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ChangeLog {
    Table,
    Seq,
    Entity,
    EntityId,
    Action,
    Actor,
    At,
}
