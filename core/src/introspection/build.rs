//! Builds one role's GraphQL type system from the resolved [`Schema`], naming every type and
//! field as Hasura v2 does for Postgres.
//!
//! Steps: (1) compute what the role may do per table ([`RoleView`]: select columns, computed
//! fields, aggregations, root fields, insert/update/delete columns); (2) emit the types of every
//! table the role can select (object, `_aggregate*`, `_bool_exp`, `_order_by`, `_select_column`,
//! stream cursor) and mutate (`_insert_input`, `_on_conflict`, `_set_input`, …); (3) the root
//! types; (4) prune to the types reachable from the roots and the introspection types, adding
//! referenced scalars; (5) sort.
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::meta;
use super::scalars;
use super::types::{EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef, TypeSystem};
use crate::model::{
    ColumnId, ComputedField, ExposedAs, FunctionArg, FunctionReturn, QualifiedName, RelKind,
    Schema, Table, TableId,
};
use crate::session::Session;
use crate::Options;

/// What a role may select from one table.
#[derive(Debug, Clone)]
struct SelView {
    columns: Vec<ColumnId>,
    /// Indexes into `table.computed_fields`.
    computed: Vec<usize>,
    aggs: bool,
    query_roots: Option<Vec<String>>,
    subscription_roots: Option<Vec<String>>,
}

impl SelView {
    fn query_root(&self, kind: &str) -> bool {
        self.query_roots
            .as_ref()
            .is_none_or(|l| l.iter().any(|k| k == kind))
    }
    fn subscription_root(&self, kind: &str) -> bool {
        self.subscription_roots
            .as_ref()
            .is_none_or(|l| l.iter().any(|k| k == kind))
    }
}

/// What a role may do with one table.
#[derive(Debug, Clone, Default)]
struct RoleView {
    select: Option<SelView>,
    insert: Option<Vec<ColumnId>>,
    update: Option<Vec<ColumnId>>,
    delete: bool,
}

/// Builds the type system `role` sees (`admin` sees everything), with the role's actions
/// and their custom types (`actions.rs`) and the remote schemas it may use
/// (`remote_schemas.rs`).
pub fn build(schema: &Schema, role: &str, options: &Options) -> TypeSystem {
    let keep = super::actions::kept_tables(schema, role, options);
    let mut ts = build_keeping(schema, role, options, &keep);
    super::actions::apply(schema, role, options, &mut ts);
    super::remote_schemas::apply(schema, role, options, &mut ts);
    ts
}

/// The tables' and functions' type system, without actions; the select types of the tables
/// `keep` (action relationships' targets) survive the pruning even when no root field leads
/// to them.
pub(super) fn build_keeping(
    schema: &Schema,
    role: &str,
    options: &Options,
    keep: &[TableId],
) -> TypeSystem {
    let mut b = Builder {
        schema,
        role,
        admin: role == Session::ADMIN,
        options,
        views: Vec::new(),
        types: BTreeMap::new(),
        keep,
    };
    b.views = schema.tables.iter().map(|t| b.role_view(t)).collect();
    b.run()
}

struct Builder<'a> {
    schema: &'a Schema,
    role: &'a str,
    admin: bool,
    options: &'a Options,
    views: Vec<RoleView>,
    types: BTreeMap<String, TypeDef>,
    keep: &'a [TableId],
}

/// `"name"` for tables in `public`, `"schema.name"` otherwise (Hasura's descriptions).
fn label(name: &QualifiedName) -> String {
    if name.schema == "public" {
        name.name.clone()
    } else {
        format!("{}.{}", name.schema, name.name)
    }
}

/// GraphQL base name of a function (`name`, or `schema_name` outside `public`).
fn function_gql_name(name: &QualifiedName) -> String {
    if name.schema == "public" {
        name.name.clone()
    } else {
        format!("{}_{}", name.schema, name.name)
    }
}

fn named(n: impl Into<String>) -> TypeRef {
    TypeRef::named(n)
}

/// `distinct_on, limit, offset, order_by, where` of a selection of the table whose GraphQL
/// name is `g`.
pub(super) fn select_args(g: &str) -> Vec<InputValue> {
    vec![
        InputValue::new(
            "distinct_on",
            TypeRef::list_nn_inner(&format!("{}_select_column", g)),
        )
        .desc("distinct select on columns"),
        InputValue::new("limit", named("Int")).desc("limit the number of rows returned"),
        InputValue::new("offset", named("Int"))
            .desc("skip the first n rows. Use only with order_by"),
        InputValue::new(
            "order_by",
            TypeRef::list_nn_inner(&format!("{}_order_by", g)),
        )
        .desc("sort the rows by one or more columns"),
        InputValue::new("where", named(format!("{}_bool_exp", g))).desc("filter the rows returned"),
    ]
}

const AGG_NUMERIC: [&str; 8] = [
    "avg",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "sum",
    "var_pop",
    "var_samp",
    "variance",
];

