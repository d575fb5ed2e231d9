//! Imports from other systems (WordPress, Ghost) go through gazette's own format: a
//! converter reads the export as a stream and writes the records it maps to a temporary
//! import file, which the native import then reads like any other. So every guarantee of
//! the native import holds for them too: bad records skipped and reported, batches written
//! whole, idempotent and resumable re-imports (articles matched on their origin first).
//!
//! The temporary file is about the size of the export; memory stays that of one post plus
//! the small lookup tables of the export (authors, categories, tags, attachments' image
//! URLs, Ghost's relation rows).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek as _, SeekFrom, Write};

use serde::Serialize;

use super::report::{Issue, Outcome};
use super::{ArticleIn, AuthorIn, CommentIn, SectionIn, TagIn};

/// What a converter leaves beside the file it wrote: what it could not carry over, what it
/// counted, and the source id of each record it wrote, so the report names records as the
/// source knows them.
#[derive(Debug, Default)]
pub(super) struct Converted {
    pub issues: Vec<Issue>,
    pub counts: BTreeMap<String, usize>,
    pub ids: SourceIds,
    /// The path of every section the converted file creates.
    pub section_paths: Vec<String>,
    /// What the report says of the file as a whole (a line of the section map that named
    /// nothing in the export).
    pub notes: Vec<String>,
}

/// The source id of each record written, by its place in the converted file.
#[derive(Debug, Default)]
pub(super) struct SourceIds {
    pub sections: Vec<String>,
    pub authors: Vec<String>,
    pub tags: Vec<String>,
    pub articles: Vec<String>,
    pub comments: Vec<String>,
}

impl Converted {
    pub fn count(&mut self, what: impl Into<String>) {
        *self.counts.entry(what.into()).or_default() += 1;
    }

    /// A source record not imported at all.
    pub fn skipped(&mut self, kind: &'static str, index: usize, id: &str, reason: String) {
        self.issues.push(Issue {
            kind,
            index: Some(index),
            id: id.to_owned(),
            outcome: Outcome::Skipped,
            reason,
        });
    }

    /// A source record imported, but not exactly as it was.
    pub fn changed(&mut self, kind: &'static str, index: usize, id: &str, reason: String) {
        self.issues.push(Issue {
            kind,
            index: Some(index),
            id: id.to_owned(),
            outcome: Outcome::Changed,
            reason,
        });
    }
}

/// Writes a gazette import file as records come: authors and tags first, articles as they
/// are converted, comments to a side file copied in at the end, then sections (which a
/// converter may only know once every post is read: the default section).
pub(super) struct Output {
    out: BufWriter<File>,
    comments: BufWriter<File>,
    articles: usize,
    comment_count: usize,
    pub ids: SourceIds,
}

fn io(e: std::io::Error) -> String {
    format!("cannot write the converted file: {e}")
}

fn write_list<T: Serialize>(out: &mut impl Write, key: &str, items: &[T]) -> Result<(), String> {
    write!(out, "\"{key}\":[").map_err(io)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n").map_err(io)?;
        }
        serde_json::to_writer(&mut *out, item).map_err(|e| e.to_string())?;
    }
    out.write_all(b"]").map_err(io)
}

impl Output {
    /// Starts the file with the authors and tags.
    pub fn start(
        out: File,
        authors: &[(String, AuthorIn)],
        tags: &[(String, TagIn)],
    ) -> Result<Self, String> {
        let mut out = BufWriter::with_capacity(1 << 20, out);
        let comments = BufWriter::new(tempfile::tempfile().map_err(io)?);
        let mut ids = SourceIds::default();
        out.write_all(b"{").map_err(io)?;
        let list: Vec<&AuthorIn> = authors.iter().map(|(_, a)| a).collect();
        write_list(&mut out, "authors", &list)?;
        ids.authors = authors.iter().map(|(id, _)| id.clone()).collect();
        out.write_all(b",").map_err(io)?;
        let list: Vec<&TagIn> = tags.iter().map(|(_, t)| t).collect();
        write_list(&mut out, "tags", &list)?;
        ids.tags = tags.iter().map(|(id, _)| id.clone()).collect();
        out.write_all(b",\"articles\":[").map_err(io)?;
        Ok(Self {
            out,
            comments,
            articles: 0,
            comment_count: 0,
            ids,
        })
    }

    pub fn article(&mut self, source_id: &str, a: &ArticleIn) -> Result<(), String> {
        if self.articles > 0 {
            self.out.write_all(b",\n").map_err(io)?;
        }
        serde_json::to_writer(&mut self.out, a).map_err(|e| e.to_string())?;
        self.articles += 1;
        self.ids.articles.push(source_id.to_owned());
        Ok(())
    }

    pub fn comment(&mut self, source_id: &str, c: &CommentIn) -> Result<(), String> {
        if self.comment_count > 0 {
            self.comments.write_all(b",\n").map_err(io)?;
        }
        serde_json::to_writer(&mut self.comments, c).map_err(|e| e.to_string())?;
        self.comment_count += 1;
        self.ids.comments.push(source_id.to_owned());
        Ok(())
    }

    /// Ends the file with the comments and the sections; returns the source ids.
    pub fn finish(mut self, sections: &[(String, SectionIn)]) -> Result<SourceIds, String> {
        self.out.write_all(b"],\"comments\":[").map_err(io)?;
        let mut comments = self.comments.into_inner().map_err(|e| io(e.into_error()))?;
        comments.seek(SeekFrom::Start(0)).map_err(io)?;
        std::io::copy(&mut comments, &mut self.out).map_err(io)?;
        self.out.write_all(b"],").map_err(io)?;
        let list: Vec<&SectionIn> = sections.iter().map(|(_, s)| s).collect();
        write_list(&mut self.out, "sections", &list)?;
        self.ids.sections = sections.iter().map(|(id, _)| id.clone()).collect();
        self.out.write_all(b"}").map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.ids)
    }
}

/// Slugs made unique in order: `jane-doe`, `jane-doe-2`, …
#[derive(Default)]
pub(super) struct UniqueSlugs(std::collections::HashSet<String>);

impl UniqueSlugs {
    pub fn take(&mut self, base: &str, fallback: &str) -> String {
        let base = super::slug::slugify(base);
        let base = if base.is_empty() {
            super::slug::slugify(fallback)
        } else {
            base
        };
        let base: String = base.chars().take(100).collect();
        let base = base.trim_end_matches('-').to_owned();
        let mut slug = base.clone();
        let mut n = 2;
        while !self.0.insert(slug.clone()) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        slug
    }
}

/// The line of a byte offset in the source, for messages (`line 12`).
pub(super) fn line_of(source: &super::ImportSource, offset: u64) -> Option<usize> {
    use std::io::Read as _;
    let mut r = source.open().ok()?;
    let mut left = offset;
    let mut line = 1;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = r.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        let take = (n as u64).min(left) as usize;
        line += buf[..take].iter().filter(|&&b| b == b'\n').count();
        left -= take as u64;
    }
    Some(line)
}
