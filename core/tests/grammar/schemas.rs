//! The two schemas the grammar fuzzer runs against, built as core `Schema`s (what `metadata`
//! resolves): the Chinook-like benchmark schema (artist/album/track/genre/customer/invoice/
//! invoice_line, the bench's `user` permissions) and the `graphedge dev` demo (author/article,
//! its `user` select permissions) plus an `editor` role with insert/update/delete permissions.
use crate::common::{obj, root_fields};
use graphedge_core::model::*;
use graphedge_core::Value;
use std::collections::BTreeMap;

/// `(name, udt, nullable, has_default)`.
type Col = (&'static str, &'static str, bool, bool);
/// `(name, object?, target table, [(own column, target column)])`.
type Rel = (&'static str, bool, TableId, &'static [(ColumnId, ColumnId)]);

fn table(name: &str, cols: &[Col], rels: &[Rel]) -> Table {
    Table {
        name: QualifiedName::new("public", name),
        gql_name: name.into(),
        root_fields: root_fields(name),
        columns: cols
            .iter()
            .map(|&(n, udt, nullable, has_default)| Column {
                name: n.into(),
                gql_name: n.into(),
                pg_type: PgType::scalar(udt),
                nullable,
                has_default,
                is_generated: false,
                is_identity: false,
                description: None,
                enum_table: None,
            })
            .collect(),
        primary_key: vec![0],
        unique_constraints: vec![UniqueConstraint {
            name: format!("{name}_pkey"),
            columns: vec![0],
            is_primary: true,
        }],
        remote_relationships: Vec::new(),
        remote_schema_relationships: Vec::new(),
        relationships: rels
            .iter()
            .map(|&(n, object, target, mapping)| Relationship {
                name: n.into(),
                kind: if object {
                    RelKind::Object
                } else {
                    RelKind::Array
                },
                target,
                mapping: mapping.to_vec(),
                comment: None,
                local_fk: object,
            })
            .collect(),
        computed_fields: vec![],
        permissions: BTreeMap::new(),
        kind: 'r',
        mutable: Mutable::ALL,
        is_enum: false,
        enum_values: vec![],
        description: None,
    }
}

fn user_id() -> Value {
    obj(&[("_eq", Value::String("X-Hasura-User-Id".into()))])
}

fn select(columns: Vec<ColumnId>, filter: Value, aggregations: bool) -> Option<SelectPermission> {
    Some(SelectPermission {
        columns,
        filter,
        allow_aggregations: aggregations,
        ..Default::default()
    })
}

/// The bench schema: tables and relationships of `gen_dataset.sql` + `engine-metadata.json`.
pub fn chinook_schema() -> Schema {
    const N: bool = false; // NOT NULL
    let (genre, artist, album, track, customer, invoice, line) = (0, 1, 2, 3, 4, 5, 6);
    let mut tables = vec![
        table(
            "genre",
            &[("genre_id", "int4", N, N), ("name", "text", N, N)],
            &[("tracks", false, track, &[(0, 3)])],
        ),
        table(
            "artist",
            &[("artist_id", "int4", N, N), ("name", "text", N, N)],
            &[("albums", false, album, &[(0, 2)])],
        ),
        table(
            "album",
            &[
                ("album_id", "int4", N, N),
                ("title", "text", N, N),
                ("artist_id", "int4", N, N),
            ],
            &[
                ("artist", true, artist, &[(2, 0)]),
                ("tracks", false, track, &[(0, 2)]),
            ],
        ),
        table(
            "track",
            &[
                ("track_id", "int4", N, N),
                ("name", "text", N, N),
                ("album_id", "int4", N, N),
                ("genre_id", "int4", N, N),
                ("composer", "text", true, N),
                ("milliseconds", "int4", N, N),
                ("bytes", "int4", N, N),
                ("unit_price", "numeric", N, N),
            ],
            &[
                ("album", true, album, &[(2, 0)]),
                ("genre", true, genre, &[(3, 0)]),
                ("invoice_lines", false, line, &[(0, 2)]),
            ],
        ),
        table(
            "customer",
            &[
                ("customer_id", "int4", N, N),
                ("first_name", "text", N, N),
                ("last_name", "text", N, N),
                ("email", "text", N, N),
                ("country", "text", N, N),
            ],
            &[("invoices", false, invoice, &[(0, 1)])],
        ),
        table(
            "invoice",
            &[
                ("invoice_id", "int4", N, N),
                ("customer_id", "int4", N, N),
                ("invoice_date", "timestamp", N, N),
                ("billing_country", "text", N, N),
                ("total", "numeric", N, true),
            ],
            &[
                ("customer", true, customer, &[(1, 0)]),
                ("invoice_lines", false, line, &[(0, 1)]),
            ],
        ),
        table(
            "invoice_line",
            &[
                ("invoice_line_id", "int4", N, N),
                ("invoice_id", "int4", N, N),
                ("track_id", "int4", N, N),
                ("unit_price", "numeric", N, N),
                ("quantity", "int4", N, N),
            ],
            &[
                ("invoice", true, invoice, &[(1, 0)]),
                ("track", true, track, &[(2, 0)]),
            ],
        ),
    ];
    let perms = [
        (
            album,
            select(vec![0, 1, 2], obj(&[("artist_id", user_id())]), false),
        ),
        (
            invoice,
            select(
                vec![0, 1, 2, 3, 4],
                obj(&[("customer_id", user_id())]),
                false,
            ),
        ),
        (
            line,
            select(
                vec![0, 1, 2, 3, 4],
                obj(&[("invoice", obj(&[("customer_id", user_id())]))]),
                false,
            ),
        ),
    ];
    for (t, select) in perms {
        tables[t].permissions.insert(
            "user".into(),
            Permissions {
                select,
                ..Default::default()
            },
        );
    }
    Schema {
        tables,
        ..Default::default()
    }
}

