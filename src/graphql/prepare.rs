//! What a GraphQL request passes before it runs: persisted queries (Apollo's APQ), the
//! refusal of writes over GET, the document limits the schema does not count (aliases,
//! root fields), and the response cache's view of the document (fields it cannot key).
//!
//! It also names what went wrong when a request fails before it runs (a GraphQL *request
//! error*): `GRAPHQL_PARSE_FAILED` when the document does not parse,
//! `GRAPHQL_VALIDATION_FAILED` when it breaks a validation rule or a limit or its variables
//! do not fit, `PERSISTED_QUERY_NOT_FOUND` for an unknown hash (see [`code_errors`]).
//! Errors raised while executing keep the codes of `crate::error`.
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

use super::surrogate_keys::{SurrogateKeys, operation, parsed, uncovered};
use crate::error::{AppError, Code};

/// `extensions.code` of a document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// `extensions.code` of a document that breaks a validation rule or a limit, names an
/// operation it does not have, or whose variables do not fit their types.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
/// `extensions.code` of a persisted-query hash this process does not know (the client then
/// sends the text with its hash, as Apollo's automatic persisted queries do).
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";

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
        let Some(doc) = parsed(&req.query) else {
            return Err(parse_error(&req.query));
        };
        let ops = || doc.operations.iter().map(|(_, op)| &op.node);
        // Any operation of the document, not only the one that runs: a GET never carries a
        // write, and a document with one is never replayed from the cache.
        let writes = writes(&doc, None);
        if writes && transport == Transport::Get {
            return Err(refusal(AppError::bad_input(
                "mutations must be sent with POST",
            )));
        }
        self.limits(&doc)?;
        required_variables(&doc, &req)?;
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
        let bad = |msg: String| refusal(AppError::BadInput(msg));
        let pq: PersistedQuery = async_graphql::from_value(value)
            .map_err(|_| bad("Invalid \"PersistedQuery\" extension configuration.".into()))?;
        if pq.version != 1 {
            return Err(bad(format!(
                "Only the \"PersistedQuery\" extension of version \"1\" is supported, not \"{}\".",
                pq.version
            )));
        }
        if req.query.is_empty() {
            let Some(text) = self.persisted.get(&pq.sha256_hash) else {
                return Err(coded(PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound"));
            };
            req.query = text.to_string();
            return Ok(());
        }
        let hash: String = sha2::Sha256::digest(req.query.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if pq.sha256_hash != hash {
            return Err(bad("provided sha does not match query".into()));
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
                return Err(coded(
                    VALIDATION_FAILED,
                    format!(
                        "the operation selects {roots} root fields; the limit is {}",
                        self.root_fields
                    ),
                ));
            }
        }
        for frag in doc.fragments.values() {
            count_aliases(&frag.node.selection_set.node, &mut aliases);
        }
        if aliases > self.aliases {
            return Err(coded(
                VALIDATION_FAILED,
                format!(
                    "the document uses {aliases} aliases; the limit is {}",
                    self.aliases
                ),
            ));
        }
        Ok(())
    }
}

/// A request error with `extensions.code`.
fn coded(code: &str, message: impl Into<String>) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    err
}

/// A request error worded and coded as `err` is.
fn refusal(err: AppError) -> ServerError {
    coded(err.code(), err.to_string())
}

/// The parser's own account of why `query` does not parse (only read on that path: the
/// memo keeps documents that parse).
fn parse_error(query: &str) -> ServerError {
    let mut err = match async_graphql::parser::parse_query(query) {
        Err(e) => ServerError::from(e),
        Ok(_) => ServerError::new("the document could not be parsed", None),
    };
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", PARSE_FAILED);
    err
}

/// Whether an answer is a GraphQL request error: it failed before execution (parse,
/// validation, variables, limits, persisted queries), so it has errors, no path on any of
/// them, and no `data`. Errors raised while executing carry the path of their field.
pub fn is_request_error(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty())
}

