//! The engine's [`Database`] over a tokio-postgres client, shared by every host that speaks the
//! Postgres wire protocol itself: the native pool (`graphedge-scheduler`'s `PgDatabase`, over
//! deadpool) and the Cloudflare Worker's Hyperdrive binding (one connection over a Workers
//! socket, [`ClientDatabase`]). tokio-postgres is used without its `runtime` feature: the caller
//! opens the connection, so this crate builds natively and for wasm32.
//!
//! * [`query_one`] prepares the statement with every parameter typed `text` — the compiler
//!   casts each `$n` explicitly — and returns the first column of the first row as text,
//!   whatever its type.
//! * [`batch`] runs statements inside a transaction the caller opened and commits: all are
//!   prepared, then sent at once (tokio-postgres pipelines them: one round trip).
//! * [`run_sql`] sends a script with the simple-query protocol; Postgres runs a multi-statement
//!   simple query in one implicit transaction, like Hasura's `run_sql`.
//!
//! How a statement is prepared is the caller's choice ([`Prepare`]): the native pool uses
//! deadpool's per-connection statement cache, a one-shot connection prepares plainly.
//!
//! Values come back in Postgres' binary format for prepared statements; [`RawText`] decodes the
//! common types to their text form ([`decode_text`]) and refuses the others with an error that
//! asks for a cast.
use futures_util::lock::Mutex;
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, SimpleQueryMessage, Transaction};

pub use tokio_postgres;

/// How statements are prepared with `params` parameters, all typed `text`.
#[allow(async_fn_in_trait)]
pub trait Prepare {
    async fn prepare_text(
        &self,
        sql: &str,
        params: usize,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error>;
}

impl Prepare for Client {
    async fn prepare_text(
        &self,
        sql: &str,
        params: usize,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        self.prepare_typed(sql, &text_types(params)).await
    }
}

impl Prepare for Transaction<'_> {
    async fn prepare_text(
        &self,
        sql: &str,
        params: usize,
    ) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
        self.prepare_typed(sql, &text_types(params)).await
    }
}

/// Parameters as tokio-postgres wants them (all typed `text`).
pub fn param_refs(params: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// `n` parameter types, all `text`.
pub fn text_types(n: usize) -> Vec<Type> {
    vec![Type::TEXT; n]
}

/// [`Database::query_one`] on `client`, preparing through `prepare`.
pub async fn query_one(
    client: &Client,
    prepare: &impl Prepare,
    stmt: &Statement,
) -> Result<Option<String>, DbError> {
    let prepared = prepare
        .prepare_text(&stmt.sql, stmt.params.len())
        .await
        .map_err(map_error)?;
    let row = client
        .query_opt(&prepared, &param_refs(&stmt.params))
        .await
        .map_err(map_error)?;
    match row {
        None => Ok(None),
        Some(row) if row.is_empty() => Ok(None),
        Some(row) => {
            let raw: Option<RawText> = row.try_get(0).map_err(map_error)?;
            raw.map(|r| r.into_text(row.columns()[0].name()))
                .transpose()
        }
    }
}

/// The body of [`Database::transaction`]: runs `stmts` inside `tx` (which the caller commits;
/// dropping it on an error rolls back). A failure carries the failing statement's index.
pub async fn batch(
    tx: &Transaction<'_>,
    prepare: &impl Prepare,
    stmts: &[Statement],
) -> Result<Vec<Rows>, DbError> {
    let at = |index: usize| {
        move |e| DbError {
            statement: Some(index),
            ..map_error(e)
        }
    };
    // Prepare (a cache hit after the first time with a caching `prepare`), then send every
    // statement at once: tokio-postgres pipelines concurrently polled queries on one
    // connection, so the batch costs one round trip and row locks are held only as long as
    // the work needs.
    let mut prepared = Vec::with_capacity(stmts.len());
    for (index, stmt) in stmts.iter().enumerate() {
        let p = prepare
            .prepare_text(&stmt.sql, stmt.params.len())
            .await
            .map_err(at(index))?;
        prepared.push(p);
    }
    let params: Vec<_> = stmts.iter().map(|s| param_refs(&s.params)).collect();
    let results = futures_util::future::join_all(prepared.iter().zip(&params).map(
        |(p, params)| async move {
            if p.columns().is_empty() {
                // No result columns: report the affected row count.
                tx.execute(p, params).await.map(|n| (Vec::new(), n))
            } else {
                tx.query(p, params).await.map(|rows| (rows, 0))
            }
        },
    ))
    .await;
    let mut out = Vec::with_capacity(stmts.len());
    for (index, (result, prepared)) in results.into_iter().zip(&prepared).enumerate() {
        // The first failure is the cause; later statements only report the aborted transaction.
        let (rows, affected) = result.map_err(at(index))?;
        let columns: Vec<String> = prepared
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let mut decoded = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                let raw: Option<RawText> = row.try_get(i).map_err(at(index))?;
                values.push(raw.map(|r| r.into_text(name)).transpose()?);
            }
            decoded.push(values);
        }
        out.push(Rows {
            row_count: if columns.is_empty() {
                affected
            } else {
                decoded.len() as u64
            },
            columns,
            rows: decoded,
        });
    }
    Ok(out)
}

