//! Introspection against a real Postgres, then resolution of metadata against what it found.
mod common;

use graphedge_metadata::introspect::{introspect, Catalog};
use graphedge_metadata::raw;
use graphedge_metadata::resolve::resolve;

const SCHEMA: &str = r#"
CREATE SCHEMA hge_tests;
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE author (
  id serial PRIMARY KEY,
  name text NOT NULL,
  email varchar(100) UNIQUE,
  tags text[],
  rating positive_int,
  created_at timestamptz DEFAULT now()
);
COMMENT ON TABLE author IS 'authors';
COMMENT ON COLUMN author.name IS 'full name';
CREATE TABLE article_status (value text PRIMARY KEY, comment text);
INSERT INTO article_status VALUES ('draft', 'not yet published'), ('published', NULL);
CREATE TABLE article (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title text NOT NULL,
  author_id int NOT NULL REFERENCES author(id),
  status text NOT NULL REFERENCES article_status(value),
  title_len int GENERATED ALWAYS AS (length(title)) STORED,
  meta jsonb
);
CREATE TABLE hge_tests.pair (a int, b int, label text, PRIMARY KEY (b, a), CONSTRAINT pair_label UNIQUE (label));
CREATE TABLE hge_tests.pair_ref (id int PRIMARY KEY, pa int, pb int,
  CONSTRAINT pair_fk FOREIGN KEY (pb, pa) REFERENCES hge_tests.pair (b, a));
ALTER TABLE article DROP COLUMN meta;
CREATE VIEW article_view AS SELECT id, title FROM article;
CREATE MATERIALIZED VIEW author_mv AS SELECT id, name FROM author;
CREATE FUNCTION author_full_name(author_row author) RETURNS text LANGUAGE sql STABLE AS $$ SELECT author_row.name $$;
COMMENT ON FUNCTION author_full_name(author) IS 'the name';
CREATE FUNCTION search_articles(search text, lim int DEFAULT 10) RETURNS SETOF article LANGUAGE sql STABLE
  AS $$ SELECT * FROM article WHERE title ILIKE '%' || search || '%' LIMIT lim $$;
CREATE FUNCTION bump(hasura_session json, OUT n int) LANGUAGE sql VOLATILE AS $$ SELECT 1 $$;
CREATE FUNCTION trig() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
"#;

async fn catalog_of(pg: &common::TempPg, enums: &[raw::QualifiedTable]) -> Catalog {
    let db = pg.connect().await;
    db.exec(SCHEMA).await;
    introspect(&db, enums).await.expect("introspect")
}

#[tokio::test(flavor = "current_thread")]
async fn introspects_tables_columns_keys_functions_and_enums() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipped: no Postgres server binaries");
        return;
    };
    let enums = vec![raw::QualifiedTable::new("public", "article_status")];
    let catalog = catalog_of(&pg, &enums).await;

    // Table list: every kind, sorted by schema and name; our own schemas are excluded.
    let names: Vec<(String, String, String)> = catalog
        .tables
        .iter()
        .map(|t| (t.schema.clone(), t.name.clone(), t.kind.clone()))
        .collect();
    insta::assert_debug_snapshot!("introspect_table_list", names);

    let author = catalog.table("public", "author").unwrap();
    assert_eq!(author.comment.as_deref(), Some("authors"));
    // The oid differs per database; that there is one is what counts.
    assert!(author.oid > 0);
    let mut author = author.clone();
    author.oid = 0;
    insta::assert_json_snapshot!("introspect_author", author);

    let article = catalog.table("public", "article").unwrap();
    // The dropped column is gone; identity and generated columns are flagged.
    assert_eq!(
        article
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "title", "author_id", "status", "title_len"]
    );
    assert!(article.columns[0].is_identity && article.columns[0].identity == "a");
    assert!(article.columns[4].is_generated);
    assert_eq!(article.foreign_keys.len(), 2);

    let pair_ref = catalog.table("hge_tests", "pair_ref").unwrap();
    insta::assert_json_snapshot!("introspect_pair_ref_fk", pair_ref.foreign_keys);
    let pair = catalog.table("hge_tests", "pair").unwrap();
    assert_eq!(pair.primary_key.as_ref().unwrap().columns, ["b", "a"]);
    assert_eq!(pair.unique_constraints[0].name, "pair_label");

    // Functions: trigger functions are left out; defaults, modes and row return types are known.
    let fnames: Vec<&str> = catalog.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(fnames, ["author_full_name", "bump", "search_articles"]);
    insta::assert_json_snapshot!("introspect_functions", catalog.functions);

    // Enum rows, in table order.
    insta::assert_json_snapshot!("introspect_enums", catalog.enums);

    // Base types (the Postgres scalars custom types may use), by `typname`, arrays too.
    for t in ["int4", "text", "uuid", "timestamptz", "jsonb", "_int4"] {
        assert!(catalog.scalars.iter().any(|s| s == t), "{t}");
    }
    assert!(!catalog.scalars.iter().any(|s| s == "record"));

    // The catalog round-trips through JSON (it is stored with the metadata).
    let text = serde_json::to_string(&catalog).unwrap();
    let back: Catalog = serde_json::from_str(&text).unwrap();
    assert_eq!(back, catalog);
}

