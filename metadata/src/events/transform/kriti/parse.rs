//! Kriti's grammar: a recursive-descent parser of the lexed template.
use super::lex::{lex, Tok, Token};
use super::{KritiError, Pos, Span};
use serde_json::Number;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    In,
    Default,
}

/// A Kriti expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Str(String, Span),
    /// A string with interpolations: its pieces are `Str`s and expressions.
    StrTem(Vec<Expr>, Span),
    Num(Number, Span),
    Bool(bool, Span),
    Null(Span),
    Array(Vec<Expr>, Span),
    Object(Vec<(Expr, Expr)>, Span),
    Var(String, Span),
    Field {
        obj: Box<Expr>,
        key: Box<Expr>,
        optional: bool,
        span: Span,
    },
    App(Box<Expr>, Box<Expr>, Span),
    Bin(Op, Box<Expr>, Box<Expr>, Span),
    /// `if` / `elif` branches and the `else`.
    If(Vec<(Expr, Expr)>, Option<Box<Expr>>, Span),
    Range {
        index: Option<String>,
        binder: String,
        list: Box<Expr>,
        body: Box<Expr>,
        span: Span,
    },
}

impl Expr {
    pub(super) fn span(&self) -> Span {
        match self {
            Expr::Str(_, s)
            | Expr::StrTem(_, s)
            | Expr::Num(_, s)
            | Expr::Bool(_, s)
            | Expr::Null(s)
            | Expr::Array(_, s)
            | Expr::Object(_, s)
            | Expr::Var(_, s)
            | Expr::App(_, _, s)
            | Expr::Bin(_, _, _, s)
            | Expr::If(_, _, s) => *s,
            Expr::Field { span, .. } | Expr::Range { span, .. } => *span,
        }
    }
}

/// Identifiers that are syntax, not variables.
fn reserved(s: &str) -> bool {
    matches!(s, "if" | "elif" | "else" | "end" | "range" | "in")
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    last: Span,
}

