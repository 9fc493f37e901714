//! Hasura's JSON paths (`Data.Parser.JSONPath`): an optional `$`, then one or more elements,
//! each an optional `.` followed by a name (a letter or `_`, then letters, digits, `_` or `-`)
//! or by a bracket: `[42]`, `["json string"]` or `['string']` (where `\'` is a quote). So `$`,
//! `$.a.b`, `a.b`, `$['a.b'][0]` and `$.['a'].b` are all paths. Used by JWT claims paths (edge)
//! and the `path` argument of json/jsonb columns.
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The steps of `p`, or `None` when it is not a JSON path.
pub fn parse(p: &str) -> Option<Vec<Seg>> {
    if p == "$" {
        return Some(Vec::new());
    }
    let mut rest = p.strip_prefix('$').unwrap_or(p);
    let mut segs = Vec::new();
    loop {
        let (seg, r) = element(rest)?;
        segs.push(seg);
        rest = r;
        if rest.is_empty() {
            return Some(segs);
        }
    }
}

/// One element of a JSON path and the text after it.
fn element(s: &str) -> Option<(Seg, &str)> {
    let s = s.strip_prefix('.').unwrap_or(s);
    if let Some(r) = s.strip_prefix('[') {
        let (seg, r) = bracket_body(r)?;
        return Some((seg, r.strip_prefix(']')?));
    }
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let end = chars
        .find(|&(_, c)| !(c.is_alphabetic() || c.is_ascii_digit() || c == '_' || c == '-'))
        .map_or(s.len(), |(i, _)| i);
    Some((Seg::Key(s[..end].to_string()), &s[end..]))
}

/// Inside `[…]`: an index, a double-quoted JSON string or a single-quoted string (JSON escapes;
/// `\'` is a quote).
fn bracket_body(s: &str) -> Option<(Seg, &str)> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits > 0 {
        return Some((Seg::Index(s[..digits].parse().ok()?), &s[digits..]));
    }
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &s[1..];
    let mut key = String::new();
    let mut chars = body.char_indices();
    loop {
        let (i, c) = chars.next()?;
        match c {
            '\\' => {
                let (_, e) = chars.next()?;
                key.push(match e {
                    '\'' if quote == '\'' => '\'',
                    '"' | '\\' | '/' => e,
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => unicode_escape(&mut chars)?,
                    _ => return None,
                });
            }
            c if c == quote => return Some((Seg::Key(key), &body[i + 1..])),
            c if (c as u32) < 0x20 => return None,
            c => key.push(c),
        }
    }
}

/// The character of a `\uXXXX` escape (a surrogate pair as two escapes).
fn unicode_escape(chars: &mut core::str::CharIndices<'_>) -> Option<char> {
    let hex = |chars: &mut core::str::CharIndices<'_>| -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + chars.next()?.1.to_digit(16)?;
        }
        Some(v)
    };
    let hi = hex(chars)?;
    if (0xD800..0xDC00).contains(&hi) {
        let (_, '\\') = chars.next()? else {
            return None;
        };
        let (_, 'u') = chars.next()? else { return None };
        let lo = hex(chars)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
    }
    char::from_u32(hi)
}