impl<'a> Builder<'a> {
    fn role_view(&self, t: &Table) -> RoleView {
        let m = t.mutable;
        if self.admin {
            let all: Vec<ColumnId> = (0..t.columns.len()).collect();
            let writable: Vec<ColumnId> = all
                .iter()
                .copied()
                .filter(|&c| !t.columns[c].is_generated)
                .collect();
            return RoleView {
                select: Some(SelView {
                    columns: all,
                    computed: (0..t.computed_fields.len()).collect(),
                    aggs: true,
                    query_roots: None,
                    subscription_roots: None,
                }),
                insert: if m.insert {
                    Some(writable.clone())
                } else {
                    None
                },
                update: if m.update { Some(writable) } else { None },
                delete: m.delete,
            };
        }
        let Some(p) = t.permissions.get(self.role) else {
            return RoleView::default();
        };
        let valid = |c: &ColumnId| *c < t.columns.len();
        let select = p.select.as_ref().map(|s| {
            let mut columns: Vec<ColumnId> = s.columns.iter().copied().filter(valid).collect();
            columns.sort_unstable();
            columns.dedup();
            SelView {
                columns,
                computed: t
                    .computed_fields
                    .iter()
                    .enumerate()
                    .filter(|(_, cf)| s.computed_fields.iter().any(|n| n == &cf.name))
                    .map(|(i, _)| i)
                    .collect(),
                aggs: s.allow_aggregations,
                query_roots: s.query_root_fields.clone(),
                subscription_roots: s.subscription_root_fields.clone(),
            }
        });
        let writable = |cols: &[ColumnId]| -> Vec<ColumnId> {
            let mut v: Vec<ColumnId> = cols
                .iter()
                .copied()
                .filter(valid)
                .filter(|&c| !t.columns[c].is_generated)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        RoleView {
            select,
            insert: p
                .insert
                .as_ref()
                .filter(|i| !i.backend_only && m.insert)
                .map(|i| writable(&i.columns)),
            update: p
                .update
                .as_ref()
                .filter(|u| !u.backend_only && m.update)
                .map(|u| writable(&u.columns)),
            delete: m.delete && p.delete.as_ref().is_some_and(|d| !d.backend_only),
        }
    }

    fn sel(&self, tid: TableId) -> Option<&SelView> {
        self.views.get(tid).and_then(|v| v.select.as_ref())
    }

    fn add(&mut self, t: TypeDef) {
        self.types.entry(t.name.clone()).or_insert(t);
    }

    // ---------------------------------------------------------------- column types

    /// The enum table a column's type comes from, when the role sees the enum type.
    fn enum_of(&self, t: &Table, c: ColumnId) -> Option<TableId> {
        t.columns[c]
            .enum_table
            .filter(|&e| e < self.schema.tables.len() && self.schema.tables[e].is_enum)
    }

    fn enum_type_name(&self, e: TableId) -> String {
        format!("{}_enum", self.schema.tables[e].gql_name)
    }

    /// Column type without nullability.
    fn column_type(&mut self, t: &Table, c: ColumnId) -> TypeRef {
        if let Some(e) = self.enum_of(t, c) {
            self.ensure_enum(e);
            return named(self.enum_type_name(e));
        }
        scalars::column_type(&t.columns[c].pg_type)
    }

    /// Name of the comparison expression of a column (adding the type).
    fn comparison(&mut self, t: &Table, c: ColumnId) -> String {
        if let Some(e) = self.enum_of(t, c) {
            self.ensure_enum(e);
            return format!("{}_comparison_exp", self.enum_type_name(e));
        }
        let ty = &t.columns[c].pg_type;
        let name = scalars::comparison_exp_name(ty);
        if !self.types.contains_key(&name) {
            match &ty.element {
                Some(elem) => {
                    let s = scalars::scalar_name(elem);
                    self.add(scalars::array_comparison_exp(&s));
                }
                None => self.ensure_scalar_comparison(&scalars::scalar_name(&ty.udt)),
            }
        }
        name
    }

    fn ensure_scalar_comparison(&mut self, scalar: &str) {
        let name = format!("{}_comparison_exp", scalar);
        if self.types.contains_key(&name) {
            return;
        }
        let ct = scalars::comparison_exp(scalar);
        self.add(ct.exp);
        for x in ct.extra {
            self.add(x);
        }
        // The cast expressions refer to other comparison types.
        match scalar {
            "jsonb" => self.ensure_scalar_comparison("String"),
            "geometry" => self.ensure_scalar_comparison("geography"),
            "geography" => self.ensure_scalar_comparison("geometry"),
            _ => {}
        }
    }

    /// `<e>_enum` and `<e>_enum_comparison_exp` of an enum table.
    fn ensure_enum(&mut self, e: TableId) {
        let name = self.enum_type_name(e);
        if self.types.contains_key(&name) {
            return;
        }
        let et = &self.schema.tables[e];
        let mut t = TypeDef::new(name.clone(), TypeKind::Enum).desc_opt(et.description.clone());
        for v in &et.enum_values {
            if !t.enum_values.iter().any(|x| x.name == v.name) {
                t.enum_values.push(EnumValueDef {
                    name: v.name.clone(),
                    description: v.comment.clone(),
                });
            }
        }
        self.add(t);
        let mut cmp = TypeDef::new(format!("{}_comparison_exp", name), TypeKind::InputObject).desc(format!(
            "Boolean expression to compare columns of type \"{}\". All fields are combined with logical 'AND'.",
            name
        ));
        cmp.input_fields = vec![
            InputValue::new("_eq", named(&name)),
            InputValue::new("_in", TypeRef::list_nn_inner(&name)),
            InputValue::new("_is_null", named("Boolean")),
            InputValue::new("_neq", named(&name)),
            InputValue::new("_nin", TypeRef::list_nn_inner(&name)),
        ];
        self.add(cmp);
    }

    fn is_json(t: &Table, c: ColumnId) -> bool {
        let ty = &t.columns[c].pg_type;
        ty.element.is_none() && matches!(ty.udt.as_str(), "json" | "jsonb")
    }

    // ---------------------------------------------------------------- select types

    /// `distinct_on, limit, offset, order_by, where` of a selection of table `tid`.
    fn select_args(&self, tid: TableId) -> Vec<InputValue> {
        select_args(&self.schema.tables[tid].gql_name)
    }

    /// Hasura's nullability of an object relationship: non-null only for a foreign key from
    /// non-nullable columns of this table to a key of the target whose rows the role sees
    /// unfiltered.
    fn object_rel_non_null(
        &self,
        t: &Table,
        target: TableId,
        mapping: &[(ColumnId, ColumnId)],
        local_fk: bool,
    ) -> bool {
        let tt = &self.schema.tables[target];
        // Hasura: non-null only through a foreign key of this table whose columns are all
        // NOT NULL (a reverse foreign key or a manual mapping may find no row).
        if mapping.is_empty() || !local_fk {
            return false;
        }
        let all_nn = mapping
            .iter()
            .all(|&(c, _)| t.columns.get(c).is_some_and(|c| !c.nullable));
        let mut remote: Vec<ColumnId> = mapping.iter().map(|&(_, r)| r).collect();
        remote.sort_unstable();
        let is_key = tt.unique_constraints.iter().any(|u| {
            let mut cols = u.columns.clone();
            cols.sort_unstable();
            cols == remote
        }) || {
            let mut pk = tt.primary_key.clone();
            pk.sort_unstable();
            !pk.is_empty() && pk == remote
        };
        let unfiltered = self.admin
            || tt
                .permissions
                .get(self.role)
                .and_then(|p| p.select.as_ref())
                .is_some_and(|s| matches!(&s.filter, crate::Value::Object(f) if f.is_empty()));
        all_nn && is_key && unfiltered
    }

    /// Input arguments of a function (without the row and session arguments).
    fn function_input_args<'f>(
        args: &'f [FunctionArg],
        skip: &[usize],
    ) -> Vec<(usize, &'f FunctionArg)> {
        args.iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .collect()
    }

