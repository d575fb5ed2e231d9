//! oEmbed: `GET /oembed?url=…` answers a `rich` embed of a published article in JSON and in
//! XML (read back with quick-xml), sized to `maxwidth`/`maxheight`, with a card whose HTML
//! is escaped whatever the headline; `404` for anything that is not a published article at
//! its canonical URL, `501` for another format, `422` for bad parameters; cacheable, and
//! gone the moment the article is unpublished.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom, newsroom_with};
use crate::helpers::{
    PUBLIC_URL, TestApp, WithHeader as _, assert_problem, editor, request, send_raw, send_to,
    urlencode,
};
use crate::storage_tests;

storage_tests!(
    a_published_article_is_a_rich_embed_in_json,
    the_xml_answer_is_well_formed_and_says_what_the_json_says,
    maxwidth_and_maxheight_cap_the_card,
    what_is_not_a_published_article_at_its_address_is_not_found,
    bad_parameters_are_refused_and_other_formats_are_not_implemented,
    without_a_public_url_oembed_is_not_found_and_names_the_setting,
    a_hostile_headline_stays_text_in_the_card,
    an_embed_is_cacheable_and_conditional,
    unpublishing_an_article_ends_its_embed_at_once,
    a_dated_article_template_is_read_back_to_its_article,
);

const TALKS: &str = "https://news.example/world/middle-east/talks-resume";

/// `/oembed` for `url` with extra query parameters (`&format=xml`).
fn oembed_uri(url: &str, extra: &str) -> String {
    format!("/oembed?url={}{extra}", urlencode(url))
}

async fn get_raw(router: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send_raw(router, request("GET", uri, None, None)).await
}

/// A newsroom whose first story has a lead image.
fn illustrated_newsroom() -> Value {
    let mut f = newsroom();
    f["articles"][0]["featuredImage"] =
        json!({ "url": "https://img.example.org/lead.jpg", "alt": "Delegates" });
    f
}

/// The elements under `<oembed>` and their text, read with an XML parser that fails on
/// anything that is not well-formed.
fn read_xml(bytes: &[u8]) -> BTreeMap<String, String> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut out = BTreeMap::new();
    let mut roots = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.name().as_ref().to_owned();
                if path.is_empty() {
                    roots += 1;
                    assert_eq!(name, "oembed", "the root element");
                }
                path.push(name);
            }
            Ok(Event::End(_)) => {
                path.pop();
            }
            Ok(Event::Empty(e)) => panic!("no empty elements: {:?}", e.name()),
            Ok(Event::Text(t)) => {
                if path.len() == 2 {
                    let value = t.xml_content(quick_xml::XmlVersion::Implicit1_0);
                    out.entry(path[1].clone())
                        .or_insert_with(String::new)
                        .push_str(&value);
                } else {
                    assert!(
                        t.xml_content(quick_xml::XmlVersion::Implicit1_0)
                            .trim()
                            .is_empty(),
                        "text outside the members"
                    );
                }
            }
            Ok(Event::GeneralRef(r)) => {
                assert_eq!(path.len(), 2, "references only inside members");
                let c = match r.resolve_char_ref().expect("a valid reference") {
                    Some(c) => c.to_string(),
                    None => match r.xml_content(quick_xml::XmlVersion::Implicit1_0).as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => panic!("an undefined entity &{other};"),
                    },
                };
                out.entry(path[1].clone())
                    .or_insert_with(String::new)
                    .push_str(&c);
            }
            Ok(Event::Eof) => break,
            Ok(Event::CData(_)) => panic!("no CDATA"),
            Ok(_) => {}
            Err(e) => panic!("malformed XML at {}: {e}", reader.error_position()),
        }
    }
    assert_eq!(roots, 1, "one root");
    assert!(path.is_empty(), "every element closed");
    out
}

/// Every tag of the card's HTML: start tags by name, so a test can check that nothing but
/// the card's own elements is there.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|t| {
            t.trim_start_matches('/')
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        })
        .collect()
}

