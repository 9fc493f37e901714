//! The engine's [`Database`] over Spin's outbound Postgres (`spin:postgres@4.0.0`, Spin ≥ 3.4),
//! selected with `GRAPHEDGE_SPIN_PG=true` in a build with the `spin-pg` feature. Spin opens the
//! connection (its host keeps a pool per address), so `HASURA_GRAPHQL_DATABASE_URL` must be
//! listed in `allowed_outbound_hosts` as `postgres://host:port`.
//!
//! * Parameters are bound as text (`None` = NULL). Spin prepares statements without parameter
//!   types, so Postgres would infer `int4` for `$1::int4` and refuse a text value: every `$n` is
//!   sent as `($n::text)` ([`text_typed_params`]); the statement's own cast converts it.
//! * Values come back as Spin's typed `db-value`s; [`value_text`] writes each in Postgres' text
//!   form (`t`/`f`, `\x…` bytea, ISO dates, `{…}` arrays, ranges, intervals). A type Spin cannot
//!   read (`unsupported`) is an error that asks for a cast to text.
//! * Transactions: Spin has no transaction API, but a `Connection` resource holds ONE pooled
//!   server connection for its lifetime (Spin's factor-outbound-pg), so a batch runs as
//!   `BEGIN`, each statement, `COMMIT` on one `Connection`, with `ROLLBACK` after a failure.
//!   Statements are sent one by one (one round trip each; Spin has no pipelining). Limitation:
//!   if the instance traps between `BEGIN` and `COMMIT`, Spin returns the connection to its
//!   pool with the transaction still open (its recycling does not roll back).
//! * `run_sql` splits the script ([`script_statements`]) and runs the statements the same way.
//!   Spin returns no column list for a query that yields no rows, so such a statement reports
//!   `CommandOk` (Hasura would report an empty `TuplesOk`), and DML row counts are the number of
//!   rows returned.
use graphedge_edge::transport::split::{script_statements, text_typed_params};
use graphedge_metadata::db::{Database, DbError, Rows, SqlResult, Statement};
use spin_sdk::pg4::{
    Connection, DbValue, Interval, ParameterValue, PgError, QueryError, RangeBoundKind, RowSet,
};

/// A database Spin opened, or why it could not: every statement then reports the error
/// (Hasura's `postgres-error`), as for any unreachable database.
pub struct Opened(Result<SpinPg, DbError>);

impl Opened {
    /// Opens a connection to `url`.
    pub fn open(url: &str) -> Opened {
        Opened(SpinPg::open(url))
    }
}

impl Database for Opened {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        match &self.0 {
            Ok(db) => db.query_one(stmt).await,
            Err(e) => Err(e.clone()),
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        match &self.0 {
            Ok(db) => db.transaction(stmts).await,
            Err(e) => Err(e.clone()),
        }
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        match &self.0 {
            Ok(db) => db.run_sql(sql).await,
            Err(e) => Err(e.clone()),
        }
    }
}

/// A [`Database`] on one Spin Postgres connection.
pub struct SpinPg {
    conn: Connection,
}

impl SpinPg {
    /// Opens a connection to `url` (`postgres://user:pass@host:port/db`).
    pub fn open(url: &str) -> Result<SpinPg, DbError> {
        Connection::open(url)
            .map(|conn| SpinPg { conn })
            .map_err(map_error)
    }

    fn query(&self, stmt: &Statement) -> Result<RowSet, DbError> {
        let params: Vec<ParameterValue> = stmt
            .params
            .iter()
            .map(|p| match p {
                Some(v) => ParameterValue::Str(v.clone()),
                None => ParameterValue::DbNull,
            })
            .collect();
        self.conn
            .query(&text_typed_params(&stmt.sql), &params)
            .map_err(map_error)
    }

    fn execute(&self, sql: &str) -> Result<(), DbError> {
        self.conn.execute(sql, &[]).map(|_| ()).map_err(map_error)
    }

    /// Runs `stmts` between `BEGIN` and `COMMIT` (a single statement runs on its own).
    fn in_transaction(&self, stmts: &[Statement]) -> Result<Vec<RowSet>, DbError> {
        if stmts.len() == 1 {
            return Ok(vec![self.query(&stmts[0]).map_err(at(0))?]);
        }
        self.execute("BEGIN")?;
        let mut out = Vec::with_capacity(stmts.len());
        for (index, stmt) in stmts.iter().enumerate() {
            match self.query(stmt) {
                Ok(rows) => out.push(rows),
                Err(e) => {
                    // The statement's error is the one to report; a failed ROLLBACK means the
                    // connection is gone, which ends the transaction too.
                    let _ = self.execute("ROLLBACK");
                    return Err(at(index)(e));
                }
            }
        }
        self.execute("COMMIT")?;
        Ok(out)
    }
}