/// [`Database::run_sql`] on `client` (simple-query protocol).
pub async fn run_sql(client: &Client, sql: &str) -> Result<Vec<SqlResult>, DbError> {
    let messages = client.simple_query(sql).await.map_err(map_error)?;
    Ok(simple_results(messages))
}

/// A [`Database`] on ONE tokio-postgres connection (the Worker's Hyperdrive socket). Calls are
/// serialised by an async mutex, so a transaction never interleaves with another call.
/// Statements are prepared per call (a connection usually lives for one request).
pub struct ClientDatabase {
    client: Mutex<Client>,
}

impl ClientDatabase {
    pub fn new(client: Client) -> ClientDatabase {
        ClientDatabase {
            client: Mutex::new(client),
        }
    }
}

impl Database for ClientDatabase {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let client = self.client.lock().await;
        query_one(&client, &*client, stmt).await
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(map_error)?;
        // Any early return drops `tx`, which rolls the transaction back.
        let out = batch(&tx, &tx, stmts).await?;
        tx.commit().await.map_err(map_error)?;
        Ok(out)
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let client = self.client.lock().await;
        run_sql(&client, sql).await
    }
}

/// Folds simple-query messages into one [`SqlResult`] per statement: a `RowDescription` opens
/// a result set (so a `SELECT` returning zero rows is still `Tuples`), `CommandComplete` closes it.
pub fn simple_results(messages: Vec<SimpleQueryMessage>) -> Vec<SqlResult> {
    let mut out = Vec::new();
    let mut current: Option<Rows> = None;
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                current = Some(Rows {
                    columns: columns.iter().map(|c| c.name().to_string()).collect(),
                    rows: Vec::new(),
                    row_count: 0,
                });
            }
            SimpleQueryMessage::Row(row) => {
                let rows = current.get_or_insert_with(|| Rows {
                    columns: row.columns().iter().map(|c| c.name().to_string()).collect(),
                    ..Rows::default()
                });
                rows.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => match current.take() {
                Some(mut rows) => {
                    rows.row_count = n;
                    out.push(SqlResult::Tuples(rows));
                }
                None => out.push(SqlResult::Command),
            },
            _ => {}
        }
    }
    if let Some(rows) = current {
        out.push(SqlResult::Tuples(rows));
    }
    out
}

/// An error and its causes, `: `-separated (TLS and socket errors hide the useful part in
/// their sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Maps a tokio-postgres error to [`DbError`], keeping Postgres' SQLSTATE, message, detail and
/// hint, and flagging failures to reach the server.
pub fn map_error(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        return DbError {
            code: Some(db.code().code().to_string()),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            hint: db.hint().map(str::to_string),
            connection: false,
            statement: None,
        };
    }
    let closed =
        e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if closed {
        return DbError::connection(format!("database connection error: {}", error_chain(&e)));
    }
    DbError {
        message: e.to_string(),
        ..DbError::default()
    }
}

/// A column value in Postgres' binary format, whatever its type; [`RawText::into_text`] turns
/// it into Postgres' text form for the types the engine reads.
#[derive(Debug, Clone, PartialEq)]
pub struct RawText {
    pub ty: Type,
    pub bytes: Vec<u8>,
}

impl<'a> FromSql<'a> for RawText {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawText {
            ty: ty.clone(),
            bytes: raw.to_vec(),
        })
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl RawText {
    /// The value's text form. `column` names the column in the error for undecodable types.
    pub fn into_text(self, column: &str) -> Result<String, DbError> {
        decode_text(&self.ty, self.bytes).map_err(|why| DbError {
            message: format!(
                "cannot read column \"{column}\" of type {}: {why}; cast the column to text",
                self.ty.name()
            ),
            ..DbError::default()
        })
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| "invalid UTF-8".to_string())
}

fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

/// A float in Postgres' text form (`NaN`, `Infinity`, `-Infinity`, shortest round-trip digits).
pub fn float_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        v.to_string()
    }
}

