//! Full-text search over headlines, deks and bodies, on each database's own engine behind
//! one function ([`search`]).
//!
//! A reader's query is parsed here, never handed to the engine as typed: words, `"quoted
//! phrases"`, prefixes (`taliba*`), `-excluded` terms and `OR` between two terms (the
//! syntax of web search boxes). Terms keep only letters and digits, so what reaches FTS5's
//! `MATCH` or PostgreSQL's `to_tsquery` is built from quoted words and the engine's own
//! operators: no input can make the engine fail, and input that asks for nothing is
//! `BAD_USER_INPUT`.
//!
//! - SQLite: FTS5 with the Porter stemmer; ranked by `bm25()` with the headline weighing 10,
//!   the dek 4 and the body 1; highlighted by `snippet()`.
//! - PostgreSQL: a stored `tsvector` (English stemming; headline `A`, dek `B`, body `C`)
//!   under a GIN index; ranked by `ts_rank_cd()` with weights 1.0, 0.4, 0.1; highlighted by
//!   `ts_headline()` over the page only.
//!
//! The index is written in the same transaction as the article ([`index`]), so a search
//! never finds text an article no longer has. Drafts are indexed too (editors search
//! them); what a caller may see is the listing filter's job, as everywhere.

use sea_orm::sea_query::{
    Alias, BinOper, Condition, Expr, Func, Order, Query, SelectStatement, SimpleExpr, UnionType,
};
use std::collections::HashMap;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _, FromQueryResult,
    QueryFilter as _, Statement,
};

use super::articles;
use super::batched::Page;
use super::blocks::{self, Block};
use super::cursor::Cursor;
use super::filter::{self, ArticleFilter};
use super::sql::Sql;
use crate::entities::article;
use crate::error::{AppError, Result};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most terms one query may hold.
pub const MAX_TERMS: usize = 32;
/// How deep pages of results go: relevance this far down is noise, and deep offsets cost.
pub const MAX_DEPTH: u64 = 1000;

/// Marks the start and end of a match in engine output; private-use characters that are
/// removed from indexed text, so only the engine can produce them.
const MARK_START: char = '\u{E000}';
const MARK_END: char = '\u{E001}';

/// One thing to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    Word(String),
    /// Words that must follow each other.
    Phrase(Vec<String>),
    /// Words starting with this.
    Prefix(String),
}

/// A parsed query: every group must match (a group matches when any of its terms does),
/// and no excluded term may.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub groups: Vec<Vec<Term>>,
    pub excluded: Vec<Term>,
}

/// The letters-and-digits runs of `s`, lowercased.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn term_of(raw: &str, quoted: bool) -> Option<Term> {
    let prefix = !quoted && raw.ends_with('*');
    let mut ws = words(raw);
    match ws.len() {
        0 => None,
        1 if prefix => ws.pop().map(Term::Prefix),
        1 => ws.pop().map(Term::Word),
        _ => Some(Term::Phrase(ws)),
    }
}

impl SearchQuery {
    /// Parses what a reader typed. Never fails on syntax: unbalanced quotes close at the
    /// end, stray operators and punctuation are ignored. Fails only when the query is too
    /// long or asks for nothing.
    pub fn parse(input: &str) -> Result<Self> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::bad_input(format!(
                "a search is at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut q = SearchQuery::default();
        let mut rest = input.trim_start();
        let mut or_next = false;
        let mut count = 0;
        while !rest.is_empty() {
            let negated = rest.starts_with('-') && rest.len() > 1;
            if negated {
                rest = &rest[1..];
            }
            let (raw, quoted, tail) = if let Some(after) = rest.strip_prefix('"') {
                match after.find('"') {
                    Some(end) => (&after[..end], true, &after[end + 1..]),
                    None => (after, true, ""),
                }
            } else {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '"')
                    .unwrap_or(rest.len());
                (&rest[..end], false, &rest[end..])
            };
            rest = tail.trim_start();
            if !quoted && !negated && raw == "OR" {
                or_next = !q.groups.is_empty();
                continue;
            }
            let Some(term) = term_of(raw, quoted) else {
                continue;
            };
            count += 1;
            if count > MAX_TERMS {
                return Err(AppError::bad_input(format!(
                    "a search holds at most {MAX_TERMS} terms"
                )));
            }
            match (negated, or_next, q.groups.last_mut()) {
                (true, _, _) => q.excluded.push(term),
                (false, true, Some(last)) => last.push(term),
                _ => q.groups.push(vec![term]),
            }
            or_next = false;
        }
        if q.groups.is_empty() {
            return Err(AppError::bad_input(if q.excluded.is_empty() {
                "give at least one word to search for"
            } else {
                "a search needs at least one word that is not excluded"
            }));
        }
        Ok(q)
    }