type PResult<T> = Result<T, KritiError>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.i + k).map(|t| &t.tok)
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn fail<T>(&self) -> PResult<T> {
        Err(match self.toks.get(self.i).filter(|t| !t.text.is_empty()) {
            Some(t) => KritiError::new(
                "Parse Error",
                format!("Unexpected token '{}'.", t.text),
                self.last,
            ),
            None => KritiError::new("Parse Error", "Unexpected end of input.", self.last),
        })
    }

    fn bump(&mut self) -> Token {
        self.i += 1;
        self.toks[self.i - 1].clone()
    }

    fn expect_sym(&mut self, s: &str) -> PResult<Span> {
        if self.is_sym(s) {
            Ok(self.bump().span)
        } else {
            self.fail()
        }
    }

    fn expect_keyword(&mut self, k: &str) -> PResult<Span> {
        if matches!(self.peek(), Some(Tok::Ident(x)) if x == k) {
            Ok(self.bump().span)
        } else {
            self.fail()
        }
    }

    fn ident(&mut self) -> PResult<(String, Span)> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                Ok((s, self.bump().span))
            }
            _ => self.fail(),
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.binary(0)
    }

    /// Binary operators by precedence level: `||`, `&&`, comparisons (non-associative), `??`.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        if level == 4 {
            return self.apps();
        }
        let mut lhs = self.binary(level + 1)?;
        loop {
            let op = match (level, self.peek()) {
                (0, Some(Tok::Sym("||"))) => Op::Or,
                (1, Some(Tok::Sym("&&"))) => Op::And,
                (2, Some(Tok::Sym("=="))) => Op::Eq,
                (2, Some(Tok::Sym("!="))) => Op::Ne,
                (2, Some(Tok::Sym(">"))) => Op::Gt,
                (2, Some(Tok::Sym("<"))) => Op::Lt,
                (2, Some(Tok::Sym(">="))) => Op::Ge,
                (2, Some(Tok::Sym("<="))) => Op::Le,
                (2, Some(Tok::Ident(s))) if s == "in" => Op::In,
                (3, Some(Tok::Sym("??"))) => Op::Default,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.binary(level + 1)?;
            let span = lhs.span().to(rhs.span());
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs), span);
            if level == 2 {
                return Ok(lhs);
            }
        }
    }

    /// Whether the next token starts an atom (so continues an application).
    fn atom_starts(&self) -> bool {
        match self.peek() {
            Some(Tok::Ident(s)) => !reserved(s),
            Some(Tok::Num(_) | Tok::Bool(_) | Tok::StrBegin) => true,
            Some(Tok::Sym("[" | "{" | "(")) => true,
            Some(Tok::Sym("{{")) => {
                !matches!(self.peek_at(1), Some(Tok::Ident(k)) if matches!(k.as_str(), "end" | "else" | "elif"))
            }
            _ => false,
        }
    }

    /// Function application by juxtaposition: `f x`.
    fn apps(&mut self) -> PResult<Expr> {
        let mut f = self.postfix()?;
        while self.atom_starts() {
            let arg = self.postfix()?;
            let span = f.span().to(arg.span());
            f = Expr::App(Box::new(f), Box::new(arg), span);
        }
        Ok(f)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.atom()?;
        loop {
            let optional = self.is_sym("?");
            let (key, end) = match self.peek_at(usize::from(optional)) {
                Some(Tok::Sym(".")) => {
                    self.i += 1 + usize::from(optional);
                    let (name, span) = self.ident()?;
                    (Expr::Str(name, span), span)
                }
                Some(Tok::Sym("[")) => {
                    self.i += 1 + usize::from(optional);
                    let key = if matches!(self.peek(), Some(Tok::Quote)) {
                        let open = self.bump().span;
                        self.text_pieces(open, |t| matches!(t, Tok::Quote))?
                    } else {
                        self.expr()?
                    };
                    (key, self.expect_sym("]")?)
                }
                _ if optional => return self.fail(),
                _ => return Ok(e),
            };
            let span = e.span().to(end);
            e = Expr::Field {
                obj: Box::new(e),
                key: Box::new(key),
                optional,
                span,
            };
        }
    }

    /// String pieces up to the closing token (`close`), which is consumed.
    fn text_pieces(&mut self, open: Span, close: impl Fn(&Tok) -> bool) -> PResult<Expr> {
        let mut pieces: Vec<Expr> = Vec::new();
        loop {
            match self.peek() {
                Some(t) if close(t) => break,
                Some(Tok::Text(s)) => {
                    let s = s.clone();
                    let span = self.bump().span;
                    match pieces.last_mut() {
                        Some(Expr::Str(prev, ps)) => {
                            prev.push_str(&s);
                            *ps = ps.to(span);
                        }
                        _ => pieces.push(Expr::Str(s, span)),
                    }
                }
                Some(Tok::Sym("{{")) => {
                    self.bump();
                    pieces.push(self.expr()?);
                    self.expect_sym("}}")?;
                }
                _ => return self.fail(),
            }
        }
        let span = open.to(self.bump().span);
        Ok(match pieces.as_slice() {
            [] => Expr::Str(String::new(), span),
            [Expr::Str(s, _)] => Expr::Str(s.clone(), span),
            _ => Expr::StrTem(pieces, span),
        })
    }

    fn atom(&mut self) -> PResult<Expr> {
        let Some(tok) = self.peek().cloned() else {
            return self.fail();
        };
        match tok {
            Tok::Ident(s) if s == "null" => Ok(Expr::Null(self.bump().span)),
            Tok::Ident(s) if !reserved(&s) => Ok(Expr::Var(s, self.bump().span)),
            Tok::Num(n) => Ok(Expr::Num(n, self.bump().span)),
            Tok::Bool(b) => Ok(Expr::Bool(b, self.bump().span)),
            Tok::StrBegin => {
                let open = self.bump().span;
                self.text_pieces(open, |t| matches!(t, Tok::StrEnd))
            }
            Tok::Sym("[") => {
                let open = self.bump().span;
                let mut items = Vec::new();
                if !self.is_sym("]") {
                    loop {
                        items.push(self.expr()?);
                        if !self.is_sym(",") {
                            break;
                        }
                        self.bump();
                    }
                }
                let close = self.expect_sym("]")?;
                Ok(Expr::Array(items, open.to(close)))
            }
            Tok::Sym("{") => {
                let open = self.bump().span;
                let mut fields = Vec::new();
                if !self.is_sym("}") {
                    loop {
                        if !matches!(self.peek(), Some(Tok::StrBegin)) {
                            return self.fail();
                        }
                        let key_open = self.bump().span;
                        let key = self.text_pieces(key_open, |t| matches!(t, Tok::StrEnd))?;
                        self.expect_sym(":")?;
                        fields.push((key, self.expr()?));
                        if !self.is_sym(",") {
                            break;
                        }
                        self.bump();
                    }
                }
                let close = self.expect_sym("}")?;
                Ok(Expr::Object(fields, open.to(close)))
            }
            Tok::Sym("(") => {
                self.bump();
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym("{{") => match self.peek_at(1) {
                Some(Tok::Ident(k)) if k == "if" => self.if_block(),
                Some(Tok::Ident(k)) if k == "range" => self.range_block(),
                _ => {
                    self.bump();
                    let e = self.expr()?;
                    self.expect_sym("}}")?;
                    Ok(e)
                }
            },
            _ => self.fail(),
        }
    }

    fn if_block(&mut self) -> PResult<Expr> {
        let open = self.bump().span;
        self.bump(); // if
        let mut branches = Vec::new();
        let mut otherwise = None;
        let mut cond = self.expr()?;
        loop {
            self.expect_sym("}}")?;
            let body = self.expr()?;
            branches.push((cond, body));
            self.expect_sym("{{")?;
            match self.peek() {
                Some(Tok::Ident(k)) if k == "elif" => {
                    self.bump();
                    cond = self.expr()?;
                }
                Some(Tok::Ident(k)) if k == "else" => {
                    self.bump();
                    self.expect_sym("}}")?;
                    otherwise = Some(Box::new(self.expr()?));
                    self.expect_sym("{{")?;
                    self.expect_keyword("end")?;
                    break;
                }
                Some(Tok::Ident(k)) if k == "end" => {
                    self.bump();
                    break;
                }
                _ => return self.fail(),
            }
        }
        let close = self.expect_sym("}}")?;
        Ok(Expr::If(branches, otherwise, open.to(close)))
    }

    fn range_block(&mut self) -> PResult<Expr> {
        let open = self.bump().span;
        self.bump(); // range
        let index = if self.is_sym("_") {
            self.bump();
            None
        } else {
            Some(self.ident()?.0)
        };
        self.expect_sym(",")?;
        let (binder, _) = self.ident()?;
        self.expect_sym(":=")?;
        let list = self.expr()?;
        self.expect_sym("}}")?;
        let body = self.expr()?;
        self.expect_sym("{{")?;
        self.expect_keyword("end")?;
        let close = self.expect_sym("}}")?;
        Ok(Expr::Range {
            index,
            binder,
            list: Box::new(list),
            body: Box::new(body),
            span: open.to(close),
        })
    }
}

/// Parses a template: a Kriti term (`interp` false: a body) or the inside of a string literal
/// (`interp`: a URL, header, query parameter or form field).
pub fn parse(src: &str, interp: bool) -> Result<Expr, KritiError> {
    let (toks, last) = lex(src, interp)?;
    let mut p = Parser { toks, i: 0, last };
    if interp {
        let open = Span {
            start: Pos { line: 0, col: 1 },
            end: Pos { line: 0, col: 2 },
        };
        // The pieces run to the end: a virtual closing token.
        p.toks.push(Token {
            tok: Tok::StrEnd,
            span: Span {
                start: last.end,
                end: last.end,
            },
            text: String::new(),
        });
        let e = p.text_pieces(open, |t| matches!(t, Tok::StrEnd))?;
        if p.i < p.toks.len() {
            return p.fail();
        }
        return Ok(e);
    }
    let e = p.expr()?;
    if p.i < p.toks.len() {
        return p.fail();
    }
    Ok(e)
}
