//! GraphQL lexer over a `&str` (source text is UTF-8 already).
use alloc::string::String;
use alloc::vec::Vec;

use super::ast::Pos;
use super::syntax_error;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    Punct(char),
    Name(&'a str),
    Int(&'a str),
    Float(&'a str),
    Str(String),
    Eof,
}

pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    /// The next token (already consumed from the text) and its position.
    peeked: Option<(Tok<'a>, Pos)>,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        Lexer {
            src,
            bytes: src.as_bytes(),
            i: 0,
            line: 1,
            line_start: 0,
            peeked: None,
        }
    }

    /// Position of the next token.
    pub fn pos(&mut self) -> Pos {
        if let Some((_, p)) = &self.peeked {
            return *p;
        }
        self.skip_ignored();
        self.here()
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            column: (self.i - self.line_start) as u32 + 1,
        }
    }

    pub fn peek(&mut self) -> Result<Tok<'a>> {
        if let Some((t, _)) = &self.peeked {
            return Ok(t.clone());
        }
        self.skip_ignored();
        let pos = self.here();
        let t = self.lex()?;
        self.peeked = Some((t.clone(), pos));
        Ok(t)
    }

    pub fn next(&mut self) -> Result<Tok<'a>> {
        if let Some((t, _)) = self.peeked.take() {
            return Ok(t);
        }
        self.skip_ignored();
        self.lex()
    }

    fn skip_ignored(&mut self) {
        while self.i < self.bytes.len() {
            match self.bytes[self.i] {
                b' ' | b'\t' | b',' => self.i += 1,
                b'\n' => self.newline(1),
                b'\r' => {
                    let n = if self.bytes.get(self.i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    self.newline(n)
                }
                b'#' => {
                    while self.i < self.bytes.len()
                        && self.bytes[self.i] != b'\n'
                        && self.bytes[self.i] != b'\r'
                    {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn newline(&mut self, n: usize) {
        self.i += n;
        self.line += 1;
        self.line_start = self.i;
    }

    fn err<T>(&self, what: &str) -> Result<T> {
        Err(syntax_error(what, self.here()))
    }

    fn lex(&mut self) -> Result<Tok<'a>> {
        let Some(&b) = self.bytes.get(self.i) else {
            return Ok(Tok::Eof);
        };
        match b {
            b'!' | b'$' | b'&' | b'(' | b')' | b':' | b'=' | b'@' | b'[' | b']' | b'{' | b'|'
            | b'}' => {
                self.i += 1;
                Ok(Tok::Punct(b as char))
            }
            b'.' => {
                if self.bytes[self.i..].starts_with(b"...") {
                    // The spread `...` is the only token that starts with a dot.
                    self.i += 3;
                    Ok(Tok::Punct('.'))
                } else {
                    self.err("unexpected '.'")
                }
            }
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let start = self.i;
                while self.i < self.bytes.len()
                    && matches!(self.bytes[self.i], b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                Ok(Tok::Name(&self.src[start..self.i]))
            }
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => {
                if self.bytes[self.i..].starts_with(b"\"\"\"") {
                    self.block_string()
                } else {
                    self.string()
                }
            }
            _ => self.err("unexpected character"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.i < self.bytes.len() && self.bytes[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Tok<'a>> {
        let start = self.i;
        if self.bytes[self.i] == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        if self.digits() == 0 {
            return self.err("expected a digit");
        }
        if self.bytes[int_start] == b'0' && self.i - int_start > 1 {
            return self.err("leading zero");
        }
        let mut float = false;
        if self.bytes.get(self.i) == Some(&b'.') {
            self.i += 1;
            float = true;
            if self.digits() == 0 {
                return self.err("expected a digit after '.'");
            }
        }
        if matches!(self.bytes.get(self.i), Some(b'e') | Some(b'E')) {
            self.i += 1;
            float = true;
            if matches!(self.bytes.get(self.i), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("expected an exponent");
            }
        }
        if matches!(
            self.bytes.get(self.i),
            Some(b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'.')
        ) {
            return self.err("invalid number");
        }
        let s = &self.src[start..self.i];
        Ok(if float { Tok::Float(s) } else { Tok::Int(s) })
    }

    fn string(&mut self) -> Result<Tok<'a>> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(ch) = self.src[self.i..].chars().next() else {
                return self.err("unterminated string");
            };
            match ch {
                '"' => {
                    self.i += 1;
                    return Ok(Tok::Str(out));
                }
                '\n' | '\r' => return self.err("unterminated string"),
                '\\' => {
                    self.i += 1;
                    let Some(&e) = self.bytes.get(self.i) else {
                        return self.err("unterminated string");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        _ => return self.err("invalid escape"),
                    }
                }
                c if (c as u32) < 0x20 && c != '\t' => {
                    return self.err("control character in string")
                }
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let Some(h) = self.src.get(self.i..self.i + 4) else {
            return self.err("bad unicode escape");
        };
        let Ok(v) = u32::from_str_radix(h, 16) else {
            return self.err("bad unicode escape");
        };
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.err("bad unicode escape");
        }
        self.i += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.bytes[self.i..].starts_with(b"\\u") {
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c).map_or_else(|| self.err("bad surrogate"), Ok);
            }
            return self.err("bad surrogate pair");
        }
        char::from_u32(hi).map_or_else(|| self.err("bad unicode escape"), Ok)
    }

    fn block_string(&mut self) -> Result<Tok<'a>> {
        self.i += 3;
        let mut raw = String::new();
        loop {
            if self.i >= self.bytes.len() {
                return self.err("unterminated block string");
            }
            if self.bytes[self.i..].starts_with(b"\"\"\"") {
                self.i += 3;
                break;
            }
            if self.bytes[self.i..].starts_with(b"\\\"\"\"") {
                raw.push_str("\"\"\"");
                self.i += 4;
                continue;
            }
            let ch = self.src[self.i..].chars().next().unwrap_or('\0');
            if ch == '\n' {
                self.line += 1;
                self.line_start = self.i + 1;
            }
            raw.push(ch);
            self.i += ch.len_utf8();
        }
        Ok(Tok::Str(block_string_value(&raw)))
    }
}

/// The spec's BlockStringValue: strip common indentation and blank first/last lines.
fn block_string_value(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut common: Option<usize> = None;
    for line in lines.iter().skip(1) {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if indent < line.len() {
            common = Some(common.map_or(indent, |c: usize| c.min(indent)));
        }
    }
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            if let Some(c) = common {
                out.push(line.get(c..).unwrap_or(""));
                continue;
            }
        }
        out.push(line);
    }
    while out
        .first()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.remove(0);
    }
    while out
        .last()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.pop();
    }
    out.join("\n")
}
