//! Batched reads: any number of keyed SELECTs (one per listing a GraphQL request asks for,
//! or per article whose comments it shows) run as one UNION ALL statement, with each
//! request's rows handed back in the order asked, and pages cut from them. Listings of
//! articles, comments and authors and the search all read through [`keyed`].

use sea_orm::sea_query::{Alias, Asterisk, Query, SelectStatement, UnionType};

use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, QueryResult, Statement, Value, Values};

use crate::error::Result;

/// One page of results; `has_next` says whether another page follows.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            has_next: false,
        }
    }
}

/// Runs one keyed SELECT per request (`select(request, k)`, with a leading `k` column) as
/// one UNION ALL statement, and gives each request its rows (`decode`d), in the order asked.
///
/// The parts go in a sorted order ([`statement_order`]), so the same requests make the same
/// SQL text whatever order a DataLoader handed them in (its batches come in hash order):
/// the database reuses the prepared statement and its plan instead of parsing and planning
/// a new text for every request, and a connection's statement cache is not flooded with
/// permutations of one listing.
pub(crate) async fn keyed<R: std::fmt::Debug, T>(
    db: &impl ConnectionTrait,
    reqs: &[R],
    select: impl Fn(&R, usize) -> SelectStatement,
    decode: impl Fn(&QueryResult) -> Result<Option<T>>,
) -> Result<Vec<Vec<T>>> {
    let order = statement_order(reqs);
    // Each part is wrapped so its own ORDER BY and LIMIT stay legal on SQLite.
    let parts = order
        .iter()
        .enumerate()
        .map(|(k, &i)| wrapped(select(&reqs[i], k), &format!("p{k}")));
    let mut out: Vec<Vec<T>> = (0..reqs.len()).map(|_| Vec::new()).collect();
    let Some(all) = union_of(parts) else {
        return Ok(out);
    };
    let stmt = inline_limits(db.get_database_backend().build(&all));
    for row in db.query_all(stmt).await? {
        let k: i32 = row.try_get("", "k")?;
        let asked = usize::try_from(k).ok().and_then(|k| order.get(k));
        if let Some(slot) = asked.and_then(|&i| out.get_mut(i))
            && let Some(item) = decode(&row)?
        {
            slot.push(item);
        }
    }
    Ok(out)
}

/// The parts as one UNION ALL; `None` for none.
pub(crate) fn union_of(
    mut parts: impl Iterator<Item = SelectStatement>,
) -> Option<SelectStatement> {
    let mut all = parts.next()?;
    for part in parts {
        all.union(UnionType::All, part);
    }
    Some(all)
}

/// The order of a batch's requests in its statement: sorted by their description, which
/// fixes the statement's text for a given set of requests.
fn statement_order<T: std::fmt::Debug>(reqs: &[T]) -> Vec<usize> {
    let keys: Vec<String> = reqs.iter().map(|r| format!("{r:?}")).collect();
    let mut order: Vec<usize> = (0..reqs.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

/// A row of a keyed statement as `T`.
pub(crate) fn model<T: FromQueryResult>(row: &QueryResult) -> Result<Option<T>> {
    Ok(Some(T::from_query_result(row, "")?))
}

/// On PostgreSQL, writes a statement's page sizes (its `LIMIT`s, the only unsigned 64-bit
/// values these statements bind) into its text instead of binding them.
///
/// PostgreSQL plans a prepared statement for each execution until a generic plan looks no
/// dearer than the custom ones; with `LIMIT $n` it prices the generic plan as if a tenth
/// of the table were read, so it never switches, and planning a front page's 24 index reads
/// took ~3 ms of its ~3.5. With the limits written in it settles on one generic plan per
/// connection after five executions (0.3 ms in all). A page size takes one of few values
/// (1-101), so the statement cache holds few texts per shape.
pub(crate) fn inline_limits(mut stmt: Statement) -> Statement {
    if stmt.db_backend != DbBackend::Postgres {
        return stmt;
    }
    let Some(Values(values)) = stmt.values.take() else {
        return stmt;
    };
    // Per placeholder: its new number, or the literal that replaces it.
    let mut kept = Vec::with_capacity(values.len());
    let mut map: Vec<std::result::Result<usize, u64>> = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Value::BigUnsigned(Some(n)) => map.push(Err(n)),
            other => {
                kept.push(other);
                map.push(Ok(kept.len()));
            }
        }
    }
    stmt.values = Some(Values(kept));
    if map.iter().all(std::result::Result::is_ok) {
        return stmt;
    }
    let sql = &stmt.sql;
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    // Inside a string literal or a quoted name, `$1` is text.
    let (mut copied, mut i, mut quote) = (0, 0, None::<u8>);
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'\'' | b'"') if quote.is_none_or(|open| open == q) => {
                quote = if quote.is_some() { None } else { Some(q) };
            }
            b'$' if quote.is_none() => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let slot = sql[i + 1..i + 1 + digits]
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| map.get(n.wrapping_sub(1)));
                if let Some(slot) = slot {
                    out.push_str(&sql[copied..i]);
                    match slot {
                        Ok(n) => out.push_str(&format!("${n}")),
                        Err(literal) => out.push_str(&literal.to_string()),
                    }
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    stmt.sql = out;
    stmt
}

