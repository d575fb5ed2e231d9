//! Property tests of everything that parses untrusted input: the HTML cleaner never emits a
//! script, handler or unsafe URL; cursors never panic and round-trip; slugs are URL-safe and
//! idempotent; bodies round-trip through their stored JSON and cleaning is stable.

use proptest::prelude::*;

use super::blocks::{self, Block, Embed, Heading, Image, List, Paragraph, Quote};
use super::cursor::Cursor;
use super::{html, slug};

/// Fragments built from the pieces attackers use, in any order and nesting.
fn hostile_html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("<a href=\"javascript:alert(1)\">x</a>".to_owned()),
        Just("<a href=\"JaVaScRiPt:alert(1)\">x</a>".to_owned()),
        Just("<a href=\"  javascript:alert(1)\">x</a>".to_owned()),
        Just("<a href=\"data:text/html,<script>x</script>\">x</a>".to_owned()),
        Just("<svg onload=alert(1)>".to_owned()),
        Just("<b onmouseover=\"x()\">b</b>".to_owned()),
        Just("<iframe src=\"https://e.example\"></iframe>".to_owned()),
        Just("<style>body{}</style>".to_owned()),
        Just("<a href=\"https://ok.example/\" style=\"x\">ok</a>".to_owned()),
        Just("</b><em>".to_owned()),
        Just("<".to_owned()),
        Just("&amp;&#x3C;&lt;".to_owned()),
        "[a-zA-Z0-9 <>\"'=/&;:.-]{0,20}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

/// The attribute names of every tag in cleaned output (attribute values are quoted).
fn attribute_names(html: &str) -> Vec<String> {
    let mut names = Vec::new();
    for tag in html.split('<').skip(1) {
        let inside = tag.split('>').next().unwrap_or("");
        let mut rest = inside.split_once(' ').map_or("", |(_, r)| r);
        while let Some((name, after)) = rest.split_once('=') {
            names.push(name.trim().to_owned());
            // Skip the quoted value.
            let after = after.trim_start();
            let quote = after.chars().next().unwrap_or('"');
            rest = after
                .get(1..)
                .unwrap_or("")
                .split_once(quote)
                .map_or("", |(_, r)| r);
        }
    }
    names
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.'<>&\"-]{1,40}"
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        (2..=6i32, "[a-zA-Z0-9 ]{1,30}").prop_map(|(level, t)| Block::Heading(Heading {
            level,
            text: t.trim().to_owned() + "x"
        })),
        text().prop_map(|html| Block::Paragraph(Paragraph { html })),
        (any::<bool>(), proptest::collection::vec(text(), 1..5))
            .prop_map(|(ordered, items)| Block::List(List { ordered, items })),
        (text(), proptest::option::of("[a-zA-Z ]{1,20}")).prop_map(|(html, a)| Block::Quote(
            Quote {
                html,
                attribution: a.map(|a| a.trim().to_owned() + "x")
            }
        )),
        "[a-z]{1,10}".prop_map(|p| Block::Image(Image {
            url: format!("https://img.example.org/{p}.jpg"),
            alt: None,
            caption: None,
            credit: None
        })),
        "[a-z]{1,10}".prop_map(|p| Block::Embed(Embed {
            url: format!("https://www.youtube.com/watch?v={p}")
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_cleaner_never_emits_scripts_handlers_or_unsafe_urls(input in hostile_html()) {
        let out = html::clean_inline(&input).to_lowercase();
        prop_assert!(!out.contains("<script"), "{out}");
        prop_assert!(!out.contains("<img") && !out.contains("<svg") && !out.contains("<iframe") && !out.contains("<style"), "{out}");
        prop_assert!(!out.contains("javascript:") && !out.contains("data:"), "{out}");
        for attr in attribute_names(&out) {
            prop_assert!(attr == "href" || attr == "rel", "only href and rel survive, not {attr}: {out}");
        }
        prop_assert!(!out.contains("style="), "{out}");
        // Cleaning is stable: clean output is already clean.
        prop_assert_eq!(html::clean_inline(&out), out.clone());
    }

    #[test]
    fn cursor_decoding_never_panics(s in ".{0,600}") {
        let _ = Cursor::decode(&s);
    }

    #[test]
    fn cursors_round_trip(micros in any::<i64>(), id in any::<i32>(), name in ".{0,50}") {
        for c in [Cursor::Published(micros, id), Cursor::Created(micros, id), Cursor::Name(name.clone(), id)] {
            prop_assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        }
    }

    #[test]
    fn slugs_are_url_safe_and_idempotent(s in ".{0,300}") {
        let once = slug::slugify(&s);
        prop_assert!(once.is_empty() || slug::is_valid(&once), "{once:?}");
        prop_assert!(once.len() <= slug::MAX_LEN);
        prop_assert_eq!(slug::slugify(&once), once.clone());
    }

    #[test]
    fn bodies_round_trip_through_storage_and_clean_stably(body in proptest::collection::vec(block(), 0..12)) {
        let cleaned = blocks::clean_body(body).map_err(TestCaseError::fail)?;
        let stored = serde_json::to_value(&cleaned).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Vec<Block> = serde_json::from_value(stored).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &cleaned);
        prop_assert_eq!(blocks::clean_body(back).map_err(TestCaseError::fail)?, cleaned);
    }
}
