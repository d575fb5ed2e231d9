//! The words an article is about: its text reduced to counted terms (words, and the names
//! of people, places and organisations), and from those its signature, the few terms that
//! set it apart from the rest of the archive.
//!
//! Terms are lowercase runs of letters and digits, without the common English stopwords
//! and one-character tokens. Names are runs of two or more Capitalised words inside a
//! sentence ("Kwame Tanaka", "Kabul Ministry"), kept as one term: two stories that share a
//! word are often unrelated, two that share a name rarely are. A sentence's first word is
//! not taken as part of a name, since every sentence starts with a capital.

use std::collections::HashMap;

use crate::domain::blocks::Block;
use crate::domain::html;
use crate::entities::article;

/// The classic English stopword list of information-retrieval toolkits; contractions are
/// split the way the tokeniser splits text, so their pieces are stopwords too.
const STOPWORDS: &str = "a about above after again against all am an and any are aren't as at be \
because been before being below between both but by can't cannot could couldn't did didn't do \
does doesn't doing don't down during each few for from further had hadn't has hasn't have haven't \
having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm \
i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of \
off on once only or other ought our ours ourselves out over own same shan't she she'd she'll \
she's should shouldn't so some such than that that's the their theirs them themselves then there \
there's these they they'd they'll they're they've this those through to too under until up very \
was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which \
while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your \
yours yourself yourselves";

fn is_stop(token: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        STOPWORDS
            .split_whitespace()
            .flat_map(|w| {
                w.split(|c: char| !c.is_alphanumeric())
                    .filter(|t| t.chars().count() >= 2)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    })
    .contains(token)
}

/// Lowercase runs of letters and digits.
fn raw_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

/// The words of `text` that can say what it is about.
pub fn tokenise(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_tokens(text).filter(|t| t.chars().count() >= 2 && !is_stop(t))
}

/// Names in running text: runs of two or more Capitalised words within a sentence, not
/// counting a sentence's first word. `name_field` says the text is a name by itself (an
/// attribution), so its first word counts.
pub fn names(text: &str, name_field: bool) -> Vec<String> {
    const SENTENCE_END: &[char] = &['.', '!', '?', ':', ';'];
    const OPENING: &[char] = &['"', '\'', '“', '‘', '(', '['];
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut Vec<String>| {
        if run.len() >= 2 {
            let toks: Vec<String> = run.iter().flat_map(|w| raw_tokens(w)).collect();
            if toks.len() >= 2 {
                out.push(toks.join(" "));
            }
        }
        run.clear();
    };
    let mut after_sentence_end = !name_field;
    for raw in text.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        if word.is_empty() {
            flush(&mut run, &mut out);
            after_sentence_end = after_sentence_end || raw.contains(SENTENCE_END);
            continue;
        }
        let start = raw.find(word).unwrap_or(0);
        let (lead, trail) = (&raw[..start], &raw[start + word.len()..]);
        let initial = after_sentence_end || lead.contains(OPENING);
        if !lead.is_empty() {
            flush(&mut run, &mut out);
        }
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        if capitalised && !initial {
            run.push(word);
        } else {
            flush(&mut run, &mut out);
        }
        if !trail.is_empty() {
            flush(&mut run, &mut out);
        }
        after_sentence_end = trail.contains(SENTENCE_END);
    }
    flush(&mut run, &mut out);
    out
}

/// Term counts of one article, by where the terms stand.
#[derive(Debug, Default)]
pub struct TermCounts {
    pub headline: HashMap<String, u32>,
    pub subheadings: HashMap<String, u32>,
    pub body: HashMap<String, u32>,
    pub names: HashMap<String, u32>,
}

fn count(into: &mut HashMap<String, u32>, terms: impl IntoIterator<Item = String>) {
    for t in terms {
        *into.entry(t).or_default() += 1;
    }
}

impl TermCounts {
    /// Counts the terms of an article's headline, dek, featured image caption and body.
    pub fn of(a: &article::Model) -> Self {
        let body: Vec<Block> = serde_json::from_value(a.body.clone()).unwrap_or_default();
        let caption = a
            .featured_image
            .as_ref()
            .and_then(|i| i.get("caption"))
            .and_then(|c| c.as_str())
            .map(str::to_owned);
        Self::from_parts(&a.headline, a.dek.as_deref(), caption.as_deref(), &body)
    }

