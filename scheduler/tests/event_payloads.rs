//! What an event trigger records, on the real binary: the table the trigger was created on
//! (also for rows of a partition) and PostGIS columns as GeoJSON, as Hasura's payloads.
mod common;

use common::{database, Server};
use serde_json::{json, Value};

/// Creates `table` with `ddl`, tracks it, adds an insert trigger, runs `insert` and checks the
/// recorded schema, table and new rows (in the order of their JSON text).
fn check(server: &Server, ddl: &str, table: &str, insert: &str, want_new: &[Value]) {
    server.run_sql(ddl);
    server.track(table);
    server.metadata(json!({"type": "pg_create_event_trigger", "args": {
        "name": format!("{table}_all"), "table": table, "webhook": "http://127.0.0.1:9/",
        "insert": {"columns": "*"}}}));
    server.run_sql(insert);
    let rows = server.run_sql(&format!(
        "SELECT schema_name, table_name, data::text FROM graphedge.event_log \
         WHERE trigger_name = '{table}_all' ORDER BY data::text"
    ));
    assert_eq!(rows.len(), want_new.len(), "{table}: {rows:?}");
    for (row, want) in rows.iter().zip(want_new) {
        assert_eq!(row[0], json!("public"), "{table}");
        assert_eq!(row[1], json!(table), "{table}: the trigger's own table");
        let data: Value = serde_json::from_str(row[2].as_str().unwrap()).unwrap();
        assert_eq!(&data["new"], want, "{table}");
    }
}

#[test]
fn recorded_payloads() {
    let (_pg, url) = database();
    let server = Server::start_with(&url, &["--enable-background=false"]);
    check(
        &server,
        "CREATE TABLE measurement (city_id int NOT NULL, logdate date NOT NULL) \
         PARTITION BY RANGE (logdate); \
         CREATE TABLE measurement_y2006 PARTITION OF measurement \
         FOR VALUES FROM ('2006-01-01') TO ('2007-01-01')",
        "measurement",
        "INSERT INTO measurement VALUES (1, '2006-02-02')",
        &[json!({"city_id": 1, "logdate": "2006-02-02"})],
    );
    let (status, _) = server.post_json(
        "/v2/query",
        json!({"type": "run_sql", "args": {"sql": "CREATE EXTENSION IF NOT EXISTS postgis"}}),
    );
    if status != 200 {
        eprintln!("PostGIS not installed: GeoJSON payloads not checked");
        return;
    }
    check(
        &server,
        "CREATE TABLE place (id int PRIMARY KEY, location geography(Point, 4326))",
        "place",
        "INSERT INTO place VALUES (1, 'SRID=4326;POINT(-43.77 45.64)'), (2, NULL)",
        &[
            json!({"id": 1, "location": {"type": "Point",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
                "coordinates": [-43.77, 45.64]}}),
            json!({"id": 2, "location": null}),
        ],
    );
}