    /// The query in FTS5's syntax: every word quoted, so only our operators are operators.
    pub fn to_fts5(&self) -> String {
        fn term(t: &Term) -> String {
            match t {
                Term::Word(w) => format!("\"{w}\""),
                Term::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
                Term::Prefix(w) => format!("\"{w}\"*"),
            }
        }
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let alts: Vec<String> = g.iter().map(term).collect();
                format!("({})", alts.join(" OR "))
            })
            .collect();
        let mut out = groups.join(" AND ");
        for t in &self.excluded {
            out.push_str(" NOT ");
            out.push_str(&term(t));
        }
        out
    }

    /// The query in `to_tsquery`'s syntax. Words hold only letters and digits, so none of
    /// them is an operator, and the English configuration stems them as it stems documents.
    pub fn to_tsquery(&self) -> String {
        fn term(t: &Term) -> String {
            match t {
                Term::Word(w) => w.clone(),
                Term::Phrase(ws) => format!("({})", ws.join(" <-> ")),
                Term::Prefix(w) => format!("{w}:*"),
            }
        }
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                let alts: Vec<String> = g.iter().map(term).collect();
                format!("({})", alts.join(" | "))
            })
            .collect();
        parts.extend(self.excluded.iter().map(|t| format!("!{}", term(t))));
        parts.join(" & ")
    }
}

/// The text of one article as the index holds it.
pub struct SearchDoc {
    pub id: i32,
    pub headline: String,
    pub dek: String,
    pub body: String,
}

impl SearchDoc {
    /// The indexed text of an article.
    pub fn of(a: &article::Model) -> Self {
        let body: Vec<Block> = serde_json::from_value(a.body.clone()).unwrap_or_default();
        Self::new(a.id, &a.headline, a.dek.as_deref(), &body)
    }

    /// The indexed text of these parts of an article.
    pub fn new(id: i32, headline: &str, dek: Option<&str>, body: &[Block]) -> Self {
        let clean = |s: &str| s.replace([MARK_START, MARK_END], " ");
        Self {
            id,
            headline: clean(headline),
            dek: clean(dek.unwrap_or("")),
            body: clean(&blocks::plain_text(body)),
        }
    }
}

/// Writes (or rewrites) the index entries of these articles.
pub async fn index(txn: &impl ConnectionTrait, docs: &[SearchDoc]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    for chunk in docs.chunks(200) {
        let mut q = Sql::new(
            backend,
            match backend {
                DbBackend::Postgres => {
                    "INSERT INTO article_search (article_id, headline, dek, body) VALUES "
                }
                // FTS5 has no upsert; REPLACE on the rowid swaps the entry.
                _ => "REPLACE INTO article_search (rowid, headline, dek, body) VALUES ",
            },
        );
        for (i, d) in chunk.iter().enumerate() {
            let row = [
                d.id.into(),
                d.headline.clone().into(),
                d.dek.clone().into(),
                d.body.clone().into(),
            ];
            q.row(i, row);
        }
        if backend == DbBackend::Postgres {
            q.push(
                " ON CONFLICT (article_id) DO UPDATE SET headline = excluded.headline, \
                 dek = excluded.dek, body = excluded.body",
            );
        }
        txn.execute(q.build()).await?;
    }
    Ok(())
}