async fn a_published_article_is_a_rich_embed_in_json(app: &TestApp) {
    app.import(illustrated_newsroom()).await;
    let (status, headers, body) = app.get(&oembed_uri(TALKS, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body["type"], "rich");
    assert_eq!(body["version"], "1.0");
    assert_eq!(body["title"], "Headline of talks-resume");
    assert_eq!(body["author_name"], "Omar Haddad");
    assert_eq!(
        body["author_url"],
        format!("{PUBLIC_URL}/authors/omar-haddad")
    );
    assert_eq!(body["provider_name"], "The Example Times");
    assert_eq!(body["provider_url"], format!("{PUBLIC_URL}/"));
    assert_eq!(body["cache_age"], 60, "the max-age of Cache-Control");
    assert_eq!(
        (body["width"].clone(), body["height"].clone()),
        (json!(560), json!(515))
    );
    for absent in ["thumbnail_url", "thumbnail_width", "thumbnail_height"] {
        assert!(
            body.get(absent).is_none(),
            "{absent} without dimensions: {body}"
        );
    }
    let html = body["html"].as_str().expect("html");
    let link = format!("<a href=\"{TALKS}\"");
    for part in [
        link.as_str(),
        "Headline of talks-resume",
        "Dek of talks-resume",
        "<img src=\"https://img.example.org/lead.jpg\" alt=\"Delegates\"",
        "width:560px",
        "height:515px",
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    assert_eq!(
        tags(html).iter().filter(|t| t.as_str() == "img").count(),
        1,
        "{html}"
    );

    // The same page however the link was written: scheme, host case, query, fragment.
    for variant in [
        "http://news.example/world/middle-east/talks-resume",
        "https://NEWS.Example/world/middle-east/talks-resume?utm_source=x#comments",
    ] {
        let (status, _, other) = app.get(&oembed_uri(variant, "&format=json")).await;
        assert_eq!(status, StatusCode::OK, "{variant}: {other}");
        assert_eq!(other, body, "{variant}");
    }
    // An article without an image or a dek: a card of text.
    let (_, _, plain) = app
        .get(&oembed_uri(
            "https://news.example/business/markets-rally",
            "",
        ))
        .await;
    assert_eq!(plain["author_name"], "Lena Berg");
    assert_eq!(plain["height"], 200);
    assert!(
        !plain["html"].as_str().expect("html").contains("<img"),
        "{plain}"
    );
}

async fn the_xml_answer_is_well_formed_and_says_what_the_json_says(app: &TestApp) {
    app.import(illustrated_newsroom()).await;
    let (_, _, json_answer) = app.get(&oembed_uri(TALKS, "&format=json")).await;
    let (status, headers, bytes) = get_raw(&app.router, &oembed_uri(TALKS, "&format=xml")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let content_type = headers[header::CONTENT_TYPE].to_str().expect("ascii");
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\""));
    let members = read_xml(&bytes);
    let expected: BTreeMap<String, String> = json_answer
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    assert_eq!(members, expected, "the XML members are the JSON members");
    assert!(
        members["html"].contains("<img src="),
        "the card's markup, read back"
    );
}

async fn maxwidth_and_maxheight_cap_the_card(app: &TestApp) {
    app.import(illustrated_newsroom()).await;
    let cases = [
        ("&maxwidth=320", 320, 180 + 200, true),
        ("&maxwidth=5000", 560, 515, true),
        ("&maxheight=515", 560, 515, true),
        ("&maxheight=300", 560, 200, false),
        ("&maxwidth=320&maxheight=380", 320, 380, true),
        ("&maxwidth=100&maxheight=50", 100, 50, false),
    ];
    for (extra, width, height, image) in cases {
        for format in ["json", "xml"] {
            let uri = oembed_uri(TALKS, &format!("{extra}&format={format}"));
            let (status, _, bytes) = get_raw(&app.router, &uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            let (w, h, html) = if format == "json" {
                let v: Value = serde_json::from_slice(&bytes).expect("json");
                (
                    v["width"].as_u64().expect("width"),
                    v["height"].as_u64().expect("height"),
                    v["html"].as_str().expect("html").to_owned(),
                )
            } else {
                let m = read_xml(&bytes);
                (
                    m["width"].parse().expect("width"),
                    m["height"].parse().expect("height"),
                    m["html"].clone(),
                )
            };
            assert_eq!((w, h), (width, height), "{uri}");
            assert!(html.contains(&format!("width:{width}px")), "{uri}: {html}");
            assert_eq!(html.contains("<img"), image, "{uri}: {html}");
        }
    }
}

async fn what_is_not_a_published_article_at_its_address_is_not_found(app: &TestApp) {
    let mut file = newsroom();
    let articles = file["articles"].as_array_mut().expect("articles");
    let mut scheduled = april_article("due-later", "Due later", "Text.", "SCHEDULED", 2);
    scheduled["scheduledAt"] = json!("2099-01-01T09:00:00Z");
    articles.push(scheduled);
    articles.push(april_article(
        "withdrawn",
        "Withdrawn",
        "Text.",
        "UNPUBLISHED",
        3,
    ));
    articles.push(april_article("shelved", "Shelved", "Text.", "ARCHIVED", 4));
    app.import(file).await;
    let cases = [
        (
            "a draft",
            "https://news.example/world/middle-east/secret-draft",
        ),
        ("in review", "https://news.example/business/under-review"),
        (
            "scheduled, before its time",
            "https://news.example/world/due-later",
        ),
        ("unpublished", "https://news.example/world/withdrawn"),
        ("archived", "https://news.example/world/shelved"),
        (
            "no such article",
            "https://news.example/world/no-such-story",
        ),
        (
            "another host",
            "https://elsewhere.example/world/middle-east/talks-resume",
        ),
        (
            "a subdomain",
            "https://www.news.example/world/middle-east/talks-resume",
        ),
        (
            "another section path",
            "https://news.example/business/talks-resume",
        ),
        (
            "the parent section's path",
            "https://news.example/world/talks-resume",
        ),
        ("a section page", "https://news.example/world"),
        ("the home page", "https://news.example/"),
        (
            "a trailing slash",
            "https://news.example/world/middle-east/talks-resume/",
        ),
    ];
    for (what, url) in cases {
        for format in ["json", "xml"] {
            let (status, headers, body) = app
                .get(&oembed_uri(url, &format!("&format={format}")))
                .await;
            assert_problem(
                what,
                status,
                &headers,
                &body,
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
            );
            let text = body.to_string();
            for secret in [
                "Headline of secret-draft",
                "Due later",
                "Withdrawn",
                "Shelved",
            ] {
                assert!(!text.contains(secret), "{what}: {text}");
            }
        }
    }
    // The same request for a published article succeeds (so the 404s above are not the
    // route's).
    let (status, _, body) = app.get(&oembed_uri(TALKS, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn bad_parameters_are_refused_and_other_formats_are_not_implemented(app: &TestApp) {
    app.import(newsroom()).await;
    let talks = urlencode(TALKS);
    let cases = [
        (
            "no url",
            "/oembed".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "an empty url",
            "/oembed?url=".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a relative url",
            "/oembed?url=%2Fworld%2Fmiddle-east%2Ftalks-resume".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "not a URL",
            "/oembed?url=talks-resume".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a javascript: url",
            "/oembed?url=javascript%3Aalert(1)".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a negative maxwidth",
            format!("/oembed?url={talks}&maxwidth=-1"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a maxwidth of zero",
            format!("/oembed?url={talks}&maxwidth=0"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a maxwidth in words",
            format!("/oembed?url={talks}&maxwidth=wide"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a fractional maxheight",
            format!("/oembed?url={talks}&maxheight=1.5"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a huge maxheight",
            format!("/oembed?url={talks}&maxheight=99999999999"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "format=html",
            format!("/oembed?url={talks}&format=html"),
            StatusCode::NOT_IMPLEMENTED,
            "BAD_USER_INPUT",
        ),
        (
            "format=JSON",
            format!("/oembed?url={talks}&format=JSON"),
            StatusCode::NOT_IMPLEMENTED,
            "BAD_USER_INPUT",
        ),
        (
            "format=jsonp",
            format!("/oembed?url={talks}&format=jsonp"),
            StatusCode::NOT_IMPLEMENTED,
            "BAD_USER_INPUT",
        ),
    ];
    for (what, uri, want, code) in cases {
        let (status, headers, body) = app.get(&uri).await;
        assert_problem(what, status, &headers, &body, want, code);
    }
    // A bad token is refused, as on every route.
    let (status, headers, body) = send_to(
        &app.router,
        request("GET", &oembed_uri(TALKS, ""), Some("not-a-token"), None),
    )
    .await;
    assert_problem(
        "a bad token",
        status,
        &headers,
        &body,
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
    );
}

async fn without_a_public_url_oembed_is_not_found_and_names_the_setting(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.with_site(|s| s.public_url = None).await;
    for extra in ["", "&format=xml", "&format=html"] {
        let (status, headers, body) = send_to(
            &router,
            request("GET", &oembed_uri(TALKS, extra), None, None),
        )
        .await;
        assert_problem(
            extra,
            status,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("GAZETTE_PUBLIC_URL")),
            "{body}"
        );
    }
}

async fn a_hostile_headline_stays_text_in_the_card(app: &TestApp) {
    let mut hostile = april_article(
        "hostile",
        "&lt;/strong&gt;&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &amp; &lt;img src=x onerror=alert(2)&gt;",
        "Text.",
        "PUBLISHED",
        1,
    );
    hostile["dek"] = json!("&lt;iframe src=https://evil.example&gt;&lt;/iframe&gt; dek");
    hostile["featuredImage"] =
        json!({ "url": "https://img.example.org/a.jpg?x=1&y=2", "alt": "\" onerror=\"alert(3)" });
    app.import(newsroom_with(vec![hostile])).await;
    let url = "https://news.example/world/hostile";
    let headline = app
        .query("{ article(slug: \"hostile\") { headline } }", json!({}))
        .await["article"]["headline"]
        .as_str()
        .expect("headline")
        .to_owned();
    assert!(
        headline.contains("<script>") && headline.contains("<img src=x"),
        "{headline}"
    );

    let (status, _, body) = app.get(&oembed_uri(url, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["title"],
        headline.as_str(),
        "the title is the plain headline"
    );
    let html = body["html"].as_str().expect("html").to_owned();
    let found = tags(&html);
    for t in &found {
        assert!(
            ["blockquote", "a", "img", "strong", "p"].contains(&t.as_str()),
            "only the card's own elements, not <{t}>: {html}"
        );
    }
    assert_eq!(
        found.iter().filter(|t| t.as_str() == "img").count(),
        1,
        "{html}"
    );
    for escaped in [
        "&lt;/strong&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;quoted&quot; &amp; &lt;img src=x",
        "&lt;iframe",
        "alt=\"&quot; onerror=&quot;alert(3)\"",
        "src=\"https://img.example.org/a.jpg?x=1&amp;y=2\"",
    ] {
        assert!(html.contains(escaped), "{escaped} in {html}");
    }
    // The XML form carries the same card, escaped once more and read back unchanged.
    let (_, _, bytes) = get_raw(&app.router, &oembed_uri(url, "&format=xml")).await;
    let members = read_xml(&bytes);
    assert_eq!(members["html"], html);
    assert_eq!(members["title"], headline);
}

async fn an_embed_is_cacheable_and_conditional(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, _) = app.id_version("talks-resume").await;
    let uri = oembed_uri(TALKS, "&format=xml");
    let (status, headers, body) = get_raw(&app.router, &uri).await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .is_ok_and(|v| v.starts_with("public")),
        "{headers:?}"
    );
    let keys = headers["surrogate-key"].to_str().expect("keys").to_owned();
    assert!(keys.split(' ').any(|k| k == format!("a{id}")), "{keys}");
    assert!(keys.split(' ').any(|k| k.starts_with('s')), "{keys}");
    assert!(keys.split(' ').any(|k| k.starts_with('u')), "{keys}");

    let (status, again, same) = get_raw(&app.router, &uri).await;
    assert_eq!((status, &same), (StatusCode::OK, &body));
    assert_eq!(again["x-cache"], "HIT");
    assert_eq!(again[header::ETAG], etag.as_str());
    for fresh in [true, false] {
        let mut req = request("GET", &uri, None, None).with_header(header::IF_NONE_MATCH, &etag);
        if !fresh {
            req = req.with_header(header::IF_NONE_MATCH, "\"other\"");
        }
        let (status, _, bytes) = send_raw(&app.router, req).await;
        if fresh {
            assert_eq!(status, StatusCode::NOT_MODIFIED);
            assert!(bytes.is_empty());
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
}

async fn unpublishing_an_article_ends_its_embed_at_once(app: &TestApp) {
    app.import(newsroom()).await;
    let uri = oembed_uri(TALKS, "");
    let (status, _, _) = get_raw(&app.router, &uri).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = get_raw(&app.router, &uri).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-cache"], "HIT");

    app.step_as(&editor(), "unpublishArticle", "talks-resume")
        .await;
    let (status, headers, body) = app.get(&uri).await;
    assert_problem(
        "unpublished",
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    // The refusal was not kept: publishing it again embeds it again at once.
    app.step_as(&editor(), "publishArticle", "talks-resume")
        .await;
    let (status, _, body) = app.get(&uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["title"], "Headline of talks-resume");
}

async fn a_dated_article_template_is_read_back_to_its_article(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app
        .with_site(|s| s.article_template = "/{year}/{month}/{day}/{slug}.html".into())
        .await;
    let get = |url: &'static str| {
        let router = router.clone();
        async move { send_to(&router, request("GET", &oembed_uri(url, ""), None, None)).await }
    };
    let (status, _, body) = get("https://news.example/2026/03/01/talks-resume.html").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["html"].as_str().is_some_and(
            |h| h.contains("href=\"https://news.example/2026/03/01/talks-resume.html\"")
        ),
        "{body}"
    );
    for wrong in [
        "https://news.example/2026/03/02/talks-resume.html",
        "https://news.example/world/middle-east/talks-resume",
    ] {
        let (status, headers, body) = get(wrong).await;
        assert_problem(
            wrong,
            status,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
}
