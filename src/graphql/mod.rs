//! The GraphQL API: the schema, its query root, the types that wrap stored rows, and the
//! DataLoaders that batch every relation into one statement per level of a query.
//!
//! Resolvers call `domain/` and never touch entities' queries themselves. Each request gets
//! fresh loaders (so nothing is cached across requests or processes).

mod blocks;
mod changes;
mod comments;
mod connection;
mod enums;
pub mod error;
mod inputs;
pub mod loaders;
mod mutation;
mod partners;
pub mod prepare;
mod query;
mod search;
pub mod subscription;
pub mod surrogate_keys;
mod types;
mod webhooks;

use std::sync::Arc;

use async_graphql::{Context, Schema};
use sea_orm::DatabaseConnection;

pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

use crate::auth::Auth;
use crate::domain::access::Caller;
use crate::domain::site::Site;

/// The schema type served at `/graphql` (and its subscriptions at `/graphql/ws`).
pub type GazetteSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The request's verified caller (anonymous when the handler added none).
pub(crate) fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_opt::<Caller>().unwrap_or(&Caller::Anonymous)
}

/// The newsroom directory (sections, authors and tags in memory), given with each request.
pub(crate) fn directory<'a>(
    ctx: &Context<'a>,
) -> async_graphql::Result<&'a crate::domain::directory::Directory> {
    ctx.data::<crate::domain::directory::Directory>()
}

/// The comment service (settings, the external checker, keys).
pub(crate) fn comment_service<'a>(
    ctx: &Context<'a>,
) -> async_graphql::Result<&'a crate::domain::comments::Service> {
    ctx.data::<crate::domain::comments::Service>()
}

pub use crate::domain::comments::posting::Client as CommentClient;
pub use comments::ReaderName;

/// The database pool.
pub(crate) fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
}

/// What a single GraphQL request (or subscription) may ask for; anything beyond is refused at validation,
/// before a resolver or a database statement runs, with a message naming the limit.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest selection.
    pub depth: usize,
    /// Largest cost: a field costs 1 plus its children, a connection its page size times its
    /// children, other lists a fixed fan-out times their children.
    pub complexity: usize,
    /// Most aliases in one document.
    pub aliases: usize,
    /// Most fields at the root of the operation.
    pub root_fields: usize,
    /// Most directives on one field.
    pub directives: usize,
    /// Whether the schema can be introspected (on for a public API).
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 12,
            complexity: 20_000,
            aliases: 30,
            root_fields: 20,
            directives: 5,
            introspection: true,
        }
    }
}

/// The complexity multiplier of a page of `first` items (the default page is 20).
pub fn page_cost(first: Option<i32>) -> usize {
    first.unwrap_or(20).clamp(1, 100) as usize
}

/// Builds the schema over `db` with the default limits, without public URLs.
pub fn schema(db: DatabaseConnection, auth: Arc<Auth>) -> GazetteSchema {
    schema_with(db, auth, Arc::default(), &Limits::default())
}

/// The front end's public URLs and the publication.
pub(crate) fn site<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Site> {
    Ok(ctx.data::<Arc<Site>>()?.as_ref())
}

/// Builds the schema over `db` with `limits` (those of a document's shape are checked by
/// [`prepare::Prepare`] before execution). It has no executor extension, on purpose: see
/// [`prepare`].
pub fn schema_with(
    db: DatabaseConnection,
    auth: Arc<Auth>,
    site: Arc<Site>,
    limits: &Limits,
) -> GazetteSchema {
    let mut b = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(db)
        .data(auth)
        .data(site)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_directives(limits.directives);
    if !limits.introspection {
        b = b.disable_introspection();
    }
    b.finish()
}

/// The schema in SDL, sorted, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let schema = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).finish();
    schema.sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}