/// Removes an article's index entry (PostgreSQL's goes with the article by itself; FTS5
/// tables have no foreign keys).
pub async fn unindex(txn: &impl ConnectionTrait, id: i32) -> Result<()> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Sqlite {
        txn.execute(Statement::from_sql_and_values(
            backend,
            "DELETE FROM article_search WHERE rowid = ?",
            [id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// One result: the article, how well it matched, and a snippet with the matches marked.
#[derive(Clone, Debug)]
pub struct Hit {
    pub article: article::Model,
    pub score: f64,
    /// Plain text, HTML-escaped, with each match inside `<mark>…</mark>`.
    pub highlight: String,
}

/// A page of results, best first.
#[derive(Clone, Debug)]
pub struct SearchPage {
    pub hits: Page<Hit>,
    /// How many results precede this page.
    pub offset: u64,
}

/// A checked request for one page of results.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub query: SearchQuery,
    pub filter: ArticleFilter,
    pub first: u64,
    pub offset: u64,
}

impl SearchRequest {
    /// Checks a client's query, page size and cursor.
    pub fn new(
        query: &str,
        filter: ArticleFilter,
        first: Option<i32>,
        after: Option<&str>,
    ) -> Result<Self> {
        let query = SearchQuery::parse(query)?;
        let first = articles::page_size(first, 20)?;
        let offset = match after.map(Cursor::decode).transpose()? {
            None => 0,
            Some(Cursor::Rank(n)) => n,
            Some(_) => {
                return Err(AppError::bad_input(
                    "`after` is a cursor of another listing",
                ));
            }
        };
        if offset + first > MAX_DEPTH {
            return Err(AppError::bad_input(format!(
                "search results go {MAX_DEPTH} deep; narrow the search instead"
            )));
        }
        Ok(Self {
            query,
            filter,
            first,
            offset,
        })
    }

    /// The cursor of the result at `index` on this page.
    pub fn cursor(&self, index: usize) -> String {
        Cursor::Rank(self.offset + index as u64 + 1).encode()
    }
}

/// `to_tsquery('english', …)` of a parsed query, as a bound value.
fn tsquery(q: &SearchQuery) -> SimpleExpr {
    Func::cust(Alias::new("to_tsquery"))
        .args([
            Expr::cust("'english'::regconfig"),
            Expr::val(q.to_tsquery()).into(),
        ])
        .into()
}

/// Where a search looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Headline, dek and body.
    All,
    /// Headline and dek only.
    Titles,
}

/// The index rows matching `q` in `field`, joined to their articles when `joined` (for
/// filters).
fn matching(
    backend: DbBackend,
    q: &SearchQuery,
    field: Field,
    joined: bool,
) -> (SelectStatement, Condition) {
    let mut select = Query::select();
    select.from(Alias::new("article_search"));
    if joined {
        let on = match backend {
            DbBackend::Postgres => "articles.id = article_search.article_id",
            _ => "articles.id = article_search.rowid",
        };
        select.inner_join(article::Entity, Expr::cust(on));
    }
    let cond = match backend {
        DbBackend::Postgres => {
            let column = match field {
                Field::All => "article_search.document",
                Field::Titles => "article_search.titles",
            };
            Condition::all().add(Expr::cust(column).binary(BinOper::Custom("@@"), tsquery(q)))
        }
        _ => {
            let text = match field {
                Field::All => q.to_fts5(),
                Field::Titles => format!("{{headline dek}} : ({})", q.to_fts5()),
            };
            Condition::all()
                .add(Expr::cust("article_search").binary(BinOper::Custom("MATCH"), text))
        }
    };
    (select, cond)
}

/// Title matches ranked at most, newest first.
const TITLE_CANDIDATES: u64 = 100;
/// Matches anywhere ranked at most beyond the page asked for, newest first.
const BODY_CANDIDATES: u64 = 100;

/// The ids a search ranks: the newest title matches and the newest matches anywhere that
/// pass the filter. A search matching fewer than that is ranked in full; a broad one
/// (a word in half the archive) ranks what a reader can use instead of every match,
/// which is what keeps it fast: reading every match's text to score it grows with the
/// archive. Both halves walk the index newest first and stop at their limit.
fn candidates(backend: DbBackend, req: &SearchRequest) -> SelectStatement {
    let part = |field: Field, limit: u64| {
        let (mut select, cond) = matching(backend, &req.query, field, true);
        select
            .expr_as(col_id(), Alias::new("id"))
            .cond_where(cond.add(filter::filter_condition(&req.filter)))
            .order_by_expr(indexed_id(backend).into(), Order::Desc)
            .limit(limit);
        // Wrapped, so that each part keeps its own ORDER BY and LIMIT inside the UNION.
        Query::select()
            .column(Alias::new("id"))
            .from_subquery(
                select,
                Alias::new(if field == Field::All { "b" } else { "t" }),
            )
            .to_owned()
    };
    let mut titles = part(Field::Titles, TITLE_CANDIDATES);
    titles.union(
        UnionType::Distinct,
        part(Field::All, BODY_CANDIDATES + req.offset + req.first),
    );
    titles
}

#[derive(FromQueryResult)]
struct Ranked {
    id: i32,
    score: f64,
}

/// One page of the articles matching `req`, best first; ties go to the newer id.
pub async fn search(db: &impl ConnectionTrait, req: &SearchRequest) -> Result<SearchPage> {
    let backend = db.get_database_backend();
    // Ranking carries only ids and scores through the sort: whole rows (bodies) and
    // snippets for every match would cost more than the ranking itself.
    // The candidates passed the filters, so the ranking reads the index alone.
    let (mut select, cond) = matching(backend, &req.query, Field::All, false);
    select.expr_as(indexed_id(backend), Alias::new("id"));
    match backend {
        DbBackend::Postgres => {
            // Weights of D, C (body), B (dek), A (headline); 1 divides by log length.
            let rank = Func::cust(Alias::new("ts_rank_cd")).args([
                Expr::cust("'{0.0, 0.1, 0.4, 1.0}'::float4[]"),
                Expr::cust("article_search.document"),
                tsquery(&req.query),
                Expr::cust("1"),
            ]);
            select.expr_as(
                Expr::expr(rank).cast_as(Alias::new("float8")),
                Alias::new("score"),
            );
        }
        _ => {
            select.expr_as(
                Expr::cust("-bm25(article_search, 10.0, 4.0, 1.0)"),
                Alias::new("score"),
            );
        }
    }
    let statement = match backend {
        DbBackend::Postgres => {
            select.cond_where(cond.add(indexed_id(backend).in_subquery(candidates(backend, req))));
            ranked_page(&mut select, backend, req);
            backend.build(&select)
        }
        _ => {
            // The candidates once, then the match scanned from the oldest of them on: FTS5
            // walks a word's matches by rowid, so a common word's 46,000 matches shrink to
            // the few hundred newest. (Given `rowid IN (…)` instead, FTS5 seeks each
            // candidate from the start of the word's list: hundreds of ms.)
            select.cond_where(
                cond.add(Expr::cust("+article_search.rowid IN (SELECT id FROM c)"))
                    .add(Expr::cust(
                        "article_search.rowid >= (SELECT min(id) FROM c)",
                    )),
            );
            ranked_page(&mut select, backend, req);
            let c = backend.build(&candidates(backend, req));
            let rank = backend.build(&select);
            let mut values = c.values.map(|v| v.0).unwrap_or_default();
            values.extend(rank.values.map(|v| v.0).unwrap_or_default());
            Statement::from_sql_and_values(
                backend,
                format!("WITH c AS MATERIALIZED ({}) {}", c.sql, rank.sql),
                values,
            )
        }
    };
    let mut ranked: Vec<Ranked> = db
        .query_all(statement)
        .await?
        .iter()
        .map(|r| Ranked::from_query_result(r, ""))
        .collect::<Result<_, _>>()?;
    let has_next = ranked.len() as u64 > req.first;
    ranked.truncate(req.first as usize);
    let ids: Vec<i32> = ranked.iter().map(|r| r.id).collect();
    let mut rows: HashMap<i32, article::Model> = if ids.is_empty() {
        HashMap::new()
    } else {
        article::Entity::find()
            .filter(article::Column::Id.is_in(ids.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect()
    };
    let mut marks = highlights(db, &req.query, &ids).await?;
    let hits = ranked
        .into_iter()
        .filter_map(|r| {
            Some(Hit {
                article: rows.remove(&r.id)?,
                score: r.score,
                highlight: marked_html(&marks.remove(&r.id).unwrap_or_default()),
            })
        })
        .collect();
    Ok(SearchPage {
        hits: Page {
            items: hits,
            has_next,
        },
        offset: req.offset,
    })
}

/// Orders by score, the newer first among equals, and cuts the page (one more than asked
/// for, to know whether a next page exists).
fn ranked_page(select: &mut SelectStatement, backend: DbBackend, req: &SearchRequest) {
    select
        .order_by(Alias::new("score"), Order::Desc)
        .order_by_expr(indexed_id(backend).into(), Order::Desc)
        .limit(req.first + 1)
        .offset(req.offset);
}

/// The article id as the search index holds it, so candidates narrow the index scan itself.
fn indexed_id(backend: DbBackend) -> Expr {
    Expr::expr(Expr::cust(match backend {
        DbBackend::Postgres => "article_search.article_id",
        _ => "article_search.rowid",
    }))
}

fn col_id() -> Expr {
    Expr::col((article::Entity, article::Column::Id))
}

/// The snippets of one page: FTS5's `snippet()` and PostgreSQL's `ts_headline()` re-read
/// the text they mark, so they run for the page only.
async fn highlights(
    db: &impl ConnectionTrait,
    q: &SearchQuery,
    ids: &[i32],
) -> Result<HashMap<i32, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        return Ok(headlines(db, q, ids).await?.into_iter().collect());
    }
    let list: Vec<String> = ids.iter().map(i32::to_string).collect();
    let sql = format!(
        "SELECT rowid AS id, snippet(article_search, -1, char(57344), char(57345), '…', 24) \
         AS highlight FROM article_search WHERE article_search MATCH ? AND rowid IN ({})",
        list.join(", ")
    );
    let rows = db
        .query_all(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [q.to_fts5().into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "highlight")?)))
        .collect()
}

