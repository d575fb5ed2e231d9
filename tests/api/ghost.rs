//! Importing a Ghost export (the JSON of Ghost 4 and 5): tags, authors in order, statuses,
//! visibility, html, Lexical and Mobiledoc bodies, old URLs, idempotent re-imports, and
//! files that are not Ghost exports.

use axum::http::StatusCode;
use serde_json::{Value, json};

use gazette::domain::import::{Format, ImportReport, Outcome};

use crate::helpers::{TestApp, editor};
use crate::storage_tests;

storage_tests!(
    a_ghost_export_maps_tags_authors_images_and_statuses,
    ghost_html_lexical_and_mobiledoc_bodies_become_blocks,
    old_ghost_urls_find_their_article_and_members_posts_stay_private,
    reimporting_a_ghost_export_changes_nothing,
    a_file_that_is_not_a_ghost_export_is_refused_and_nothing_is_written,
    a_section_map_files_ghost_posts_under_the_sections_it_names,
    a_ghost_posts_uuid_link_and_a_renamed_slug_keep_leading_to_it,
);

const GHOST: &str = include_str!("../data/ghost/ledger.ghost.json");
const SITE: &str = "https://ledger.example.com";

async fn import_ghost(app: &TestApp) -> ImportReport {
    app.try_import_from(Format::Ghost, GHOST.as_bytes(), Some(SITE))
        .await
        .expect("import")
}

async fn as_editor(app: &TestApp, query: &str) -> Value {
    app.ok_as(&editor(), query, json!({})).await
}

async fn a_ghost_export_maps_tags_authors_images_and_statuses(app: &TestApp) {
    let r = import_ghost(app).await;
    assert_eq!(r.format, "ghost");
    assert_eq!(r.articles.created, 6, "{:#?}", r.issues);
    assert_eq!(r.authors.created, 2, "only users who wrote something");
    assert_eq!(r.source_counts["pages in the export"], 1);
    assert_eq!(r.source_counts["internal #tags (not imported)"], 1);
    let a = as_editor(
        app,
        "{ article(slug: \"talks-resume\") { headline dek status publishedAt createdAt \
         section { path name description } authors { slug name bio avatarUrl } tags { name } \
         featuredImage { url alt caption } } }",
    )
    .await["article"]
        .clone();
    assert_eq!(
        a,
        json!({
            "headline": "Talks resume as the port reopens",
            "dek": "Union and port authority are back at the table.",
            "status": "PUBLISHED",
            "publishedAt": "2024-01-10T09:15:00+00:00",
            "createdAt": "2024-01-09T16:00:00+00:00",
            // The primary tag is the first public one: #newsletter is internal.
            "section": {"path": "world", "name": "World", "description": "News from everywhere"},
            "authors": [
                {"slug": "jane", "name": "Jane Doe", "bio": "Port correspondent.",
                 "avatarUrl": "https://ledger.example.com/content/images/2024/01/jane.jpg"},
                {"slug": "omar", "name": "Omar Haddad", "bio": null, "avatarUrl": null},
            ],
            "tags": [{"name": "Shipping"}],
            "featuredImage": {
                "url": "https://ledger.example.com/content/images/2024/01/quay.jpg",
                "alt": "Containers on the quay",
                "caption": "Photo: Ana Ruiz"
            }
        })
    );
    let status = |slug: &'static str| async move {
        as_editor(
            app,
            &format!("{{ article(slug: \"{slug}\") {{ status section {{ path }} }} }}"),
        )
        .await["article"]
            .clone()
    };
    assert_eq!(
        status("council-quay").await,
        json!({"status": "DRAFT", "section": {"path": "city-hall"}})
    );
    assert_eq!(status("regatta").await["status"], "SCHEDULED");
    assert_eq!(status("salary-survey").await["status"], "DRAFT");
    assert_eq!(status("the-week").await["status"], "DRAFT");
    assert_eq!(
        status("old-pier").await,
        json!({"status": "PUBLISHED", "section": {"path": "uncategorized"}})
    );
    let issue = |id: &str| {
        r.issues
            .iter()
            .find(|i| i.id == id && i.kind == "posts")
            .unwrap_or_else(|| panic!("{id} reported: {:#?}", r.issues))
    };
    assert_eq!(
        issue("post 65a1f0c2e4b0a1b2c3d4e504").outcome,
        Outcome::Changed
    );
    assert!(
        issue("post 65a1f0c2e4b0a1b2c3d4e504")
            .reason
            .contains("members")
    );
    assert!(
        issue("post 65a1f0c2e4b0a1b2c3d4e506")
            .reason
            .contains("email-only")
    );
    let missing = issue("post 65a1f0c2e4b0a1b2c3d4e508");
    assert_eq!(missing.outcome, Outcome::Skipped);
    assert!(
        missing.reason.contains("not among the export's users"),
        "{}",
        missing.reason
    );
}