fn at(index: usize) -> impl Fn(DbError) -> DbError {
    move |e| DbError {
        statement: Some(index),
        ..e
    }
}

impl Database for SpinPg {
    async fn query_one(&self, stmt: &Statement) -> Result<Option<String>, DbError> {
        let set = self.query(stmt)?;
        let column = set.columns.first().map(|c| c.name.as_str()).unwrap_or("?");
        match set
            .rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
        {
            None => Ok(None),
            Some(v) => value_text(v, column),
        }
    }

    async fn transaction(&self, stmts: &[Statement]) -> Result<Vec<Rows>, DbError> {
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        self.in_transaction(stmts)?.into_iter().map(rows).collect()
    }

    async fn run_sql(&self, sql: &str) -> Result<Vec<SqlResult>, DbError> {
        let stmts = script_statements(sql);
        if stmts.is_empty() {
            return Ok(Vec::new());
        }
        self.in_transaction(&stmts)?
            .into_iter()
            .map(|set| {
                if set.columns.is_empty() {
                    Ok(SqlResult::Command)
                } else {
                    rows(set).map(SqlResult::Tuples)
                }
            })
            .collect()
    }
}

/// A Spin row set with every value in Postgres' text form.
fn rows(set: RowSet) -> Result<Rows, DbError> {
    let columns: Vec<String> = set.columns.into_iter().map(|c| c.name).collect();
    let mut out = Vec::with_capacity(set.rows.len());
    for row in set.rows {
        let mut values = Vec::with_capacity(row.len());
        for (i, v) in row.into_iter().enumerate() {
            values.push(value_text(v, columns.get(i).map_or("?", String::as_str))?);
        }
        out.push(values);
    }
    Ok(Rows {
        row_count: out.len() as u64,
        columns,
        rows: out,
    })
}

/// Maps Spin's Postgres error to [`DbError`], keeping SQLSTATE, detail and hint when Postgres
/// sent them.
pub fn map_error(e: PgError) -> DbError {
    match e {
        PgError::ConnectionFailed(m) => {
            DbError::connection(format!("database connection error: {m}"))
        }
        PgError::QueryFailed(QueryError::DbError(db)) => DbError {
            code: Some(db.code),
            message: db.message,
            detail: db.detail,
            hint: db
                .extras
                .into_iter()
                .find_map(|(k, v)| (k == "hint").then_some(v)),
            ..DbError::default()
        },
        PgError::QueryFailed(QueryError::Text(m))
        | PgError::BadParameter(m)
        | PgError::ValueConversionFailed(m)
        | PgError::Other(m) => DbError {
            message: m,
            ..DbError::default()
        },
    }
}

/// A value in Postgres' text form (`None` for NULL). `column` names the column in errors.
pub fn value_text(v: DbValue, column: &str) -> Result<Option<String>, DbError> {
    Ok(Some(match v {
        DbValue::DbNull => return Ok(None),
        DbValue::Boolean(b) => if b { "t" } else { "f" }.to_string(),
        DbValue::Int8(n) => n.to_string(),
        DbValue::Int16(n) => n.to_string(),
        DbValue::Int32(n) => n.to_string(),
        DbValue::Int64(n) => n.to_string(),
        DbValue::Timestamp(n) => n.to_string(),
        DbValue::Floating32(f) => float_text(f, f.is_nan(), f.is_infinite(), f > 0.0),
        DbValue::Floating64(f) => float_text(f, f.is_nan(), f.is_infinite(), f > 0.0),
        DbValue::Str(s) | DbValue::Uuid(s) | DbValue::Decimal(s) => s,
        DbValue::Binary(b) => {
            let mut s = String::with_capacity(2 + 2 * b.len());
            s.push_str("\\x");
            for x in b {
                s.push_str(&format!("{x:02x}"));
            }
            s
        }
        DbValue::Jsonb(b) => String::from_utf8(b).map_err(|_| DbError {
            message: format!("column \"{column}\": jsonb value is not UTF-8"),
            ..DbError::default()
        })?,
        DbValue::Date((y, m, d)) => date_text(y, m, d),
        DbValue::Time((h, mi, s, ns)) => time_text(h, mi, s, ns),
        DbValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            // Spin reads timestamp and timestamptz alike, as UTC without an offset.
            let date = date_text(y, mo, d);
            match date.strip_suffix(" BC") {
                Some(day) => format!("{day} {} BC", time_text(h, mi, s, ns)),
                None => format!("{date} {}", time_text(h, mi, s, ns)),
            }
        }
        DbValue::RangeInt32((lo, hi)) => range_text(lo, hi),
        DbValue::RangeInt64((lo, hi)) => range_text(lo, hi),
        DbValue::RangeDecimal((lo, hi)) => range_text(lo, hi),
        DbValue::ArrayInt32(a) => array_text(a),
        DbValue::ArrayInt64(a) => array_text(a),
        DbValue::ArrayDecimal(a) => array_text(a),
        DbValue::ArrayStr(a) => array_text(a),
        DbValue::Interval(i) => interval_text(&i),
        DbValue::Unsupported(_) => {
            return Err(DbError {
                message: format!(
                    "cannot read column \"{column}\": Spin's Postgres API does not support its \
                     type; cast the column to text"
                ),
                ..DbError::default()
            })
        }
    }))
}

