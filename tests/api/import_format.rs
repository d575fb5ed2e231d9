//! The documented import format (`docs/import-format.schema.json`) against the importer's
//! own types: the same fields, the same required ones, the same statuses and block kinds,
//! and every example in the schema accepted. A field added to the importer and not to the
//! schema (or the other way round) fails here.

use std::collections::BTreeSet;

use gazette::domain::blocks::{Block, Embed, Heading, Image, List, Paragraph, Quote};
use gazette::domain::content::Source;
use gazette::domain::import::{ArticleIn, AuthorIn, CommentIn, SectionIn, Stage, TagIn};
use gazette::domain::{ArticleStatus, CommentStatus};
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/import-format.schema.json"
    ))
    .expect("docs/import-format.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The field names (or variant names) serde would accept for `T`, learned by asking its
/// `Deserialize` impl to deserialize from a deserializer that only records what it is asked.
fn names<T: DeserializeOwned>() -> BTreeSet<String> {
    struct Recorder(Vec<&'static str>);
    #[derive(Debug)]
    struct Done;
    impl std::fmt::Display for Done {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("done")
        }
    }
    impl std::error::Error for Done {}
    impl de::Error for Done {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Done
        }
    }
    impl<'de> de::Deserializer<'de> for &mut Recorder {
        type Error = Done;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Done> {
            Err(Done)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Done> {
            self.0.extend(fields);
            Err(Done)
        }
        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _: &'static str,
            variants: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Done> {
            self.0.extend(variants);
            Err(Done)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            identifier ignored_any
        }
    }
    let mut r = Recorder(Vec::new());
    let _ = T::deserialize(&mut r);
    assert!(
        !r.0.is_empty(),
        "{} names nothing",
        std::any::type_name::<T>()
    );
    r.0.into_iter().map(str::to_owned).collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// Checks one record kind: the same fields; the example parses; dropping a required field
/// fails and dropping any other succeeds.
fn check<T: DeserializeOwned>(schema: &Value, def: &str) {
    let d = &schema["$defs"][def];
    assert_eq!(
        keys(&d["properties"]),
        names::<T>(),
        "$defs.{def}.properties against {}",
        std::any::type_name::<T>()
    );
    let required: BTreeSet<String> = d["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().expect("name").to_owned())
        .collect();
    let example = &d["examples"][0];
    assert_eq!(
        keys(example),
        keys(&d["properties"]),
        "{def}: the example shows every field"
    );
    serde_json::from_value::<T>(example.clone())
        .unwrap_or_else(|e| panic!("{def}: the example is refused: {e}"));
    for field in keys(example) {
        let mut without = example.clone();
        without.as_object_mut().expect("object").remove(&field);
        let parsed = serde_json::from_value::<T>(without);
        assert_eq!(
            parsed.is_err(),
            required.contains(&field),
            "{def}.{field}: required in the schema exactly when the importer needs it"
        );
    }
}

#[test]
fn the_schema_describes_every_record_the_importer_reads() {
    let s = schema();
    let top: BTreeSet<String> = Stage::ALL.iter().map(|s| s.name().to_owned()).collect();
    assert_eq!(keys(&s["properties"]), top);
    check::<SectionIn>(&s, "section");
    check::<AuthorIn>(&s, "author");
    check::<TagIn>(&s, "tag");
    check::<ArticleIn>(&s, "article");
    check::<CommentIn>(&s, "comment");
    check::<Source>(&s, "source");
    check::<Image>(&s, "image");
    check::<Heading>(&s, "heading");
    check::<Paragraph>(&s, "paragraph");
    check::<List>(&s, "list");
    check::<Quote>(&s, "quote");
    check::<Embed>(&s, "embed");
}

#[test]
fn the_schema_lists_every_status_and_block_kind() {
    let s = schema();
    let listed = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(
        listed(&s["$defs"]["articleStatus"]["enum"]),
        names::<ArticleStatus>()
    );
    assert_eq!(
        listed(&s["$defs"]["commentStatus"]["enum"]),
        names::<CommentStatus>()
    );
    let kinds: BTreeSet<String> = s["$defs"]["block"]["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .flat_map(|k| keys(&k["properties"]))
        .collect();
    assert_eq!(kinds, names::<Block>());
}