async fn ghost_html_lexical_and_mobiledoc_bodies_become_blocks(app: &TestApp) {
    let r = import_ghost(app).await;
    let body = |slug: &'static str| async move {
        as_editor(
            app,
            &format!(
                "{{ article(slug: \"{slug}\") {{ body {{ __typename \
                 ... on ParagraphBlock {{ html }} ... on HeadingBlock {{ level text }} \
                 ... on ListBlock {{ ordered items }} ... on QuoteBlock {{ html }} \
                 ... on ImageBlock {{ url alt caption }} ... on EmbedBlock {{ url }} }} }} }}"
            ),
        )
        .await["article"]["body"]
            .clone()
    };
    assert_eq!(
        body("talks-resume").await,
        json!([
            {"__typename": "ParagraphBlock", "html": "Negotiators met again on <strong>Tuesday</strong>."},
            {"__typename": "ImageBlock", "url": "https://ledger.example.com/content/images/2024/01/crane.jpg", "alt": "A crane", "caption": "Cranes idle"},
            {"__typename": "HeadingBlock", "level": 2, "text": "What changes"},
            {"__typename": "ListBlock", "ordered": false, "items": ["Night shifts return"]},
            {"__typename": "QuoteBlock", "html": "Not there yet."},
            {"__typename": "EmbedBlock", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
            {"__typename": "ParagraphBlock", "html": "<a href=\"https://ledger.example.com/#/portal/signup\" rel=\"noopener noreferrer\">Subscribe</a>"},
        ])
    );
    // html is null: the Lexical document.
    assert_eq!(
        body("council-quay").await,
        json!([
            {"__typename": "ParagraphBlock", "html": "The council voted <strong>seven to two</strong> for the <a href=\"https://ledger.example.com/quay-plans/\" rel=\"noopener noreferrer\">new quay</a>."},
            {"__typename": "HeadingBlock", "level": 3, "text": "How they voted"},
            {"__typename": "ListBlock", "ordered": true, "items": ["Harbour ward: for", "Old town: against"]},
            {"__typename": "QuoteBlock", "html": "A good day for the port."},
            {"__typename": "ImageBlock", "url": "https://ledger.example.com/content/images/2024/01/council.jpg", "alt": "The council chamber", "caption": "Tuesday's vote"},
            {"__typename": "EmbedBlock", "url": "https://www.youtube.com/watch?v=abc123XYZ"},
            {"__typename": "ParagraphBlock", "html": "Figures from the *minutes*."},
        ])
    );
    // Ghost 4's Mobiledoc.
    assert_eq!(
        body("old-pier").await,
        json!([
            {"__typename": "ParagraphBlock", "html": "The pier was built in <strong>1898</strong> (<a href=\"https://example.org/history\" rel=\"noopener noreferrer\">history</a>)."},
            {"__typename": "ImageBlock", "url": "https://ledger.example.com/content/images/2021/05/old-pier.jpg", "alt": "The old pier", "caption": "Before the storm"},
            {"__typename": "HeadingBlock", "level": 2, "text": "After the storm"},
            {"__typename": "ListBlock", "ordered": false, "items": ["Rebuilt in 1950", "Listed in 1988"]},
        ])
    );
    let reasons: Vec<(&str, &str)> = r
        .issues
        .iter()
        .map(|i| (i.id.as_str(), i.reason.as_str()))
        .collect();
    assert!(
        reasons.contains(&(
            "post 65a1f0c2e4b0a1b2c3d4e502",
            "body: dropped: <callout card> ×1; kept as text: <markdown card> ×1"
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "post 65a1f0c2e4b0a1b2c3d4e507",
            "body: dropped: <bookmark card> ×1"
        )),
        "{reasons:?}"
    );
}

async fn old_ghost_urls_find_their_article_and_members_posts_stay_private(app: &TestApp) {
    import_ghost(app).await;
    for url in ["https://ledger.example.com/talks-resume/", "/talks-resume"] {
        let v = app
            .query(
                "query($u: String!) { articleByOldUrl(url: $u) { slug } }",
                json!({ "u": url }),
            )
            .await;
        assert_eq!(v["articleByOldUrl"]["slug"], "talks-resume", "{url}");
    }
    let (status, _, body) = app.get("/api/v1/redirects?url=%2Fold-pier%2F").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], "old-pier");
    // Members-only and email-only posts: nothing for readers.
    for url in ["/salary-survey/", "/the-week/", "/council-quay/"] {
        let (status, _, _) = app.get(&format!("/api/v1/redirects?url={url}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
    }
}

async fn reimporting_a_ghost_export_changes_nothing(app: &TestApp) {
    import_ghost(app).await;
    let tables = [
        "articles",
        "sections",
        "authors",
        "tags",
        "article_origins",
        "article_revisions",
    ];
    let before = app.row_counts(&tables).await;
    let again = import_ghost(app).await;
    assert_eq!(again.articles.unchanged, 6, "{:#?}", again.issues);
    assert_eq!(again.articles.created + again.articles.updated, 0);
    assert_eq!(app.row_counts(&tables).await, before);
}

async fn a_file_that_is_not_a_ghost_export_is_refused_and_nothing_is_written(app: &TestApp) {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "WXR",
            include_bytes!("../data/wordpress/ledger.wxr"),
            "not a Ghost export: not JSON",
        ),
        (
            "truncated",
            &GHOST.as_bytes()[..GHOST.len() / 2],
            "EOF while parsing",
        ),
        (
            "another JSON",
            br#"{"sections": [], "articles": []}"#,
            "not a Ghost export",
        ),
        (
            "invalid UTF-8",
            b"{\"db\":[{\"data\":{\"posts\":[{\"id\":\"1\",\"title\":\"\xff\xfe\"}]}}]}",
            "invalid unicode",
        ),
    ];
    for (what, bytes, expected) in cases {
        let err = app
            .try_import_from(Format::Ghost, bytes, None)
            .await
            .expect_err(what)
            .to_string();
        assert!(err.contains(expected), "{what}: {err}");
    }
    assert_eq!(
        app.row_counts(&["articles", "sections", "authors", "tags"])
            .await,
        [0, 0, 0, 0]
    );
}

