//! Importing a WordPress export (WXR): every mapping, every status, comments, the old-URL
//! lookup in GraphQL and REST, idempotent re-imports, and hostile or broken XML.

use axum::http::StatusCode;
use serde_json::{Value, json};

use gazette::domain::import::{Format, ImportReport, Outcome};

use crate::helpers::{TestApp, editor};
use crate::storage_tests;

storage_tests!(
    a_wordpress_export_maps_posts_sections_authors_tags_and_images,
    every_wordpress_status_maps_and_nothing_private_goes_public,
    classic_and_block_content_become_blocks_and_the_rest_is_reported,
    approved_and_held_comments_come_threaded_spam_and_trash_do_not,
    old_wordpress_urls_find_their_article_in_graphql_and_rest,
    a_drafts_old_url_reveals_nothing_to_readers,
    reimporting_a_wordpress_export_changes_nothing_even_when_slugs_changed,
    a_wordpress_slug_taken_by_another_article_is_reported_not_overwritten,
    hostile_or_broken_xml_is_refused_with_its_line_and_nothing_is_written,
    an_oversized_post_is_skipped_and_the_rest_imported,
    the_export_keeps_origins_and_a_reimport_elsewhere_keeps_the_redirects,
    a_section_map_files_posts_under_the_mapped_category_and_the_rest_stay_tags,
    a_section_map_naming_an_unknown_section_is_refused_and_nothing_is_written,
    every_old_url_of_a_post_leads_to_it_and_a_renamed_permalink_keeps_the_earlier_one,
);

const WXR: &str = include_str!("../data/wordpress/ledger.wxr");

async fn import_wxr(app: &TestApp, xml: &str) -> ImportReport {
    app.try_import_from(Format::WordPress, xml.as_bytes(), None)
        .await
        .expect("import")
}

async fn as_editor(app: &TestApp, query: &str) -> Value {
    app.ok_as(&editor(), query, json!({})).await
}

const ARTICLE: &str = "headline dek status publishedAt createdAt updatedAt section { path } \
    authors { slug name } tags { name } featuredImage { url alt caption } body { __typename }";

