//! What GraphQL needs to be cacheable: the surrogate keys of everything a response shows
//! (plus the listings key, see `crate::response_cache`), the fields those keys cover, a
//! per-process memo of parsed documents, and the canonical order of a response's fields.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::Positioned;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::{Context, Value};
use indexmap::IndexMap;

use crate::domain::invalidation::Key;

/// The cache keys a response depends on: articles, sections, authors and tags it shows.
#[derive(Default)]
pub struct SurrogateKeys {
    keys: Mutex<BTreeSet<Key>>,
    /// The response lists or counts, or missed a lookup: it carries the listings key.
    pub(crate) lists: AtomicBool,
    /// The response must not be shared (a preview).
    pub(crate) private: AtomicBool,
}

impl SurrogateKeys {
    /// The keys seen so far.
    pub fn take(&self) -> BTreeSet<Key> {
        self.keys
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }

    /// Whether the response depends on which things exist (see `note_lists`).
    pub fn lists(&self) -> bool {
        self.lists.load(Ordering::Relaxed)
    }

    /// Whether the response must not be shared (see `no_store`).
    pub fn private(&self) -> bool {
        self.private.load(Ordering::Relaxed)
    }
}

/// Records that the response shows `key`.
pub(crate) fn note(ctx: &Context<'_>, key: impl FnOnce() -> Key) {
    if let Some(keys) = ctx.data_opt::<Arc<SurrogateKeys>>()
        && let Ok(mut k) = keys.keys.lock()
    {
        k.insert(key());
    }
}

/// Records that the response lists or counts things, or looked one up and found nothing:
/// it changes when something is published, unpublished or created, not only when what it
/// shows changes.
pub(crate) fn note_lists(ctx: &Context<'_>) {
    if let Some(keys) = ctx.data_opt::<Arc<SurrogateKeys>>() {
        keys.lists.store(true, Ordering::Relaxed);
    }
}

/// Records that the response shows something only its requester may see (a preview).
pub(crate) fn no_store(ctx: &Context<'_>) {
    if let Some(keys) = ctx.data_opt::<Arc<SurrogateKeys>>() {
        keys.private.store(true, Ordering::Relaxed);
    }
}

/// Fields whose answers are covered by the keys their resolvers note (an article and what
/// hangs off it, sections, authors, tags, blocks, page info) or that note the listings key
/// themselves (`articles`, `authors`, `sections`, lookups). Any other field in a document
/// gives the response the listings key, so a field added later (search, related articles)
/// is never served stale, only invalidated more often than it might be.
const COVERED_FIELDS: &[&str] = &[
    "__typename",
    "action",
    "actor",
    "alt",
    "article",
    "articles",
    "atom",
    "attribution",
    "author",
    "authorName",
    "authors",
    "avatarUrl",
    "bio",
    "body",
    "bodyHtml",
    "breadcrumb",
    "caption",
    "children",
    "commentCount",
    "comments",
    "commentsOpen",
    "createdAt",
    "credit",
    "cursor",
    "dek",
    "description",
    "edges",
    "endCursor",
    "featuredImage",
    "feeds",
    "hasNextPage",
    "hasPreviousPage",
    "headline",
    "html",
    "id",
    "items",
    "json",
    "jsonLd",
    "level",
    "name",
    "node",
    "ordered",
    "pageInfo",
    "parent",
    "parentId",
    "path",
    "provider",
    "publishedAt",
    "readingTimeMinutes",
    "replies",
    "rss",
    "revisions",
    "scheduledAt",
    "section",
    "sections",
    "slug",
    "source",
    "startCursor",
    "status",
    "tag",
    "tags",
    "text",
    "title",
    "totalCount",
    "updatedAt",
    "url",
    "version",
    "wordCount",
];

/// Whether `set` selects a field outside `COVERED_FIELDS` (the response then carries the
/// listings key).
pub(crate) fn uncovered(set: &SelectionSet, doc: &ExecutableDocument, depth: usize) -> bool {
    depth > 32
        || set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                // Introspection answers do not change while the process runs.
                !matches!(name, "__schema" | "__type")
                    && (!COVERED_FIELDS.contains(&name)
                        || uncovered(&f.node.selection_set.node, doc, depth + 1))
            }
            Selection::InlineFragment(i) => uncovered(&i.node.selection_set.node, doc, depth + 1),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .is_some_and(|f| uncovered(&f.node.selection_set.node, doc, depth + 1)),
        })
}