    /// Counts the terms of these parts of an article.
    pub fn from_parts(
        headline: &str,
        dek: Option<&str>,
        caption: Option<&str>,
        body: &[Block],
    ) -> Self {
        let mut c = Self::default();
        count(&mut c.headline, tokenise(headline));
        let running = |c: &mut Self, text: &str| {
            count(&mut c.body, tokenise(text));
            count(&mut c.names, names(text, false));
        };
        if let Some(d) = dek {
            running(&mut c, d);
        }
        if let Some(cap) = caption {
            running(&mut c, &html::to_text(cap));
        }
        for b in body {
            match b {
                Block::Paragraph(p) => running(&mut c, &html::to_text(&p.html)),
                Block::Heading(h) => count(&mut c.subheadings, tokenise(&h.text)),
                Block::List(l) => {
                    for item in &l.items {
                        running(&mut c, &html::to_text(item));
                    }
                }
                Block::Quote(q) => {
                    running(&mut c, &html::to_text(&q.html));
                    if let Some(who) = &q.attribution {
                        count(&mut c.body, tokenise(who));
                        count(&mut c.names, names(who, true));
                    }
                }
                Block::Image(i) => {
                    if let Some(cap) = &i.caption {
                        running(&mut c, &html::to_text(cap));
                    }
                }
                Block::Embed(_) => {}
            }
        }
        c
    }

    /// Every distinct term, for document frequencies.
    pub fn distinct(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .headline
            .keys()
            .chain(self.subheadings.keys())
            .chain(self.body.keys())
            .chain(self.names.keys())
            .cloned()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_capitalised_runs_inside_sentences() {
        assert_eq!(
            names(
                "Talks resumed as Kwame Tanaka met the Kabul Ministry. Rain Fell on Doha Port today.",
                false
            ),
            ["kwame tanaka", "kabul ministry", "doha port"]
        );
        assert_eq!(
            names("\"We will see,\" said Ana Costa.", false),
            ["ana costa"]
        );
        assert_eq!(names("Omar Haddad", true), ["omar haddad"]);
        assert!(names("Omar Haddad", false).is_empty());
    }

    #[test]
    fn tokens_skip_stopwords_and_single_characters() {
        let t: Vec<String> = tokenise("The U.S. isn't in Kabul's talks, 2024!").collect();
        assert_eq!(t, ["kabul", "talks", "2024"]);
    }
}

/// How signatures are drawn from term counts.
#[derive(Clone, Debug, PartialEq)]
pub struct SignatureShape {
    /// Terms kept per article.
    pub terms: usize,
    /// A headline word counts this many times.
    pub headline_boost: f64,
    /// A sub-heading word counts this many times.
    pub subheading_boost: f64,
    /// A name counts this many times, on top of its words.
    pub name_boost: f64,
}

impl Default for SignatureShape {
    fn default() -> Self {
        Self {
            terms: 30,
            headline_boost: 3.0,
            subheading_boost: 2.0,
            name_boost: 3.0,
        }
    }
}

impl TermCounts {
    /// Each term's count, boosted by where it stands.
    pub fn weighted(&self, shape: &SignatureShape) -> HashMap<&str, f64> {
        fn add<'a>(out: &mut HashMap<&'a str, f64>, m: &'a HashMap<String, u32>, k: f64) {
            for (t, n) in m {
                *out.entry(t.as_str()).or_default() += k * f64::from(*n);
            }
        }
        let mut out: HashMap<&str, f64> = HashMap::new();
        add(&mut out, &self.body, 1.0);
        add(&mut out, &self.headline, shape.headline_boost);
        add(&mut out, &self.subheadings, shape.subheading_boost);
        add(&mut out, &self.names, shape.name_boost);
        out
    }
}

/// The signature of an article: its `shape.terms` terms of highest TF-IDF
/// (`(1 + ln count) × ln(n / df)`) among those in at most 5% of the archive (or 200
/// articles), L2-normalised, best first. `df` gives each term's
/// document frequency among the `n` published articles (this one included).
pub fn signature(
    counts: &TermCounts,
    shape: &SignatureShape,
    n: u64,
    df: impl Fn(&str) -> u64,
) -> Vec<(String, f64)> {
    let weighted: Vec<(&str, f64)> = counts.weighted(shape).into_iter().collect();
    top_terms(weighted, shape.terms, n, |t| df(t), |t| *t)
        .into_iter()
        .map(|(t, w)| (t.to_owned(), w))
        .collect()
}

/// [`signature`] over terms of any kind `K` (whole strings, or ids of interned strings);
/// `name` gives a term's text, which breaks ties so that every path picks the same terms.
pub fn top_terms<'a, K>(
    weighted: Vec<(K, f64)>,
    terms: usize,
    n: u64,
    df: impl Fn(&K) -> u64,
    name: impl Fn(&K) -> &'a str,
) -> Vec<(K, f64)> {
    // Terms in more than 5% of the archive (at least 200 articles) say little about any one
    // article, and each would make every publish score thousands of candidates.
    let common = (n as f64 * 0.05).max(200.0);
    let n = n.max(1) as f64;
    let mut scored: Vec<(K, f64)> = weighted
        .into_iter()
        .filter(|(t, _)| df(t) as f64 <= common)
        .filter_map(|(t, c)| {
            let idf = (n / df(&t).max(1) as f64).ln();
            (idf > 0.0 && c > 0.0).then(|| {
                let w = (1.0 + c.ln()) * idf;
                (t, w)
            })
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| name(&a.0).cmp(name(&b.0))));
    scored.truncate(terms);
    let norm = scored.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut scored {
            *w /= norm;
        }
    }
    scored
}