    /// `<fn>_args` input type; returns the `args` argument (None when the function takes no input).
    fn function_args_type(
        &mut self,
        base: &str,
        args: &[FunctionArg],
        skip: &[usize],
    ) -> Option<InputValue> {
        let inputs = Self::function_input_args(args, skip);
        if inputs.is_empty() {
            return None;
        }
        let name = format!("{}_args", base);
        let required = inputs.iter().any(|(_, a)| !a.has_default);
        if !self.types.contains_key(&name) {
            let mut t = TypeDef::new(name.clone(), TypeKind::InputObject);
            for (i, a) in &inputs {
                let fname = a
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| format!("arg_{}", i + 1));
                t.input_fields
                    .push(InputValue::new(fname, scalars::column_type(&a.pg_type)));
            }
            self.add(t);
        }
        let mut ty = named(name);
        if required {
            ty = ty.non_null();
        }
        Some(
            InputValue::new("args", ty).desc(format!("input parameters for function \"{}\"", base)),
        )
    }

    fn computed_field_def(&mut self, cf: &ComputedField) -> Option<FieldDef> {
        let mut skip = vec![cf.table_argument];
        if let Some(s) = cf.session_argument {
            skip.push(s);
        }
        let fname = function_gql_name(&cf.function);
        let args_arg = self.function_args_type(&fname, &cf.args, &skip);
        let desc = cf.comment.clone().unwrap_or_else(|| {
            format!(
                "A computed field, executes function \"{}\"",
                label(&cf.function)
            )
        });
        let mut args: Vec<InputValue> = args_arg.into_iter().collect();
        let ty = match &cf.returns {
            FunctionReturn::Scalar(pg) => {
                if pg.element.is_none() && matches!(pg.udt.as_str(), "json" | "jsonb") {
                    args.push(InputValue::new("path", named("String")).desc("JSON select path"));
                }
                scalars::column_type(pg)
            }
            FunctionReturn::Table { table, set } => {
                self.sel(*table)?;
                let g = self.schema.tables[*table].gql_name.clone();
                if *set {
                    args.extend(self.select_args(*table));
                    TypeRef::list_nn(g)
                } else {
                    named(g)
                }
            }
        };
        Some(FieldDef::new(cf.name.clone(), ty).desc(desc).args(args))
    }

    /// Every type of a table the role can select.
    fn select_types(&mut self, tid: TableId) {
        let schema = self.schema;
        let t = &schema.tables[tid];
        let Some(view) = self.sel(tid).cloned() else {
            return;
        };
        let g = t.gql_name.clone();
        let lbl = label(&t.name);

        // Object type.
        let mut obj = TypeDef::new(g.clone(), TypeKind::Object).desc(
            t.description
                .clone()
                .unwrap_or_else(|| format!("columns and relationships of \"{}\"", lbl)),
        );
        let mut bool_exp = TypeDef::new(format!("{}_bool_exp", g), TypeKind::InputObject).desc(format!(
            "Boolean expression to filter rows from the table \"{}\". All fields are combined with a logical 'AND'.",
            lbl
        ));
        bool_exp.input_fields = vec![
            InputValue::new("_and", TypeRef::list_nn_inner(&format!("{}_bool_exp", g))),
            InputValue::new("_not", named(format!("{}_bool_exp", g))),
            InputValue::new("_or", TypeRef::list_nn_inner(&format!("{}_bool_exp", g))),
        ];
        let mut order_by = TypeDef::new(format!("{}_order_by", g), TypeKind::InputObject).desc(
            format!("Ordering options when selecting data from \"{}\".", lbl),
        );
        let mut select_column = TypeDef::new(format!("{}_select_column", g), TypeKind::Enum)
            .desc(format!("select columns of table \"{}\"", lbl));

        for &c in &view.columns {
            let col = &t.columns[c];
            let mut ty = self.column_type(t, c);
            if !col.nullable {
                ty = ty.non_null();
            }
            let mut f = FieldDef::new(col.gql_name.clone(), ty).desc_opt(col.description.clone());
            if Self::is_json(t, c) {
                f.args
                    .push(InputValue::new("path", named("String")).desc("JSON select path"));
            }
            obj.fields.push(f);
            let cmp = self.comparison(t, c);
            bool_exp
                .input_fields
                .push(InputValue::new(col.gql_name.clone(), named(cmp)));
            order_by
                .input_fields
                .push(InputValue::new(col.gql_name.clone(), named("order_by")));
            select_column.enum_values.push(EnumValueDef {
                name: col.gql_name.clone(),
                description: Some(String::from("column name")),
            });
        }

        // Remote relationships (another source's table): the field only — no filtering,
        // ordering or aggregating across sources.
        for rel in &t.remote_relationships {
            if self.sel(rel.target).is_none() {
                continue;
            }
            let tg = schema.tables[rel.target].gql_name.clone();
            let field = match rel.kind {
                RelKind::Object => FieldDef::new(rel.name.clone(), named(&tg)),
                RelKind::Array => FieldDef::new(rel.name.clone(), TypeRef::list_nn(&tg))
                    .args(self.select_args(rel.target)),
            };
            obj.fields.push(
                field.desc(
                    rel.comment
                        .clone()
                        .unwrap_or_else(|| String::from("A remote relationship")),
                ),
            );
        }

        for rel in &t.relationships {
            let Some(tv) = self.sel(rel.target) else {
                continue;
            };
            let target_aggs = tv.aggs;
            let tg = schema.tables[rel.target].gql_name.clone();
            match rel.kind {
                RelKind::Object => {
                    let mut ty = named(&tg);
                    if self.object_rel_non_null(t, rel.target, &rel.mapping, rel.local_fk) {
                        ty = ty.non_null();
                    }
                    obj.fields.push(
                        FieldDef::new(rel.name.clone(), ty).desc(
                            rel.comment
                                .clone()
                                .unwrap_or_else(|| String::from("An object relationship")),
                        ),
                    );
                    bool_exp.input_fields.push(InputValue::new(
                        rel.name.clone(),
                        named(format!("{}_bool_exp", tg)),
                    ));
                    order_by.input_fields.push(InputValue::new(
                        rel.name.clone(),
                        named(format!("{}_order_by", tg)),
                    ));
                }
                RelKind::Array => {
                    obj.fields.push(
                        FieldDef::new(rel.name.clone(), TypeRef::list_nn(&tg))
                            .desc(
                                rel.comment
                                    .clone()
                                    .unwrap_or_else(|| String::from("An array relationship")),
                            )
                            .args(self.select_args(rel.target)),
                    );
                    bool_exp.input_fields.push(InputValue::new(
                        rel.name.clone(),
                        named(format!("{}_bool_exp", tg)),
                    ));
                    if target_aggs {
                        let agg = format!("{}_aggregate", rel.name);
                        obj.fields.push(
                            FieldDef::new(
                                agg.clone(),
                                named(format!("{}_aggregate", tg)).non_null(),
                            )
                            .desc(
                                rel.comment
                                    .clone()
                                    .unwrap_or_else(|| String::from("An aggregate relationship")),
                            )
                            .args(self.select_args(rel.target)),
                        );
                        bool_exp.input_fields.push(InputValue::new(
                            agg.clone(),
                            named(format!("{}_aggregate_bool_exp", tg)),
                        ));
                        order_by.input_fields.push(InputValue::new(
                            agg,
                            named(format!("{}_aggregate_order_by", tg)),
                        ));
                    }
                }
            }
        }

        for &ci in &view.computed {
            let cf = &t.computed_fields[ci];
            let Some(f) = self.computed_field_def(cf) else {
                continue;
            };
            let has_input = f.arg("args").is_some();
            if !has_input {
                match &cf.returns {
                    FunctionReturn::Scalar(pg) => {
                        let cmp = scalars::comparison_exp_name(pg);
                        match &pg.element {
                            Some(e) => {
                                self.add(scalars::array_comparison_exp(&scalars::scalar_name(e)))
                            }
                            None => self.ensure_scalar_comparison(&scalars::scalar_name(&pg.udt)),
                        }
                        bool_exp
                            .input_fields
                            .push(InputValue::new(cf.name.clone(), named(cmp)));
                        order_by
                            .input_fields
                            .push(InputValue::new(cf.name.clone(), named("order_by")));
                    }
                    FunctionReturn::Table { table, set } => {
                        let tg = &schema.tables[*table].gql_name;
                        bool_exp.input_fields.push(InputValue::new(
                            cf.name.clone(),
                            named(format!("{}_bool_exp", tg)),
                        ));
                        if !*set {
                            order_by.input_fields.push(InputValue::new(
                                cf.name.clone(),
                                named(format!("{}_order_by", tg)),
                            ));
                        }
                    }
                }
            }
            obj.fields.push(f);
        }

        self.add(obj);
        self.add(bool_exp);
        self.add(order_by);
        if !select_column.enum_values.is_empty() {
            self.add(select_column);
        }
        self.stream_types(tid, &view);
        if view.aggs {
            self.aggregate_types(tid, &view);
        }
    }

    /// `<t>_stream_cursor_input`, `<t>_stream_cursor_value_input`, `cursor_ordering`.
    fn stream_types(&mut self, tid: TableId, view: &SelView) {
        let t = &self.schema.tables[tid];
        let g = &t.gql_name;
        let mut cursor =
            TypeDef::new(format!("{}_stream_cursor_input", g), TypeKind::InputObject).desc(
                format!("Streaming cursor of the table \"{}\"", label(&t.name)),
            );
        cursor.input_fields = vec![
            InputValue::new(
                "initial_value",
                named(format!("{}_stream_cursor_value_input", g)).non_null(),
            )
            .desc("Stream column input with initial value"),
            InputValue::new("ordering", named("cursor_ordering")).desc("cursor ordering"),
        ];
        let mut value = TypeDef::new(
            format!("{}_stream_cursor_value_input", g),
            TypeKind::InputObject,
        )
        .desc("Initial value of the column from where the streaming should start");
        for &c in &view.columns {
            let ty = self.column_type(t, c);
            value
                .input_fields
                .push(InputValue::new(t.columns[c].gql_name.clone(), ty));
        }
        self.add(cursor);
        self.add(value);
        let mut ord =
            TypeDef::new("cursor_ordering", TypeKind::Enum).desc("ordering argument of a cursor");
        ord.enum_values = vec![
            EnumValueDef {
                name: String::from("ASC"),
                description: Some(String::from("ascending ordering of the cursor")),
            },
            EnumValueDef {
                name: String::from("DESC"),
                description: Some(String::from("descending ordering of the cursor")),
            },
        ];
        self.add(ord);
    }

    /// `<t>_aggregate`, `<t>_aggregate_fields`, `<t>_<op>_fields`, `<t>_aggregate_order_by`,
    /// `<t>_<op>_order_by`, `<t>_aggregate_bool_exp*`.
    fn aggregate_types(&mut self, tid: TableId, view: &SelView) {
        let t = &self.schema.tables[tid];
        let g = t.gql_name.clone();
        let lbl = label(&t.name);

        let mut agg = TypeDef::new(format!("{}_aggregate", g), TypeKind::Object)
            .desc(format!("aggregated selection of \"{}\"", lbl));
        agg.fields = vec![
            FieldDef::new("aggregate", named(format!("{}_aggregate_fields", g))),
            FieldDef::new("nodes", TypeRef::list_nn(&g)),
        ];
        self.add(agg);

        let numeric: Vec<ColumnId> = view
            .columns
            .iter()
            .copied()
            .filter(|&c| self.enum_of(t, c).is_none() && scalars::is_numeric(&t.columns[c].pg_type))
            .collect();
        let comparable: Vec<ColumnId> = view
            .columns
            .iter()
            .copied()
            .filter(|&c| {
                self.enum_of(t, c).is_some() || scalars::is_comparable(&t.columns[c].pg_type)
            })
            .collect();

        let mut fields_t = TypeDef::new(format!("{}_aggregate_fields", g), TypeKind::Object)
            .desc(format!("aggregate fields of \"{}\"", lbl));
        let mut count = FieldDef::new("count", named("Int").non_null());
        if !view.columns.is_empty() {
            count.args.push(InputValue::new(
                "columns",
                TypeRef::list_nn_inner(&format!("{}_select_column", g)),
            ));
        }
        count
            .args
            .push(InputValue::new("distinct", named("Boolean")));
        fields_t.fields.push(count);

        let mut order = TypeDef::new(format!("{}_aggregate_order_by", g), TypeKind::InputObject)
            .desc(format!("order by aggregate values of table \"{}\"", lbl));
        order
            .input_fields
            .push(InputValue::new("count", named("order_by")));

        let mut ops: Vec<(&str, &Vec<ColumnId>)> =
            AGG_NUMERIC.iter().map(|op| (*op, &numeric)).collect();
        ops.push(("max", &comparable));
        ops.push(("min", &comparable));
        for (op, cols) in ops {
            if cols.is_empty() {
                continue;
            }
            let fname = format!("{}_{}_fields", g, op);
            let mut ft = TypeDef::new(fname.clone(), TypeKind::Object)
                .desc(format!("aggregate {} on columns", op));
            let mut ot = TypeDef::new(format!("{}_{}_order_by", g, op), TypeKind::InputObject)
                .desc(format!("order by {}() on columns of table \"{}\"", op, lbl));
            for &c in cols.iter() {
                let ty = match op {
                    "sum" | "max" | "min" => self.column_type(t, c),
                    _ => named("Float"),
                };
                ft.fields
                    .push(FieldDef::new(t.columns[c].gql_name.clone(), ty));
                ot.input_fields.push(InputValue::new(
                    t.columns[c].gql_name.clone(),
                    named("order_by"),
                ));
            }
            fields_t.fields.push(FieldDef::new(op, named(fname)));
            order
                .input_fields
                .push(InputValue::new(op, named(format!("{}_{}_order_by", g, op))));
            self.add(ft);
            self.add(ot);
        }
        self.add(fields_t);
        self.add(order);

        // Aggregate predicates (`<rel>_aggregate` in a parent's bool_exp).
        let mut bexp = TypeDef::new(format!("{}_aggregate_bool_exp", g), TypeKind::InputObject);
        let mut count_t = TypeDef::new(
            format!("{}_aggregate_bool_exp_count", g),
            TypeKind::InputObject,
        );
        count_t.input_fields = vec![
            InputValue::new(
                "arguments",
                TypeRef::list_nn_inner(&format!("{}_select_column", g)),
            ),
            InputValue::new("distinct", named("Boolean")),
            InputValue::new("filter", named(format!("{}_bool_exp", g))),
            InputValue::new("predicate", named("Int_comparison_exp").non_null()),
        ];
        if view.columns.is_empty() {
            count_t.input_fields.remove(0);
        }
        self.ensure_scalar_comparison("Int");
        bexp.input_fields.push(InputValue::new(
            "count",
            named(format!("{}_aggregate_bool_exp_count", g)),
        ));
        self.add(count_t);
        let bools: Vec<ColumnId> = view
            .columns
            .iter()
            .copied()
            .filter(|&c| {
                let ty = &t.columns[c].pg_type;
                ty.element.is_none() && matches!(ty.udt.as_str(), "bool" | "boolean")
            })
            .collect();
        if !bools.is_empty() {
            self.ensure_scalar_comparison("Boolean");
            for op in ["bool_and", "bool_or"] {
                let cols_name = format!(
                    "{}_select_column_{}_aggregate_bool_exp_{}_arguments_columns",
                    g, g, op
                );
                let mut ce = TypeDef::new(cols_name.clone(), TypeKind::Enum).desc(format!(
                    "select \"{}_aggregate_bool_exp_{}_arguments_columns\" columns of table \"{}\"",
                    g, op, lbl
                ));
                for &c in &bools {
                    ce.enum_values.push(EnumValueDef {
                        name: t.columns[c].gql_name.clone(),
                        description: Some(String::from("column name")),
                    });
                }
                self.add(ce);
                let mut ot = TypeDef::new(
                    format!("{}_aggregate_bool_exp_{}", g, op),
                    TypeKind::InputObject,
                );
                ot.input_fields = vec![
                    InputValue::new("arguments", named(cols_name).non_null()),
                    InputValue::new("distinct", named("Boolean")),
                    InputValue::new("filter", named(format!("{}_bool_exp", g))),
                    InputValue::new("predicate", named("Boolean_comparison_exp").non_null()),
                ];
                self.add(ot);
                bexp.input_fields.push(InputValue::new(
                    op,
                    named(format!("{}_aggregate_bool_exp_{}", g, op)),
                ));
            }
        }
        self.add(bexp);
    }

    // ---------------------------------------------------------------- mutation types

    /// Mutation root fields of a table (empty when the role may not mutate it).
    fn mutation_fields(&mut self, tid: TableId) -> Vec<FieldDef> {
        let schema = self.schema;
        let t = &schema.tables[tid];
        let view = self.views[tid].clone();
        let g = t.gql_name.clone();
        let lbl = label(&t.name);
        let rf = &t.root_fields;
        let sel = view.select.clone();
        let mut out = Vec::new();
        if view.insert.is_none() && view.update.is_none() && !view.delete {
            return out;
        }
        let pk_selectable = !t.primary_key.is_empty()
            && sel
                .as_ref()
                .is_some_and(|s| t.primary_key.iter().all(|c| s.columns.contains(c)));

        // <t>_mutation_response
        let resp = format!("{}_mutation_response", g);
        let mut rt = TypeDef::new(resp.clone(), TypeKind::Object)
            .desc(format!("response of any mutation on the table \"{}\"", lbl));
        rt.fields.push(
            FieldDef::new("affected_rows", named("Int").non_null())
                .desc("number of rows affected by the mutation"),
        );
        if sel.is_some() {
            rt.fields.push(
                FieldDef::new("returning", TypeRef::list_nn(&g))
                    .desc("data from the rows affected by the mutation"),
            );
        }
        self.add(rt);

        // Upserts need the role's update permission and a unique constraint.
        let constraints: Vec<&crate::model::UniqueConstraint> =
            t.unique_constraints.iter().collect();
        let on_conflict =
            view.update.as_ref().is_some_and(|u| !u.is_empty()) && !constraints.is_empty();
        if on_conflict {
            let mut ce = TypeDef::new(format!("{}_constraint", g), TypeKind::Enum).desc(format!(
                "unique or primary key constraints on table \"{}\"",
                lbl
            ));
            for u in &constraints {
                let cols: Vec<String> = u
                    .columns
                    .iter()
                    .filter_map(|&c| t.columns.get(c))
                    .map(|c| format!("\"{}\"", c.name))
                    .collect();
                ce.enum_values.push(EnumValueDef {
                    name: u.name.clone(),
                    description: Some(format!(
                        "unique or primary key constraint on columns {}",
                        cols.join(", ")
                    )),
                });
            }
            self.add(ce);
            let mut uc = TypeDef::new(format!("{}_update_column", g), TypeKind::Enum)
                .desc(format!("update columns of table \"{}\"", lbl));
            for &c in view.update.as_ref().into_iter().flatten() {
                uc.enum_values.push(EnumValueDef {
                    name: t.columns[c].gql_name.clone(),
                    description: Some(String::from("column name")),
                });
            }
            self.add(uc);
            let mut oc = TypeDef::new(format!("{}_on_conflict", g), TypeKind::InputObject)
                .desc(format!("on_conflict condition type for table \"{}\"", lbl));
            oc.input_fields.push(InputValue::new(
                "constraint",
                named(format!("{}_constraint", g)).non_null(),
            ));
            oc.input_fields.push(
                InputValue::new(
                    "update_columns",
                    TypeRef::list_nn(format!("{}_update_column", g)),
                )
                .default("[]"),
            );
            if sel.is_some() {
                oc.input_fields
                    .push(InputValue::new("where", named(format!("{}_bool_exp", g))));
            }
            self.add(oc);
        }
        let on_conflict_arg = || {
            InputValue::new("on_conflict", named(format!("{}_on_conflict", g)))
                .desc("upsert condition")
        };

        if let Some(cols) = &view.insert {
            let mut it = TypeDef::new(format!("{}_insert_input", g), TypeKind::InputObject).desc(
                format!("input type for inserting data into table \"{}\"", lbl),
            );
            for &c in cols {
                let ty = self.column_type(t, c);
                it.input_fields
                    .push(InputValue::new(t.columns[c].gql_name.clone(), ty));
            }
            for rel in &t.relationships {
                let tv = &self.views[rel.target];
                if tv.insert.is_none() {
                    continue;
                }
                let tg = &schema.tables[rel.target].gql_name;
                let ty = match rel.kind {
                    RelKind::Object => format!("{}_obj_rel_insert_input", tg),
                    RelKind::Array => format!("{}_arr_rel_insert_input", tg),
                };
                it.input_fields
                    .push(InputValue::new(rel.name.clone(), named(ty)));
            }
            self.add(it);
            // Nested-insert inputs of this table (used by relationships pointing here).
            let tlbl = &lbl;
            let mut obj_in =
                TypeDef::new(format!("{}_obj_rel_insert_input", g), TypeKind::InputObject).desc(
                    format!(
                        "input type for inserting object relation for remote table \"{}\"",
                        tlbl
                    ),
                );
            obj_in.input_fields.push(InputValue::new(
                "data",
                named(format!("{}_insert_input", g)).non_null(),
            ));
            let mut arr_in =
                TypeDef::new(format!("{}_arr_rel_insert_input", g), TypeKind::InputObject).desc(
                    format!(
                        "input type for inserting array relation for remote table \"{}\"",
                        tlbl
                    ),
                );
            arr_in.input_fields.push(InputValue::new(
                "data",
                TypeRef::list_nn(format!("{}_insert_input", g)),
            ));
            if on_conflict {
                obj_in.input_fields.push(on_conflict_arg());
                arr_in.input_fields.push(on_conflict_arg());
            }
            self.add(obj_in);
            self.add(arr_in);

            let mut args =
                vec![
                    InputValue::new("objects", TypeRef::list_nn(format!("{}_insert_input", g)))
                        .desc("the rows to be inserted"),
                ];
            if on_conflict {
                args.push(on_conflict_arg());
            }
            out.push(
                FieldDef::new(rf.insert.clone(), named(&resp))
                    .desc(
                        rf.description(
                            "insert",
                            format!("insert data into the table: \"{}\"", lbl),
                        ),
                    )
                    .args(args),
            );
            if sel.is_some() {
                let mut args = vec![InputValue::new(
                    "object",
                    named(format!("{}_insert_input", g)).non_null(),
                )
                .desc("the row to be inserted")];
                if on_conflict {
                    args.push(on_conflict_arg());
                }
                out.push(
                    FieldDef::new(rf.insert_one.clone(), named(&g))
                        .desc(rf.description(
                            "insert_one",
                            format!("insert a single row into the table: \"{}\"", lbl),
                        ))
                        .args(args),
                );
            }
        }

        if let (Some(cols), Some(_)) = (&view.update, &sel) {
            let mut set = TypeDef::new(format!("{}_set_input", g), TypeKind::InputObject)
                .desc(format!("input type for updating data in table \"{}\"", lbl));
            let mut inc =
                TypeDef::new(format!("{}_inc_input", g), TypeKind::InputObject).desc(format!(
                    "input type for incrementing numeric columns in table \"{}\"",
                    lbl
                ));
            let mut json_cols = Vec::new();
            for &c in cols {
                let ty = self.column_type(t, c);
                set.input_fields
                    .push(InputValue::new(t.columns[c].gql_name.clone(), ty.clone()));
                if self.enum_of(t, c).is_none() && scalars::is_numeric(&t.columns[c].pg_type) {
                    inc.input_fields
                        .push(InputValue::new(t.columns[c].gql_name.clone(), ty));
                }
                if t.columns[c].pg_type.element.is_none() && t.columns[c].pg_type.udt == "jsonb" {
                    json_cols.push(c);
                }
            }
            let mut ops: Vec<InputValue> = Vec::new();
            if !json_cols.is_empty() {
                let jops: [(&str, &str, TypeRef, String); 5] = [
                    (
                        "_append",
                        "append_input",
                        named("jsonb"),
                        String::from("append existing jsonb value of filtered columns with new jsonb value"),
                    ),
                    (
                        "_delete_at_path",
                        "delete_at_path_input",
                        TypeRef::list_nn_inner("String"),
                        String::from("delete the field or element with specified path (for JSON arrays, negative integers count from the end)"),
                    ),
                    (
                        "_delete_elem",
                        "delete_elem_input",
                        named("Int"),
                        String::from("delete the array element with specified index (negative integers count from the end). throws an error if top level container is not an array"),
                    ),
                    (
                        "_delete_key",
                        "delete_key_input",
                        named("String"),
                        String::from("delete key/value pair or string element. key/value pairs are matched based on their key value"),
                    ),
                    (
                        "_prepend",
                        "prepend_input",
                        named("jsonb"),
                        String::from("prepend existing jsonb value of filtered columns with new jsonb value"),
                    ),
                ];
                for (arg, suffix, ty, desc) in jops {
                    let mut it = TypeDef::new(format!("{}_{}", g, suffix), TypeKind::InputObject)
                        .desc(desc.clone());
                    for &c in &json_cols {
                        it.input_fields
                            .push(InputValue::new(t.columns[c].gql_name.clone(), ty.clone()));
                    }
                    ops.push(InputValue::new(arg, named(format!("{}_{}", g, suffix))).desc(desc));
                    self.add(it);
                }
            }
            if !inc.input_fields.is_empty() {
                ops.push(
                    InputValue::new("_inc", named(format!("{}_inc_input", g))).desc(
                        "increments the numeric columns with given value of the filtered values",
                    ),
                );
                self.add(inc);
            }
            if !set.input_fields.is_empty() {
                ops.push(
                    InputValue::new("_set", named(format!("{}_set_input", g)))
                        .desc("sets the columns of the filtered rows to the given values"),
                );
                self.add(set);
            }
            let where_upd = || {
                InputValue::new("where", named(format!("{}_bool_exp", g)).non_null())
                    .desc("filter the rows which have to be updated")
            };
            let mut args = ops.clone();
            args.push(where_upd());
            out.push(
                FieldDef::new(rf.update.clone(), named(&resp))
                    .desc(
                        rf.description("update", format!("update data of the table: \"{}\"", lbl)),
                    )
                    .args(args),
            );
            if pk_selectable {
                self.pk_columns_input(tid);
                let mut args = ops.clone();
                args.push(InputValue::new(
                    "pk_columns",
                    named(format!("{}_pk_columns_input", g)).non_null(),
                ));
                out.push(
                    FieldDef::new(rf.update_by_pk.clone(), named(&g))
                        .desc(rf.description(
                            "update_by_pk",
                            format!("update single row of the table: \"{}\"", lbl),
                        ))
                        .args(args),
                );
            }
            let mut updates = TypeDef::new(format!("{}_updates", g), TypeKind::InputObject);
            updates.input_fields = ops;
            updates.input_fields.push(where_upd());
            self.add(updates);
            out.push(
                FieldDef::new(rf.update_many.clone(), named(&resp).list())
                    .desc(rf.description(
                        "update_many",
                        format!("update multiples rows of table: \"{}\"", lbl),
                    ))
                    .args(vec![InputValue::new(
                        "updates",
                        TypeRef::list_nn(format!("{}_updates", g)),
                    )
                    .desc("updates to execute, in order")]),
            );
        }

        if view.delete && sel.is_some() {
            out.push(
                FieldDef::new(rf.delete.clone(), named(&resp))
                    .desc(
                        rf.description(
                            "delete",
                            format!("delete data from the table: \"{}\"", lbl),
                        ),
                    )
                    .args(vec![InputValue::new(
                        "where",
                        named(format!("{}_bool_exp", g)).non_null(),
                    )
                    .desc("filter the rows which have to be deleted")]),
            );
            if pk_selectable {
                out.push(
                    FieldDef::new(rf.delete_by_pk.clone(), named(&g))
                        .desc(rf.description(
                            "delete_by_pk",
                            format!("delete single row from the table: \"{}\"", lbl),
                        ))
                        .args(self.pk_args(tid)),
                );
            }
        }
        out
    }

    fn pk_args(&mut self, tid: TableId) -> Vec<InputValue> {
        let t = &self.schema.tables[tid];
        let mut args = Vec::new();
        for &c in &t.primary_key {
            if c >= t.columns.len() {
                continue;
            }
            let ty = self.column_type(t, c).non_null();
            args.push(InputValue::new(t.columns[c].gql_name.clone(), ty));
        }
        args
    }

    fn pk_columns_input(&mut self, tid: TableId) {
        let args = self.pk_args(tid);
        let t = &self.schema.tables[tid];
        let mut pk = TypeDef::new(
            format!("{}_pk_columns_input", t.gql_name),
            TypeKind::InputObject,
        )
        .desc(format!(
            "primary key columns input for table: {}",
            label(&t.name)
        ));
        pk.input_fields = args;
        self.add(pk);
    }

    // ---------------------------------------------------------------- roots

    /// Query (or, with `stream`, subscription) root fields of one table.
    fn table_root_fields(&mut self, tid: TableId, subscription: bool) -> Vec<FieldDef> {
        let schema = self.schema;
        let t = &schema.tables[tid];
        let Some(view) = self.sel(tid).cloned() else {
            return Vec::new();
        };
        let allowed = |k: &str| {
            if subscription {
                view.subscription_root(k)
            } else {
                view.query_root(k)
            }
        };
        let g = &t.gql_name;
        let lbl = label(&t.name);
        let rf = &t.root_fields;
        let mut out = Vec::new();
        if allowed("select") {
            out.push(
                FieldDef::new(rf.select.clone(), TypeRef::list_nn(g))
                    .desc(
                        rf.description("select", format!("fetch data from the table: \"{}\"", lbl)),
                    )
                    .args(self.select_args(tid)),
            );
        }
        if view.aggs && allowed("select_aggregate") {
            out.push(
                FieldDef::new(
                    rf.select_aggregate.clone(),
                    named(format!("{}_aggregate", g)).non_null(),
                )
                .desc(rf.description(
                    "select_aggregate",
                    format!("fetch aggregated fields from the table: \"{}\"", lbl),
                ))
                .args(self.select_args(tid)),
            );
        }
        let pk_ok =
            !t.primary_key.is_empty() && t.primary_key.iter().all(|c| view.columns.contains(c));
        if pk_ok && allowed("select_by_pk") {
            out.push(
                FieldDef::new(rf.select_by_pk.clone(), named(g))
                    .desc(rf.description(
                        "select_by_pk",
                        format!(
                            "fetch data from the table: \"{}\" using primary key columns",
                            lbl
                        ),
                    ))
                    .args(self.pk_args(tid)),
            );
        }
        if subscription && allowed("select_stream") && !view.columns.is_empty() {
            out.push(
                FieldDef::new(format!("{}_stream", rf.select), TypeRef::list_nn(g))
                    .desc(format!(
                        "fetch data from the table in a streaming manner: \"{}\"",
                        lbl
                    ))
                    .args(vec![
                        InputValue::new("batch_size", named("Int").non_null())
                            .desc("maximum number of rows returned in a single batch"),
                        InputValue::new(
                            "cursor",
                            named(format!("{}_stream_cursor_input", g))
                                .list()
                                .non_null(),
                        )
                        .desc("cursor to stream the results returned by the query"),
                        InputValue::new("where", named(format!("{}_bool_exp", g)))
                            .desc("filter the rows returned"),
                    ]),
            );
        }
        out
    }

    /// Whether the role may call a tracked function.
    fn function_visible(&self, f: &crate::model::Function) -> bool {
        let FunctionReturn::Table { table, .. } = f.returns else {
            return false;
        };
        if self.sel(table).is_none() {
            return false;
        }
        if self.admin || f.permissions.iter().any(|r| r == self.role) {
            return true;
        }
        f.exposed_as == ExposedAs::Query && self.options.infer_function_permissions
    }

    /// Root fields of the tracked functions exposed as `kind`.
    fn function_root_fields(&mut self, kind: ExposedAs) -> Vec<FieldDef> {
        let schema = self.schema;
        let mut out = Vec::new();
        for f in &schema.functions {
            if f.exposed_as != kind || !self.function_visible(f) {
                continue;
            }
            let FunctionReturn::Table { table, set } = f.returns else {
                continue;
            };
            let tt = &schema.tables[table];
            let mut skip = Vec::new();
            if let Some(s) = f.session_argument {
                skip.push(s);
            }
            let args_arg = self.function_args_type(&f.gql_name, &f.args, &skip);
            let mut args: Vec<InputValue> = args_arg.into_iter().collect();
            args.extend(self.select_args(table));
            let volatile = if f.volatility == 'v' && kind == ExposedAs::Mutation {
                "VOLATILE "
            } else {
                ""
            };
            let desc = f.comment.clone().unwrap_or_else(|| {
                format!(
                    "execute {}function \"{}\" which returns \"{}\"",
                    volatile,
                    label(&f.name),
                    label(&tt.name)
                )
            });
            let ty = if set {
                TypeRef::list_nn(&tt.gql_name)
            } else {
                named(&tt.gql_name)
            };
            out.push(
                FieldDef::new(f.gql_name.clone(), ty)
                    .desc(desc)
                    .args(args.clone()),
            );
            let aggs = self.sel(table).is_some_and(|s| s.aggs);
            // Hasura gives a function returning one row an aggregate field too.
            if kind == ExposedAs::Query && aggs {
                out.push(
                    FieldDef::new(f.gql_aggregate_name.clone(), named(format!("{}_aggregate", tt.gql_name)).non_null())
                        .desc(format!(
                            "execute function \"{}\" and query aggregates on result of table type \"{}\"",
                            label(&f.name),
                            label(&tt.name)
                        ))
                        .args(args),
                );
            }
        }
        out
    }

    fn run(mut self) -> TypeSystem {
        let n = self.schema.tables.len();
        for tid in 0..n {
            self.select_types(tid);
        }
        // Every enum table's enum type is part of the schema whenever a visible column uses it;
        // `select_types` added those. Root types:
        let mut query = TypeDef::new("query_root", TypeKind::Object);
        let mut subscription = TypeDef::new("subscription_root", TypeKind::Object);
        let mut mutation = TypeDef::new("mutation_root", TypeKind::Object).desc("mutation root");
        for tid in 0..n {
            let q = self.table_root_fields(tid, false);
            query.fields.extend(q);
            let s = self.table_root_fields(tid, true);
            subscription.fields.extend(s);
            let m = self.mutation_fields(tid);
            mutation.fields.extend(m);
        }
        let qf = self.function_root_fields(ExposedAs::Query);
        subscription.fields.extend(qf.iter().cloned());
        query.fields.extend(qf);
        mutation
            .fields
            .extend(self.function_root_fields(ExposedAs::Mutation));

        // Duplicate root names (a misconfiguration metadata should reject): keep the first.
        for root in [&mut query, &mut subscription, &mut mutation] {
            let mut seen = BTreeSet::new();
            root.fields.retain(|f| seen.insert(f.name.clone()));
        }
        if query.fields.is_empty() {
            query.fields.push(FieldDef::new(
                "no_queries_available",
                named("String").non_null(),
            ));
        }
        let has_mutation = !mutation.fields.is_empty();
        let has_subscription = !subscription.fields.is_empty();
        self.types.insert(String::from("query_root"), query);
        if has_mutation {
            self.types.insert(String::from("mutation_root"), mutation);
        }
        if has_subscription {
            self.types
                .insert(String::from("subscription_root"), subscription);
        }
        let mut order_by = TypeDef::new("order_by", TypeKind::Enum).desc("column ordering options");
        for (v, d) in [
            ("asc", "in ascending order, nulls last"),
            ("asc_nulls_first", "in ascending order, nulls first"),
            ("asc_nulls_last", "in ascending order, nulls last"),
            ("desc", "in descending order, nulls first"),
            ("desc_nulls_first", "in descending order, nulls first"),
            ("desc_nulls_last", "in descending order, nulls last"),
        ] {
            order_by.enum_values.push(EnumValueDef {
                name: String::from(v),
                description: Some(String::from(d)),
            });
        }
        self.add(order_by);
        for m in meta::meta_types() {
            self.types.insert(m.name.clone(), m);
        }
        let directives = meta::directives();

        // Prune to what is reachable; referenced names with no definition are scalars.
        let mut roots: Vec<String> = vec![String::from("query_root"), String::from("__Schema")];
        if has_mutation {
            roots.push(String::from("mutation_root"));
        }
        if has_subscription {
            roots.push(String::from("subscription_root"));
        }
        for d in &directives {
            for a in &d.args {
                roots.push(String::from(a.ty.base()));
            }
        }
        // Tables action relationships lead to: what their fields refer to.
        for &tid in self.keep {
            if self.sel(tid).is_none() {
                continue;
            }
            let g = &self.schema.tables[tid].gql_name;
            for name in [
                g.clone(),
                format!("{}_select_column", g),
                format!("{}_order_by", g),
                format!("{}_bool_exp", g),
                format!("{}_aggregate", g),
            ] {
                if self.types.contains_key(&name) {
                    roots.push(name);
                }
            }
        }
        let mut reachable: BTreeMap<String, TypeDef> = BTreeMap::new();
        while let Some(name) = roots.pop() {
            if reachable.contains_key(&name) {
                continue;
            }
            let def = self
                .types
                .remove(&name)
                .unwrap_or_else(|| TypeDef::new(name.clone(), TypeKind::Scalar));
            for f in &def.fields {
                roots.push(String::from(f.ty.base()));
                for a in &f.args {
                    roots.push(String::from(a.ty.base()));
                }
            }
            for f in &def.input_fields {
                roots.push(String::from(f.ty.base()));
            }
            reachable.insert(name, def);
        }
        for t in reachable.values_mut() {
            t.sort();
        }
        TypeSystem {
            types: reachable,
            query_type: String::from("query_root"),
            mutation_type: if has_mutation {
                Some(String::from("mutation_root"))
            } else {
                None
            },
            subscription_type: if has_subscription {
                Some(String::from("subscription_root"))
            } else {
                None
            },
            directives,
        }
    }
}