async fn a_wordpress_export_maps_posts_sections_authors_tags_and_images(app: &TestApp) {
    let r = import_wxr(app, WXR).await;
    assert_eq!(r.format, "wordpress");
    assert_eq!(r.articles.created, 8, "{:#?}", r.issues);
    assert_eq!(r.sections.created, 4);
    assert_eq!(r.authors.created, 2);
    let a = as_editor(
        app,
        &format!("{{ article(slug: \"talks-resume\") {{ {ARTICLE} }} }}"),
    )
    .await["article"]
        .clone();
    assert_eq!(a["headline"], "Talks resume as the port reopens");
    assert_eq!(a["dek"], "Union and port authority are back at the table.");
    assert_eq!(a["status"], "PUBLISHED");
    // wp:post_date_gmt, not the local wp:post_date.
    assert_eq!(a["publishedAt"], "2024-01-10T09:15:00+00:00");
    assert_eq!(a["updatedAt"], "2024-01-11T11:00:00+00:00");
    // The first category is the section, with its parents; the others become tags.
    assert_eq!(a["section"]["path"], "world/europe");
    assert_eq!(
        a["tags"],
        json!([{"name": "Business"}, {"name": "Shipping"}, {"name": "Ports & Harbours"}])
    );
    // The display name, never the login.
    assert_eq!(
        a["authors"],
        json!([{"slug": "jane-doe", "name": "Jane Doe"}])
    );
    // _thumbnail_id → the attachment item: its URL, alt text and caption.
    assert_eq!(
        a["featuredImage"],
        json!({
            "url": "https://ledger.example.com/wp-content/uploads/2024/01/harbour-crane.jpg",
            "alt": "Two cranes over a container ship",
            "caption": "Cranes at the east quay. Photo: Ana Ruiz"
        })
    );
    let sections = app
        .query(
            "{ sections { path description children { path description } } }",
            json!({}),
        )
        .await;
    let world = sections["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["path"] == "world")
        .expect("world")
        .clone();
    assert_eq!(
        world["children"],
        json!([{"path": "world/europe", "description": "Stories from across Europe"}])
    );
    // No category at all: the default section.
    let cafe = as_editor(
        app,
        "{ article(slug: \"cafe-owners\") { section { path } } }",
    )
    .await;
    assert_eq!(cafe["article"]["section"]["path"], "uncategorized");
    // Pages, menus and attachments are counted, not imported.
    assert_eq!(r.source_counts["items of type page"], 1);
    assert_eq!(r.source_counts["items of type nav_menu_item"], 1);
    assert_eq!(r.source_counts["items of type attachment"], 1);
    assert_eq!(app.count_rows("articles").await, 8);
    // The login is nowhere public.
    let authors = app.get("/api/v1/authors/jane-doe").await.2.to_string();
    assert!(!authors.contains("jdoe_admin"), "{authors}");
}

async fn every_wordpress_status_maps_and_nothing_private_goes_public(app: &TestApp) {
    let r = import_wxr(app, WXR).await;
    let status = |slug: &'static str| async move {
        as_editor(
            app,
            &format!("{{ article(slug: \"{slug}\") {{ status publishedAt createdAt }} }}"),
        )
        .await["article"]
            .clone()
    };
    assert_eq!(status("ferry-timetable").await["status"], "PUBLISHED");
    let draft = status("draft-dredging-plans").await;
    assert_eq!(draft["status"], "DRAFT");
    // No GMT date on a draft: the local date at the site's offset (+01:00, learnt from
    // the posts that have both).
    assert_eq!(draft["createdAt"], "2024-01-14T17:00:00+00:00");
    assert_eq!(status("harbour-master").await["status"], "IN_REVIEW");
    assert_eq!(status("regatta").await["status"], "SCHEDULED");
    let scheduled = app
        .exec_value("SELECT CAST(scheduled_at AS TEXT) AS v FROM articles WHERE slug = 'regatta'")
        .await;
    assert!(scheduled.contains("2030-06-01"), "{scheduled}");
    assert_eq!(status("board-minutes").await["status"], "DRAFT");
    assert_eq!(status("salary-survey").await["status"], "DRAFT");
    let listed: Vec<(&str, Outcome, &str)> = r
        .issues
        .iter()
        .filter(|i| i.kind == "posts")
        .map(|i| (i.id.as_str(), i.outcome, i.reason.as_str()))
        .collect();
    assert!(listed.contains(&(
        "post 106",
        Outcome::Changed,
        "private post imported as a draft (never made public)"
    )));
    assert!(listed.contains(&(
        "post 107",
        Outcome::Changed,
        "password-protected post imported as a draft (never made public)"
    )));
    assert!(
        listed.iter().any(|(id, o, why)| *id == "post 108"
            && *o == Outcome::Skipped
            && why.contains("trash"))
    );
    assert!(listed.iter().any(|(id, o, why)| *id == "post 109"
        && *o == Outcome::Skipped
        && why.contains("\"departed_user\" is not among the export's authors")));
    // Readers see the published ones only.
    let public = app
        .query(
            "{ articles(first: 50) { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    let mut slugs: Vec<String> = public["articles"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("slug").to_owned())
        .collect();
    slugs.sort();
    assert_eq!(slugs, ["cafe-owners", "ferry-timetable", "talks-resume"]);
}

async fn classic_and_block_content_become_blocks_and_the_rest_is_reported(app: &TestApp) {
    let r = import_wxr(app, WXR).await;
    let body = |slug: &'static str| async move {
        as_editor(
            app,
            &format!(
                "{{ article(slug: \"{slug}\") {{ body {{ __typename \
                 ... on ParagraphBlock {{ html }} ... on HeadingBlock {{ level text }} \
                 ... on ListBlock {{ ordered items }} ... on QuoteBlock {{ html attribution }} \
                 ... on ImageBlock {{ url alt caption }} ... on EmbedBlock {{ url provider }} }} }} }}"
            ),
        )
        .await["article"]["body"]
            .clone()
    };
    // Classic: automatic paragraphs, [caption], a bare video URL, a list, a quote.
    assert_eq!(
        body("talks-resume").await,
        json!([
            {"__typename": "ParagraphBlock", "html": "Negotiators met again on <strong>Tuesday</strong>, a week after the strike.<br>The union's chair said the offer was \"a start\"."},
            {"__typename": "ImageBlock", "url": "https://ledger.example.com/wp-content/uploads/2024/01/harbour-crane-640x427.jpg", "alt": "Cranes at the quay", "caption": "Cranes idle at the east quay"},
            {"__typename": "EmbedBlock", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "provider": "YouTube"},
            {"__typename": "HeadingBlock", "level": 2, "text": "What changes"},
            {"__typename": "ListBlock", "ordered": false, "items": ["Night shifts return", "<a href=\"https://ledger.example.com/2023/12/strike/\" rel=\"noopener noreferrer\">The strike</a> ends"]},
            {"__typename": "QuoteBlock", "html": "We are not there yet.", "attribution": "Maria Lopes, union chair"},
        ])
    );
    // Block editor: each block, the embed from its comment, the table kept as text.
    assert_eq!(
        body("ferry-timetable").await,
        json!([
            {"__typename": "ParagraphBlock", "html": "The winter timetable starts on <em>Monday</em>."},
            {"__typename": "HeadingBlock", "level": 3, "text": "Crossings"},
            {"__typename": "ListBlock", "ordered": true, "items": ["06:00 to the island", "18:00 back"]},
            {"__typename": "QuoteBlock", "html": "Fewer boats, but on time.", "attribution": "The operator"},
            {"__typename": "ImageBlock", "url": "https://ledger.example.com/wp-content/uploads/2024/01/ferry.jpg", "alt": "The ferry at dawn", "caption": "The 06:00 crossing"},
            {"__typename": "EmbedBlock", "url": "https://twitter.com/harbourferries/status/1745000000000000000", "provider": "X"},
            {"__typename": "ParagraphBlock", "html": "Route | Fare"},
            {"__typename": "ParagraphBlock", "html": "Island | €4"},
        ])
    );
    let reasons: Vec<(&str, &str)> = r
        .issues
        .iter()
        .map(|i| (i.id.as_str(), i.reason.as_str()))
        .collect();
    assert!(
        reasons.contains(&("post 101", "body: shortcode: [gallery] ×1")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "post 102",
            "body: block without an equivalent: <wp:acme/tide-chart> ×1; kept as text: <table> ×1"
        )),
        "{reasons:?}"
    );
    assert_eq!(r.source_counts["body: shortcode <gallery>"], 1);
}

