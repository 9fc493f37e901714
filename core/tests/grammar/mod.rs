//! A structure-aware generator of GraphQL requests for the fuzzer (`core/tests/fuzz_grammar.rs`).
//!
//! Documents are derived from a core `Schema` (its tables, columns, relationships and root field
//! names) and read their choices from a *tape* of numbers (proptest shrinks the tape: shorter
//! tapes and smaller numbers give simpler documents; an exhausted tape reads 0 = the simplest
//! choice, so generation always ends). Besides well-formed queries, mutations and introspection
//! it produces hostile structure: fragment cycles, self-spreads, spreads of unknown fragments,
//! fan-out chains, deep and wide selections, deep `_and`/`_or`/`_not`, directives, conflicting
//! aliases, several operations with an `operationName`, and variables of every JSON shape.
mod inputs;
pub mod schemas;

use graphedge_core::model::{RelKind, Schema};
use graphedge_core::Value;
use std::fmt::Write;

/// One generated request.
#[derive(Debug, Clone)]
pub struct Case {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Vec<(String, Value)>,
}

/// Documents stop growing beyond this many bytes (the parser's limit is 4 MiB).
const MAX_DOC: usize = 64 * 1024;

struct Gen<'a> {
    tape: &'a [u32],
    pos: usize,
    schema: &'a Schema,
    out: String,
    /// Declared fragments: name and the table it is on (`None`: a root or unknown type).
    frags: Vec<(String, Option<usize>)>,
    /// Declared variables (`$v0`…).
    vars: usize,
    /// Selection depth this document aims for, and its selection width.
    depth: usize,
    width: usize,
    /// A clean document makes no deliberate mistakes (no unknown names, wrong types, conflicting
    /// aliases, cycles, variables), so it compiles deep into the SQL generation.
    clean: bool,
    /// The fragment whose body is being generated (clean documents spread only later ones).
    in_fragment: Option<usize>,
    /// Counter for unique aliases.
    uniq: usize,
    /// Relay mode (`/v1beta1/relay`): `<t>_connection` root fields and `node`.
    relay: bool,
}

/// Generates the request of `tape` for `schema` (for the Relay API when `relay`).
pub fn generate(schema: &Schema, relay: bool, tape: &[u32]) -> Case {
    let mut g = Gen {
        tape,
        pos: 0,
        schema,
        out: String::new(),
        frags: vec![],
        vars: 0,
        depth: 3,
        width: 4,
        clean: false,
        in_fragment: None,
        uniq: 0,
        relay,
    };
    g.document()
}

