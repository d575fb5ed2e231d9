//! The section map of `gazette import --from wordpress|ghost --map FILE`: which WordPress
//! category or Ghost tag files a post under which gazette section, when the default (a
//! post's first category, Ghost's primary tag) is not what the newsroom wants.
//!
//! The file is plain text, one mapping a line, `#` starting a comment:
//!
//! ```text
//! # category (WordPress) or tag (Ghost) slug = gazette section path
//! football = sport
//! champions-league = sport/football
//! ```
//!
//! A post goes to the section of the first of its categories (or public tags, in the post's
//! order) that the map names; its other categories stay tags, as without a map. A post none
//! of whose categories the map names keeps the default. Every section the map names must be
//! one the import creates (a category of the export, a Ghost primary tag) or one already
//! stored: the import checks that before it writes anything, and refuses a map naming any
//! other, with the line.

use std::collections::HashMap;

use crate::domain::slug;

/// A parsed section map.
#[derive(Debug, Clone, Default)]
pub struct SectionMap {
    /// key (a category or tag slug) → (line, section path), in the order of the file.
    entries: Vec<Entry>,
    by_key: HashMap<String, usize>,
}

/// One line of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its line in the file (from 1), for messages.
    pub line: usize,
    /// The category (WordPress) or tag (Ghost) slug, lowercase.
    pub key: String,
    /// The gazette section path it maps to (`sport/football`).
    pub section: String,
}

impl SectionMap {
    /// Parses the text of a map; the error names the line at fault.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut map = Self::default();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let content = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if content.is_empty() {
                continue;
            }
            let Some((key, section)) = content.split_once('=') else {
                return Err(format!(
                    "line {line}: expected `category-or-tag-slug = section/path`, found {content:?}"
                ));
            };
            let key = key.trim().to_lowercase();
            let section = section.trim().trim_matches('/').to_lowercase();
            if key.is_empty() || key.chars().any(char::is_whitespace) || key.len() > 200 {
                return Err(format!(
                    "line {line}: {key:?} is not a category or tag slug (1 to 200 characters, no spaces)"
                ));
            }
            if section.is_empty() || !section.split('/').all(slug::is_valid) {
                return Err(format!(
                    "line {line}: {section:?} is not a section path (slugs of lowercase letters, digits and hyphens, joined by /)"
                ));
            }
            if let Some(&first) = map.by_key.get(&key) {
                return Err(format!(
                    "line {line}: {key:?} is already mapped on line {}",
                    map.entries[first].line
                ));
            }
            map.by_key.insert(key.clone(), map.entries.len());
            map.entries.push(Entry { line, key, section });
        }
        Ok(map)
    }

    /// Reads and parses the map at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the map {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The section a category or tag slug maps to.
    pub fn section(&self, key: &str) -> Option<&str> {
        let at = match self.by_key.get(key) {
            Some(&at) => at,
            None => *self.by_key.get(&key.to_lowercase())?,
        };
        Some(self.entries[at].section.as_str())
    }

    /// The lines of the map, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether the map is empty (no `--map`, or only comments).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::SectionMap;

    #[test]
    fn a_map_reads_key_equals_section_lines_with_comments() {
        let map = SectionMap::parse(
            "# categories to sections\n\nFootball = sport  # all of it\n  cl = /sport/football/\n",
        )
        .expect("a valid map");
        assert_eq!(map.section("football"), Some("sport"));
        assert_eq!(map.section("Football"), Some("sport"));
        assert_eq!(map.section("cl"), Some("sport/football"));
        assert_eq!(map.section("news"), None);
        assert_eq!(map.entries()[1].line, 4);
    }

    #[test]
    fn a_bad_map_is_refused_naming_the_line() {
        let cases = [
            ("football sport\n", "line 1: expected"),
            ("a = sport\n = news\n", "line 2: \"\" is not a category"),
            (
                "a = Sport News\n",
                "line 1: \"sport news\" is not a section path",
            ),
            ("a = sport//football\n", "is not a section path"),
            (
                "a = sport\n\nA = news\n",
                "line 3: \"a\" is already mapped on line 1",
            ),
        ];
        for (text, want) in cases {
            let err = SectionMap::parse(text).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