#[tokio::test(flavor = "current_thread")]
async fn resolves_metadata_against_introspected_database() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipped: no Postgres server binaries");
        return;
    };
    let enums = vec![raw::QualifiedTable::new("public", "article_status")];
    let catalog = catalog_of(&pg, &enums).await;
    let metadata: raw::Metadata = serde_json::from_value(serde_json::json!({
        "version": 3,
        "sources": [{
            "name": "default",
            "kind": "postgres",
            "configuration": {},
            "tables": [
                {"table": {"schema": "public", "name": "author"},
                 "array_relationships": [{"name": "articles", "using": {"foreign_key_constraint_on": {"table": "article", "column": "author_id"}}}],
                 "computed_fields": [{"name": "full_name", "definition": {"function": "author_full_name"}}]},
                {"table": "article",
                 "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}]},
                {"table": "article_status", "is_enum": true},
                {"table": {"schema": "hge_tests", "name": "pair"}},
                {"table": {"schema": "hge_tests", "name": "pair_ref"},
                 "object_relationships": [{"name": "pair", "using": {"foreign_key_constraint_on": ["pa", "pb"]}}]}
            ],
            "functions": [{"function": "search_articles"}]
        }]
    }))
    .unwrap();
    let (schema, inconsistencies) = resolve(
        &metadata,
        &catalog,
        &graphedge_metadata::Config {
            infer_function_permissions: true,
            ..Default::default()
        },
    );
    assert_eq!(inconsistencies, vec![]);
    let article = &schema.tables[1];
    let status = article.column("status").unwrap();
    assert_eq!(article.columns[status].enum_table, Some(2));
    assert_eq!(schema.tables[2].enum_values.len(), 2);
    let pair_ref = &schema.tables[4];
    assert_eq!(pair_ref.gql_name, "hge_tests_pair_ref");
    // (pa, pb) → (a, b) whatever order the key was declared in.
    assert_eq!(pair_ref.relationships[0].mapping, vec![(2, 1), (1, 0)]);
    assert_eq!(schema.functions[0].args.len(), 2);
    assert!(schema.functions[0].args[1].has_default);
}

#[tokio::test(flavor = "current_thread")]
async fn extension_functions_are_left_out_and_extension_types_kept() {
    let Some(pg) = common::TempPg::start() else {
        eprintln!("skipped: no Postgres server binaries");
        return;
    };
    let db = pg.connect().await;
    if db
        .client
        .batch_execute("CREATE EXTENSION postgis")
        .await
        .is_err()
    {
        eprintln!("skipped: PostGIS is not installed");
        return;
    }
    db.exec("CREATE TABLE place (id int PRIMARY KEY, geom geometry(Point, 4326), area geography)")
        .await;
    let started = std::time::Instant::now();
    let catalog = introspect(&db, &[]).await.expect("introspect");
    eprintln!("introspection with PostGIS took {:?}", started.elapsed());
    assert!(
        catalog.functions.is_empty(),
        "extension functions leaked: {}",
        catalog.functions.len()
    );
    let place = catalog.table("public", "place").unwrap();
    let geom = &place.column("geom").unwrap().pg_type;
    assert_eq!(
        (geom.udt.as_str(), geom.schema.as_str(), geom.kind.as_str()),
        ("geometry", "public", "b")
    );
    assert_eq!(place.column("area").unwrap().pg_type.udt, "geography");
}
