//! Postgres type → GraphQL scalar, as Hasura v2 names them, and the operators of each
//! scalar's `<Scalar>_comparison_exp`.
//!
//! Hasura's mapping: `int4` → `Int`, `float4` → `Float`, `text`/`varchar` → `String`,
//! `bool` → `Boolean`; every other type keeps a Postgres name (`int2` → `smallint`,
//! `int8` → `bigint`, `float8`, `numeric`, `bpchar`, `timestamptz`, `jsonb`, `uuid`, `citext`,
//! `ltree`, `geometry`, user-defined types by their `typname`). Array columns are lists of their
//! element's scalar (`[String!]`) and compare through `<Elem>_array_comparison_exp`.
use alloc::string::String;
use alloc::vec::Vec;

use super::types::{InputValue, TypeDef, TypeKind, TypeRef};
use crate::model::PgType;

/// The GraphQL scalar of a Postgres base type, by `pg_type.typname` (or a common alias).
pub fn scalar_name(udt: &str) -> String {
    let name = match udt {
        "int4" | "integer" | "int" | "serial" | "serial4" => "Int",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "float4" | "real" => "Float",
        "float8" | "double precision" => "float8",
        "numeric" | "decimal" => "numeric",
        "bool" | "boolean" => "Boolean",
        "text" | "varchar" | "character varying" => "String",
        "bpchar" | "character" | "char" => "bpchar",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timetz" | "time with time zone" => "timetz",
        "time" | "time without time zone" => "time",
        other => other,
    };
    String::from(name)
}

/// The GraphQL output/input type of a column of this Postgres type (without nullability):
/// a scalar, or for arrays a list of non-null element scalars.
pub fn column_type(ty: &PgType) -> TypeRef {
    match &ty.element {
        Some(elem) => TypeRef::named(scalar_name(elem)).non_null().list(),
        None => TypeRef::named(scalar_name(&ty.udt)),
    }
}

/// The comparison-expression type name for a column of this Postgres type.
pub fn comparison_exp_name(ty: &PgType) -> String {
    match &ty.element {
        Some(elem) => {
            let mut s = scalar_name(elem);
            s.push_str("_array_comparison_exp");
            s
        }
        None => {
            let mut s = scalar_name(&ty.udt);
            s.push_str("_comparison_exp");
            s
        }
    }
}

/// Numeric scalars: `sum`, `avg`, `stddev*`, `var*` aggregates and `_inc` apply.
pub fn is_numeric(ty: &PgType) -> bool {
    ty.element.is_none()
        && matches!(
            scalar_name(&ty.udt).as_str(),
            "Int" | "smallint" | "bigint" | "Float" | "float8" | "numeric" | "money"
        )
}

/// Scalars Postgres can `min`/`max` (numbers, strings, dates and times, uuid).
pub fn is_comparable(ty: &PgType) -> bool {
    if ty.element.is_some() {
        return false;
    }
    is_numeric(ty)
        || matches!(
            scalar_name(&ty.udt).as_str(),
            "String"
                | "citext"
                | "bpchar"
                | "date"
                | "time"
                | "timetz"
                | "timestamp"
                | "timestamptz"
                | "uuid"
                | "interval"
        )
}

/// String-like scalars that get the pattern-matching operators.
fn is_string(scalar: &str) -> bool {
    matches!(scalar, "String" | "citext" | "bpchar")
}

fn op(name: &str, ty: TypeRef) -> InputValue {
    InputValue::new(name, ty)
}

fn op_d(name: &str, ty: TypeRef, desc: &str) -> InputValue {
    InputValue::new(name, ty).desc(desc)
}

/// The basic operators every scalar gets.
fn base_ops(scalar: &str, out: &mut Vec<InputValue>) {
    let t = || TypeRef::named(scalar);
    out.push(op("_eq", t()));
    out.push(op("_gt", t()));
    out.push(op("_gte", t()));
    out.push(op("_in", TypeRef::list_nn_inner(scalar)));
    out.push(op("_is_null", TypeRef::named("Boolean")));
    out.push(op("_lt", t()));
    out.push(op("_lte", t()));
    out.push(op("_neq", t()));
    out.push(op("_nin", TypeRef::list_nn_inner(scalar)));
}

impl TypeRef {
    /// `[T!]` (nullable list of non-null), the type of `_in`/`_nin`.
    pub fn list_nn_inner(name: &str) -> TypeRef {
        TypeRef::named(name).non_null().list()
    }
}

/// Extra input types a comparison expression refers to (`jsonb_cast_exp`, `st_d_within_input`…):
/// returned by [`comparison_exp`] so the builder can add them.
pub struct ComparisonTypes {
    pub exp: TypeDef,
    pub extra: Vec<TypeDef>,
}

