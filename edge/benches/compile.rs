//! Compile time of the five ../shared/bench queries against the Chinook-like schema
//! (metadata + introspected catalog in `fixtures/`): cold (parse → SQL text) and via the plan
//! cache (lookup + bind), as the edge serves a repeated query.
//!
//! `cargo bench -p graphedge-edge --bench compile`
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use graphedge_core::{compile, Options, Request, Schema, Session, Value};
use graphedge_edge::cache::{CacheKey, PlanCache};
use graphedge_metadata::introspect::Catalog;
use graphedge_metadata::raw::Metadata;
use graphedge_metadata::resolve::resolve;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/fixtures");

fn schema() -> Schema {
    let read = |name: &str| std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture");
    let md_json: serde_json::Value =
        serde_json::from_str(&read("chinook-metadata.json")).expect("metadata json");
    let md = Metadata::from_json(&md_json, &serde_json::json!({})).expect("metadata");
    let catalog: Catalog = serde_json::from_str(&read("chinook-catalog.json")).expect("catalog");
    let (schema, inconsistencies) = resolve(&md, &catalog, &Default::default());
    assert!(inconsistencies.is_empty(), "{inconsistencies:?}");
    schema
}

fn queries() -> Vec<(String, String, Vec<(String, Value)>)> {
    (1..=5)
        .map(|i| {
            let q = std::fs::read_to_string(format!("{FIXTURES}/q{i}.graphql")).expect("query");
            let v: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(format!("{FIXTURES}/q{i}.vars.json")).expect("vars"),
            )
            .expect("vars json");
            let vars = match &v {
                serde_json::Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| (k.clone(), graphedge_metadata::json_to_value(v)))
                    .collect(),
                _ => Vec::new(),
            };
            (format!("q{i}"), q, vars)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let schema = schema();
    let session = Session::admin();
    let opts = Options {
        stringify_numeric: true,
        ..Default::default()
    };
    for (name, query, vars) in queries() {
        let req = Request {
            query: &query,
            operation_name: None,
            variables: &vars,
        };
        compile(&schema, &session, &req, &opts).expect("bench query compiles");
        c.bench_function(&format!("{name}/cold"), |b| {
            b.iter(|| {
                compile(black_box(&schema), &session, black_box(&req), &opts).expect("compiles")
            })
        });
        let cache = PlanCache::new(64);
        let key = CacheKey {
            query: &query,
            operation_name: None,
            role: "admin",
            schema_version: schema.version,
            stringify_numeric: true,
            relay: false,
        };
        let plan = Arc::new(compile(&schema, &session, &req, &opts).expect("compiles"));
        cache.insert(&key, &vars, plan);
        c.bench_function(&format!("{name}/cached"), |b| {
            b.iter(|| {
                let plan = cache.get(black_box(&key), &vars).expect("cached");
                plan.bind(&vars, &session).expect("binds")
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