async fn a_section_map_files_ghost_posts_under_the_sections_it_names(app: &TestApp) {
    let options = gazette::domain::import::ForeignOptions {
        site_url: Some(SITE.into()),
        map: gazette::domain::import::SectionMap::parse(
            "shipping = shipping  # a tag that becomes a section\ncity-hall = world\n",
        )
        .expect("a valid map"),
    };
    let r = app
        .try_import_with(Format::Ghost, GHOST.as_bytes(), options)
        .await
        .expect("import");
    assert_eq!(r.articles.created, 6, "{:#?}", r.issues);
    // Tagged World (primary) and Shipping: the map names Shipping.
    let a = as_editor(
        app,
        "{ article(slug: \"talks-resume\") { section { path name } tags { name } } }",
    )
    .await["article"]
        .clone();
    assert_eq!(
        a,
        json!({"section": {"path": "shipping", "name": "Shipping"}, "tags": [{"name": "World"}]})
    );
    // City Hall's only post goes to World, so City Hall is no section.
    let council = as_editor(
        app,
        "{ article(slug: \"council-quay\") { section { path } tags { name } } }",
    )
    .await["article"]
        .clone();
    assert_eq!(council, json!({"section": {"path": "world"}, "tags": []}));
    let sections = app.query("{ sections { path } }", json!({})).await;
    let paths: Vec<&str> = sections["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .filter_map(|s| s["path"].as_str())
        .collect();
    assert!(!paths.contains(&"city-hall"), "{paths:?}");
    assert!(
        paths.contains(&"shipping") && paths.contains(&"world"),
        "{paths:?}"
    );

    // A section neither a tag of the export nor stored: refused, nothing written.
    let copy = app.empty_sibling().await;
    let options = gazette::domain::import::ForeignOptions {
        site_url: Some(SITE.into()),
        map: gazette::domain::import::SectionMap::parse("world = news/world\n")
            .expect("a valid map"),
    };
    let err = copy
        .try_import_with(Format::Ghost, GHOST.as_bytes(), options)
        .await
        .expect_err("unknown section");
    assert!(
        err.to_string().contains("line 1: section \"news/world\""),
        "{err}"
    );
    assert_eq!(copy.row_counts(&["articles", "sections"]).await, [0, 0]);
    copy.cleanup().await;
}

async fn a_ghost_posts_uuid_link_and_a_renamed_slug_keep_leading_to_it(app: &TestApp) {
    import_ghost(app).await;
    let find = |url: String| async move {
        let v = app
            .query(
                "query($u: String!) { articleByOldUrl(url: $u) { slug } }",
                json!({ "u": url }),
            )
            .await;
        v["articleByOldUrl"]["slug"].clone()
    };
    let uuid = "https://ledger.example.com/p/3b9a6c1e-0000-4000-8000-a1b2c3d4e501/";
    assert_eq!(find(uuid.into()).await, "talks-resume");
    // The slug changes in Ghost: the re-import matches on the post id, keeps the gazette
    // slug, and adds the new URL to the old ones.
    let renamed = GHOST.replacen(
        "\"slug\": \"talks-resume\"",
        "\"slug\": \"talks-back-on\"",
        1,
    );
    let r = app
        .try_import_from(Format::Ghost, renamed.as_bytes(), Some(SITE))
        .await
        .expect("import");
    assert_eq!(r.articles.updated, 1, "{:#?}", r.issues);
    for url in [
        "https://ledger.example.com/talks-resume/",
        "https://ledger.example.com/talks-back-on/",
        uuid,
    ] {
        assert_eq!(find(url.into()).await, "talks-resume", "{url}");
        let (status, _, body) = app
            .get(&format!(
                "/api/v1/redirects?url={}",
                url.replace(':', "%3A").replace('/', "%2F")
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        assert_eq!(body["slug"], "talks-resume", "{url}");
    }
}