/// The `graphedge dev` demo (`scheduler/src/dev.rs`): its tables, relationships and `user`
/// select permissions; role `editor` adds mutations with checks and presets.
pub fn demo_schema() -> Schema {
    const N: bool = false;
    let mut author = table(
        "author",
        &[("id", "int4", N, true), ("name", "text", N, N)],
        &[("articles", false, 1, &[(0, 3)])],
    );
    let mut article = table(
        "article",
        &[
            ("id", "int4", N, true),
            ("title", "text", N, N),
            ("content", "text", true, N),
            ("author_id", "int4", N, N),
            ("is_published", "bool", N, true),
            ("rating", "int4", true, N),
        ],
        &[("author", true, 0, &[(3, 0)])],
    );
    let published = obj(&[("is_published", obj(&[("_eq", Value::Boolean(true))]))]);
    let own = obj(&[("id", user_id())]);
    let own_article = obj(&[("author_id", user_id())]);
    article.permissions.insert(
        "user".into(),
        Permissions {
            select: select(vec![0, 1, 2, 3, 4, 5], published.clone(), true),
            ..Default::default()
        },
    );
    author.permissions.insert(
        "user".into(),
        Permissions {
            select: select(vec![0, 1], own.clone(), false),
            ..Default::default()
        },
    );
    article.permissions.insert(
        "editor".into(),
        Permissions {
            select: Some(SelectPermission {
                limit: Some(5),
                ..select(
                    vec![0, 1, 3, 5],
                    obj(&[("_or", Value::List(vec![published, own_article.clone()]))]),
                    true,
                )
                .unwrap()
            }),
            insert: Some(InsertPermission {
                check: own_article.clone(),
                columns: vec![1, 2, 5],
                set: vec![(3, Value::String("X-Hasura-User-Id".into()))],
                backend_only: false,
            }),
            update: Some(UpdatePermission {
                filter: own_article.clone(),
                check: Some(obj(&[(
                    "rating",
                    obj(&[("_lte", Value::Number("5".into()))]),
                )])),
                columns: vec![1, 2, 4, 5],
                set: vec![],
                backend_only: false,
            }),
            delete: Some(DeletePermission {
                filter: own_article,
                backend_only: false,
            }),
        },
    );
    author.permissions.insert(
        "editor".into(),
        Permissions {
            select: select(
                vec![0, 1],
                obj(&[(
                    "articles",
                    obj(&[("id", obj(&[("_gt", Value::Number("0".into()))]))]),
                )]),
                true,
            ),
            ..Default::default()
        },
    );
    Schema {
        tables: vec![author, article],
        ..Default::default()
    }
}