/// Most documents [`parsed`] remembers; when full it starts over.
const PARSED_DOCUMENTS: usize = 512;
/// Longest query text [`parsed`] remembers.
const PARSED_MAX_BYTES: usize = 16 * 1024;

static DOCUMENTS: LazyLock<Mutex<HashMap<Box<str>, Arc<ExecutableDocument>>>> =
    LazyLock::new(Default::default);

/// The query text parsed, from a per-process memo: clients send the same few documents over
/// and over, and parsing one is a large part of a small request's cost. A parse depends on
/// the text alone, so the memo can never be stale. `None` when the text does not parse
/// (the executor reports the error).
pub fn parsed(query: &str) -> Option<Arc<ExecutableDocument>> {
    if let Some(doc) = DOCUMENTS.lock().ok().and_then(|m| m.get(query).cloned()) {
        return Some(doc);
    }
    let doc = Arc::new(async_graphql::parser::parse_query(query).ok()?);
    if query.len() <= PARSED_MAX_BYTES
        && let Ok(mut m) = DOCUMENTS.lock()
    {
        if m.len() >= PARSED_DOCUMENTS {
            m.clear();
        }
        m.insert(query.into(), doc.clone());
    }
    Some(doc)
}

/// The operation of `doc` that runs for `operation`.
pub fn operation<'a>(
    doc: &'a ExecutableDocument,
    operation: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| op),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    }
}

/// Puts every object of `data` in the order the query selected its fields.
///
/// async-graphql inserts fields in the order their resolvers finish, so the same query can
/// serialise differently from one run to the next; a cacheable answer needs the same bytes
/// every time (and the GraphQL spec asks for selection order). Without the query text (a
/// persisted-query hash), keys are sorted instead: still the same bytes every time.
pub fn canonical_order(data: &mut Value, query: &str, operation_name: Option<&str>) {
    let Some(doc) = parsed(query) else {
        sort_keys(data);
        return;
    };
    match operation(&doc, operation_name) {
        Some(op) => Reorder {
            doc: &doc,
            plans: HashMap::new(),
        }
        .value(data, &[&op.node.selection_set.node]),
        None => sort_keys(data),
    }
}

fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::List(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// The response keys of some selection sets in selection order, each with the selection
/// sets beneath it.
type Plan<'a> = IndexMap<&'a str, Vec<&'a SelectionSet>>;

/// The response keys of `sets` in selection order, each with the selection sets beneath it.
fn keys<'a>(
    sets: &[&'a SelectionSet],
    doc: &'a ExecutableDocument,
    out: &mut Plan<'a>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for set in sets {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let key = f.node.response_key().node.as_str();
                    out.entry(key).or_default().push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(i) => {
                    keys(&[&i.node.selection_set.node], doc, out, depth + 1)
                }
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                        keys(&[&frag.node.selection_set.node], doc, out, depth + 1);
                    }
                }
            }
        }
    }
}

/// Reorders a response, working out the key order of each group of selection sets once
/// (a list of 60 articles shares one).
struct Reorder<'a> {
    doc: &'a ExecutableDocument,
    plans: HashMap<Vec<*const SelectionSet>, Rc<Plan<'a>>>,
}

impl<'a> Reorder<'a> {
    fn plan(&mut self, sets: &[&'a SelectionSet]) -> Rc<Plan<'a>> {
        let id: Vec<*const SelectionSet> = sets.iter().map(|s| *s as *const _).collect();
        let doc = self.doc;
        self.plans
            .entry(id)
            .or_insert_with(|| {
                let mut plan = IndexMap::new();
                keys(sets, doc, &mut plan, 0);
                Rc::new(plan)
            })
            .clone()
    }

    fn value(&mut self, v: &mut Value, sets: &[&'a SelectionSet]) {
        match v {
            Value::List(items) => items.iter_mut().for_each(|i| self.value(i, sets)),
            Value::Object(map) => {
                let plan = self.plan(sets);
                let mut old = std::mem::take(map);
                map.reserve(old.len());
                for (key, subsets) in plan.iter() {
                    // `swap_remove`: O(1), and what is left over is sorted below anyway.
                    if let Some((name, mut value)) = old.swap_remove_entry(*key) {
                        self.value(&mut value, subsets);
                        map.insert(name, value);
                    }
                }
                old.sort_keys();
                map.extend(old);
            }
            _ => {}
        }
    }
}