/// Decodes a binary-format value of a common type to Postgres' text form.
pub fn decode_text(ty: &Type, bytes: Vec<u8>) -> Result<String, String> {
    match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => {
            utf8(bytes)
        }
        Type::JSONB => match bytes.split_first() {
            Some((1, rest)) => utf8(rest.to_vec()),
            Some((v, _)) => Err(format!("unsupported jsonb version {v}")),
            None => Err("empty jsonb value".into()),
        },
        Type::BOOL => match bytes.as_slice() {
            [0] => Ok("f".into()),
            [_] => Ok("t".into()),
            _ => Err("bad bool".into()),
        },
        Type::INT2 => Ok(i16::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::INT4 => Ok(i32::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::INT8 => Ok(i64::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::OID => Ok(u32::from_be_bytes(fixed(&bytes)?).to_string()),
        Type::FLOAT4 => Ok(float_text(f32::from_be_bytes(fixed(&bytes)?) as f64)),
        Type::FLOAT8 => Ok(float_text(f64::from_be_bytes(fixed(&bytes)?))),
        Type::UUID => {
            let b: [u8; 16] = fixed(&bytes)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Ok(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ))
        }
        _ => Err("no text decoder for this type".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_common_types() {
        assert_eq!(decode_text(&Type::TEXT, b"hi".to_vec()).unwrap(), "hi");
        assert_eq!(
            decode_text(&Type::JSONB, b"\x01{\"a\":1}".to_vec()).unwrap(),
            "{\"a\":1}"
        );
        assert!(decode_text(&Type::JSONB, b"\x02{}".to_vec()).is_err());
        assert!(decode_text(&Type::JSONB, Vec::new()).is_err());
        assert_eq!(decode_text(&Type::BOOL, vec![1]).unwrap(), "t");
        assert_eq!(decode_text(&Type::BOOL, vec![0]).unwrap(), "f");
        assert!(decode_text(&Type::BOOL, vec![0, 1]).is_err());
        let numbers: [(Type, Vec<u8>, &str); 8] = [
            (Type::INT2, (-2i16).to_be_bytes().to_vec(), "-2"),
            (Type::INT4, (-7i32).to_be_bytes().to_vec(), "-7"),
            (
                Type::INT8,
                i64::MAX.to_be_bytes().to_vec(),
                "9223372036854775807",
            ),
            (Type::OID, u32::MAX.to_be_bytes().to_vec(), "4294967295"),
            (Type::FLOAT4, 0.5f32.to_be_bytes().to_vec(), "0.5"),
            (Type::FLOAT8, 1.5f64.to_be_bytes().to_vec(), "1.5"),
            (Type::FLOAT8, f64::NAN.to_be_bytes().to_vec(), "NaN"),
            (
                Type::FLOAT8,
                f64::NEG_INFINITY.to_be_bytes().to_vec(),
                "-Infinity",
            ),
        ];
        for (ty, bytes, want) in numbers {
            assert_eq!(decode_text(&ty, bytes).unwrap(), want, "{ty}");
        }
        let uuid: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            decode_text(&Type::UUID, uuid).unwrap(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert!(decode_text(&Type::UUID, vec![0; 15]).is_err());
        assert!(decode_text(&Type::TEXT, vec![0xff, 0xfe]).is_err());
        assert!(decode_text(&Type::INT4, vec![1, 2]).is_err());
        assert!(decode_text(&Type::NUMERIC, vec![0; 8]).is_err());
    }

    #[test]
    fn undecodable_type_asks_for_a_cast() {
        let e = RawText {
            ty: Type::NUMERIC,
            bytes: vec![0; 8],
        }
        .into_text("price")
        .unwrap_err();
        assert!(
            e.message.contains("cast the column to text"),
            "{}",
            e.message
        );
        assert!(e.message.contains("price"));
        assert!(e.message.contains("numeric"));
    }

    #[test]
    fn parameters_are_text() {
        let params = vec![Some("1".to_string()), None];
        assert_eq!(param_refs(&params).len(), 2);
        assert_eq!(text_types(3), vec![Type::TEXT; 3]);
        assert!(<RawText as FromSql>::accepts(&Type::INT4));
    }

    #[test]
    fn error_chain_joins_distinct_causes() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("cannot connect")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(error_chain(&e), "cannot connect: connection refused");
    }

    #[test]
    fn empty_simple_query_has_no_results() {
        assert_eq!(simple_results(Vec::new()), Vec::<SqlResult>::new());
    }
}
