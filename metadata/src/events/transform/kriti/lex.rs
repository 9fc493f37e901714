//! Kriti's lexer: tokens with their spans, in Kriti's lexer modes.
use super::{KritiError, Pos, Span};
use serde_json::Number;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Num(Number),
    Bool(bool),
    StrBegin,
    StrEnd,
    /// Text of a string or single-quoted literal.
    Text(String),
    Quote,
    Sym(&'static str),
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) span: Span,
    /// The source text (for "Unexpected token").
    pub(super) text: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Outside `{{ }}`: `}}` is two `}`.
    Top,
    /// Inside `{{ }}`.
    Expr,
    /// Inside a double-quoted string.
    Str,
    /// Inside a single-quoted literal (`['key']`).
    Lit,
    /// The base of an interpolation template: a string without quotes.
    Interp,
}

const SYMBOLS: [&str; 22] = [
    "==", "!=", ">=", "<=", "&&", "||", ":=", "??", ":", ".", ",", ">", "<", "_", "{", "}", "[",
    "]", "(", ")", "?", "$",
];

struct Lexer {
    chars: Vec<char>,
    i: usize,
    pos: Pos,
    modes: Vec<Mode>,
    /// The span of the last lexeme (tokens, whitespace and comments alike).
    last: Span,
    tokens: Vec<Token>,
}

fn is_ident_char(c: char) -> bool {
    c == '$' || c == '_' || c == '-' || c.is_ascii_alphanumeric()
}

impl Lexer {
    fn starts(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| self.chars.get(self.i + k) == Some(&c))
    }

    /// Consumes `n` characters: their span and text.
    fn take(&mut self, n: usize) -> (Span, String) {
        let start = self.pos;
        let text: String = self.chars[self.i..self.i + n].iter().collect();
        for &c in &self.chars[self.i..self.i + n] {
            if c == '\n' {
                self.pos.line += 1;
                self.pos.col = 1;
            } else {
                self.pos.col += 1;
            }
        }
        self.i += n;
        let span = Span {
            start,
            end: self.pos,
        };
        self.last = span;
        (span, text)
    }

    fn emit(&mut self, n: usize, tok: Tok) {
        let (span, text) = self.take(n);
        self.tokens.push(Token { tok, span, text });
    }

    /// Length of the run from `self.i` while `f` holds.
    fn run(&self, f: impl Fn(char) -> bool) -> usize {
        self.chars[self.i..].iter().take_while(|&&c| f(c)).count()
    }

    /// The longest number at `self.i`: Kriti's integer (`-?[0-9]+`) or decimal
    /// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) lexeme.
    fn number_len(&self) -> usize {
        let c = &self.chars[self.i..];
        let digits = |from: usize| c[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let sign = usize::from(c.first() == Some(&'-'));
        let int = sign + digits(sign);
        let mut dec = sign;
        match c.get(dec) {
            Some('0') => dec += 1,
            Some(d) if d.is_ascii_digit() => dec += digits(dec),
            _ => return int,
        }
        if c.get(dec) == Some(&'.') && digits(dec + 1) > 0 {
            dec += 1 + digits(dec + 1);
        }
        if matches!(c.get(dec), Some('e' | 'E')) {
            let s = dec + 1 + usize::from(matches!(c.get(dec + 1), Some('+' | '-')));
            if digits(s) > 0 {
                dec = s + digits(s);
            }
        }
        int.max(dec)
    }

    fn error(&self) -> KritiError {
        let rest: String = self.chars[self.i..]
            .iter()
            .take_while(|&&c| c != '\n')
            .collect();
        let mut end = self.pos;
        end.col += rest.chars().count();
        KritiError::new(
            "Lex Error",
            format!("Invalid Lexeme: '{rest}'"),
            Span {
                start: self.pos,
                end,
            },
        )
    }

    fn lex_code(&mut self, mode: Mode) -> Result<(), KritiError> {
        let c = self.chars[self.i];
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
            let n = self.run(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'));
            self.take(n);
        } else if c == '#' {
            let n = self.run(|c| c != '\n');
            self.take(n);
        } else if mode == Mode::Expr && self.starts("}}") {
            self.modes.pop();
            self.emit(2, Tok::Sym("}}"));
        } else if self.starts("{{") {
            self.modes.push(Mode::Expr);
            self.emit(2, Tok::Sym("{{"));
        } else if c == '"' {
            self.modes.push(Mode::Str);
            self.emit(1, Tok::StrBegin);
        } else if c == '\'' && mode == Mode::Expr {
            self.modes.push(Mode::Lit);
            self.emit(1, Tok::Quote);
        } else if c.is_ascii_alphabetic()
            || (c == '$'
                && self
                    .chars
                    .get(self.i + 1)
                    .is_some_and(char::is_ascii_alphabetic))
        {
            let n = 1 + self.chars[self.i + 1..]
                .iter()
                .take_while(|&&c| is_ident_char(c))
                .count();
            let text: String = self.chars[self.i..self.i + n].iter().collect();
            let tok = match text.as_str() {
                "true" => Tok::Bool(true),
                "false" => Tok::Bool(false),
                _ => Tok::Ident(text),
            };
            self.emit(n, tok);
        } else if c.is_ascii_digit()
            || (c == '-' && self.chars.get(self.i + 1).is_some_and(char::is_ascii_digit))
        {
            let n = self.number_len();
            let text: String = self.chars[self.i..self.i + n].iter().collect();
            let num = text
                .parse::<i64>()
                .map(Number::from)
                .ok()
                .or_else(|| text.parse::<u64>().ok().map(Number::from))
                .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
                .ok_or_else(|| self.error())?;
            self.emit(n, Tok::Num(num));
        } else if let Some(s) = SYMBOLS.iter().find(|s| self.starts(s)) {
            let tok = if *s == "$" {
                Tok::Ident("$".into())
            } else {
                Tok::Sym(s)
            };
            self.emit(s.len(), tok);
        } else {
            return Err(self.error());
        }
        Ok(())
    }

    fn lex_text(&mut self, mode: Mode) {
        let quote = match mode {
            Mode::Str => Some('"'),
            Mode::Lit => Some('\''),
            _ => None,
        };
        if self.starts("{{") {
            self.modes.push(Mode::Expr);
            self.emit(2, Tok::Sym("{{"));
        } else if quote == Some(self.chars[self.i]) {
            self.modes.pop();
            self.emit(
                1,
                if mode == Mode::Str {
                    Tok::StrEnd
                } else {
                    Tok::Quote
                },
            );
        } else if self.chars[self.i] == '{' {
            self.emit(1, Tok::Text("{".into()));
        } else {
            // A run of text; in a string, a backslash escapes the next character.
            let mut n = 0;
            while let Some(&c) = self.chars.get(self.i + n) {
                if c == '{' || Some(c) == quote {
                    break;
                }
                n += if c == '\\' && mode == Mode::Str && self.i + n + 1 < self.chars.len() {
                    2
                } else {
                    1
                };
            }
            let raw: String = self.chars[self.i..self.i + n].iter().collect();
            let text = if mode == Mode::Str {
                unescape(&raw)
            } else {
                raw
            };
            self.emit(n, Tok::Text(text));
        }
    }
}