/// Turns rows fetched with one extra per page (`LIMIT first + 1`) into pages that know
/// whether another follows.
pub(crate) fn paginate<T>(grouped: Vec<Vec<T>>, firsts: impl Iterator<Item = u64>) -> Vec<Page<T>> {
    grouped
        .into_iter()
        .zip(firsts)
        .map(|(mut items, first)| {
            let has_next = items.len() as u64 > first;
            items.truncate(first as usize);
            Page { items, has_next }
        })
        .collect()
}

/// `SELECT * FROM (inner) AS alias`. (Built in place: a builder chain ending in
/// `.to_owned()` would copy the whole statement, subqueries and all.)
pub(crate) fn wrapped(inner: SelectStatement, alias: &str) -> SelectStatement {
    let mut q = Query::select();
    q.column(Asterisk).from_subquery(inner, Alias::new(alias));
    q
}

#[cfg(test)]
mod tests {
    use super::{DbBackend, Statement, Value, Values, inline_limits, statement_order};

    #[test]
    fn a_batch_makes_one_statement_order_whatever_order_it_came_in() {
        let asked = ["world", "business", "sport", "business/markets"];
        let shuffled = ["sport", "business/markets", "world", "business"];
        let sorted = |reqs: &[&str]| -> Vec<String> {
            statement_order(reqs)
                .iter()
                .map(|&i| reqs[i].to_owned())
                .collect()
        };
        assert_eq!(
            sorted(&asked),
            sorted(&shuffled),
            "the same text either way"
        );
    }

    fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(backend, sql, values)
    }

    #[test]
    fn limits_are_written_into_postgres_statements_and_the_rest_renumbered() {
        let s = inline_limits(stmt(
            DbBackend::Postgres,
            "SELECT '$1' AS \"a$2\", x FROM t WHERE a = $1 AND b = $3 LIMIT $2 UNION ALL SELECT 'it''s $4', x FROM t WHERE c = $4 LIMIT $5",
            vec![
                Value::from("PUBLISHED"),
                Value::BigUnsigned(Some(6)),
                Value::Int(Some(3)),
                Value::Int(Some(4)),
                Value::BigUnsigned(Some(21)),
            ],
        ));
        assert_eq!(
            s.sql,
            "SELECT '$1' AS \"a$2\", x FROM t WHERE a = $1 AND b = $2 LIMIT 6 UNION ALL SELECT 'it''s $4', x FROM t WHERE c = $3 LIMIT 21"
        );
        assert_eq!(
            s.values,
            Some(Values(vec![
                Value::from("PUBLISHED"),
                Value::Int(Some(3)),
                Value::Int(Some(4))
            ]))
        );
    }

    #[test]
    fn statements_without_limits_and_sqlite_statements_are_unchanged() {
        let sql = "SELECT x FROM t WHERE a = $1 AND b = $2";
        let s = inline_limits(stmt(
            DbBackend::Postgres,
            sql,
            vec![Value::Int(Some(1)), Value::Int(Some(2))],
        ));
        assert_eq!(s.sql, sql);
        assert_eq!(
            s.values,
            Some(Values(vec![Value::Int(Some(1)), Value::Int(Some(2))]))
        );
        let s = inline_limits(stmt(
            DbBackend::Sqlite,
            "SELECT x FROM t WHERE a = ? LIMIT ?",
            vec![Value::Int(Some(1)), Value::BigUnsigned(Some(6))],
        ));
        assert_eq!(s.sql, "SELECT x FROM t WHERE a = ? LIMIT ?");
        assert_eq!(s.values.map(|v| v.0.len()), Some(2));
    }
}
