//! Splits a SQL script into its statements, the way psql does: a `;` ends a statement only
//! outside string literals (`'…'` with `''`, `E'…'` with backslash escapes), quoted identifiers
//! (`"…"`), dollar quotes (`$$…$$`, `$tag$…$tag$`), comments (`-- …`, nested `/* … */`) and
//! SQL-standard function bodies (`CREATE FUNCTION … BEGIN ATOMIC … END`). Statements that are
//! empty or only comments are dropped. Never panics; an unterminated quote or comment simply
//! runs to the end of the script (Postgres then reports the syntax error).

/// The statements of `script` (see [`split_statements`]), each without parameters: what a
/// transport runs for `run_sql`.
pub fn script_statements(script: &str) -> Vec<crate::db::Statement> {
    split_statements(script)
        .into_iter()
        .map(|sql| crate::db::Statement {
            sql,
            params: Vec::new(),
        })
        .collect()
}

/// The statements of `script`, trimmed, without their terminating `;`.
pub fn split_statements(script: &str) -> Vec<String> {
    let b = script.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    // Whether the current statement has anything besides whitespace and comments.
    let mut content = false;
    // The first words of the current statement (to recognise CREATE [OR REPLACE] FUNCTION).
    let mut words: Vec<String> = Vec::new();
    // BEGIN/CASE … END nesting inside a CREATE FUNCTION/PROCEDURE statement.
    let mut depth = 0usize;
    let mut prev_ident = false;
    while i < n {
        let c = b[i];
        if let Some(end) = comment_end(b, i) {
            i = end;
            prev_ident = false;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                content = true;
                i = quoted_end(b, i);
                // A quoted identifier is a word (`"t"$1` is not a parameter); a literal is not.
                prev_ident = c == b'"';
                continue;
            }
            b'$' if !prev_ident => {
                if let Some(tag_end) = dollar_tag(b, i) {
                    content = true;
                    i = dollar_quoted_end(b, i, tag_end);
                    prev_ident = false;
                    continue;
                }
                content = true;
                i += 1;
                prev_ident = true;
                continue;
            }
            b';' if depth == 0 => {
                if content {
                    out.push(script[start..i].trim().to_string());
                }
                i += 1;
                start = i;
                content = false;
                words.clear();
                prev_ident = false;
                continue;
            }
            _ => {}
        }
        if is_ident_start(c) && !prev_ident {
            let s = i;
            while i < n && is_ident(b[i]) {
                i += 1;
            }
            let word = script[s..i].to_ascii_uppercase();
            content = true;
            if words.len() < 4 {
                words.push(word.clone());
            }
            if is_routine(&words) {
                match word.as_str() {
                    "BEGIN" | "CASE" => depth += 1,
                    "END" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            // `E'…'`: let the quote see the E right before it (prev_ident stays false).
            prev_ident = !(i - s == 1 && matches!(c, b'E' | b'e') && b.get(i) == Some(&b'\''));
            continue;
        }
        if !c.is_ascii_whitespace() {
            content = true;
        }
        prev_ident = is_ident(c) && c != b'$';
        i += 1;
    }
    if content {
        out.push(script[start..].trim().to_string());
    }
    out
}

/// The highest parameter number (`$n`) the statement references outside literals, quoted
/// identifiers and comments (0 when none).
pub fn max_param_ref(sql: &str) -> usize {
    param_refs(sql)
        .into_iter()
        .map(|(_, k)| k)
        .max()
        .unwrap_or(0)
}

/// `sql` with each parameter reference `$n` (outside literals, quoted identifiers and comments)
/// typed `text`: `($n::text)`. For transports that bind text values without declaring their
/// types (Spin's outbound pg): Postgres would otherwise infer `int4` for `$1::int4` and the
/// text value would not bind; the statement's own cast then converts the text.
pub fn text_typed_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at = 0;
    for (range, _) in param_refs(sql) {
        out.push_str(&sql[at..range.start]);
        out.push('(');
        out.push_str(&sql[range.clone()]);
        out.push_str("::text)");
        at = range.end;
    }
    out.push_str(&sql[at..]);
    out
}