impl Gen<'_> {
    /// A number below `n` (0 when the tape is exhausted).
    fn pick(&mut self, n: usize) -> usize {
        let v = self.tape.get(self.pos).copied().unwrap_or(0) as usize;
        self.pos += 1;
        if n == 0 {
            0
        } else {
            v % n
        }
    }

    /// True with probability `pct`% (false on an exhausted tape).
    fn chance(&mut self, pct: usize) -> bool {
        self.pick(100) >= 100 - pct
    }

    /// True with probability `pct`% in a hostile document, never in a clean one.
    fn bad(&mut self, pct: usize) -> bool {
        !self.clean && self.chance(pct)
    }

    /// A variable reference (`$vN`) with probability `pct`% when variables are declared.
    fn var_ref(&mut self, pct: usize) -> bool {
        if self.vars > 0 && self.bad(pct) {
            let v = self.pick(self.vars);
            write!(self.out, "$v{v}").unwrap();
            return true;
        }
        false
    }

    fn one<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.pick(items.len())]
    }

    fn full(&self) -> bool {
        self.out.len() > MAX_DOC
    }

    fn w(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn document(&mut self) -> Case {
        // The shape of this document: ordinary (most), deep, wide, or both.
        let depth = [3, 3, 3, 6, 20, 63, 64, 65, 70, 140];
        let width = [3, 4, 6, 10, 40, 101, 300];
        self.clean = self.chance(50);
        self.depth = depth[self.pick(depth.len())];
        if self.clean {
            self.depth = self.depth.min(63);
        }
        self.width = width[self.pick(width.len())];
        self.vars = if self.clean { 0 } else { self.pick(6) };
        let nfrags = self.pick(6);
        for i in 0..nfrags {
            let on = if !self.bad(15) {
                Some(self.pick(self.schema.tables.len()))
            } else {
                None
            };
            self.frags.push((format!("F{i}"), on));
        }
        let nops = 1 + self.pick(3) * usize::from(self.bad(20));
        let mut names = vec![];
        for i in 0..nops {
            names.push(self.operation(i));
            self.w("\n");
        }
        for i in 0..nfrags {
            self.fragment(i);
            self.w("\n");
        }
        let fan = self.chance(10);
        if fan {
            self.fan_out();
        }
        let operation_name = match self.pick(5) {
            _ if fan && self.chance(70) => Some("Fan".to_string()),
            _ if self.clean => names[0].clone(),
            0 | 1 => None,
            2 => Some("Nope".to_string()),
            _ => names[self.pick(names.len())].clone(),
        };
        let variables = (0..self.vars + usize::from(self.chance(10)))
            .map(|i| (format!("v{i}"), self.json(0)))
            .collect();
        Case {
            query: std::mem::take(&mut self.out),
            operation_name,
            variables,
        }
    }

    /// One operation; returns its name.
    fn operation(&mut self, i: usize) -> Option<String> {
        let kind = match self.pick(10) {
            0..=5 => "query",
            6..=8 => "mutation",
            _ => "subscription",
        };
        let shorthand = kind == "query" && self.vars == 0 && !self.chance(30);
        let name = (!shorthand && (self.clean || !self.chance(15))).then(|| format!("Op{i}"));
        if !shorthand {
            self.w(kind);
            if let Some(n) = &name {
                let n = n.clone();
                self.w(" ");
                self.w(&n);
            }
            if self.vars > 0 {
                self.w("(");
                for v in 0..self.vars {
                    write!(self.out, "$v{v}: ").unwrap();
                    self.var_type();
                    if self.bad(15) {
                        self.w(" = ");
                        self.literal(self.depth.min(4), false);
                    }
                    self.w(" ");
                }
                self.w(")");
            }
            self.directives();
        }
        self.w(" {");
        let n = 1 + self.pick(self.width.min(8));
        for _ in 0..n {
            if kind == "mutation" {
                self.mutation_field();
            } else {
                self.root_field();
            }
        }
        self.w("}");
        name
    }

    fn var_type(&mut self) {
        let t = self.pick(self.schema.tables.len());
        let table = self.schema.tables[t].gql_name.clone();
        let suffix = [
            "_bool_exp",
            "_order_by",
            "_insert_input",
            "_set_input",
            "_inc_input",
            "_select_column",
            "_pk_columns_input",
            "_on_conflict",
            "_constraint",
            "_update_column",
        ];
        let named = match self.pick(14) {
            0 => "Int".to_string(),
            1 => "String".to_string(),
            2 => "Boolean".to_string(),
            3 => "Float".to_string(),
            4 => "numeric".to_string(),
            5 => "Nope".to_string(),
            6 => "timestamp".to_string(),
            _ => format!("{table}{}", self.one(&suffix)),
        };
        let lists = [0, 0, 0, 1, 1, 2, 150][self.pick(7)];
        for _ in 0..lists {
            self.w("[");
        }
        self.w(&named);
        for _ in 0..lists {
            let c = if self.chance(50) { "!]" } else { "]" };
            self.w(c);
        }
        if self.chance(40) {
            self.w("!");
        }
    }

    fn directives(&mut self) {
        while self.chance(12) {
            if self.clean {
                let d = self.one(&[
                    " @skip(if: false)",
                    " @include(if: true)",
                    " @skip(if: true)",
                ]);
                self.w(d);
                continue;
            }
            match self.pick(6) {
                0 => self.w(" @skip(if: "),
                1 => self.w(" @include(if: "),
                2 => {
                    self.w(" @cached(ttl: 5)");
                    continue;
                }
                3 => {
                    self.w(" @skip");
                    continue;
                }
                _ => {
                    let d = if self.chance(50) {
                        " @include(if: "
                    } else {
                        " @skip(if: "
                    };
                    self.w(d)
                }
            }
            match self.pick(5) {
                0 => self.w("true"),
                1 => self.w("false"),
                2 if self.vars > 0 => {
                    let v = self.pick(self.vars);
                    write!(self.out, "$v{v}").unwrap();
                }
                _ => self.literal(1, false),
            }
            self.w(")");
        }
    }

    /// An alias for a field with arguments or a selection: clean documents give each a unique
    /// one, so fields with different arguments never conflict.
    fn alias_args(&mut self) {
        if self.clean {
            self.uniq += 1;
            write!(self.out, "u{}: ", self.uniq).unwrap();
        } else {
            self.alias();
        }
    }

    fn alias(&mut self) {
        if self.clean {
            if self.chance(30) {
                self.uniq += 1;
                write!(self.out, "u{}: ", self.uniq).unwrap();
            }
            return;
        }
        match self.pick(12) {
            0 => self.w("a: "),
            1 => self.w("b: "),
            2 => {
                let n = self.pick(1000);
                write!(self.out, "x{n}: ").unwrap();
            }
            _ => {}
        }
    }

    fn root_field(&mut self) {
        self.w(" ");
        if self.full() {
            self.w("__typename");
            return;
        }
        let t = self.pick(self.schema.tables.len());
        let table = &self.schema.tables[t];
        let (select, by_pk, agg) = (
            table.root_fields.select.clone(),
            table.root_fields.select_by_pk.clone(),
            table.root_fields.select_aggregate.clone(),
        );
        let choice = self.pick(if self.clean { 13 } else { 16 });
        match choice {
            0..=7 if self.relay => {
                self.alias_args();
                write!(self.out, "{select}_connection").unwrap();
                self.connection(t, 1);
            }
            8 | 9 if self.relay => {
                self.alias_args();
                let id = self.one(&[
                    "\"WzEsICJwdWJsaWMiLCAiYWxidW0iLCAxXQ==\"",
                    "\"WzEsInB1YmxpYyIsImF1dGhvciIsMV0=\"",
                    "\"WzEsICJwdWJsaWMiLCAiYWxidW0iXQ==\"",
                    "\"bm9wZQ\"",
                    "\"\"",
                    "1",
                ]);
                write!(
                    self.out,
                    "node(id: {id}) {{ id __typename ... on {} ",
                    self.schema.tables[t].gql_name
                )
                .unwrap();
                self.selection(t, 2);
                self.w("}");
            }
            0..=5 => {
                self.alias_args();
                self.w(&select);
                self.list_args(t);
                self.directives();
                self.selection(t, 1);
            }
            6 | 7 => {
                self.alias_args();
                self.w(&by_pk);
                self.pk_args(t);
                self.directives();
                self.selection(t, 1);
            }
            8 | 9 => {
                self.alias_args();
                self.w(&agg);
                self.list_args(t);
                self.aggregate_body(t, 1);
            }
            10 => {
                self.w("__typename");
                self.directives();
            }
            11 => {
                self.alias_args();
                self.w("__schema");
                self.intro(Intro::Schema, 1);
            }
            12 => {
                self.alias_args();
                self.w("__type(name: ");
                let name = match self.pick(4) {
                    0 => format!("\"{select}\""),
                    1 => "\"query_root\"".into(),
                    2 => format!("\"{select}_bool_exp\""),
                    _ => "\"Nope\"".into(),
                };
                self.w(&name);
                self.w(")");
                self.intro(Intro::Type, 1);
            }
            13 => self.spread(None, 1),
            14 => {
                self.w("... on query_root");
                self.directives();
                self.w(" {");
                self.root_field();
                self.w("}");
            }
            _ => {
                let u = self.one_of_unknown();
                self.w(u)
            }
        }
    }

    fn one_of_unknown(&mut self) -> &'static str {
        ["nope", "nope { id }", "nope(x: 1)", "__nope"][self.pick(4)]
    }

    /// A selection set on table `t` at selection depth `depth`.
    fn selection(&mut self, t: usize, depth: usize) {
        self.w(" {");
        let n = 1 + self.pick(self.width);
        for _ in 0..n {
            if self.full() {
                break;
            }
            self.field(t, depth);
        }
        self.w("}");
    }

    fn field(&mut self, t: usize, depth: usize) {
        self.w(" ");
        let table = &self.schema.tables[t];
        let deeper = depth < self.depth;
        let rels = table.relationships.len();
        // Deep documents mostly follow relationships so they reach their depth.
        let follow = deeper && rels > 0 && self.depth > 6 && self.chance(60);
        let choice = if follow {
            4
        } else {
            self.pick(if self.clean { 10 } else { 16 })
        };
        match choice {
            4..=6 if deeper && rels > 0 => {
                let r = &table.relationships[self.pick(rels)];
                let (name, kind, target) = (r.name.clone(), r.kind, r.target);
                self.alias_args();
                if kind == RelKind::Array && self.chance(25) {
                    write!(self.out, "{name}_aggregate").unwrap();
                    self.list_args(target);
                    self.aggregate_body(target, depth + 1);
                } else if kind == RelKind::Array && self.relay && self.chance(50) {
                    write!(self.out, "{name}_connection").unwrap();
                    self.connection(target, depth + 1);
                } else {
                    self.w(&name);
                    if kind == RelKind::Array {
                        self.list_args(target);
                    }
                    self.directives();
                    self.selection(target, depth + 1);
                }
            }
            7 if !self.frags.is_empty() || !self.clean => self.spread(Some(t), depth),
            8 if deeper => {
                let on = self.pick(if self.clean { 3 } else { 4 });
                self.w("...");
                if on > 0 {
                    let name = if on == 3 {
                        "Nope".to_string()
                    } else {
                        self.schema.tables[t].gql_name.clone()
                    };
                    write!(self.out, " on {name}").unwrap();
                }
                self.directives();
                self.selection(t, depth + 1);
            }
            9 => {
                self.alias();
                self.w("__typename");
            }
            10 => {
                let u = self.one_of_unknown();
                self.w(u);
            }
            _ => {
                let table = &self.schema.tables[t];
                let name = table.columns[self.pick(table.columns.len())]
                    .gql_name
                    .clone();
                self.alias();
                self.w(&name);
                if self.bad(5) {
                    {
                        let x = self.one(&["(path: \"$.a\")", "(x: 1)", " { id }"]);
                        self.w(x)
                    };
                }
                self.directives();
            }
        }
    }

    /// `...Name`: a declared fragment (in a hostile document any, so cycles and self-spreads;
    /// in a clean one a later fragment on the same table) or an unknown one.
    fn spread(&mut self, on: Option<usize>, _depth: usize) {
        if self.clean {
            let after = self.in_fragment.map_or(0, |i| i + 1);
            let fits: Vec<usize> = (after..self.frags.len())
                .filter(|&i| self.frags[i].1.is_some() && self.frags[i].1 == on)
                .collect();
            if fits.is_empty() {
                self.w("__typename");
                return;
            }
            let i = fits[self.pick(fits.len())];
            let name = self.frags[i].0.clone();
            write!(self.out, "...{name}").unwrap();
            return self.directives();
        }
        self.w("...");
        if self.frags.is_empty() || self.chance(10) {
            self.w("Unknown");
        } else {
            let i = self.pick(self.frags.len());
            let name = self.frags[i].0.clone();
            self.w(&name);
        }
        self.directives();
    }

    fn fragment(&mut self, i: usize) {
        let (name, on) = self.frags[i].clone();
        let ty = match on {
            Some(t) => self.schema.tables[t].gql_name.clone(),
            None => self
                .one(&["query_root", "Nope", "mutation_root"])
                .to_string(),
        };
        write!(self.out, "fragment {name} on {ty}").unwrap();
        self.in_fragment = Some(i);
        self.directives();
        match on {
            Some(t) => {
                // Fragment bodies spread fragments often: cycles and self-spreads.
                self.w(" {");
                let n = 1 + self.pick(self.width.min(8));
                for _ in 0..n {
                    if self.chance(30) {
                        self.w(" ");
                        self.spread(Some(t), 1);
                    } else {
                        self.field(t, 1);
                    }
                }
                self.w("}");
            }
            None => {
                self.w(" {");
                self.root_field();
                self.w("}");
            }
        }
        self.in_fragment = None;
    }

    /// A chain of fragments each using the next one `k` times (through aliased relationship
    /// fields, so merging cannot collapse them): `k^len` fields once expanded.
    fn fan_out(&mut self) {
        let len = [4, 10, 20, 40][self.pick(4)];
        let k = 2 + self.pick(9);
        let base = self.frags.len();
        let t = self.pick(self.schema.tables.len());
        let table = &self.schema.tables[t];
        let name = table.gql_name.clone();
        let col = table.columns[0].gql_name.clone();
        // A self-relationship path back to `t`: an object relationship's target's array
        // relationship back (album.artist.albums), else plain repeated spreads.
        let mut via = None;
        for r in &table.relationships {
            let target = &self.schema.tables[r.target];
            if let Some(back) = target.relationships.iter().find(|b| b.target == t) {
                via = Some((r.name.clone(), back.name.clone()));
                break;
            }
        }
        for i in 0..len {
            write!(self.out, "fragment X{} on {name} {{ {col}", base + i).unwrap();
            if i + 1 < len {
                for j in 0..k {
                    match &via {
                        Some((a, b)) if self.chance(80) => write!(
                            self.out,
                            " a{j}: {a} {{ b{j}: {b} {{ ...X{} }} }}",
                            base + i + 1
                        )
                        .unwrap(),
                        _ => write!(self.out, " ...X{}", base + i + 1).unwrap(),
                    }
                }
            }
            self.w(" }\n");
        }
        // The operation that expands it.
        let root = self.schema.tables[t].root_fields.select.clone();
        writeln!(self.out, "query Fan {{ {root} {{ ...X{base} }} }}").unwrap();
    }

    /// A Relay connection's arguments and body.
    fn connection(&mut self, t: usize, depth: usize) {
        if self.chance(50) {
            self.w("(");
            let n = 1 + self.pick(3);
            for _ in 0..n {
                let arg = self.one(&["first", "last", "after", "before", "where", "order_by"]);
                write!(self.out, "{arg}: ").unwrap();
                match arg {
                    "first" | "last" => self.number(),
                    "where" => self.boolexp(t, 0),
                    "order_by" => self.order_by(t, 0),
                    _ => {
                        let c =
                            self.one(&["\"eyJpZCIgOiAxfQ==\"", "\"e30=\"", "\"garbage\"", "\"\""]);
                        self.w(c);
                    }
                }
                self.w(" ");
            }
            self.w(")");
        }
        self.directives();
        self.w(" { edges { cursor node");
        self.selection(t, depth);
        self.w(" }");
        if self.chance(50) {
            self.w(" pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }");
        }
        self.w(" }");
    }

    fn aggregate_body(&mut self, t: usize, depth: usize) {
        self.w(" {");
        if self.chance(80) {
            self.w(" aggregate {");
            let n = 1 + self.pick(4);
            for _ in 0..n {
                self.w(" ");
                self.alias_args();
                match self.pick(9) {
                    0 => self.w("count"),
                    1 => {
                        self.w("count(columns: [");
                        self.columns(t);
                        self.w("], distinct: true)");
                    }
                    2 if !self.clean => self.w("count(columns: nope)"),
                    _ => {
                        let fs = [
                            "max", "min", "sum", "avg", "stddev", "variance", "var_pop", "nope",
                        ];
                        let f = if self.clean {
                            self.one(&fs[..7])
                        } else {
                            self.one(&fs)
                        };
                        write!(self.out, "{f} {{ ").unwrap();
                        if self.clean && !matches!(f, "max" | "min") {
                            // Numeric columns only.
                            let cols: Vec<String> = self.schema.tables[t]
                                .columns
                                .iter()
                                .filter(|c| c.pg_type.is_numeric())
                                .map(|c| c.gql_name.clone())
                                .collect();
                            let k = self.pick(cols.len() + 1);
                            for c in cols.iter().take(k) {
                                write!(self.out, "{c} ").unwrap();
                            }
                        } else {
                            self.columns(t);
                        }
                        self.w("__typename }");
                    }
                }
            }
            self.w("}");
        }
        if self.chance(60) {
            self.w(" nodes");
            self.selection(t, depth);
        }
        if self.chance(10) || self.out.ends_with('{') {
            self.w(" __typename");
        }
        self.w("}");
    }

    fn intro(&mut self, what: Intro, depth: usize) {
        self.w(" {");
        let fields: &[&str] = match what {
            Intro::Schema => &[
                "queryType",
                "mutationType",
                "subscriptionType",
                "types",
                "directives",
                "description",
            ],
            Intro::Type => &[
                "name",
                "kind",
                "description",
                "fields",
                "inputFields",
                "interfaces",
                "enumValues",
                "possibleTypes",
                "ofType",
                "specifiedByURL",
            ],
            Intro::Field => &[
                "name",
                "description",
                "args",
                "type",
                "isDeprecated",
                "deprecationReason",
            ],
            Intro::Input => &["name", "description", "type", "defaultValue"],
            Intro::Directive => &["name", "description", "locations", "args", "isRepeatable"],
        };
        let n = 1 + self.pick(fields.len().min(self.width));
        for _ in 0..n {
            if self.full() {
                break;
            }
            let f = fields[self.pick(fields.len())];
            self.w(" ");
            self.alias();
            self.w(f);
            let sub = match f {
                "queryType" | "mutationType" | "subscriptionType" | "types" | "interfaces"
                | "possibleTypes" | "ofType" | "type" => Some(Intro::Type),
                "fields" => Some(Intro::Field),
                "inputFields" | "args" => Some(Intro::Input),
                "directives" => Some(Intro::Directive),
                "enumValues" => Some(Intro::Field),
                _ => None,
            };
            if f == "fields" && self.chance(30) {
                self.w("(includeDeprecated: true)");
            }
            if let Some(sub) = sub {
                if depth < self.depth.max(8) {
                    self.intro(sub, depth + 1);
                } else {
                    self.w(" { __typename }");
                }
            }
        }
        if self.bad(10) {
            self.w(" ...Unknown");
        }
        self.w("}");
    }
}

#[derive(Clone, Copy)]
enum Intro {
    Schema,
    Type,
    Field,
    Input,
    Directive,
}