async fn approved_and_held_comments_come_threaded_spam_and_trash_do_not(app: &TestApp) {
    let r = import_wxr(app, WXR).await;
    assert_eq!(r.comments.created, 3);
    assert_eq!(r.source_counts["comments: spam skipped"], 1);
    assert_eq!(r.source_counts["comments: trash skipped"], 1);
    assert_eq!(r.source_counts["comments: pingbacks skipped"], 1);
    let c = app
        .query(
            "{ article(slug: \"talks-resume\") { commentCount comments(first: 10) { edges { node { id authorName replies { authorName body parentId } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        c["article"]["commentCount"], 2,
        "the held one is not public"
    );
    let nodes: Vec<Value> = c["article"]["comments"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["authorName"], "Sam Reader");
    assert_eq!(
        nodes[0]["replies"],
        json!([{"authorName": "Jane Doe", "body": "Thanks, Sam: more tomorrow.", "parentId": nodes[0]["id"]}]),
        "threaded under Sam's"
    );
    let statuses = app
        .exec_value("SELECT status AS v FROM comments ORDER BY status")
        .await;
    assert_eq!(statuses, "APPROVED,APPROVED,PENDING");
}

async fn old_wordpress_urls_find_their_article_in_graphql_and_rest(app: &TestApp) {
    import_wxr(app, WXR).await;
    for url in [
        "https://ledger.example.com/2024/01/10/talks-resume/",
        "http://ledger.example.com/2024/01/10/talks-resume",
        "/2024/01/10/talks-resume/?utm_source=newsletter#comments",
        "https://ledger.example.com/?p=101",
    ] {
        let v = app
            .query(
                "query($u: String!) { articleByOldUrl(url: $u) { slug } }",
                json!({ "u": url }),
            )
            .await;
        assert_eq!(v["articleByOldUrl"]["slug"], "talks-resume", "{url}");
    }
    // A percent-encoded permalink, as WordPress writes non-ASCII slugs.
    let v = app
        .query(
            "{ articleByOldUrl(url: \"https://ledger.example.com/2024/01/15/caf%C3%A9-owners/\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(v["articleByOldUrl"]["slug"], "cafe-owners");
    let v = app
        .query(
            "{ articleByOldUrl(url: \"/no/such/page/\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(v["articleByOldUrl"], Value::Null);

    let (status, _, body) = app
        .get("/api/v1/redirects?url=https%3A%2F%2Fledger.example.com%2F2024%2F01%2F12%2Fferry-timetable%2F")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["slug"], "ferry-timetable");
    let (status, _, body) = app.get("/api/v1/redirects?url=/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = app.get("/api/v1/redirects").await;
    assert!(status.is_client_error());
}

async fn a_drafts_old_url_reveals_nothing_to_readers(app: &TestApp) {
    import_wxr(app, WXR).await;
    for url in [
        "https://ledger.example.com/?p=103",
        "https://ledger.example.com/2024/01/13/board-minutes/",
        "https://ledger.example.com/2030/06/01/regatta/",
    ] {
        let v = app
            .query(
                "query($u: String!) { articleByOldUrl(url: $u) { slug } }",
                json!({ "u": url }),
            )
            .await;
        assert_eq!(v["articleByOldUrl"], Value::Null, "{url}");
        let (status, _, body) = app
            .get(&format!(
                "/api/v1/redirects?url={}",
                url.replace('?', "%3F").replace('=', "%3D")
            ))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}: {body}");
        assert!(!body.to_string().contains("board"), "{body}");
    }
    // Editors find them.
    let v = app
        .ok_as(
            &editor(),
            "{ articleByOldUrl(url: \"https://ledger.example.com/?p=103\") { slug status } }",
            json!({}),
        )
        .await;
    assert_eq!(
        v["articleByOldUrl"],
        json!({"slug": "draft-dredging-plans", "status": "DRAFT"})
    );
}

async fn reimporting_a_wordpress_export_changes_nothing_even_when_slugs_changed(app: &TestApp) {
    import_wxr(app, WXR).await;
    let tables = [
        "articles",
        "sections",
        "authors",
        "tags",
        "comments",
        "article_origins",
    ];
    let before = app.row_counts(&tables).await;
    let again = import_wxr(app, WXR).await;
    assert_eq!(again.articles.unchanged, 8, "{:#?}", again.issues);
    assert_eq!(again.articles.created + again.articles.updated, 0);
    assert_eq!(again.comments.unchanged, 3);
    assert_eq!(app.row_counts(&tables).await, before);

    // The post's slug and permalink changed in WordPress since: matched on its id, it
    // keeps its gazette slug, and both old URLs still lead to it.
    let renamed = WXR
        .replace(
            "<wp:post_name><![CDATA[talks-resume]]></wp:post_name>",
            "<wp:post_name><![CDATA[talks-resume-again]]></wp:post_name>",
        )
        .replace(
            "<link>https://ledger.example.com/2024/01/10/talks-resume/</link>",
            "<link>https://ledger.example.com/2024/01/10/talks-resume-again/</link>",
        );
    let third = import_wxr(app, &renamed).await;
    assert_eq!(third.articles.created, 0, "{:#?}", third.issues);
    assert_eq!(third.articles.updated, 1);
    assert_eq!(third.comments.unchanged, 3, "comments follow their article");
    assert_eq!(app.row_counts(&tables).await, before);
    let v = app
        .query(
            "{ articleByOldUrl(url: \"/2024/01/10/talks-resume-again/\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(v["articleByOldUrl"]["slug"], "talks-resume");
}

async fn a_wordpress_slug_taken_by_another_article_is_reported_not_overwritten(app: &TestApp) {
    app.import(crate::fixtures::newsroom()).await;
    let taken = WXR.replace(
        "<wp:post_name><![CDATA[ferry-timetable]]></wp:post_name>",
        "<wp:post_name><![CDATA[talks-resume]]></wp:post_name>",
    );
    let before = app
        .query(
            "{ article(slug: \"talks-resume\") { headline } }",
            json!({}),
        )
        .await;
    let r = import_wxr(app, &taken).await;
    let issue = r
        .issues
        .iter()
        .find(|i| i.kind == "articles" && i.id == "post 101")
        .expect("reported");
    assert_eq!(issue.outcome, Outcome::Skipped);
    assert!(issue.reason.contains("taken"), "{}", issue.reason);
    let after = app
        .query(
            "{ article(slug: \"talks-resume\") { headline } }",
            json!({}),
        )
        .await;
    assert_eq!(before, after, "the newsroom's own article is untouched");

    // Two posts of the export with one slug: the second gets a suffix, and is listed.
    let twice = WXR.replace(
        "<wp:post_name><![CDATA[harbour-master]]></wp:post_name>",
        "<wp:post_name><![CDATA[regatta]]></wp:post_name>",
    );
    let copy = app.empty_sibling().await;
    let r = copy
        .try_import_from(Format::WordPress, twice.as_bytes(), None)
        .await
        .expect("import");
    let issue = r
        .issues
        .iter()
        .find(|i| i.id == "post 105")
        .expect("listed");
    assert_eq!(issue.outcome, Outcome::Changed);
    assert_eq!(
        issue.reason,
        "slug \"regatta\" is taken by an earlier post of the export: imported as \"regatta-2\""
    );
    copy.cleanup().await;
}

async fn hostile_or_broken_xml_is_refused_with_its_line_and_nothing_is_written(app: &TestApp) {
    let header = "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n";
    let channel = |items: &str| {
        format!(
            "<rss version=\"2.0\" xmlns:wp=\"http://wordpress.org/export/1.2/\" \
             xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\n\
             <wp:wxr_version>1.2</wp:wxr_version>\n{items}</channel></rss>"
        )
    };
    let laughs = format!(
        "{header}<!DOCTYPE rss [\n <!ENTITY lol \"lol\">\n <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n <!ENTITY lol9 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n{}",
        channel("<item><title>&lol9;</title></item>")
    );
    let xxe = format!(
        "{header}<!DOCTYPE rss [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n{}",
        channel("<item><title>&xxe;</title></item>")
    );
    // An undeclared entity with no DOCTYPE at all.
    let undeclared = format!(
        "{header}{}",
        channel("<item><title>Hello &nbsp; there</title></item>")
    );
    let truncated = &WXR[..WXR.len() / 2];
    let mismatched = format!(
        "{header}{}",
        channel("<item>\n<title>Hello</titel>\n</item>")
    );
    let cases: [(&str, &[u8], &str); 7] = [
        (
            "billion laughs",
            laughs.as_bytes(),
            "line 2: a document type declaration",
        ),
        ("XXE", xxe.as_bytes(), "line 2: a document type declaration"),
        (
            "undeclared entity",
            undeclared.as_bytes(),
            "undefined entity &nbsp;",
        ),
        ("truncated", truncated.as_bytes(), "before end of input"),
        (
            "mismatched tags",
            mismatched.as_bytes(),
            "line 5: malformed XML",
        ),
        (
            "JSON given as WordPress",
            br#"{"db":[{"data":{"posts":[]}}]}"#,
            "not a WordPress export (WXR)",
        ),
        (
            "another XML",
            b"<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
            "not a WordPress export (WXR): the root element is <feed>",
        ),
    ];
    for (what, bytes, expected) in cases {
        let err = app
            .try_import_from(Format::WordPress, bytes, None)
            .await
            .expect_err(what)
            .to_string();
        assert!(err.contains(expected), "{what}: {err}");
        assert!(
            !err.contains("root:"),
            "{what}: nothing read from /etc/passwd: {err}"
        );
    }
    let invalid_utf8 = [
        header.as_bytes(),
        channel("<item><title>").as_bytes(),
        &[0xff, 0xfe],
        b"</title></item>",
    ]
    .concat();
    let err = app
        .try_import_from(Format::WordPress, &invalid_utf8, None)
        .await
        .expect_err("invalid UTF-8")
        .to_string();
    assert!(err.contains("line"), "{err}");
    assert_eq!(
        app.row_counts(&["articles", "sections", "authors", "tags"])
            .await,
        [0, 0, 0, 0],
        "nothing written"
    );
}

async fn an_oversized_post_is_skipped_and_the_rest_imported(app: &TestApp) {
    // 20 MB of text in one post: read (bounded), then refused by the body limits.
    let big = format!("<p>{}</p>", "word ".repeat(4 * 1024 * 1024));
    let xml = WXR.replacen("Notes so far.", &big, 1);
    let r = import_wxr(app, &xml).await;
    assert_eq!(r.articles.created, 7);
    let issue = r
        .issues
        .iter()
        .find(|i| i.id == "post 103")
        .expect("reported");
    assert_eq!(issue.outcome, Outcome::Skipped);
    assert!(issue.reason.contains("limit"), "{}", issue.reason);
}

async fn the_export_keeps_origins_and_a_reimport_elsewhere_keeps_the_redirects(app: &TestApp) {
    import_wxr(app, WXR).await;
    let mut out = Vec::new();
    let options = gazette::domain::export::ExportOptions {
        drafts: true,
        comments: true,
        ..Default::default()
    };
    gazette::domain::export::export(&app.db, options, &mut out, &|_, _, _| {})
        .await
        .expect("export");
    let file: Value = serde_json::from_slice(&out).expect("json");
    let talks = file["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .find(|a| a["slug"] == "talks-resume")
        .expect("exported");
    assert_eq!(
        talks["origin"],
        json!({"system": "wordpress", "id": "101", "url": "https://ledger.example.com/2024/01/10/talks-resume/",
               "urls": ["https://ledger.example.com/?p=101"]})
    );
    let copy = app.empty_sibling().await;
    let r = copy.import(file.clone()).await;
    assert_eq!(r.articles.created, 8, "{:#?}", r.issues);
    let v = copy
        .query(
            "{ articleByOldUrl(url: \"https://ledger.example.com/?p=101\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(v["articleByOldUrl"]["slug"], "talks-resume");
    // The export imported over the database it came from changes nothing.
    let again = app.import(file).await;
    assert_eq!(again.articles.unchanged, 8, "{:#?}", again.issues);
    copy.cleanup().await;
}

fn mapped(map: &str) -> gazette::domain::import::ForeignOptions {
    gazette::domain::import::ForeignOptions {
        map: gazette::domain::import::SectionMap::parse(map).expect("a valid map"),
        ..Default::default()
    }
}

async fn a_section_map_files_posts_under_the_mapped_category_and_the_rest_stay_tags(app: &TestApp) {
    let map = "# category = section\nbusiness = business\nworld = world/europe\nsport = world\n";
    let r = app
        .try_import_with(Format::WordPress, WXR.as_bytes(), mapped(map))
        .await
        .expect("import");
    assert_eq!(r.articles.created, 8, "{:#?}", r.issues);
    // In Europe and Business: the map names Business, so Business is the section and
    // Europe, the first category, a tag.
    let a = as_editor(
        app,
        "{ article(slug: \"talks-resume\") { section { path } tags { name } } }",
    )
    .await["article"]
        .clone();
    assert_eq!(
        a,
        json!({"section": {"path": "business"},
               "tags": [{"name": "Europe"}, {"name": "Shipping"}, {"name": "Ports & Harbours"}]})
    );
    // Only in World, which the map files under world/europe.
    let ferry = as_editor(
        app,
        "{ article(slug: \"ferry-timetable\") { section { path } tags { name } } }",
    )
    .await["article"]
        .clone();
    assert_eq!(
        ferry,
        json!({"section": {"path": "world/europe"}, "tags": [{"name": "Shipping"}]})
    );
    // No category: the default section, as without a map.
    let cafe = as_editor(
        app,
        "{ article(slug: \"cafe-owners\") { section { path } } }",
    )
    .await;
    assert_eq!(cafe["article"]["section"]["path"], "uncategorized");
    // A line naming no category of the export is reported, not an error.
    let notes: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.kind == "file")
        .map(|i| i.reason.as_str())
        .collect();
    assert_eq!(
        notes,
        ["section map line 4: no category \"sport\" in the export"],
        "{:#?}",
        r.issues
    );
}

async fn a_section_map_naming_an_unknown_section_is_refused_and_nothing_is_written(app: &TestApp) {
    let map = "business = business\neurope = sport/football\nworld = opinion\n";
    let err = app
        .try_import_with(Format::WordPress, WXR.as_bytes(), mapped(map))
        .await
        .expect_err("an unknown section");
    let msg = err.to_string();
    assert!(
        msg.contains("line 2: section \"sport/football\", line 3: section \"opinion\""),
        "{msg}"
    );
    assert!(
        !msg.contains("line 1"),
        "business is a category of the export: {msg}"
    );
    let tables = ["articles", "sections", "authors", "tags", "comments"];
    assert_eq!(app.row_counts(&tables).await, vec![0; 5]);
    // A section already stored is a valid target.
    let v = app
        .ok_as(
            &editor(),
            "mutation { createSection(input: { name: \"Opinion\" }) { path } }",
            json!({}),
        )
        .await;
    assert_eq!(v["createSection"]["path"], "opinion");
    let r = app
        .try_import_with(
            Format::WordPress,
            WXR.as_bytes(),
            mapped("world = opinion\n"),
        )
        .await
        .expect("import");
    assert_eq!(r.articles.created, 8, "{:#?}", r.issues);
    let ferry = as_editor(
        app,
        "{ article(slug: \"ferry-timetable\") { section { path } } }",
    )
    .await;
    assert_eq!(ferry["article"]["section"]["path"], "opinion");
}

async fn every_old_url_of_a_post_leads_to_it_and_a_renamed_permalink_keeps_the_earlier_one(
    app: &TestApp,
) {
    import_wxr(app, WXR).await;
    let first = app.count_rows("article_old_urls").await;
    let find = |url: &'static str| async move {
        let v = app
            .query(
                "query($u: String!) { articleByOldUrl(url: $u) { slug } }",
                json!({ "u": url }),
            )
            .await;
        v["articleByOldUrl"]["slug"].clone()
    };
    // The permalink, the short link and the guid (here the same ?p=ID) of post 102.
    for url in [
        "https://ledger.example.com/2024/01/12/ferry-timetable/",
        "https://ledger.example.com/?p=102",
    ] {
        assert_eq!(find(url).await, "ferry-timetable", "{url}");
    }
    // WordPress renames the post twice; each re-import adds the new permalink and keeps
    // the earlier ones.
    let mut xml = WXR.to_owned();
    for (n, name) in ["ferry-times", "ferry-timetable-2024"]
        .into_iter()
        .enumerate()
    {
        let before = if n == 0 {
            "ferry-timetable"
        } else {
            "ferry-times"
        };
        xml = xml.replace(
            &format!("<link>https://ledger.example.com/2024/01/12/{before}/</link>"),
            &format!("<link>https://ledger.example.com/2024/01/12/{name}/</link>"),
        );
        let r = import_wxr(app, &xml).await;
        assert_eq!(r.articles.updated, 1, "{:#?}", r.issues);
    }
    for url in [
        "https://ledger.example.com/2024/01/12/ferry-timetable/",
        "https://ledger.example.com/2024/01/12/ferry-times/",
        "/2024/01/12/ferry-timetable-2024",
        "https://ledger.example.com/?p=102",
    ] {
        assert_eq!(find(url).await, "ferry-timetable", "{url}");
        let (status, _, body) = app
            .get(&format!(
                "/api/v1/redirects?url={}",
                url.replace(':', "%3A")
                    .replace('/', "%2F")
                    .replace('?', "%3F")
                    .replace('=', "%3D")
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        assert_eq!(body["slug"], "ferry-timetable", "{url}: {body}");
    }
    assert_eq!(
        app.count_rows("article_old_urls").await,
        first + 2,
        "the two renames added, nothing dropped"
    );
}
