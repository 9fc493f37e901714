//! Arguments and values of generated documents: mutation fields and their inputs, `where`,
//! `order_by`, `limit`/`offset`/`distinct_on`, literals of every type, and variables' JSON.
use super::Gen;
use graphedge_core::model::{PgType, RelKind, Table};
use graphedge_core::Value;
use std::fmt::Write;

impl Gen<'_> {
    pub(super) fn mutation_field(&mut self) {
        self.w(" ");
        if self.full() {
            self.w("__typename");
            return;
        }
        let t = self.pick(self.schema.tables.len());
        let rf = self.schema.tables[t].root_fields.clone();
        self.alias_args();
        match self.pick(9) {
            0 => {
                self.w(&rf.insert);
                self.w("(objects: ");
                if !self.bad(20) {
                    self.w("[");
                    let n = 1 + self.pick(3);
                    for _ in 0..n {
                        self.insert_object(t, 0);
                    }
                    self.w("]");
                } else {
                    self.value_any(2);
                }
                self.on_conflict(t);
                self.w(")");
                self.returning(t);
            }
            1 => {
                self.w(&rf.insert_one);
                self.w("(object: ");
                self.insert_object(t, 0);
                self.on_conflict(t);
                self.w(")");
                self.directives();
                self.selection(t, 1);
            }
            2 => {
                self.w(&rf.update);
                self.w("(where: ");
                self.boolexp(t, 0);
                self.set_args(t);
                self.w(")");
                self.returning(t);
            }
            3 => {
                self.w(&rf.update_by_pk);
                self.w("(pk_columns: ");
                self.w("{");
                self.pk_pairs(t);
                self.w("}");
                self.set_args(t);
                self.w(")");
                self.selection(t, 1);
            }
            4 => {
                self.w(&rf.update_many);
                self.w("(updates: [");
                let n = 1 + self.pick(3);
                for _ in 0..n {
                    self.w("{where: ");
                    self.boolexp(t, 0);
                    self.set_args(t);
                    self.w("}");
                }
                self.w("])");
                self.returning(t);
            }
            5 => {
                self.w(&rf.delete);
                self.w("(where: ");
                self.boolexp(t, 0);
                self.w(")");
                self.returning(t);
            }
            6 => {
                self.w(&rf.delete_by_pk);
                self.pk_args(t);
                self.selection(t, 1);
            }
            7 => self.w("__typename"),
            _ => self.w("__typename"),
        }
    }

    pub(super) fn returning(&mut self, t: usize) {
        self.w(" {");
        if self.chance(70) {
            self.w(" affected_rows");
        }
        self.w(" returning");
        self.selection(t, 1);
        self.w("}");
    }

    /// `n` columns of table `t` (`start`, `start + 1`, …: distinct while `n` ≤ the columns).
    pub(super) fn column_run(&mut self, t: usize, n: usize) -> Vec<(String, PgType)> {
        let cols = &self.schema.tables[t].columns;
        let start = self.pick(cols.len());
        let n = if self.clean { n.min(cols.len()) } else { n };
        (0..n)
            .map(|i| {
                let c = &cols[(start + i) % cols.len()];
                (c.gql_name.clone(), c.pg_type.clone())
            })
            .collect()
    }

    pub(super) fn insert_object(&mut self, t: usize, depth: usize) {
        self.w("{");
        let n = 1 + self.pick(4);
        let mut rels: Vec<usize> = vec![];
        for (name, ty) in self.column_run(t, n) {
            let table = &self.schema.tables[t];
            let nrels = table.relationships.len();
            if depth < 3 && nrels > 0 && self.chance(20) {
                let ri = self.pick(nrels);
                if self.clean && rels.contains(&ri) {
                    continue;
                }
                rels.push(ri);
                let r = &self.schema.tables[t].relationships[ri];
                let (name, kind, target) = (r.name.clone(), r.kind, r.target);
                write!(self.out, "{name}: {{data: ").unwrap();
                if kind == RelKind::Array {
                    self.w("[");
                    self.insert_object(target, depth + 1);
                    self.w("]");
                } else {
                    self.insert_object(target, depth + 1);
                }
                self.on_conflict(target);
                self.w("} ");
            } else {
                write!(self.out, "{name}: ").unwrap();
                self.value_for(&ty);
                self.w(" ");
            }
        }
        self.w("} ");
    }

    pub(super) fn on_conflict(&mut self, t: usize) {
        if !self.chance(20) {
            return;
        }
        let name = self.schema.tables[t].name.name.clone();
        write!(
            self.out,
            ", on_conflict: {{constraint: {name}_pkey, update_columns: ["
        )
        .unwrap();
        self.columns(t);
        self.w("]");
        if self.chance(40) {
            self.w(", where: ");
            self.boolexp(t, 0);
        }
        self.w("}");
    }

    pub(super) fn set_args(&mut self, t: usize) {
        for op in ["_set", "_inc"] {
            if self.chance(60) {
                write!(self.out, ", {op}: {{").unwrap();
                let n = 1 + self.pick(3);
                for (name, ty) in self.column_run(t, n) {
                    if self.clean && op == "_inc" && !ty.is_numeric() {
                        continue;
                    }
                    write!(self.out, "{name}: ").unwrap();
                    self.value_for(&ty);
                    self.w(" ");
                }
                self.w("}");
            }
        }
    }

    pub(super) fn columns(&mut self, t: usize) {
        let n = self.pick(4);
        for _ in 0..n {
            let table = &self.schema.tables[t];
            let name = table.columns[self.pick(table.columns.len())]
                .gql_name
                .clone();
            self.w(&name);
            self.w(" ");
        }
    }

    pub(super) fn pk_pairs(&mut self, t: usize) {
        let table: &Table = &self.schema.tables[t];
        let pk = table.columns[table.primary_key[0]].clone();
        if !self.bad(10) {
            write!(self.out, "{}: ", pk.gql_name).unwrap();
            self.value_for(&pk.pg_type);
        }
    }

    pub(super) fn pk_args(&mut self, t: usize) {
        self.w("(");
        self.pk_pairs(t);
        self.w(")");
    }

    pub(super) fn list_args(&mut self, t: usize) {
        if !self.chance(60) {
            return;
        }
        self.w("(");
        let n = 1 + self.pick(4);
        // Clean documents give each argument at most once, and `distinct_on` without `order_by`.
        let mut used = [false; 6];
        for _ in 0..n {
            let mut a = self.pick(if self.clean { 5 } else { 6 });
            if self.clean {
                used[4] |= used[2];
                used[2] |= used[4];
                if used[a] {
                    continue;
                }
                used[a] = true;
                a = if a == 1 { 0 } else { a };
                used[0] |= a == 0;
                used[1] |= a == 0;
            }
            match a {
                0 | 1 => {
                    self.w("where: ");
                    self.boolexp(t, 0);
                }
                2 => {
                    self.w("order_by: ");
                    self.order_by(t, 0);
                }
                3 => {
                    let a = if self.chance(50) {
                        "limit: "
                    } else {
                        "offset: "
                    };
                    self.w(a);
                    self.number();
                }
                4 => {
                    self.w("distinct_on: ");
                    if !self.bad(40) {
                        self.w("[");
                        self.columns(t);
                        self.w("]");
                    } else {
                        self.value_any(1);
                    }
                }
                _ => {
                    self.w("nope: ");
                    self.value_any(2);
                }
            }
            self.w(" ");
        }
        self.w(")");
    }

    pub(super) fn number(&mut self) {
        let n = [
            "0",
            "1",
            "10",
            "-1",
            "2147483648",
            "99999999999999999999999",
            "1.5",
            "1e400",
            "\"10\"",
            "null",
        ];
        if !self.var_ref(20) {
            let s = if self.clean {
                self.one(&n[..3])
            } else {
                self.one(&n)
            };
            self.w(s);
        }
    }

    pub(super) fn order_by(&mut self, t: usize, depth: usize) {
        let list = (depth == 0 || !self.clean) && self.chance(40);
        if list {
            self.w("[");
        }
        let n = if list { 1 + self.pick(3) } else { 1 };
        for _ in 0..n {
            self.w("{");
            let table = &self.schema.tables[t];
            if depth < self.depth && !table.relationships.is_empty() && self.chance(30) {
                let r = &table.relationships[self.pick(table.relationships.len())];
                let (name, kind, target) = (r.name.clone(), r.kind, r.target);
                if kind == RelKind::Array {
                    write!(self.out, "{name}_aggregate: {{count: asc}}").unwrap();
                } else {
                    write!(self.out, "{name}: ").unwrap();
                    self.order_by(target, depth + 1);
                }
            } else {
                let name = table.columns[self.pick(table.columns.len())]
                    .gql_name
                    .clone();
                let dirs = [
                    "asc",
                    "desc",
                    "asc_nulls_first",
                    "desc_nulls_last",
                    "sideways",
                    "\"asc\"",
                    "null",
                ];
                let dir = if self.clean {
                    self.one(&dirs[..4])
                } else {
                    self.one(&dirs)
                };
                write!(self.out, "{name}: {dir}").unwrap();
            }
            self.w("} ");
        }
        if list {
            self.w("]");
        }
    }

    /// A boolean expression on table `t`.
    pub(super) fn boolexp(&mut self, t: usize, depth: usize) {
        if self.var_ref(8) {
            return;
        }
        // Deep `_not`/`_and`/`_or` chains (beyond the parser's nesting limit sometimes).
        if depth == 0 && self.chance(8) {
            let n = [10, 30, 60, 127, 200, 1000][self.pick(if self.clean { 2 } else { 6 })];
            let mut close = vec![];
            for _ in 0..n {
                let (open, shut) =
                    [("{_not: ", "}"), ("{_and: [", "]}"), ("{_or: ", "}")][self.pick(3)];
                self.w(open);
                close.push(shut);
            }
            self.w("{}");
            for shut in close.into_iter().rev() {
                self.w(shut);
            }
            return;
        }
        self.w("{");
        let n = self.pick(4);
        for _ in 0..n {
            let table = &self.schema.tables[t];
            if self.full() {
                break;
            }
            match self.pick(10) {
                4 if self.clean => self.w("_and: []"),
                0 if depth < self.depth => {
                    let op = self.one(&["_and", "_or"]);
                    write!(self.out, "{op}: [").unwrap();
                    let m = self.pick(3);
                    for _ in 0..m {
                        self.boolexp(t, depth + 1);
                    }
                    self.w("]");
                }
                1 if depth < self.depth => {
                    self.w("_not: ");
                    self.boolexp(t, depth + 1);
                }
                2 if depth < self.depth && !table.relationships.is_empty() => {
                    let r = &table.relationships[self.pick(table.relationships.len())];
                    let (name, target) = (r.name.clone(), r.target);
                    let suffix = if r.kind == RelKind::Array && self.chance(30) {
                        "_aggregate"
                    } else {
                        ""
                    };
                    if suffix.is_empty() {
                        write!(self.out, "{name}: ").unwrap();
                        self.boolexp(target, depth + 1);
                    } else {
                        write!(
                            self.out,
                            "{name}_aggregate: {{count: {{predicate: {{_gt: 0}}}}}}"
                        )
                        .unwrap();
                    }
                }
                3 => {
                    self.w("_exists: {_table: {schema: \"public\", name: \"");
                    let name = self.schema.tables[self.pick(self.schema.tables.len())]
                        .name
                        .name
                        .clone();
                    self.w(&name);
                    self.w("\"}, _where: ");
                    self.boolexp(t, depth + 1);
                    self.w("}");
                }
                4 => {
                    self.w("nope: ");
                    self.value_any(2);
                }
                _ => {
                    let c = self.pick(table.columns.len());
                    let (name, ty) = (
                        table.columns[c].gql_name.clone(),
                        table.columns[c].pg_type.clone(),
                    );
                    write!(self.out, "{name}: {{").unwrap();
                    let ops = [
                        "_eq", "_neq", "_gt", "_lt", "_gte", "_lte", "_in", "_nin", "_is_null",
                        "_like", "_ilike", "_nlike", "_similar", "_regex", "_ceq", "_cast",
                        "_nope",
                    ];
                    let op = match (self.clean, ty.udt.as_str()) {
                        (false, _) => self.one(&ops),
                        (true, "text") => self.one(&ops[..14]),
                        (true, "bool") => self.one(&["_eq", "_neq", "_in", "_is_null"]),
                        (true, _) => self.one(&ops[..9]),
                    };
                    write!(self.out, "{op}: ").unwrap();
                    match op {
                        "_in" | "_nin" if !self.bad(30) => {
                            self.w("[");
                            let k = [1, 2, 3, 5, 10, 1000, 20000][self.pick(7)];
                            for _ in 0..k {
                                self.value_for(&ty);
                                self.w(",");
                                if self.full() {
                                    break;
                                }
                            }
                            self.w("]");
                        }
                        "_is_null" => {
                            let k = if self.clean { 2 } else { 3 };
                            let x = self.one(&["true", "false", "1"][..k]);
                            self.w(x)
                        }
                        "_ceq" => {
                            let other = table.columns[self.pick(table.columns.len())]
                                .gql_name
                                .clone();
                            self.w(&other);
                        }
                        "_cast" => self.w("{String: {_eq: \"1\"}}"),
                        _ => self.value_for(&ty),
                    }
                    self.w("}");
                }
            }
            self.w(" ");
        }
        self.w("}");
    }

    /// A value meant for a column of type `ty` (sometimes of the wrong type).
    pub(super) fn value_for(&mut self, ty: &PgType) {
        if self.var_ref(15) {
            return;
        }
        if self.bad(15) {
            return self.value_any(2);
        }
        if ty.is_numeric() {
            self.number();
        } else if ty.udt == "bool" {
            let b = self.one(&["true", "false"]);
            self.w(b);
        } else {
            self.string();
        }
    }

    pub(super) fn string(&mut self) {
        let s = [
            "\"x\"",
            "\"%a%\"",
            "\"\"",
            "\"Ada\"",
            "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
            "\"\\u0000\"",
            "\"'; drop table album; --\"",
            "\"2024-01-01T00:00:00\"",
            "\"\"\"block\n  string \"\" \"\"\"",
            "\"日本語 ✓\"",
            "\"X-Hasura-User-Id\"",
            "\"\\ud800\"",
        ];
        // Clean documents leave out the lone surrogate escape (a syntax error).
        let s = if self.clean {
            self.one(&s[..11])
        } else {
            self.one(&s)
        };
        self.w(s);
    }

    /// Any GraphQL literal.
    pub(super) fn value_any(&mut self, depth: usize) {
        self.literal(depth, true)
    }

    pub(super) fn literal(&mut self, depth: usize, vars: bool) {
        if vars && self.var_ref(10) {
            return;
        }
        match self.pick(9) {
            0 => self.w("null"),
            1 => self.w("true"),
            2 => self.number(),
            3 => self.string(),
            4 => {
                let x = self.one(&["asc", "id", "ENUM", "album_pkey"]);
                self.w(x)
            }
            5 | 6 if depth > 0 => {
                self.w("[");
                let n = self.pick(4);
                for _ in 0..n {
                    self.literal(depth - 1, vars);
                    self.w(" ");
                }
                self.w("]");
            }
            7 | 8 if depth > 0 => {
                self.w("{");
                let n = self.pick(4);
                for _ in 0..n {
                    let k = self.one(&["id", "name", "_eq", "_and", "x", "data", "where"]);
                    write!(self.out, "{k}: ").unwrap();
                    self.literal(depth - 1, vars);
                    self.w(" ");
                }
                self.w("}");
            }
            _ => self.w("\"v\""),
        }
    }

    /// A variable's JSON value: every shape, sometimes huge or deep.
    pub(super) fn json(&mut self, depth: usize) -> Value {
        match self.pick(14) {
            0 => Value::Null,
            1 => Value::Boolean(self.chance(50)),
            2 | 3 => Value::Number(
                self.one(&[
                    "0",
                    "1",
                    "-1",
                    "42",
                    "2147483648",
                    "-9223372036854775809",
                    "1e400",
                    "1.5",
                    "-0",
                    "0.0000001",
                    "123456789012345678901234567890",
                ])
                .into(),
            ),
            4 | 5 => Value::String(
                self.one(&[
                    "x",
                    "",
                    "asc",
                    "Ada",
                    "é中😀",
                    "\u{0}",
                    "'; drop table album; --",
                    "2024-01-01",
                    "1",
                    "true",
                    "{\"a\":1}",
                    "X-Hasura-User-Id",
                ])
                .into(),
            ),
            6 => {
                // A huge list.
                let n = [100, 10_000, 100_000][self.pick(3)];
                let item = match self.pick(3) {
                    0 => Value::Number("7".into()),
                    1 => Value::String("x".into()),
                    _ => Value::Object(vec![("id".into(), Value::Number("1".into()))]),
                };
                Value::List(vec![item; n])
            }
            7 => {
                // A deep value (JSON bodies nest at most 128 levels: serde_json's limit).
                let n = [10, 60, 120][self.pick(3)];
                let mut v = Value::Number("1".into());
                for i in 0..n {
                    v = if self.chance(50) || i % 2 == 0 {
                        Value::List(vec![v])
                    } else {
                        Value::Object(vec![(self.one(&["_not", "_and", "data", "id"]).into(), v)])
                    };
                }
                v
            }
            8..=10 if depth < 4 => {
                let n = self.pick(5);
                Value::Object(
                    (0..n)
                        .map(|_| {
                            let t = &self.schema.tables[self.pick(self.schema.tables.len())];
                            let col = t.columns[self.pick(t.columns.len())].gql_name.clone();
                            let key = match self.pick(5) {
                                0 => "_eq".to_string(),
                                1 => "_and".to_string(),
                                2 => "where".to_string(),
                                _ => col,
                            };
                            (key, self.json(depth + 1))
                        })
                        .collect(),
                )
            }
            11 | 12 if depth < 4 => {
                let n = self.pick(5);
                Value::List((0..n).map(|_| self.json(depth + 1)).collect())
            }
            _ => Value::String("asc".into()),
        }
    }
}
