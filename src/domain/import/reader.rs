//! Reading an import file as a stream: one pass walks the top-level object key by key and
//! hands the elements of the arrays it was asked for to a callback one at a time, skipping
//! everything else without keeping it. Memory stays that of one element, whatever the size
//! of the file, and the order of the keys does not matter: the import makes one pass for
//! sections, authors and tags (which also checks the whole file is well-formed before
//! anything is written), one for articles and one for comments.

use std::cell::Cell;
use std::fmt;
use std::io::{BufReader, Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::Stage;

/// Where an import file comes from. Each pass opens it again.
#[derive(Debug, Clone)]
pub enum ImportSource {
    /// A file on disk, read through a buffer.
    File(PathBuf),
    /// Bytes in memory (the demo newsroom, tests).
    Bytes(Arc<[u8]>),
}

impl ImportSource {
    /// A file on disk.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// Bytes in memory.
    pub fn bytes(bytes: impl Into<Arc<[u8]>>) -> Self {
        Self::Bytes(bytes.into())
    }

    /// What to call it in messages.
    pub fn name(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Bytes(_) => "the import file".into(),
        }
    }

    pub(super) fn open(&self) -> Result<Box<dyn Read + Send>, String> {
        match self {
            Self::File(p) => std::fs::File::open(p)
                .map(|f| Box::new(BufReader::with_capacity(1 << 20, f)) as Box<dyn Read + Send>)
                .map_err(|e| format!("cannot read {}: {e}", p.display())),
            Self::Bytes(b) => Ok(Box::new(Cursor::new(b.clone()))),
        }
    }
}

/// What a pass does with the elements of one top-level array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Take {
    /// Skip the value without looking at it.
    Skip,
    /// Count its elements (the callback gets `None`).
    Count,
    /// Hand each element over as raw JSON.
    Raw,
}

/// The callback returns false to stop the pass (its receiver is gone).
pub(super) type OnElement<'a> = &'a mut dyn FnMut(Stage, usize, Option<Box<RawValue>>) -> bool;

/// A pass over `source`: `plan` says what to do with each known key's array. Unknown
/// top-level keys are skipped and returned, so the report can name them. The error says
/// where the file stops making sense, naming the element being read
/// (`articles[41]: EOF while parsing a string at line 1 column 409600`).
pub(super) fn scan(
    source: &ImportSource,
    plan: &dyn Fn(Stage) -> Take,
    on: OnElement<'_>,
) -> Result<Vec<String>, ScanError> {
    let reader = source.open().map_err(ScanError::Unreadable)?;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let at = Cell::new(None);
    let mut unknown = Vec::new();
    let top = TopLevel {
        plan,
        on,
        at: &at,
        unknown: &mut unknown,
    };
    let done = de::Deserializer::deserialize_map(&mut de, top).and_then(|()| de.end());
    match done {
        Ok(()) => Ok(unknown),
        Err(e) if e.to_string().starts_with(STOPPED) => Err(ScanError::Stopped),
        Err(e) => {
            let msg = if e.is_io() {
                format!("cannot read {}: {e}", source.name())
            } else {
                e.to_string()
            };
            Err(ScanError::Malformed(match at.get() {
                Some((stage, i)) => format!("{}[{i}]: {msg}", stage.name()),
                None => msg,
            }))
        }
    }
}

/// Why a pass ended early.
#[derive(Debug)]
pub(super) enum ScanError {
    /// The file cannot be opened or read.
    Unreadable(String),
    /// It is not well-formed JSON of the expected shape.
    Malformed(String),
    /// The callback asked to stop.
    Stopped,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable(m) | Self::Malformed(m) => f.write_str(m),
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

const STOPPED: &str = "import pass stopped";

struct TopLevel<'a, 'b> {
    plan: &'a dyn Fn(Stage) -> Take,
    on: OnElement<'b>,
    at: &'a Cell<Option<(Stage, usize)>>,
    unknown: &'a mut Vec<String>,
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with sections, authors, tags, articles and comments")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match Stage::parse(&key) {
                Some(stage) => match (self.plan)(stage) {
                    Take::Skip => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    take => map.next_value_seed(Elements {
                        stage,
                        take,
                        on: &mut *self.on,
                        at: self.at,
                    })?,
                },
                None => {
                    map.next_value::<IgnoredAny>()?;
                    if !self.unknown.contains(&key) {
                        self.unknown.push(key);
                    }
                }
            }
        }
        self.at.set(None);
        Ok(())
    }
}

struct Elements<'a, 'b> {
    stage: Stage,
    take: Take,
    on: OnElement<'b>,
    at: &'a Cell<Option<(Stage, usize)>>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of {}", self.stage.name())
    }

    /// `null` is an empty list.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            self.at.set(Some((self.stage, i)));
            let element = match self.take {
                Take::Raw => match seq.next_element::<Box<RawValue>>()? {
                    Some(raw) => Some(raw),
                    None => break,
                },
                _ => match seq.next_element::<IgnoredAny>()? {
                    Some(IgnoredAny) => None,
                    None => break,
                },
            };
            if !(self.on)(self.stage, i, element) {
                return Err(de::Error::custom(STOPPED));
            }
            i += 1;
        }
        self.at.set(None);
        Ok(())
    }
}

/// Parses one element into its record type. The error names the element and the field
/// (`articles[12].body[3].paragraph.html: invalid type: …`).
pub(super) fn parse_element<T: de::DeserializeOwned>(
    stage: Stage,
    i: usize,
    raw: &RawValue,
) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // The position is within the element, which would mislead about the file.
        let msg = inner.to_string();
        let msg = match (inner.line(), msg.rfind(" at line ")) {
            (1.., Some(cut)) => msg[..cut].to_owned(),
            _ => msg,
        };
        match path.as_str() {
            "." => format!("{}[{i}]: {msg}", stage.name()),
            p => format!("{}[{i}].{p}: {msg}", stage.name()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(json: &str, want: Stage) -> Result<Vec<(usize, String)>, String> {
        let mut seen = Vec::new();
        scan(
            &ImportSource::bytes(json.as_bytes().to_vec()),
            &|s| if s == want { Take::Raw } else { Take::Skip },
            &mut |_, i, raw| {
                seen.push((i, raw.map(|r| r.get().to_owned()).unwrap_or_default()));
                true
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(seen)
    }

    #[test]
    fn elements_come_one_by_one_whatever_the_key_order() {
        let json = r#"{"articles":[{"a":1},{"b":[2]}],"x":{"deep":[1,2]},"sections":[{"s":1}]}"#;
        assert_eq!(
            keys(json, Stage::Articles).expect("ok"),
            [(0, r#"{"a":1}"#.into()), (1, r#"{"b":[2]}"#.into())]
        );
        assert_eq!(
            keys(json, Stage::Sections).expect("ok"),
            [(0, r#"{"s":1}"#.into())]
        );
    }

    #[test]
    fn a_truncated_file_names_the_element_it_stopped_in() {
        let err = keys(
            r#"{"sections":[],"articles":[{"a":1},{"b":"tru"#,
            Stage::Articles,
        )
        .expect_err("truncated");
        assert!(err.starts_with("articles[1]: EOF while parsing"), "{err}");
    }

    #[test]
    fn not_an_object_is_refused() {
        let err = keys("<?xml version=\"1.0\"?><rss/>", Stage::Articles).expect_err("xml");
        assert!(
            err.starts_with("expected value at line 1 column 1"),
            "{err}"
        );
        let err = keys("[1]", Stage::Articles).expect_err("array");
        assert!(err.contains("expected a JSON object"), "{err}");
    }
}
