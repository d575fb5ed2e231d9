//! The import report: what each kind of record became (created, updated, unchanged,
//! skipped), every record that was not carried over exactly with its place in the file and
//! why, and the time taken. Printed at the end of `gazette import`, and written as JSON with
//! `--report FILE`.

use std::fmt::Write as _;

use serde::Serialize;

use super::Stage;

/// What happened to the records of one kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// New in the database.
    pub created: usize,
    /// Already stored (same slug, or same key for comments) and overwritten.
    pub updated: usize,
    /// Already stored exactly as in the file: left alone (no new version or revision).
    pub unchanged: usize,
    /// Not imported; each one is listed in the report's `issues`.
    pub skipped: usize,
}

impl Counts {
    /// Records now in the database as the file has them.
    pub fn imported(&self) -> usize {
        self.created + self.updated + self.unchanged
    }
}

/// One record that was not carried over exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// The record's kind (`articles`), or `file` for the file as a whole.
    pub kind: &'static str,
    /// Its position in its list in the file.
    pub index: Option<usize>,
    /// Its identity in the source (slug, key, or the source system's id).
    pub id: String,
    /// `skipped`: not imported at all; `changed`: imported, not exactly as in the file.
    pub outcome: Outcome,
    /// Why, naming the field.
    pub reason: String,
}

/// What became of a record listed in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Skipped,
    Changed,
}

/// Everything an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// The format read (`gazette`, `wordpress`, `ghost`).
    pub format: &'static str,
    pub sections: Counts,
    pub authors: Counts,
    pub tags: Counts,
    pub articles: Counts,
    pub comments: Counts,
    /// Every record not carried over exactly, in the order met.
    pub issues: Vec<Issue>,
    /// What a WordPress or Ghost import counted in the source beyond the records above:
    /// items by type, comments skipped as spam, markup kept as text, …
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_counts: std::collections::BTreeMap<String, usize>,
    /// Wall-clock time of the whole import.
    pub seconds: f64,
}

/// How many records of each kind are in the database as the file has them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub sections: usize,
    pub authors: usize,
    pub tags: usize,
    pub articles: usize,
    pub comments: usize,
}

impl ImportReport {
    pub(super) fn new(format: &'static str) -> Self {
        Self {
            format,
            ..Self::default()
        }
    }

    /// The counts of one kind.
    pub fn counts(&self, stage: Stage) -> &Counts {
        match stage {
            Stage::Sections => &self.sections,
            Stage::Authors => &self.authors,
            Stage::Tags => &self.tags,
            Stage::Articles => &self.articles,
            Stage::Comments => &self.comments,
        }
    }

    pub(super) fn counts_mut(&mut self, stage: Stage) -> &mut Counts {
        match stage {
            Stage::Sections => &mut self.sections,
            Stage::Authors => &mut self.authors,
            Stage::Tags => &mut self.tags,
            Stage::Articles => &mut self.articles,
            Stage::Comments => &mut self.comments,
        }
    }

    /// Records a record that was not imported.
    pub(super) fn skip(&mut self, stage: Stage, index: usize, id: &str, reason: impl Into<String>) {
        self.counts_mut(stage).skipped += 1;
        self.issues.push(Issue {
            kind: stage.name(),
            index: Some(index),
            id: id.to_owned(),
            outcome: Outcome::Skipped,
            reason: reason.into(),
        });
    }

    /// Records something about the file as a whole (an unknown key).
    pub(super) fn note(&mut self, reason: impl Into<String>) {
        self.issues.push(Issue {
            kind: "file",
            index: None,
            id: String::new(),
            outcome: Outcome::Skipped,
            reason: reason.into(),
        });
    }

    /// Records of every kind now in the database as the file has them.
    pub fn imported(&self) -> usize {
        Stage::ALL.iter().map(|s| self.counts(*s).imported()).sum()
    }

    /// Records of every kind in the file.
    pub fn seen(&self) -> usize {
        Stage::ALL
            .iter()
            .map(|s| self.counts(*s).imported() + self.counts(*s).skipped)
            .sum()
    }

    /// The imported count of each kind.
    pub fn summary(&self) -> ImportSummary {
        ImportSummary {
            sections: self.sections.imported(),
            authors: self.authors.imported(),
            tags: self.tags.imported(),
            articles: self.articles.imported(),
            comments: self.comments.imported(),
        }
    }

    /// The report for a terminal: a table of counts, then the first `max_issues` issues.
    pub fn render(&self, max_issues: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<9} {:>8} {:>8} {:>9} {:>8}",
            "", "created", "updated", "unchanged", "skipped"
        );
        for stage in Stage::ALL {
            let c = self.counts(stage);
            let _ = writeln!(
                out,
                "{:<9} {:>8} {:>8} {:>9} {:>8}",
                stage.name(),
                c.created,
                c.updated,
                c.unchanged,
                c.skipped
            );
        }
        for (what, n) in &self.source_counts {
            let _ = writeln!(out, "{what}: {n}");
        }
        for issue in self.issues.iter().take(max_issues) {
            let place = match issue.index {
                Some(i) => format!("{}[{i}]", issue.kind),
                None => issue.kind.to_owned(),
            };
            let id = if issue.id.is_empty() {
                String::new()
            } else {
                format!(" ({:?})", issue.id)
            };
            let outcome = match issue.outcome {
                Outcome::Skipped => "skipped",
                Outcome::Changed => "changed",
            };
            let _ = writeln!(out, "{outcome}: {place}{id}: {}", issue.reason);
        }
        if self.issues.len() > max_issues {
            let _ = writeln!(
                out,
                "… and {} more (all of them with --report FILE)",
                self.issues.len() - max_issues
            );
        }
        let _ = write!(out, "in {:.1} s", self.seconds);
        out
    }
}
