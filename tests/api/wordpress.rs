//! Importing a WordPress export (WXR): every mapping, every status, comments, the old-URL
//! lookup, idempotent re-imports and hostile XML.

use serde_json::{Value, json};

use gazette::domain::import::{Format, ImportReport, Outcome};

use crate::helpers::TestApp;
use crate::storage_tests;

storage_tests!(a_wordpress_export_maps_to_gazette,);

const WXR: &[u8] = include_bytes!("../data/wordpress/ledger.wxr");

async fn import(app: &TestApp) -> ImportReport {
    app.try_import_from(Format::WordPress, WXR, None)
        .await
        .expect("import")
}

async fn a_wordpress_export_maps_to_gazette(app: &TestApp) {
    let r = import(app).await;
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let _: Value = json!({});
    let _ = Outcome::Skipped;
    panic!("look");
}