fn float_text<F: ToString>(f: F, nan: bool, infinite: bool, positive: bool) -> String {
    if nan {
        "NaN".into()
    } else if infinite {
        if positive { "Infinity" } else { "-Infinity" }.into()
    } else {
        f.to_string()
    }
}

/// `YYYY-MM-DD`, with Postgres' ` BC` suffix for years ≤ 0 (astronomical year 0 = 1 BC).
fn date_text(y: i32, m: u8, d: u8) -> String {
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y as i64)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// `HH:MM:SS[.ffffff]` (microseconds, trailing zeros dropped, as Postgres prints them).
fn time_text(h: u8, m: u8, s: u8, ns: u32) -> String {
    let mut out = format!("{h:02}:{m:02}:{s:02}");
    let micros = ns / 1000;
    if micros > 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

fn range_text<T: ToString>(
    lo: Option<(T, RangeBoundKind)>,
    hi: Option<(T, RangeBoundKind)>,
) -> String {
    let mut out = String::new();
    match lo {
        Some((v, kind)) => {
            out.push(if matches!(kind, RangeBoundKind::Inclusive) {
                '['
            } else {
                '('
            });
            out.push_str(&v.to_string());
        }
        None => out.push('('),
    }
    out.push(',');
    match hi {
        Some((v, kind)) => {
            out.push_str(&v.to_string());
            out.push(if matches!(kind, RangeBoundKind::Inclusive) {
                ']'
            } else {
                ')'
            });
        }
        None => out.push(')'),
    }
    out
}

/// `{a,b,NULL}`, elements quoted the way Postgres' array output quotes them.
fn array_text<T: ToString>(items: Vec<Option<T>>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            None => out.push_str("NULL"),
            Some(v) => {
                let s = v.to_string();
                let quote = s.is_empty()
                    || s.eq_ignore_ascii_case("null")
                    || s.chars().any(|c| {
                        matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace()
                    });
                if quote {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                } else {
                    out.push_str(&s);
                }
            }
        }
    }
    out.push('}');
    out
}