/// `<Scalar>_comparison_exp` for a scalar column type.
pub fn comparison_exp(scalar: &str) -> ComparisonTypes {
    let mut fields = Vec::new();
    let mut extra = Vec::new();
    base_ops(scalar, &mut fields);
    if is_string(scalar) {
        let t = || TypeRef::named(scalar);
        fields.push(op_d(
            "_ilike",
            t(),
            "does the column match the given case-insensitive pattern",
        ));
        fields.push(op_d(
            "_iregex",
            t(),
            "does the column match the given POSIX regular expression, case insensitive",
        ));
        fields.push(op_d(
            "_like",
            t(),
            "does the column match the given pattern",
        ));
        fields.push(op_d(
            "_nilike",
            t(),
            "does the column NOT match the given case-insensitive pattern",
        ));
        fields.push(op_d(
            "_niregex",
            t(),
            "does the column NOT match the given POSIX regular expression, case insensitive",
        ));
        fields.push(op_d(
            "_nlike",
            t(),
            "does the column NOT match the given pattern",
        ));
        fields.push(op_d(
            "_nregex",
            t(),
            "does the column NOT match the given POSIX regular expression, case sensitive",
        ));
        fields.push(op_d(
            "_nsimilar",
            t(),
            "does the column NOT match the given SQL regular expression",
        ));
        fields.push(op_d(
            "_regex",
            t(),
            "does the column match the given POSIX regular expression, case sensitive",
        ));
        fields.push(op_d(
            "_similar",
            t(),
            "does the column match the given SQL regular expression",
        ));
    }
    match scalar {
        "jsonb" => {
            fields.push(op("_cast", TypeRef::named("jsonb_cast_exp")));
            fields.push(op_d(
                "_contained_in",
                TypeRef::named("jsonb"),
                "is the column contained in the given json value",
            ));
            fields.push(op_d(
                "_contains",
                TypeRef::named("jsonb"),
                "does the column contain the given json value at the top level",
            ));
            fields.push(op_d(
                "_has_key",
                TypeRef::named("String"),
                "does the string exist as a top-level key in the column",
            ));
            fields.push(op_d(
                "_has_keys_all",
                TypeRef::list_nn_inner("String"),
                "do all of these strings exist as top-level keys in the column",
            ));
            fields.push(op_d(
                "_has_keys_any",
                TypeRef::list_nn_inner("String"),
                "do any of these strings exist as top-level keys in the column",
            ));
            let mut cast = TypeDef::new("jsonb_cast_exp", TypeKind::InputObject);
            cast.input_fields
                .push(op("String", TypeRef::named("String_comparison_exp")));
            extra.push(cast);
        }
        "geometry" => {
            fields.push(op("_cast", TypeRef::named("geometry_cast_exp")));
            let g = || TypeRef::named("geometry");
            fields.push(op_d(
                "_st_3d_d_within",
                TypeRef::named("st_d_within_input"),
                "is the column within a given 3D distance from the given geometry value",
            ));
            fields.push(op_d(
                "_st_3d_intersects",
                g(),
                "does the column spatially intersect the given geometry value in 3D",
            ));
            fields.push(op_d(
                "_st_contains",
                g(),
                "does the column contain the given geometry value",
            ));
            fields.push(op_d(
                "_st_crosses",
                g(),
                "does the column cross the given geometry value",
            ));
            fields.push(op_d(
                "_st_d_within",
                TypeRef::named("st_d_within_input"),
                "is the column within a given distance from the given geometry value",
            ));
            fields.push(op_d(
                "_st_equals",
                g(),
                "is the column equal to given geometry value (directionality is ignored)",
            ));
            fields.push(op_d(
                "_st_intersects",
                g(),
                "does the column spatially intersect the given geometry value",
            ));
            fields.push(op_d("_st_overlaps", g(), "does the column 'spatially overlap' (intersect but not completely contain) the given geometry value"));
            fields.push(op_d(
                "_st_touches",
                g(),
                "does the column have atleast one point in common with the given geometry value",
            ));
            fields.push(op_d(
                "_st_within",
                g(),
                "is the column contained in the given geometry value",
            ));
            let mut cast = TypeDef::new("geometry_cast_exp", TypeKind::InputObject);
            cast.input_fields
                .push(op("geography", TypeRef::named("geography_comparison_exp")));
            extra.push(cast);
            let mut dw = TypeDef::new("st_d_within_input", TypeKind::InputObject);
            dw.input_fields
                .push(op("distance", TypeRef::named("Float").non_null()));
            dw.input_fields
                .push(op("from", TypeRef::named("geometry").non_null()));
            extra.push(dw);
        }
        "geography" => {
            fields.push(op("_cast", TypeRef::named("geography_cast_exp")));
            fields.push(op_d(
                "_st_d_within",
                TypeRef::named("st_d_within_geography_input"),
                "is the column within a given distance from the given geography value",
            ));
            fields.push(op_d(
                "_st_intersects",
                TypeRef::named("geography"),
                "does the column spatially intersect the given geography value",
            ));
            let mut cast = TypeDef::new("geography_cast_exp", TypeKind::InputObject);
            cast.input_fields
                .push(op("geometry", TypeRef::named("geometry_comparison_exp")));
            extra.push(cast);
            let mut dw = TypeDef::new("st_d_within_geography_input", TypeKind::InputObject);
            dw.input_fields
                .push(op("distance", TypeRef::named("Float").non_null()));
            dw.input_fields
                .push(op("from", TypeRef::named("geography").non_null()));
            dw.input_fields
                .push(op("use_spheroid", TypeRef::named("Boolean")).default("true"));
            extra.push(dw);
        }
        "ltree" => {
            let l = || TypeRef::named("ltree");
            fields.push(op_d(
                "_ancestor",
                l(),
                "is the left argument an ancestor of right (or equal)?",
            ));
            fields.push(op_d(
                "_ancestor_any",
                TypeRef::list_nn_inner("ltree"),
                "does array contain an ancestor of `ltree`?",
            ));
            fields.push(op_d(
                "_descendant",
                l(),
                "is the left argument a descendant of right (or equal)?",
            ));
            fields.push(op_d(
                "_descendant_any",
                TypeRef::list_nn_inner("ltree"),
                "does array contain a descendant of `ltree`?",
            ));
            fields.push(op_d(
                "_matches",
                TypeRef::named("lquery"),
                "does `ltree` match `lquery`?",
            ));
            fields.push(op_d(
                "_matches_any",
                TypeRef::list_nn_inner("String"),
                "does `ltree` match any `lquery` in array?",
            ));
            fields.push(op_d(
                "_matches_fulltext",
                TypeRef::named("ltxtquery"),
                "does `ltree` match `ltxtquery`?",
            ));
        }
        "raster" => {
            fields.push(op(
                "_st_intersects_geom_nband",
                TypeRef::named("st_intersects_geom_nband_input"),
            ));
            fields.push(op(
                "_st_intersects_nband_geom",
                TypeRef::named("st_intersects_nband_geom_input"),
            ));
            fields.push(op("_st_intersects_rast", TypeRef::named("raster")));
            let mut a = TypeDef::new("st_intersects_geom_nband_input", TypeKind::InputObject);
            a.input_fields
                .push(op("from", TypeRef::named("geometry").non_null()));
            a.input_fields.push(op("nband", TypeRef::named("Int")));
            extra.push(a);
            let mut b = TypeDef::new("st_intersects_nband_geom_input", TypeKind::InputObject);
            b.input_fields
                .push(op("from", TypeRef::named("geometry").non_null()));
            b.input_fields
                .push(op("nband", TypeRef::named("Int").non_null()));
            extra.push(b);
        }
        _ => {}
    }
    let mut name = String::from(scalar);
    name.push_str("_comparison_exp");
    let mut desc = String::from("Boolean expression to compare columns of type \"");
    desc.push_str(scalar);
    desc.push_str("\". All fields are combined with logical 'AND'.");
    let mut exp = TypeDef::new(name, TypeKind::InputObject).desc(desc);
    exp.input_fields = fields;
    ComparisonTypes { exp, extra }
}

/// `<Elem>_array_comparison_exp` for array columns of an element scalar.
pub fn array_comparison_exp(elem: &str) -> TypeDef {
    let arr = || TypeRef::named(elem).non_null().list();
    let fields = alloc::vec![
        op_d(
            "_contained_in",
            arr(),
            "is the array contained in the given array value",
        ),
        op_d("_contains", arr(), "does the array contain the given value",),
        op("_eq", arr()),
        op("_gt", arr()),
        op("_gte", arr()),
        op("_in", arr().non_null().list()),
        op("_is_null", TypeRef::named("Boolean")),
        op("_lt", arr()),
        op("_lte", arr()),
        op("_neq", arr()),
        op("_nin", arr().non_null().list()),
    ];
    let mut name = String::from(elem);
    name.push_str("_array_comparison_exp");
    let mut desc = String::from("Boolean expression to compare columns of type \"");
    desc.push_str(elem);
    desc.push_str("\". All fields are combined with logical 'AND'.");
    let mut t = TypeDef::new(name, TypeKind::InputObject).desc(desc);
    t.input_fields = fields;
    t
}