/// JSON's string escapes; any other backslash stays.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            Some(e @ ('"' | '\\' | '/')) => {
                it.next();
                out.push(e);
            }
            Some('b') => {
                it.next();
                out.push('\u{8}');
            }
            Some('f') => {
                it.next();
                out.push('\u{c}');
            }
            Some('n') => {
                it.next();
                out.push('\n');
            }
            Some('r') => {
                it.next();
                out.push('\r');
            }
            Some('t') => {
                it.next();
                out.push('\t');
            }
            Some('u') => {
                let hex: String = it.clone().skip(1).take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        for _ in 0..5 {
                            it.next();
                        }
                        out.push(ch);
                    }
                    _ => out.push('\\'),
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// The tokens of `src` and the span of its last lexeme. `interp`: an interpolation template
/// (the inside of a string literal, placed as if after an opening quote).
pub(super) fn lex(src: &str, interp: bool) -> Result<(Vec<Token>, Span), KritiError> {
    let start = Pos {
        line: 0,
        col: if interp { 2 } else { 1 },
    };
    let mut lx = Lexer {
        chars: src.chars().collect(),
        i: 0,
        pos: start,
        modes: vec![if interp { Mode::Interp } else { Mode::Top }],
        last: Span { start, end: start },
        tokens: Vec::new(),
    };
    while lx.i < lx.chars.len() {
        let mode = *lx.modes.last().unwrap_or(&Mode::Top);
        match mode {
            Mode::Top | Mode::Expr => lx.lex_code(mode)?,
            Mode::Str | Mode::Lit | Mode::Interp => lx.lex_text(mode),
        }
        if lx.modes.is_empty() {
            lx.modes.push(Mode::Top);
        }
    }
    Ok((lx.tokens, lx.last))
}
