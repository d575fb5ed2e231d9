//! Contract files never drift: `schema.graphql` is exactly what the server serves, and every
//! path in `openapi.yaml` is one the router answers.

use std::path::Path;

use serde_json::json;

use crate::helpers::TestApp;

#[test]
fn schema_graphql_matches_the_served_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let served = gazette::graphql::sdl();
    if std::env::var_os("GAZETTE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &served).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "schema.graphql differs from the served schema; regenerate it with\n\
         GAZETTE_UPDATE_SCHEMA=1 cargo test schema_graphql_matches_the_served_schema\n\
         and commit the result"
    );
}

#[test]
fn openapi_yaml_matches_the_served_api() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let served = gazette::http::rest::openapi_yaml();
    if std::env::var_os("GAZETTE_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &served).expect("write openapi.yaml");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(served.starts_with("openapi: 3.1"), "OpenAPI 3.1");
    assert!(
        committed == served,
        "openapi.yaml differs from the API's description; regenerate it with\n\
         GAZETTE_UPDATE_SCHEMA=1 cargo test openapi_yaml_matches_the_served_api\n\
         and commit the result"
    );
}

#[tokio::test]
async fn every_described_operation_is_routed() {
    use utoipa::OpenApi as _;
    let app = TestApp::sqlite().await;
    let doc = gazette::http::rest::ApiDoc::openapi();
    let mut seen = 0;
    for (path, item) in &doc.paths.paths {
        let uri = path
            .replace("{slug}", "no-such-thing")
            .replace("{path}", "no/such")
            .replace("{version}", "1");
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, described) in methods {
            if !described {
                continue;
            }
            seen += 1;
            let req = axum::http::Request::builder()
                .method(method)
                .uri(&uri)
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{}"))
                .expect("request");
            let (status, _, body) = app.send(req).await;
            assert_ne!(
                status, 405,
                "{method} {path} is described but not routed: {body}"
            );
            assert!(
                !(status == 404 && body["detail"] == "no such route"),
                "{method} {path} is described but not routed"
            );
        }
    }
    assert!(seen >= 24, "{seen} operations described");
    let (_, _, body) = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(body, json!({ "data": { "__typename": "QueryRoot" } }));
    app.cleanup().await;
}
