//! One statement for many requests of one shape ("batching").
//!
//! Concurrent requests of one query usually differ only in their variables or session (a
//! mobile app's screen opened by many users: another id, another `X-Hasura-User-Id`). Each
//! would run the same statement with its own parameters; Postgres then pays its per-statement
//! work (bind, executor start-up, snapshot, result and sync messages) once per request. A
//! batch runs the statement once per *parameter row* inside ONE statement instead:
//!
//! ```sql
//! SELECT string_agg(coalesce("__q"."__v"::text, ''), E'\x1e' ORDER BY "__b"."__i")
//! FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS "__b"("__p1", "__p2", "__i")
//! LEFT JOIN LATERAL (<the statement, $n read as "__b"."__pn">) AS "__q"("__v") ON true
//! ```
//!
//! * Every parameter of a compiled statement is sent as `text` and cast where it is used
//!   (`$1::"pg_catalog"."int4"`), so reading `$n` from a `text` column of the parameter rows
//!   gives each row exactly the value and type the statement alone would have had.
//! * The answers come back as one text value, in the order of the rows, separated by the
//!   ASCII record separator (0x1E): JSON never contains that byte unescaped (control
//!   characters inside strings must be escaped, and it is not JSON whitespace), so the split is
//!   exact. A row whose statement gave no row or NULL comes back empty.
//! * One snapshot answers the whole batch; every request in it arrived before it was sent, so
//!   nobody gets an answer older than their request.
//!
//! [`batched_sql`] declines SQL it cannot rewrite safely (comments, dollar quotes, escape
//! strings); Postgres may still refuse a rewrite (a construct not allowed in a lateral
//! subquery), which the caller treats as "this shape is not batched". Pure: no I/O.
use alloc::string::String;
use alloc::vec::Vec;

/// Separates the answers of a batch in its one result value.
pub const SEPARATOR: char = '\u{1e}';

/// The batched form of `sql`, a statement with parameters `$1..$params`, all sent as text.
/// Its parameters are `params` text arrays (see [`array_literal`]), the i-th array holding
/// every row's value of `$i`; its answer is split with [`split_answers`]. `None` when `sql`
/// has no parameters or contains anything the rewrite does not understand.
pub fn batched_sql(sql: &str, params: usize) -> Option<String> {
    if params == 0 {
        return None;
    }
    let body = substitute(sql, params)?;
    let mut out = String::with_capacity(body.len() + 160 + params * 24);
    out.push_str(
        "SELECT string_agg(coalesce(\"__q\".\"__v\"::text, ''), E'\\x1e' ORDER BY \"__b\".\"__i\") FROM unnest(",
    );
    for i in 1..=params {
        if i > 1 {
            out.push_str(", ");
        }
        push_fmt(&mut out, format_args!("${i}::text[]"));
    }
    out.push_str(") WITH ORDINALITY AS \"__b\"(");
    for i in 1..=params {
        push_fmt(&mut out, format_args!("\"__p{i}\", "));
    }
    out.push_str("\"__i\") LEFT JOIN LATERAL (");
    out.push_str(&body);
    out.push_str(") AS \"__q\"(\"__v\") ON true");
    Some(out)
}

fn push_fmt(out: &mut String, args: core::fmt::Arguments<'_>) {
    let _ = core::fmt::Write::write_fmt(out, args);
}

/// `sql` with every `$n` (1 ≤ n ≤ `params`) replaced by the parameter row's column. Quoted
/// identifiers and standard string literals are copied as they are; anything else that could
/// hide a `$` or a quote from this scan (comments, dollar quotes, `E'…'` strings, a parameter
/// number out of range) declines.
fn substitute(sql: &str, params: usize) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 64);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                // A prefix glued to a quote (`E'`, `U&'`, `B'`, `X'`) changes its escapes.
                if quote == b'\'' && i > 0 && is_word(bytes[i - 1]) {
                    return None;
                }
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return None,
                        Some(&b) if b == quote => {
                            if bytes.get(i + 1) == Some(&quote) {
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => return None,
            b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
            b'$' => {
                if i > 0 && is_word(bytes[i - 1]) {
                    // `$` inside an identifier (`a$1`): not a parameter; keep it out of doubt.
                    return None;
                }
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && bytes[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start || end - start > 6 {
                    return None; // a dollar quote, or nonsense
                }
                let n: usize = sql[start..end].parse().ok()?;
                if n == 0 || n > params {
                    return None;
                }
                out.push_str(&sql[copied..i]);
                push_fmt(&mut out, format_args!("\"__b\".\"__p{n}\""));
                i = end;
                copied = end;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// A Postgres array literal of text values (`{"a","b\"c",NULL}`), every element quoted so no
/// value is read as anything but itself.
pub fn array_literal<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match v {
            None => out.push_str("NULL"),
            Some(v) => crate::encode::write_array_element(&mut out, v),
        }
    }
    out.push('}');
    out
}

/// The `n` answers of a batch's result (`None` for an answer that was no row or NULL), or
/// `None` when the result does not hold exactly `n`.
pub fn split_answers(result: Option<&str>, n: usize) -> Option<Vec<Option<String>>> {
    let result = result?;
    let out: Vec<Option<String>> = result
        .split(SEPARATOR)
        .map(|a| (!a.is_empty()).then(|| String::from(a)))
        .collect();
    (out.len() == n).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_the_row_columns() {
        let sql = "SELECT json_build_object('a$1', (SELECT \"x$2\" FROM t WHERE id = $1::int4 AND k = $12::text)) AS \"data\"";
        let b = batched_sql(sql, 12).unwrap();
        assert!(b.contains("'a$1'"), "{b}");
        assert!(b.contains("\"x$2\""), "{b}");
        assert!(b.contains("id = \"__b\".\"__p1\"::int4"), "{b}");
        assert!(b.contains("k = \"__b\".\"__p12\"::text"), "{b}");
        assert!(b.contains("unnest($1::text[], $2::text[]"), "{b}");
        assert!(b.ends_with("AS \"__q\"(\"__v\") ON true"), "{b}");
    }

    #[test]
    fn doubtful_sql_is_declined() {
        for sql in [
            "SELECT $1 -- c",
            "SELECT /* $1 */ $1",
            "SELECT $$x$$, $1",
            "SELECT E'\\'', $1",
            "SELECT $2",
            "SELECT $0",
            "SELECT 'open, $1",
            "SELECT a$1",
        ] {
            assert_eq!(batched_sql(sql, 1), None, "{sql}");
        }
        assert_eq!(batched_sql("SELECT 1", 0), None);
    }

    #[test]
    fn quotes_in_literals_and_identifiers_are_skipped() {
        let b = substitute("SELECT 'it''s $1', \"a\"\"$1\", $1", 1).unwrap();
        assert_eq!(b, "SELECT 'it''s $1', \"a\"\"$1\", \"__b\".\"__p1\"");
    }

    #[test]
    fn array_literals_quote_every_element() {
        assert_eq!(
            array_literal([Some("a"), None, Some("b\"c\\"), Some(""), Some("NULL")]),
            "{\"a\",NULL,\"b\\\"c\\\\\",\"\",\"NULL\"}"
        );
    }

    #[test]
    fn answers_split_on_the_separator() {
        assert_eq!(
            split_answers(Some("{\"a\":1}\u{1e}\u{1e}[]"), 3),
            Some(alloc::vec![
                Some("{\"a\":1}".into()),
                None,
                Some("[]".into())
            ])
        );
        assert_eq!(split_answers(Some("x"), 2), None);
        assert_eq!(split_answers(None, 1), None);
    }
}
