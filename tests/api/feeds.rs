//! Public URLs and feeds: `url` and `feeds` on entities, and RSS 2.0, Atom 1.0 and JSON
//! Feed 1.1 documents that a maintained parser (`feed-rs`) reads back item for item, for
//! any content, with drafts never in them and every write reaching them at once.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom, newsroom_with};
use crate::helpers::{
    PUBLIC_URL, TestApp, WithHeader as _, assert_problem, editor, request, send_raw,
};
use crate::storage_tests;

storage_tests!(
    every_format_parses_and_its_items_are_the_published_articles,
    feeds_of_a_section_an_author_and_a_tag_hold_only_theirs,
    hostile_content_still_makes_well_formed_feeds,
    drafts_scheduled_and_unpublished_articles_are_in_no_feed,
    a_publish_an_edit_and_an_unpublish_reach_a_cached_feed_at_once,
    feeds_answer_conditional_requests,
    an_edited_body_is_in_the_next_feed_and_memoised_bodies_change_no_byte,
    bad_feed_parameters_are_refused,
    without_a_public_url_feeds_are_off_and_urls_are_null,
    urls_follow_the_templates_in_graphql_and_rest,
);

const FORMATS: [(&str, &str); 3] = [
    ("/feeds/rss.xml", "application/rss+xml; charset=utf-8"),
    ("/feeds/atom.xml", "application/atom+xml; charset=utf-8"),
    ("/feeds/feed.json", "application/feed+json; charset=utf-8"),
];