/// Gives every error of an answer that has none a code:
///
/// - a request error (before execution: validation, the schema's depth, complexity and
///   directive limits, an operation name the document lacks) `GRAPHQL_VALIDATION_FAILED`;
/// - a field error `BAD_USER_INPUT`: every error a resolver raises carries its code
///   (`graphql::error::to_graphql`), so one without is the executor's own, raised when a field
///   reads an argument whose value does not coerce to its type (variables are coerced
///   then, as a `DateTime` variable that is not one).
///
/// Codes already set stay.
pub fn code_errors(resp: &mut async_graphql::Response) {
    let code = if is_request_error(resp) {
        VALIDATION_FAILED
    } else {
        Code::BadUserInput.as_str()
    };
    for err in &mut resp.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", code);
        }
    }
}

/// Refuses an operation whose non-null variable is missing (with no default) or null: the
/// spec's variable coercion fails before anything runs, where async-graphql would only
/// notice once a field reads the variable, and run the rest of the operation.
fn required_variables(doc: &ExecutableDocument, req: &Request) -> Result<(), ServerError> {
    // An operation name the document lacks is the executor's to report.
    let Some(op) = operation(doc, req.operation_name.as_deref()) else {
        return Ok(());
    };
    for def in &op.node.variable_definitions {
        let def = &def.node;
        if def.var_type.node.nullable {
            continue;
        }
        let (name, ty) = (def.name.node.as_str(), &def.var_type.node);
        let problem = match req.variables.get(name) {
            None if def.default_value.is_none() => "was not provided",
            Some(async_graphql::Value::Null) => "must not be null",
            _ => continue,
        };
        let mut err = coded(
            VALIDATION_FAILED,
            format!("Variable \"${name}\" of required type \"{ty}\" {problem}."),
        );
        err.locations.push(def.name.pos);
        return Err(err);
    }
    Ok(())
}

/// Whether the operation that would run is a mutation or subscription (the rate limit of
/// writes, and 405 for a write over GET). Unparseable text is no mutation: `request`
/// answers it with the parse error.
pub fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    parsed(query).is_some_and(|doc| writes(&doc, operation))
}

/// How many mutation fields the operation that would run selects at its root (fragments
/// spread there counted by their fields); 0 for a query or a document that does not parse.
/// An `Idempotency-Key` covers one write, so a keyed request may select one.
pub fn mutation_fields(query: &str, operation_name: Option<&str>) -> usize {
    fn count(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(i) => count(doc, &i.node.selection_set.node, depth),
                // A cycle of fragments does not validate; stop counting it anyway.
                Selection::FragmentSpread(_) if depth > 8 => 1,
                Selection::FragmentSpread(s) => doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .map_or(1, |f| count(doc, &f.node.selection_set.node, depth + 1)),
            })
            .sum()
    }
    let Some(doc) = parsed(query) else { return 0 };
    match operation(&doc, operation_name) {
        Some(op) if op.node.ty == OperationType::Mutation => {
            count(&doc, &op.node.selection_set.node, 0)
        }
        _ => 0,
    }
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
    use super::{is_mutation, mutation_fields};

    #[test]
    fn mutation_fields_counts_the_root_of_the_operation_that_would_run() {
        assert_eq!(mutation_fields("mutation { a }", None), 1);
        assert_eq!(mutation_fields("mutation { a b: a }", None), 2);
        assert_eq!(
            mutation_fields("mutation { ...F } fragment F on Mutation { a b }", None),
            2
        );
        assert_eq!(
            mutation_fields("mutation { ... on Mutation { a } }", None),
            1
        );
        assert_eq!(mutation_fields("{ a b }", None), 0);
        assert_eq!(
            mutation_fields("query A { a } mutation B { b c }", Some("B")),
            2
        );
        assert_eq!(mutation_fields("not graphql {", None), 0);
    }

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
