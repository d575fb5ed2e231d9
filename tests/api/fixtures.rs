//! Fixtures in the import format: the small newsroom most tests start from, variations of
//! it, and larger generated files. Pure data; `TestApp::import` loads them.

use serde_json::{Value, json};

/// A small newsroom: nested sections, two authors, six published articles over six days
/// (one with two bylines), one draft, one in review, comments approved, pending and threaded.
pub fn newsroom() -> Value {
    let article = |slug: &str,
                   day: u32,
                   section: &str,
                   authors: &[&str],
                   tags: &[&str],
                   status: &str| {
        json!({
            "slug": slug,
            "headline": format!("Headline of {slug}"),
            "dek": format!("Dek of {slug}"),
            "section": section,
            "authors": authors,
            "tags": tags,
            "status": status,
            "publishedAt": if status == "PUBLISHED" { json!(format!("2026-03-{day:02}T09:00:00Z")) } else { Value::Null },
            "createdAt": format!("2026-03-{day:02}T08:00:00Z"),
            "body": [
                { "heading": { "level": 2, "text": "What happened" } },
                { "paragraph": { "html": format!("The <em>story</em> of {slug}, with <a href=\"https://example.org/{slug}\">a link</a>.") } },
                { "list": { "ordered": false, "items": ["<strong>First:</strong> one", "<strong>Second:</strong> two"] } },
                { "quote": { "html": "We will see.", "attribution": "A spokesperson" } },
                { "image": { "url": "https://img.example.org/1.jpg", "alt": "A quay", "caption": "The quay at dawn", "credit": "Photo: Desk" } },
                { "embed": { "url": "https://www.youtube.com/watch?v=abc" } }
            ]
        })
    };
    json!({
        "sections": [
            { "slug": "world", "name": "World", "description": "News from abroad" },
            { "slug": "middle-east", "name": "Middle East", "parent": "world" },
            { "slug": "business", "name": "Business" }
        ],
        "authors": [
            { "slug": "omar-haddad", "name": "Omar Haddad", "title": "World Editor", "bio": "Covers the region.", "subject": "omar" },
            { "slug": "lena-berg", "name": "Lena Berg", "title": "Business Reporter", "subject": "lena" }
        ],
        "articles": [
            article("talks-resume", 1, "world/middle-east", &["omar-haddad"], &["ceasefire talks", "diplomacy"], "PUBLISHED"),
            article("border-reopens", 2, "world/middle-east", &["omar-haddad", "lena-berg"], &["ceasefire talks"], "PUBLISHED"),
            article("summit-ends", 3, "world", &["omar-haddad"], &["diplomacy"], "PUBLISHED"),
            article("markets-rally", 4, "business", &["lena-berg"], &["markets"], "PUBLISHED"),
            article("port-profits", 5, "business", &["lena-berg"], &["markets", "shipping"], "PUBLISHED"),
            article("aid-arrives", 6, "world/middle-east", &["omar-haddad"], &["aid"], "PUBLISHED"),
            article("secret-draft", 7, "world/middle-east", &["omar-haddad"], &["ceasefire talks", "diplomacy"], "DRAFT"),
            article("under-review", 8, "business", &["lena-berg"], &["markets"], "IN_REVIEW")
        ],
        "comments": [
            { "key": "c1", "article": "talks-resume", "authorName": "Ana", "body": "First!", "status": "APPROVED", "createdAt": "2026-03-01T10:00:00Z" },
            { "key": "c2", "article": "talks-resume", "parent": "c1", "authorName": "Ben", "body": "A reply", "status": "APPROVED", "createdAt": "2026-03-01T11:00:00Z" },
            { "key": "c3", "article": "talks-resume", "authorName": "Spammer", "body": "Buy now", "status": "SPAM", "createdAt": "2026-03-01T12:00:00Z" },
            { "key": "c4", "article": "talks-resume", "authorName": "Cy", "body": "Held for review", "status": "PENDING", "createdAt": "2026-03-01T13:00:00Z" },
            { "key": "c5", "article": "talks-resume", "authorName": "Di", "body": "Second thread", "status": "APPROVED", "createdAt": "2026-03-01T14:00:00Z" },
            { "key": "c6", "article": "secret-draft", "authorName": "Eve", "body": "On a draft", "status": "APPROVED", "createdAt": "2026-03-07T10:00:00Z" }
        ]
    })
}

/// `n` published articles in one section, each with its own author and two tags.
pub fn many_articles(n: usize) -> Value {
    let authors: Vec<Value> = (0..n)
        .map(|i| json!({ "slug": format!("author-{i}"), "name": format!("Author {i}") }))
        .collect();
    let articles: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "slug": format!("story-{i}"),
                "headline": format!("Story {i}"),
                "section": "news",
                "authors": [format!("author-{i}")],
                "tags": [format!("tag {i}"), "shared"],
                "status": "PUBLISHED",
                "publishedAt": format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                "body": [{ "paragraph": { "html": "Text." } }]
            })
        })
        .collect();
    let comments: Vec<Value> = (0..n)
        .map(|i| json!({ "key": format!("k{i}"), "article": format!("story-{i}"), "authorName": "R", "body": "Hi" }))
        .collect();
    json!({
        "sections": [{ "slug": "news", "name": "News" }],
        "authors": authors,
        "articles": articles,
        "comments": comments
    })
}

/// The newsroom's sections and authors with `articles` in place of its own, and no comments.
pub fn newsroom_with(articles: Vec<Value>) -> Value {
    let mut file = newsroom();
    file["articles"] = json!(articles);
    file["comments"] = json!([]);
    file
}

/// An article with a one-paragraph body (`html`), created on day `day` of April 2026 at
/// 08:00 and, when `status` is PUBLISHED, published at 09:00; in the newsroom's `world`
/// section by Omar Haddad, without tags, until the caller says otherwise.
pub fn april_article(slug: &str, headline: &str, html: &str, status: &str, day: u32) -> Value {
    json!({
        "slug": slug,
        "headline": headline,
        "dek": "",
        "section": "world",
        "authors": ["omar-haddad"],
        "tags": [],
        "status": status,
        "publishedAt": if status == "PUBLISHED" { json!(format!("2026-04-{day:02}T09:00:00Z")) } else { Value::Null },
        "createdAt": format!("2026-04-{day:02}T08:00:00Z"),
        "body": [{ "paragraph": { "html": html } }]
    })
}
