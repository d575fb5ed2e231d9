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

#[tokio::test]
async fn every_openapi_path_is_served_and_every_route_is_described() {
    let spec = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml"))
        .expect("openapi.yaml");
    assert!(spec.starts_with("openapi: 3.1"), "OpenAPI 3.1 document");
    // Paths are the two-space-indented keys under `paths:`.
    let paths: Vec<&str> = spec
        .lines()
        .skip_while(|l| *l != "paths:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  /").map(|p| p.trim_end_matches(':')))
        .collect();
    let mut described: Vec<String> = paths.iter().map(|p| format!("/{p}")).collect();
    described.sort();
    assert_eq!(
        described,
        ["/graphql", "/healthz", "/readyz"],
        "routes described in openapi.yaml"
    );
    let app = TestApp::sqlite().await;
    for path in &described {
        let uri = if path == "/graphql" {
            "/graphql?query=%7B__typename%7D".to_owned()
        } else {
            path.clone()
        };
        let (status, _, body) = app.get(&uri).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, _, body) = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(body, json!({ "data": { "__typename": "QueryRoot" } }));
    app.cleanup().await;
}
