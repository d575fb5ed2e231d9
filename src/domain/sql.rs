//! Hand-written SQL for statements sea-query does not build well (FTS5 and `tsvector`
//! expressions, `VALUES` lists, window functions): text with values bound through
//! placeholders written for the backend, never spliced in.

use sea_orm::{DbBackend, Statement, Value};

/// A statement with its bound values, placeholders written for the backend (`?` on
/// SQLite, `$n` on PostgreSQL).
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend, text: &str) -> Self {
        Self {
            backend,
            text: text.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        match self.backend {
            DbBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends `(?, ?, …)` bound to `items`.
    pub fn list<T: Into<Value> + Clone>(&mut self, items: &[T]) -> &mut Self {
        self.row(0, items.iter().cloned().map(Into::into))
    }

    /// Appends the `index`-th row of a `VALUES` list: `(?, ?, …)`, after a comma unless first.
    pub fn row(&mut self, index: usize, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.push(if index > 0 { ", (" } else { "(" });
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}
