//! The domain knows no transport: `src/domain`, `src/entities` and the domain's error type
//! never name HTTP, GraphQL or the modules that serve them. Every rule there is called by
//! GraphQL, REST, feeds and importers alike; a transport type inside it would tie the rule to
//! one way in. This test reads the source and names the file and line of each breach.

use std::path::{Path, PathBuf};

/// What the domain may not name, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("axum", "the HTTP framework"),
    ("async_graphql", "the GraphQL framework"),
    ("tower", "HTTP middleware"),
    ("hyper", "the HTTP implementation"),
    ("utoipa", "the OpenAPI description of the REST routes"),
    ("crate::http", "the HTTP layer"),
    ("crate::graphql", "the GraphQL layer"),
    (
        "crate::state",
        "the app state, which holds the GraphQL schema",
    ),
    ("crate::response_cache", "the HTTP response cache"),
    ("crate::auth", "bearer-token verification"),
    ("crate::config", "command-line and environment settings"),
];

/// The parts of the crate that must stay free of transports.
const DOMAIN: &[&str] = &["src/domain", "src/entities", "src/error.rs", "src/error"];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_owned());
        }
        return;
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        rust_files(&p, out);
    }
}

/// Whether `line` names `what` as a path (not inside a word: `tower` is not `towers`).
fn names(line: &str, what: &str) -> bool {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices(what).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + what.len()..].chars().next();
        let boundary = |c: Option<char>| !c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        boundary(before) && boundary(after)
    })
}

/// Every `(file:line, what, why)` in `files` that names a forbidden path.
fn breaches(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for (n, line) in text.lines().enumerate() {
            for (what, why) in FORBIDDEN {
                if names(line, what) {
                    found.push(format!(
                        "{}:{}: names `{what}` ({why}): {}",
                        file.strip_prefix(root).unwrap_or(file).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn the_domain_names_no_transport() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for part in DOMAIN {
        rust_files(&root.join(part), &mut files);
    }
    assert!(
        files.len() > 20,
        "the domain's files were not found under {}",
        root.display()
    );
    let found = breaches(root, &files);
    assert!(
        found.is_empty(),
        "the domain must not depend on a transport; render errors and derive transport \
         types in src/http or src/graphql instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_forbidden_import_and_ignores_comments_and_longer_words() {
    assert!(names("use axum::http::StatusCode;", "axum"));
    assert!(names("    #[derive(async_graphql::Enum)]", "async_graphql"));
    assert!(names("use crate::http::cache_headers;", "crate::http"));
    assert!(!names("// axum renders this at the edge", "axum"));
    assert!(!names("let towers = 3;", "tower"));
    assert!(!names("use crate::https_only;", "crate::http"));

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("leak.rs");
    std::fs::write(&file, "//! docs\nuse crate::graphql::Schema;\n").expect("write");
    let found = breaches(dir.path(), &[file]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("leak.rs:2: names `crate::graphql`"),
        "{found:?}"
    );
}