/// GETs `uri` from `router` with `headers`; status, headers and raw body.
async fn get_raw(
    router: &Router,
    uri: &str,
    headers: &[(&'static str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = request("GET", uri, None, None);
    for (k, v) in headers {
        req = req.with_header(axum::http::HeaderName::from_static(k), v);
    }
    send_raw(router, req).await
}

/// The feed at `uri`, parsed by feed-rs; panics unless it is a 200 of the right type.
async fn parsed(app: &TestApp, uri: &str) -> feed_rs::model::Feed {
    let (status, headers, body) = get_raw(&app.router, uri, &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    let path = uri.split('?').next().unwrap_or(uri);
    let (_, content_type) = FORMATS
        .iter()
        .find(|(p, _)| *p == path)
        .expect("a feed route");
    assert_eq!(headers[header::CONTENT_TYPE], *content_type, "{uri}");
    feed_rs::parser::parse(body.as_slice()).unwrap_or_else(|e| {
        panic!(
            "{uri} does not parse: {e}\n{}",
            String::from_utf8_lossy(&body)
        )
    })
}

/// The titles of a parsed feed's entries, in order.
fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The published articles of the newsroom fixture, newest first, as REST shows them.
async fn published(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, _, body) = app.get(&format!("/api/v1/articles?limit=100{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

async fn every_format_parses_and_its_items_are_the_published_articles(app: &TestApp) {
    app.import(newsroom()).await;
    let articles = published(app, "").await;
    assert_eq!(articles.len(), 6);
    for (route, _) in FORMATS {
        let feed = parsed(app, route).await;
        assert_eq!(
            feed.title.as_ref().map(|t| t.content.as_str()),
            Some("The Example Times"),
            "{route}"
        );
        assert_eq!(feed.entries.len(), articles.len(), "{route}");
        for (entry, article) in feed.entries.iter().zip(&articles) {
            let slug = article["slug"].as_str().unwrap_or_default();
            let section = article["section"]["path"].as_str().unwrap_or_default();
            let url = format!("{PUBLIC_URL}/{section}/{slug}");
            assert_eq!(
                entry.title.as_ref().map(|t| t.content.as_str()),
                article["headline"].as_str(),
                "{route}"
            );
            assert_eq!(
                entry.links.first().map(|l| l.href.as_str()),
                Some(url.as_str()),
                "{route}"
            );
            assert_eq!(article["url"], json!(url), "REST names the same URL");
            let published: chrono::DateTime<chrono::Utc> =
                serde_json::from_value(article["published_at"].clone()).expect("a time");
            assert_eq!(entry.published, Some(published), "{route}: {slug}");
            let authors: Vec<&str> = entry.authors.iter().map(|p| p.name.as_str()).collect();
            let expected: Vec<&str> = article["authors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["name"].as_str())
                .collect();
            assert_eq!(authors, expected, "{route}: {slug}");
            let summary = entry.summary.as_ref().map(|t| t.content.as_str());
            assert_eq!(summary, article["dek"].as_str(), "{route}: {slug}");
            // The whole body, as sanitised HTML.
            let content = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default();
            assert!(
                content.contains("<h2>What happened</h2>"),
                "{route}: {content}"
            );
            assert!(
                content.contains(&format!("The <em>story</em> of {slug}")),
                "{route}: {content}"
            );
            assert!(content.contains("<blockquote>"), "{route}: {content}");
            // Categories: the section and every tag.
            let cats: Vec<String> = entry
                .categories
                .iter()
                .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
                .collect();
            assert!(
                cats.iter()
                    .any(|c| c == article["section"]["name"].as_str().unwrap_or("?")
                        || c == article["section"]["path"].as_str().unwrap_or("?")),
                "{route}: {cats:?}"
            );
            for t in article["tags"].as_array().into_iter().flatten() {
                assert!(
                    cats.iter().any(|c| Some(c.as_str()) == t["name"].as_str()),
                    "{route}: {cats:?}"
                );
            }
            assert!(
                entry.id.starts_with("tag:news.example,2026:article:"),
                "{}",
                entry.id
            );
        }
        // The self link, where a parser reports one.
        if route != "/feeds/feed.json" {
            assert!(
                feed.links
                    .iter()
                    .any(|l| l.href == format!("{PUBLIC_URL}{route}")),
                "{route}: {:?}",
                feed.links
            );
        }
        assert_eq!(feed.language.as_deref(), Some("en"), "{route}");
    }
    // The featured image: Media RSS in RSS, an enclosure link in Atom, `image` in JSON Feed.
    let file = newsroom_with(vec![json!({
        "slug": "with-image", "headline": "With image", "section": "world",
        "authors": ["omar-haddad"], "status": "PUBLISHED", "publishedAt": "2026-05-01T09:00:00Z",
        "source": { "name": "Wire Agency", "url": "https://wire.example/story" },
        "featuredImage": { "url": "https://img.example.org/lead.jpg", "alt": "Lead", "credit": "Photo: Desk" },
        "body": [{ "paragraph": { "html": "Text." } }]
    })]);
    app.import(file).await;
    let rss = parsed(app, "/feeds/rss.xml").await;
    let media = &rss.entries[0].media;
    assert!(
        media.iter().flat_map(|m| &m.content).any(|c| c.url.as_ref().map(|u| u.as_str()) == Some("https://img.example.org/lead.jpg")),
        "{media:?}"
    );
    let (_, _, body) = get_raw(&app.router, "/feeds/feed.json", &[]).await;
    let json: Value = serde_json::from_slice(&body).expect("JSON Feed");
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        json["items"][0]["image"],
        "https://img.example.org/lead.jpg"
    );
    assert_eq!(json["items"][0]["_source"]["name"], "Wire Agency");
    assert_eq!(json["feed_url"], format!("{PUBLIC_URL}/feeds/feed.json"));
    let (_, _, body) = get_raw(&app.router, "/feeds/atom.xml", &[]).await;
    let atom = String::from_utf8(body).expect("utf-8");
    assert!(
        atom.contains(
            r#"<link href="https://img.example.org/lead.jpg" rel="enclosure" type="image/jpeg""#
        ),
        "{atom}"
    );
    assert!(
        atom.contains(r#"<link href="https://wire.example/story" rel="via" title="Wire Agency"/>"#),
        "{atom}"
    );
}

async fn feeds_of_a_section_an_author_and_a_tag_hold_only_theirs(app: &TestApp) {
    app.import(newsroom()).await;
    for (query, rest) in [
        ("section=world", "&section=world"),
        ("section=world/middle-east", "&section=world/middle-east"),
        ("author=lena-berg", "&author=lena-berg"),
        ("tag=ceasefire-talks", "&tag=ceasefire-talks"),
    ] {
        let want: Vec<String> = published(app, rest)
            .await
            .iter()
            .filter_map(|a| a["headline"].as_str().map(str::to_owned))
            .collect();
        assert!(!want.is_empty(), "{query}");
        for (route, _) in FORMATS {
            let feed = parsed(app, &format!("{route}?{query}")).await;
            assert_eq!(titles(&feed), want, "{route}?{query}");
        }
    }
    // The section feed names the section; subsections' articles are in it.
    let world = parsed(app, "/feeds/atom.xml?section=world").await;
    assert_eq!(
        world.title.map(|t| t.content),
        Some("The Example Times: World".to_owned())
    );
    assert!(
        titles(&parsed(app, "/feeds/rss.xml?section=world").await)
            .contains(&"Headline of talks-resume".to_owned())
    );
    // `limit` cuts the newest first.
    let two = parsed(app, "/feeds/rss.xml?limit=2").await;
    assert_eq!(
        titles(&two),
        ["Headline of aid-arrives", "Headline of port-profits"]
    );
    // Anything that does not exist is 404, not an empty feed.
    for uri in [
        "/feeds/rss.xml?section=nowhere",
        "/feeds/atom.xml?author=nobody",
        "/feeds/feed.json?tag=no-such-tag",
        "/feeds/rss.xml?section=world/nowhere",
    ] {
        let (status, h, body) = app.get(uri).await;
        assert_problem(uri, status, &h, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
    }
}

/// Characters XML 1.0 forbids, CDATA's end, script tags, emoji, right-to-left text and a
/// headline at its 300-character limit; a body with every block kind.
async fn hostile_content_still_makes_well_formed_feeds(app: &TestApp) {
    let long = "x".repeat(300);
    let nasty = "Ends ]]> here </script><script>alert(1)</script> & \u{1F4F0} \u{05E9}\u{05DC}\u{05D5}\u{05DD} \u{202E}rtl\u{0001}\u{0008}\u{000B}\u{FFFE}";
    let article = |slug: &str, headline: &str, day: u32| {
        let mut a = april_article(
            slug,
            headline,
            "Para ]]> with <em>em</em> &amp; <a href=\"https://example.org/?a=1&amp;b=2\">link</a> \u{1F600}",
            "PUBLISHED",
            day,
        );
        a["dek"] = json!("Dek ]]> </script> \u{0007}bell");
        a["tags"] = json!(["]]> tag", "<b>bold</b>"]);
        a["body"] = json!([
            { "heading": { "level": 2, "text": "A ]]> heading </script>" } },
            { "paragraph": { "html": "Text ]]> <strong>strong</strong>" } },
            { "list": { "ordered": true, "items": ["one ]]>", "two"] } },
            { "quote": { "html": "Quote ]]>", "attribution": "Who ]]>" } },
            { "image": { "url": "https://img.example.org/a.png?x=1&y=2", "alt": "Alt ]]>", "caption": "Cap", "credit": "Cred" } },
            { "embed": { "url": "https://www.youtube.com/watch?v=abc&t=1" } }
        ]);
        a
    };
    app.import(newsroom_with(vec![
        article("nasty", nasty, 1),
        article("long", &long, 2),
    ]))
    .await;
    let (status, _, body) = app.get("/api/v1/articles/nasty").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = body["headline"].as_str().unwrap_or_default().to_owned();
    // What XML cannot carry is dropped; everything else arrives exactly.
    let expected: String = stored
        .chars()
        .filter(|c| {
            !((*c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect();
    for (route, _) in FORMATS {
        let feed = parsed(app, route).await;
        let got = titles(&feed);
        // JSON carries every character; XML drops the ones it forbids.
        let want = if route.ends_with(".json") {
            &stored
        } else {
            &expected
        };
        assert_eq!(got, [long.clone(), want.clone()], "{route}");
        let content = feed.entries[1]
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default();
        assert!(
            content.contains("Text ]]&gt; <strong>strong</strong>"),
            "{route}: {content}"
        );
        assert!(!content.contains("<script"), "{route}: {content}");
    }
}

async fn drafts_scheduled_and_unpublished_articles_are_in_no_feed(app: &TestApp) {
    let mut scheduled = april_article("later", "Scheduled for later", "Soon.", "SCHEDULED", 3);
    scheduled["scheduledAt"] = json!("2099-01-01T00:00:00Z");
    app.import(newsroom_with(vec![
        april_article("public", "Public story", "Out.", "PUBLISHED", 1),
        april_article("draft", "Secret draft", "No.", "DRAFT", 2),
        scheduled,
        april_article("review", "In review", "No.", "IN_REVIEW", 4),
        april_article("gone", "Unpublished story", "No.", "PUBLISHED", 5),
    ]))
    .await;
    app.step_as(&editor(), "unpublishArticle", "gone").await;
    for (route, _) in FORMATS {
        for uri in [
            route.to_owned(),
            format!("{route}?section=world"),
            format!("{route}?author=omar-haddad"),
        ] {
            // With a token too: a feed shows what anyone may read, whoever asks.
            for token in [None, Some(editor())] {
                let mut req = request("GET", &uri, None, None);
                if let Some(t) = &token {
                    req = req.with_header("authorization", &format!("Bearer {t}"));
                }
                let (status, _, body) = send_raw(&app.router, req).await;
                assert_eq!(status, StatusCode::OK, "{uri}");
                let text = String::from_utf8_lossy(&body);
                assert!(text.contains("Public story"), "{uri}: {text}");
                for hidden in [
                    "Secret draft",
                    "Scheduled for later",
                    "In review",
                    "Unpublished story",
                ] {
                    assert!(!text.contains(hidden), "{uri} shows {hidden}");
                }
            }
        }
    }
}

async fn a_publish_an_edit_and_an_unpublish_reach_a_cached_feed_at_once(app: &TestApp) {
    app.import(newsroom()).await;
    let uri = "/feeds/rss.xml?section=business";
    let first = parsed(app, uri).await;
    let (_, h, _) = get_raw(&app.router, uri, &[]).await;
    assert_eq!(
        h["x-cache"], "HIT",
        "the second read comes from the response cache"
    );
    let last_modified = |h: &HeaderMap| {
        let v = h[header::LAST_MODIFIED]
            .to_str()
            .unwrap_or("")
            .replace("GMT", "+0000");
        chrono::DateTime::parse_from_rfc2822(&v).expect("an HTTP date")
    };
    let before = last_modified(&h);

    // Publish the article in review: it leads the feed at once.
    app.step_as(&editor(), "publishArticle", "under-review")
        .await;
    let (_, h, body) = get_raw(&app.router, uri, &[]).await;
    let feed = feed_rs::parser::parse(body.as_slice()).expect("parses");
    assert_eq!(titles(&feed)[0], "Headline of under-review");
    assert_eq!(titles(&feed).len(), titles(&first).len() + 1);
    let published = last_modified(&h);
    assert!(published > before, "{published} after {before}");

    // Edit its headline: the feed shows the new one.
    let (id, v) = app.id_version("markets-rally").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Markets rally again\" }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let feed = parsed(app, uri).await;
    assert!(
        titles(&feed).contains(&"Markets rally again".to_owned()),
        "{:?}",
        titles(&feed)
    );

    // Unpublish the newest: it leaves, and the feed's time still moves forward.
    let (_, h, _) = get_raw(&app.router, uri, &[]).await;
    let edited = last_modified(&h);
    app.step_as(&editor(), "unpublishArticle", "under-review")
        .await;
    let (_, h, body) = get_raw(&app.router, uri, &[]).await;
    let feed = feed_rs::parser::parse(body.as_slice()).expect("parses");
    assert!(!titles(&feed).contains(&"Headline of under-review".to_owned()));
    let after = last_modified(&h);
    assert!(
        after >= edited,
        "Last-Modified went back from {edited} to {after}"
    );
    assert!(after > before, "{after} after {before}");
    // Atom's <updated> agrees with the header.
    let atom = parsed(app, "/feeds/atom.xml?section=business").await;
    assert_eq!(atom.updated.map(|t| t.timestamp()), Some(after.timestamp()));
}

/// The content of the item linking to `slug`'s page.
fn content_of(feed: &feed_rs::model::Feed, slug: &str) -> String {
    let suffix = format!("/{slug}");
    feed.entries
        .iter()
        .find(|e| e.links.iter().any(|l| l.href.ends_with(&suffix)))
        .and_then(|e| e.content.as_ref())
        .and_then(|c| c.body.clone())
        .unwrap_or_else(|| panic!("no item with content for {slug}"))
}

async fn an_edited_body_is_in_the_next_feed_and_memoised_bodies_change_no_byte(app: &TestApp) {
    app.import(newsroom()).await;
    // Both without the response cache: one keeps bodies rendered per article version, the
    // other renders every body for every answer.
    let kept = app.uncached().await;
    let fresh = app.uncached_unrendered().await;
    let bytes = |router: Router, uri: &'static str| async move {
        let (status, _, body) = get_raw(&router, uri, &[]).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        body
    };
    let mut before = Vec::new();
    for (uri, _) in FORMATS {
        let first = bytes(kept.clone(), uri).await;
        assert_eq!(
            bytes(kept.clone(), uri).await,
            first,
            "{uri}: from the memo"
        );
        assert_eq!(
            bytes(fresh.clone(), uri).await,
            first,
            "{uri}: rendered afresh"
        );
        let feed = feed_rs::parser::parse(first.as_slice()).expect("parses");
        before.push(content_of(&feed, "markets-rally"));
    }

    // A new body (same headline, same everything else): every format shows it at once.
    let (id, v) = app.id_version("markets-rally").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { body: [{ paragraph: { html: \"Shares rose <em>again</em> on Friday\" } }, { heading: { level: 2, text: \"What next\" } }] }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    for ((uri, _), old) in FORMATS.into_iter().zip(before) {
        let now = bytes(kept.clone(), uri).await;
        assert_eq!(
            bytes(fresh.clone(), uri).await,
            now,
            "{uri}: rendered afresh"
        );
        let feed = feed_rs::parser::parse(now.as_slice()).expect("parses");
        let content = content_of(&feed, "markets-rally");
        assert_ne!(content, old, "{uri}");
        assert!(
            content.contains("<p>Shares rose <em>again</em> on Friday</p>")
                && content.contains("<h2>What next</h2>"),
            "{uri}: {content}"
        );
    }
}

async fn feeds_answer_conditional_requests(app: &TestApp) {
    app.import(newsroom()).await;
    let cold = app.uncached().await;
    for (route, _) in FORMATS {
        let (status, h, _) = get_raw(&app.router, route, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let etag = h[header::ETAG].to_str().expect("etag").to_owned();
        let modified = h[header::LAST_MODIFIED]
            .to_str()
            .expect("last-modified")
            .to_owned();
        assert!(
            h[header::CACHE_CONTROL]
                .to_str()
                .unwrap_or("")
                .starts_with("public")
        );
        let keys = h["surrogate-key"].to_str().unwrap_or("");
        assert!(keys.split(' ').any(|k| k == "l"), "{keys}");
        assert!(keys.split(' ').any(|k| k.starts_with('a')), "{keys}");
        let (status, _, body) = get_raw(&app.router, route, &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{route}");
        assert!(body.is_empty());
        let (status, _, _) = get_raw(&app.router, route, &[("if-modified-since", &modified)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{route}");
        let (status, _, _) = get_raw(
            &app.router,
            route,
            &[("if-modified-since", "Mon, 02 Mar 2026 00:00:00 GMT")],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{route}: modified since");
        // Through a process without the response cache: the same validator.
        let (status, h2, _) = get_raw(&cold, route, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h2[header::ETAG], etag.as_str(), "{route}");
    }
}

async fn bad_feed_parameters_are_refused(app: &TestApp) {
    app.import(newsroom()).await;
    for (route, _) in FORMATS {
        for query in [
            "limit=0",
            "limit=10000",
            "limit=-1",
            "limit=junk",
            "section=world&author=omar-haddad",
            "tag=a&author=b",
        ] {
            let uri = format!("{route}?{query}");
            let (status, h, body) = app.get(&uri).await;
            assert_problem(
                &uri,
                status,
                &h,
                &body,
                StatusCode::UNPROCESSABLE_ENTITY,
                "BAD_USER_INPUT",
            );
        }
        // A POST is not a feed read.
        let (status, h, body) = app
            .send(request("POST", route, None, Some(json!({}))))
            .await;
        assert_problem(
            route,
            status,
            &h,
            &body,
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
        );
    }
}

async fn without_a_public_url_feeds_are_off_and_urls_are_null(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.with_site(|s| s.public_url = None).await;
    for (route, _) in FORMATS {
        let (status, h, body) =
            crate::helpers::send_to(&router, request("GET", route, None, None)).await;
        assert_problem(route, status, &h, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or("")
                .contains("GAZETTE_PUBLIC_URL"),
            "{body}"
        );
    }
    let q = "{ article(slug: \"talks-resume\") { url section { url feeds { rss } } authors { url feeds { atom } } tags { url feeds { json } } } }";
    let (status, _, body) = crate::helpers::send_to(
        &router,
        crate::helpers::graphql_request(None, q, &json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = &body["data"]["article"];
    assert_eq!(a["url"], Value::Null);
    assert_eq!(a["section"], json!({ "url": null, "feeds": null }));
    assert_eq!(a["authors"][0], json!({ "url": null, "feeds": null }));
    assert_eq!(a["tags"][0], json!({ "url": null, "feeds": null }));
    let (_, _, body) = crate::helpers::send_to(
        &router,
        request("GET", "/api/v1/articles/talks-resume", None, None),
    )
    .await;
    assert_eq!(body["url"], Value::Null);
    assert_eq!(body["section"]["feeds"], Value::Null);
}

async fn urls_follow_the_templates_in_graphql_and_rest(app: &TestApp) {
    app.import(newsroom()).await;
    let q = "{ article(slug: \"talks-resume\") { url section { url feeds { rss atom json } } authors { url feeds { rss } } tags { slug url feeds { json } } } }";
    let a = app.query(q, json!({})).await["article"].clone();
    assert_eq!(
        a["url"],
        format!("{PUBLIC_URL}/world/middle-east/talks-resume")
    );
    assert_eq!(
        a["section"]["url"],
        format!("{PUBLIC_URL}/world/middle-east")
    );
    assert_eq!(
        a["section"]["feeds"],
        json!({
            "rss": format!("{PUBLIC_URL}/feeds/rss.xml?section=world/middle-east"),
            "atom": format!("{PUBLIC_URL}/feeds/atom.xml?section=world/middle-east"),
            "json": format!("{PUBLIC_URL}/feeds/feed.json?section=world/middle-east"),
        })
    );
    assert_eq!(
        a["authors"][0]["url"],
        format!("{PUBLIC_URL}/authors/omar-haddad")
    );
    assert_eq!(
        a["authors"][0]["feeds"]["rss"],
        format!("{PUBLIC_URL}/feeds/rss.xml?author=omar-haddad")
    );
    let tag = a["tags"][0]["slug"].as_str().unwrap_or_default().to_owned();
    assert_eq!(a["tags"][0]["url"], format!("{PUBLIC_URL}/tags/{tag}"));
    assert_eq!(
        a["tags"][0]["feeds"]["json"],
        format!("{PUBLIC_URL}/feeds/feed.json?tag={tag}")
    );
    // Every advertised feed answers.
    for uri in [
        a["section"]["feeds"]["rss"].as_str(),
        a["authors"][0]["feeds"]["rss"].as_str(),
        a["tags"][0]["feeds"]["json"].as_str(),
    ] {
        let path = uri.unwrap_or_default().trim_start_matches(PUBLIC_URL);
        let (status, _, _) = get_raw(&app.router, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // REST shows the same.
    let (_, _, body) = app.get("/api/v1/articles/talks-resume").await;
    assert_eq!(body["url"], a["url"]);
    assert_eq!(body["section"]["url"], a["section"]["url"]);
    assert_eq!(body["section"]["feeds"], a["section"]["feeds"]);
    assert_eq!(
        body["authors"][0]["feeds"]["rss"],
        a["authors"][0]["feeds"]["rss"]
    );
    let (_, _, body) = app.get("/api/v1/sections/world").await;
    assert_eq!(
        body["feeds"]["atom"],
        format!("{PUBLIC_URL}/feeds/atom.xml?section=world")
    );
    let (_, _, body) = app.get("/api/v1/authors/lena-berg").await;
    assert_eq!(body["url"], format!("{PUBLIC_URL}/authors/lena-berg"));

    // Other templates, and a base with a path.
    let router = app
        .with_site(|s| {
            s.public_url = Some("https://example.com/news/".into());
            s.article_template = "/{year}/{month}/{day}/{slug}.html".into();
            s.author_template = "/people/{slug}/".into();
        })
        .await;
    let (_, _, body) = crate::helpers::send_to(
        &router,
        crate::helpers::graphql_request(None, q, &json!({})),
    )
    .await;
    let a = &body["data"]["article"];
    assert_eq!(
        a["url"],
        "https://example.com/news/2026/03/01/talks-resume.html"
    );
    assert_eq!(
        a["authors"][0]["url"],
        "https://example.com/news/people/omar-haddad/"
    );
    let (_, _, body) = send_raw(
        &router,
        request("GET", "/feeds/rss.xml?limit=1", None, None),
    )
    .await;
    let feed = feed_rs::parser::parse(body.as_slice()).expect("parses");
    assert_eq!(
        feed.entries[0].links[0].href,
        "https://example.com/news/2026/03/06/aid-arrives.html"
    );
}