/// Each parameter reference outside literals, quoted identifiers and comments: its byte range
/// (`$12`) and number.
fn param_refs(sql: &str) -> Vec<(std::ops::Range<usize>, usize)> {
    let b = sql.as_bytes();
    let n = b.len();
    let (mut i, mut refs, mut prev_ident) = (0, Vec::new(), false);
    while i < n {
        let c = b[i];
        if let Some(end) = comment_end(b, i) {
            i = end;
        } else if c == b'\'' || c == b'"' {
            i = quoted_end(b, i);
        } else if c == b'$' && !prev_ident {
            if let Some(tag_end) = dollar_tag(b, i) {
                i = dollar_quoted_end(b, i, tag_end);
            } else {
                let s = i + 1;
                i = s;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                if let Ok(k) = sql[s..i].parse::<usize>() {
                    refs.push((s - 1..i, k));
                }
            }
        } else {
            prev_ident = is_ident(c) && !(matches!(c, b'E' | b'e') && b.get(i + 1) == Some(&b'\''));
            i += 1;
            continue;
        }
        prev_ident = false;
    }
    refs
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`.
fn is_routine(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["CREATE", "FUNCTION" | "PROCEDURE", ..]
            | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
    )
}

/// At a comment (`-- …` to the line's end, nested `/* … */`): the index just past it.
fn comment_end(b: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    match (b.get(i), b.get(i + 1)) {
        (Some(b'-'), Some(b'-')) => {
            Some(b[i..].iter().position(|&c| c == b'\n').map_or(n, |p| i + p))
        }
        (Some(b'/'), Some(b'*')) => {
            let (mut j, mut level) = (i, 0usize);
            while j < n {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    level += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    level -= 1;
                    j += 2;
                    if level == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            Some(j)
        }
        _ => None,
    }
}

/// At an opening `'` or `"`: the index just past the closing quote (doubled quotes inside;
/// backslash escapes in an `E'…'` literal, whose `E` is right before the quote).
fn quoted_end(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let escapes =
        q == b'\'' && i > 0 && matches!(b[i - 1], b'E' | b'e') && (i < 2 || !is_ident(b[i - 2]));
    let mut j = i + 1;
    while j < b.len() {
        let doubled = b[j] == q && b.get(j + 1) == Some(&q);
        if (escapes && b[j] == b'\\') || doubled {
            j += 2;
        } else if b[j] == q {
            break;
        } else {
            j += 1;
        }
    }
    j + 1
}

/// At a dollar quote opening at `i` whose tag ends at `tag_end`: the index just past the
/// closing tag (the end of `b` when unterminated).
fn dollar_quoted_end(b: &[u8], i: usize, tag_end: usize) -> usize {
    let tag = &b[i..=tag_end];
    let mut j = tag_end + 1;
    while j < b.len() && !b[j..].starts_with(tag) {
        j += 1;
    }
    (j + tag.len()).min(b.len())
}

/// At `b[i] == '$'`: the index of the closing `$` of a dollar-quote tag (`$$`, `$tag$`).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j) == Some(&b'$') {
        return Some(j);
    }
    if !b.get(j).is_some_and(|&c| is_ident_start(c)) {
        return None;
    }
    while j < b.len() && is_ident(b[j]) && b[j] != b'$' {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j)
}

#[cfg(test)]
mod tests {
    use super::{max_param_ref, split_statements, text_typed_params};

    #[test]
    fn types_parameter_references_as_text() {
        assert_eq!(
            text_typed_params("select $1::int4 + $12::int8, '$2', a$3 -- $4"),
            "select ($1::text)::int4 + ($12::text)::int8, '$2', a$3 -- $4"
        );
        assert_eq!(text_typed_params("select 1"), "select 1");
        assert_eq!(text_typed_params("select $$ $1 $$"), "select $$ $1 $$");
    }

    #[test]
    fn finds_parameter_references() {
        assert_eq!(max_param_ref("select 1"), 0);
        assert_eq!(max_param_ref("select $1::int, $12::text, $3"), 12);
        assert_eq!(
            max_param_ref(
                "select '$9', \"$8\", E'\\'$7', $$ $6 $$, $t$ $5 $t$ -- $4\n /* $3 */ , $2"
            ),
            2
        );
        assert_eq!(max_param_ref("select a$1 from t"), 0);
    }

    fn check(script: &str, expected: &[&str]) {
        assert_eq!(split_statements(script), expected, "script: {script}");
    }

    #[test]
    fn splits_scripts() {
        check("", &[]);
        check(" ; ;-- only a comment\n", &[]);
        check("select 1; select 2", &["select 1", "select 2"]);
        check(
            "select 'a;b''c;'; select 2;",
            &["select 'a;b''c;'", "select 2"],
        );
        check(
            r"select E'it\'s; fine'; select 'x\'; select 3",
            &[r"select E'it\'s; fine'", r"select 'x\'", "select 3"],
        );
        check(
            "select \"a;\"\"b\" from t; x",
            &["select \"a;\"\"b\" from t", "x"],
        );
        check(
            "create function f() returns int as $$ select 1; $$ language sql; select f()",
            &[
                "create function f() returns int as $$ select 1; $$ language sql",
                "select f()",
            ],
        );
        check(
            "do $body$ begin raise notice 'x;$$'; end $body$; select 1",
            &[
                "do $body$ begin raise notice 'x;$$'; end $body$",
                "select 1",
            ],
        );
        check(
            "select 1 -- a; comment\n; /* c; /* nested; */ still; */ select 2",
            &[
                "select 1 -- a; comment",
                "/* c; /* nested; */ still; */ select 2",
            ],
        );
        check(
            "select $1::int; select a$b from t",
            &["select $1::int", "select a$b from t"],
        );
        check(
            "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC \
             SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 3; END; select 4",
            &[
                "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC \
                 SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 3; END",
                "select 4",
            ],
        );
        // BEGIN outside a routine is a transaction statement.
        check("begin; select 1; commit;", &["begin", "select 1", "commit"]);
        // Unterminated quotes run to the end.
        check("select 'abc; select 2", &["select 'abc; select 2"]);
        check("select $$abc; select 2", &["select $$abc; select 2"]);
        check("select 'é;ü'; select 'ß'", &["select 'é;ü'", "select 'ß'"]);
    }
}