/// Postgres' default (`IntervalStyle = postgres`) interval output:
/// `1 year 2 mons 3 days 04:05:06.5`, `-00:00:01`, `00:00:00` for zero.
fn interval_text(i: &Interval) -> String {
    let mut parts: Vec<String> = Vec::new();
    let (years, months) = (i.months / 12, i.months % 12);
    let unit = |n: i64, one: &str, many: &str| {
        format!("{n} {}", if n == 1 || n == -1 { one } else { many })
    };
    if years != 0 {
        parts.push(unit(years as i64, "year", "years"));
    }
    if months != 0 {
        parts.push(unit(months as i64, "mon", "mons"));
    }
    if i.days != 0 {
        parts.push(unit(i.days as i64, "day", "days"));
    }
    if i.micros != 0 || parts.is_empty() {
        let neg = i.micros < 0;
        let total = i.micros.unsigned_abs();
        let (secs, micros) = (total / 1_000_000, total % 1_000_000);
        let mut t = format!(
            "{}{:02}:{:02}:{:02}",
            if neg { "-" } else { "" },
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        if micros > 0 {
            t.push('.');
            t.push_str(format!("{micros:06}").trim_end_matches('0'));
        }
        parts.push(t);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: DbValue) -> Option<String> {
        value_text(v, "c").unwrap()
    }

    #[test]
    fn values_in_postgres_text_form() {
        assert_eq!(text(DbValue::DbNull), None);
        assert_eq!(text(DbValue::Boolean(true)).unwrap(), "t");
        assert_eq!(text(DbValue::Boolean(false)).unwrap(), "f");
        assert_eq!(text(DbValue::Int64(-9)).unwrap(), "-9");
        assert_eq!(text(DbValue::Floating32(0.1)).unwrap(), "0.1");
        assert_eq!(text(DbValue::Floating64(f64::NAN)).unwrap(), "NaN");
        assert_eq!(
            text(DbValue::Floating64(f64::NEG_INFINITY)).unwrap(),
            "-Infinity"
        );
        assert_eq!(text(DbValue::Str("x".into())).unwrap(), "x");
        assert_eq!(text(DbValue::Decimal("1.50".into())).unwrap(), "1.50");
        assert_eq!(text(DbValue::Binary(vec![0, 0xab])).unwrap(), "\\x00ab");
        assert_eq!(
            text(DbValue::Jsonb(b"{\"a\": 1}".to_vec())).unwrap(),
            "{\"a\": 1}"
        );
        assert!(value_text(DbValue::Jsonb(vec![0xff]), "c").is_err());
        assert_eq!(text(DbValue::Date((2024, 2, 9))).unwrap(), "2024-02-09");
        assert_eq!(text(DbValue::Date((0, 1, 1))).unwrap(), "0001-01-01 BC");
        assert_eq!(text(DbValue::Time((4, 5, 6, 0))).unwrap(), "04:05:06");
        assert_eq!(
            text(DbValue::Time((4, 5, 6, 500_000_000))).unwrap(),
            "04:05:06.5"
        );
        assert_eq!(
            text(DbValue::Datetime((2024, 2, 9, 1, 2, 3, 120_000))).unwrap(),
            "2024-02-09 01:02:03.00012"
        );
        assert_eq!(
            text(DbValue::RangeInt32((
                Some((1, RangeBoundKind::Inclusive)),
                Some((5, RangeBoundKind::Exclusive))
            )))
            .unwrap(),
            "[1,5)"
        );
        assert_eq!(
            text(DbValue::RangeInt64((
                None,
                Some((5, RangeBoundKind::Inclusive))
            )))
            .unwrap(),
            "(,5]"
        );
        assert_eq!(
            text(DbValue::ArrayInt32(vec![Some(1), None, Some(3)])).unwrap(),
            "{1,NULL,3}"
        );
        assert_eq!(
            text(DbValue::ArrayStr(vec![
                Some("a".into()),
                Some("b c".into()),
                Some("".into()),
                Some("NULL".into()),
                Some("q\"\\".into()),
            ]))
            .unwrap(),
            "{a,\"b c\",\"\",\"NULL\",\"q\\\"\\\\\"}"
        );
        let iv = |months, days, micros| {
            text(DbValue::Interval(Interval {
                micros,
                days,
                months,
            }))
            .unwrap()
        };
        assert_eq!(iv(14, 3, 14_706_500_000), "1 year 2 mons 3 days 04:05:06.5");
        assert_eq!(iv(0, 0, 0), "00:00:00");
        assert_eq!(iv(0, 1, 0), "1 day");
        assert_eq!(iv(0, 0, -1_000_000), "-00:00:01");
        let e = value_text(DbValue::Unsupported(vec![1]), "price").unwrap_err();
        assert!(e.message.contains("\"price\"") && e.message.contains("cast the column to text"));
    }

    #[test]
    fn errors_keep_postgres_fields() {
        let e = map_error(PgError::QueryFailed(QueryError::DbError(
            spin_sdk::pg4::DbError {
                as_text: String::new(),
                severity: "ERROR".into(),
                code: "23505".into(),
                message: "duplicate key".into(),
                detail: Some("Key (id)=(1) already exists.".into()),
                extras: vec![("hint".into(), "try another".into())],
            },
        )));
        assert_eq!(e.code.as_deref(), Some("23505"));
        assert_eq!(e.hint.as_deref(), Some("try another"));
        assert!(!e.connection);
        assert!(map_error(PgError::ConnectionFailed("refused".into())).connection);
        assert_eq!(map_error(PgError::Other("x".into())).message, "x");
    }
}
