//! What a GraphQL request passes before it runs: persisted queries (Apollo's APQ), the
//! refusal of writes over GET, the document limits the schema does not count (aliases,
//! root fields), and the response cache's view of the document (fields it cannot key).
//!
//! These were executor extensions. An extension of any kind makes async-graphql wrap
//! *every field* of every response in the extension chain (boxed futures and a
//! `ResolveInfo` per field, per extension), which cost more than resolving the fields
//! themselves on a listing; without extensions the executor takes its direct path. So they
//! run here, once per operation, on the document the process's parse memo already holds.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::parser::types::Selection;
use async_graphql::parser::types::{ExecutableDocument, OperationType, SelectionSet};
use async_graphql::{Request, ServerError};
use serde::Deserialize;
use sha2::Digest as _;

use super::http_cache::{SurrogateKeys, parsed, uncovered};

/// Persisted queries remembered per process (a miss makes the client resend the text).
pub const APQ_CACHE: u64 = 1024;

/// The checks of one schema's requests, and its persisted queries.
pub struct Prepare {
    aliases: usize,
    root_fields: usize,
    /// Query texts by the hex SHA-256 a client registered them under.
    persisted: moka::sync::Cache<String, Arc<str>>,
}

#[derive(Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

/// How the request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Post,
    /// Over GET, where only queries may run.
    Get,
}

impl Prepare {
    /// Checks with these limits.
    pub fn new(limits: &super::Limits) -> Self {
        Self {
            aliases: limits.aliases,
            root_fields: limits.root_fields,
            persisted: moka::sync::Cache::new(APQ_CACHE),
        }
    }

    /// Resolves a persisted query, checks the document, tells `keys` what the cache needs to
    /// know of it, and hands the executor the parsed document. An error is the operation's
    /// whole answer (a GraphQL error before execution).
    pub fn request(
        &self,
        mut req: Request,
        transport: Transport,
        keys: Option<&SurrogateKeys>,
    ) -> Result<Request, ServerError> {
        self.persisted_query(&mut req)?;
        // Text that does not parse is left to the executor, which reports the parse error.
        let Some(doc) = parsed(&req.query) else {
            return Ok(req);
        };
        let ops = || doc.operations.iter().map(|(_, op)| &op.node);
        // Any operation of the document, not only the one that runs: a GET never carries a
        // write, and a document with one is never replayed from the cache.
        let writes = writes(&doc, None);
        if writes && transport == Transport::Get {
            return Err(ServerError::new("mutations must be sent with POST", None));
        }
        self.limits(&doc)?;
        if let Some(keys) = keys {
            if ops().any(|op| uncovered(&op.selection_set.node, &doc, 0)) {
                keys.lists.store(true, Ordering::Relaxed);
            }
            // A mutation known only once a persisted-query hash resolved: never replayed.
            if writes {
                keys.private.store(true, Ordering::Relaxed);
            }
        }
        req.set_parsed_query((*doc).clone());
        Ok(req)
    }

    /// Apollo's automatic persisted queries: a hash alone runs the text registered under it;
    /// text with its hash registers it.
    fn persisted_query(&self, req: &mut Request) -> Result<(), ServerError> {
        let Some(value) = req.extensions.remove("persistedQuery") else {
            return Ok(());
        };
        let pq: PersistedQuery = async_graphql::from_value(value).map_err(|_| {
            ServerError::new("Invalid \"PersistedQuery\" extension configuration.", None)
        })?;
        if pq.version != 1 {
            return Err(ServerError::new(
                format!(
                    "Only the \"PersistedQuery\" extension of version \"1\" is supported, not \"{}\".",
                    pq.version
                ),
                None,
            ));
        }
        if req.query.is_empty() {
            let Some(text) = self.persisted.get(&pq.sha256_hash) else {
                return Err(ServerError::new("PersistedQueryNotFound", None));
            };
            req.query = text.to_string();
            return Ok(());
        }
        let hash: String = sha2::Sha256::digest(req.query.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if pq.sha256_hash != hash {
            return Err(ServerError::new("provided sha does not match query", None));
        }
        // Only a document that parses is worth remembering.
        if parsed(&req.query).is_some() {
            self.persisted.insert(hash, req.query.as_str().into());
        }
        Ok(())
    }

    /// Caps aliases and root fields, which the schema's own limits do not count.
    fn limits(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let mut aliases = 0;
        for (_, op) in doc.operations.iter() {
            count_aliases(&op.node.selection_set.node, &mut aliases);
            let roots = op.node.selection_set.node.items.len();
            if roots > self.root_fields {
                return Err(ServerError::new(
                    format!(
                        "the operation selects {roots} root fields; the limit is {}",
                        self.root_fields
                    ),
                    None,
                ));
            }
        }
        for frag in doc.fragments.values() {
            count_aliases(&frag.node.selection_set.node, &mut aliases);
        }
        if aliases > self.aliases {
            return Err(ServerError::new(
                format!(
                    "the document uses {aliases} aliases; the limit is {}",
                    self.aliases
                ),
                None,
            ));
        }
        Ok(())
    }
}

/// Whether the operation that would run is a mutation or subscription (the rate limit of
/// writes, and 405 for a write over GET). Unparseable text is left for the executor, which
/// answers with the parse error.
pub fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    parsed(query).is_some_and(|doc| writes(&doc, operation))
}

/// Whether the operation named `operation` writes; with `None`, whether any operation does.
fn writes(doc: &ExecutableDocument, operation: Option<&str>) -> bool {
    doc.operations.iter().any(|(name, op)| {
        op.node.ty != OperationType::Query
            && operation.is_none_or(|wanted| name.is_some_and(|n| n.as_str() == wanted))
    })
}

fn count_aliases(set: &SelectionSet, n: &mut usize) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                *n += usize::from(f.node.alias.is_some());
                count_aliases(&f.node.selection_set.node, n);
            }
            Selection::InlineFragment(i) => count_aliases(&i.node.selection_set.node, n),
            Selection::FragmentSpread(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_mutation;

    #[test]
    fn is_mutation_finds_the_operation_that_would_run() {
        assert!(is_mutation("mutation { x }", None));
        assert!(!is_mutation("{ x }", None));
        assert!(!is_mutation("query A { x } mutation B { y }", Some("A")));
        assert!(is_mutation("query A { x } mutation B { y }", Some("B")));
        assert!(is_mutation("subscription { x }", None));
        assert!(!is_mutation("not graphql {", None));
    }
}