/// PostgreSQL's snippets, for one page only: `ts_headline` re-reads the text it marks.
async fn headlines(
    db: &impl ConnectionTrait,
    q: &SearchQuery,
    ids: &[i32],
) -> Result<Vec<(i32, String)>> {
    let list: Vec<String> = ids.iter().map(i32::to_string).collect();
    let sql = format!(
        "SELECT article_id, ts_headline('english'::regconfig, \
         headline || ' … ' || dek || ' … ' || body, to_tsquery('english'::regconfig, $1), $2) \
         AS highlight FROM article_search WHERE article_id IN ({})",
        list.join(", ")
    );
    let options = format!(
        "StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, \
         MaxFragments=2, FragmentDelimiter=\" … \""
    );
    let rows = db
        .query_all(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [q.to_tsquery().into(), options.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|r| Ok((r.try_get("", "article_id")?, r.try_get("", "highlight")?)))
        .collect()
}

/// Escapes engine output for HTML and turns its match markers into `<mark>` elements.
fn marked_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 32);
    for c in s.chars() {
        match c {
            MARK_START => out.push_str("<mark>"),
            MARK_END => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A search counts its matches exactly up to this many; beyond it, it says "at least this
/// many", as web search engines do: counting every match of a word found in most of the
/// archive costs more than ranking the page, and no reader pages that far.
pub const COUNT_BOUND: i64 = 10_000;

/// How many articles match a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    /// The matches, at most [`COUNT_BOUND`].
    pub n: i64,
    /// Whether `n` is all of them; `false` when there are more than [`COUNT_BOUND`].
    pub exact: bool,
}

/// How many articles match `req`'s query and filter, counted up to [`COUNT_BOUND`] (one
/// more, to know whether there are more): the engine stops reading the match there.
pub async fn count(db: &impl ConnectionTrait, req: &SearchRequest) -> Result<Count> {
    count_up_to(db, req, COUNT_BOUND).await
}

/// [`count`] with another bound.
pub async fn count_up_to(
    db: &impl ConnectionTrait,
    req: &SearchRequest,
    bound: i64,
) -> Result<Count> {
    let backend = db.get_database_backend();
    let (mut select, cond) = matching(backend, &req.query, Field::All, true);
    select
        .expr(Expr::val(1))
        .cond_where(cond.add(filter::filter_condition(&req.filter)))
        .limit(bound.max(0) as u64 + 1);
    let counted = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(select, Alias::new("m"))
        .to_owned();
    let n: i64 = match db.query_one(backend.build(&counted)).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(Count {
        n: n.min(bound),
        exact: n <= bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Term {
        Term::Word(s.into())
    }

    #[test]
    fn parses_words_phrases_prefixes_exclusions_and_or() {
        let q = SearchQuery::parse(r#"Taliba* "peace talks" -rumour kabul OR doha"#)
            .expect("a query with every kind of term parses");
        assert_eq!(
            q.groups,
            vec![
                vec![Term::Prefix("taliba".into())],
                vec![Term::Phrase(vec!["peace".into(), "talks".into()])],
                vec![w("kabul"), w("doha")],
            ]
        );
        assert_eq!(q.excluded, vec![w("rumour")]);
        assert_eq!(
            q.to_fts5(),
            r#"("taliba"*) AND ("peace talks") AND ("kabul" OR "doha") NOT "rumour""#
        );
        assert_eq!(
            q.to_tsquery(),
            "(taliba:*) & ((peace <-> talks)) & (kabul | doha) & !rumour"
        );
    }

    #[test]
    fn hostile_input_is_a_query_or_a_clear_refusal() {
        for input in [
            r#""unbalanced quote"#,
            "AND OR NOT NEAR(a b) ^col:x * - -- ''",
            "al-qaeda's \"U.S.\" 9/11",
            "'); DROP TABLE articles; --",
            "é\u{0}\u{E000}x",
        ] {
            match SearchQuery::parse(input) {
                Ok(q) => {
                    let fts = q.to_fts5();
                    assert!(!fts.contains('\''), "{input:?} gave {fts}");
                    assert!(!q.to_tsquery().contains('\''), "{input:?}");
                }
                Err(e) => assert!(matches!(e, AppError::BadInput(_)), "{input:?}: {e:?}"),
            }
        }
        assert!(SearchQuery::parse("").is_err());
        assert!(SearchQuery::parse("  !!! ").is_err());
        assert!(SearchQuery::parse("-only").is_err());
        assert!(SearchQuery::parse(&"x".repeat(10_000)).is_err());
        assert!(SearchQuery::parse(&"word ".repeat(40)).is_err());
    }

    #[test]
    fn highlights_are_escaped_and_marked() {
        let s = format!("a <b> & {MARK_START}match{MARK_END}");
        assert_eq!(marked_html(&s), "a &lt;b&gt; &amp; <mark>match</mark>");
    }
}
