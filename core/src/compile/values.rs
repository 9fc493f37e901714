//! Input values → typed SQL expressions (always through bind parameters), with Hasura's input
//! validation messages for the cases that are checked at compile time.
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::sql;
use super::Ctx;
use crate::error::{Error, Result};
use crate::model::{PgType, TableId};
use crate::plan::Encoding;
use crate::value::Value;

/// [`typed`] for the value of a column (insert objects, `_set`, `_inc`, primary-key
/// arguments): a variable must be declared with the column's scalar type, as GraphQL's
/// "variable usages are allowed" rule requires (`Int` is not accepted where `Float` is
/// expected). Enum-table and array columns are not checked here.
pub fn column_value(
    ctx: &mut Ctx<'_>,
    v: &Value,
    col: &crate::model::Column,
    path: &str,
) -> Result<String> {
    if let (Value::Variable(name), None, None) = (v, col.enum_table, &col.pg_type.element) {
        let declared = ctx.var_defs.iter().find(|d| &d.name == name).map(|d| &d.ty);
        let expected = crate::introspection::scalars::scalar_name(&col.pg_type.udt);
        if let Some(declared) = declared {
            let named = match declared {
                crate::parse::ast::Type::NonNull(t) => t.as_ref(),
                t => t,
            };
            if let crate::parse::ast::Type::Named(n) = named {
                if *n != expected {
                    return Err(Error::validation(
                        path,
                        format!(
                            "variable '{}' is declared as '{}', but used where '{}' is expected",
                            name,
                            crate::encode::type_text(declared),
                            expected
                        ),
                    ));
                }
            }
        }
    }
    typed(ctx, v, &col.pg_type, col.enum_table, path)
}

/// GraphQL's "all variable usages are allowed" rule for a location of the non-null type
/// `expected` (its text, `author_insert_input!`): a variable declared nullable may be used there
/// only with a non-null default value.
pub fn non_null_location(ctx: &Ctx<'_>, v: &Value, expected: &str, path: &str) -> Result<()> {
    let Value::Variable(name) = v else {
        return Ok(());
    };
    let Some(def) = ctx.var_defs.iter().find(|d| &d.name == name) else {
        return Ok(());
    };
    let non_null_default = def.default.as_ref().is_some_and(|d| !d.is_null());
    if matches!(def.ty, crate::parse::ast::Type::NonNull(_)) || non_null_default {
        return Ok(());
    }
    Err(Error::validation(
        path,
        format!(
            "variable '{}' is declared as '{}', but used where '{}' is expected",
            name,
            crate::encode::type_text(&def.ty),
            expected
        ),
    ))
}

/// The SQL expression for `v` as a value of type `ty` (`$1::"pg_catalog"."int4"`).
/// `enum_table`: the column references an enum table, whose values are checked.
pub fn typed(
    ctx: &mut Ctx<'_>,
    v: &Value,
    ty: &PgType,
    enum_table: Option<TableId>,
    path: &str,
) -> Result<String> {
    let mapped = match enum_table {
        Some(t) => {
            check_enum(ctx, v, t, path)?;
            enum_row_value(ctx, v, t)?
        }
        None => None,
    };
    let v = mapped.as_ref().unwrap_or(v);
    if ty.udt == "ltree" {
        check_ltree(ctx, v, path)?;
    }
    if enum_table.is_none() {
        check_literal(v, ty, path)?;
    }
    if ty.is_geo() {
        let resolved = ctx.resolve_leaf(v)?;
        check_geojson(&resolved, path)?;
        let p = ctx.leaf_param(v, Encoding::Json)?;
        let cast = if ty.udt == "geography" {
            "::geography"
        } else {
            ""
        };
        return Ok(format!("ST_GeomFromGeoJSON({}::text){}", p, cast));
    }
    let encoding = if ty.is_array() {
        Encoding::PgArray
    } else if ty.is_json() {
        Encoding::Json
    } else {
        Encoding::Scalar
    };
    let p = ctx.leaf_param(v, encoding)?;
    Ok(format!("{}::{}", p, sql::type_name(ty)))
}

/// A list of values of type `ty` as one array parameter (`$1::"pg_catalog"."int4"[]`).
pub fn typed_array(
    ctx: &mut Ctx<'_>,
    v: &Value,
    ty: &PgType,
    enum_table: Option<TableId>,
    path: &str,
) -> Result<String> {
    let mapped = match enum_table {
        Some(t) => {
            if let Value::List(items) = &ctx.resolve(v)? {
                for item in items {
                    check_enum(ctx, item, t, path)?;
                }
            }
            enum_row_value(ctx, v, t)?
        }
        None => None,
    };
    let v = mapped.as_ref().unwrap_or(v);
    if ty.udt == "ltree" {
        if let Value::List(items) = ctx.resolve(v)? {
            for (i, item) in items.iter().enumerate() {
                check_ltree(ctx, item, &format!("{}[{}]", path, i))?;
            }
        }
    }
    let p = ctx.leaf_param(v, Encoding::PgArray)?;
    if ty.is_geo() {
        return Err(Error::validation(
            path,
            "list operators are not supported on geometry columns",
        ));
    }
    Ok(format!("{}::{}", p, sql::array_type_name(ty)))
}

/// Input coercion of a literal for the column's scalar type, as Hasura's Postgres scalars do:
/// `Int` takes integers (or strings holding one), `Float` numbers (or numeric strings),
/// `Boolean` booleans (or "true"/"false"), `String` strings. Variables are values of their
/// declared types and are left to Postgres.
fn check_literal(v: &Value, ty: &PgType, path: &str) -> Result<()> {
    if ty.is_array() {
        return Ok(());
    }
    let (ok, expected) = match ty.udt.as_str() {
        "int4" => (
            match v {
                Value::Number(n) => !n.contains(['.', 'e', 'E']),
                Value::String(s) => s.trim().parse::<i32>().is_ok(),
                _ => false,
            },
            "a 32-bit integer for type 'Int'",
        ),
        "float4" => (
            match v {
                Value::Number(_) => true,
                Value::String(s) => s.trim().parse::<f64>().is_ok(),
                _ => false,
            },
            "a float for type 'Float'",
        ),
        "bool" => (
            matches!(v, Value::Boolean(_))
                || matches!(v, Value::String(s) if s == "true" || s == "false"),
            "a boolean for type 'Boolean'",
        ),
        "text" | "varchar" => (matches!(v, Value::String(_)), "a string for type 'String'"),
        _ => return Ok(()),
    };
    if ok || matches!(v, Value::Variable(_) | Value::Null) {
        return Ok(());
    }
    Err(Error::validation(
        path,
        format!("expected {}, but found {}", expected, article(v.kind())),
    ))
}

/// Hasura parses `ltree` input itself: a label path is zero or more labels
/// (`[A-Za-z0-9_-]+`) separated by dots.
fn check_ltree(ctx: &mut Ctx<'_>, v: &Value, path: &str) -> Result<()> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Variable(name) => match ctx.variable(name)? {
            Value::String(s) => s,
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    let valid = s.is_empty()
        || s.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if valid {
        return Ok(());
    }
    Err(Error::new(
        crate::error::ErrorCode::ParseFailed,
        path,
        "Expecting label path: a sequence of zero or more labels separated by dots, for example L1.L2.L3",
    ))
}

/// For an enum table whose GraphQL value names are not its values (`graphql-default`): `v`
/// (a name, or a list of names) with each name replaced by its row's value, the variables in
/// it made shaping (the plan holds the row values). `None`: the names are the values.
fn enum_row_value(ctx: &mut Ctx<'_>, v: &Value, t: TableId) -> Result<Option<Value>> {
    if !ctx
        .schema
        .tables
        .get(t)
        .is_some_and(|x| x.enum_values_renamed())
    {
        return Ok(None);
    }
    let table = &ctx.schema.tables[t];
    let row = |v: Value| match v {
        Value::String(s) | Value::Enum(s) => match table.enum_values.iter().find(|e| e.name == s) {
            Some(e) => Value::String(e.value.clone()),
            None => Value::String(s),
        },
        other => other,
    };
    let resolved = ctx.shaping_value(v)?;
    Ok(Some(match resolved {
        Value::List(items) => Value::List(items.into_iter().map(row).collect()),
        other => row(other),
    }))
}

/// Checks an enum-table value: a literal must be an enum literal; any value must be one of the rows.
fn check_enum(ctx: &mut Ctx<'_>, v: &Value, t: TableId, path: &str) -> Result<()> {
    let Some(table) = ctx.schema.tables.get(t) else {
        return Ok(());
    };
    let type_name = format!("{}_enum", table.gql_name);
    let s = match v {
        Value::Enum(s) => s.clone(),
        Value::String(_) => {
            return Err(Error::validation(
                path,
                format!(
                    "expected an enum value for type '{}', but found a string",
                    type_name
                ),
            ))
        }
        Value::Variable(name) => match ctx.variable(name)? {
            Value::String(s) | Value::Enum(s) => s,
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    if !table.enum_values.iter().any(|e| e.name == s) {
        let mut names: Vec<&str> = table.enum_values.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        let list: Vec<String> = names.iter().map(|n| format!("'{}'", n)).collect();
        return Err(Error::validation(
            path,
            format!(
                "expected one of the values [{}] for type '{}', but found '{}'",
                list.join(", "),
                type_name,
                s
            ),
        ));
    }
    Ok(())
}

/// A non-negative 32-bit integer argument (`limit`, `offset`).
pub fn non_negative_int(ctx: &mut Ctx<'_>, v: &Value, path: &str) -> Result<Option<u64>> {
    let v = ctx.resolve(v)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.parse::<i64>() {
            Ok(i) if (0..=i32::MAX as i64).contains(&i) => Ok(Some(i as u64)),
            Ok(_) => Err(Error::validation(
                path,
                "expected a non-negative 32-bit integer for type 'Int', but found an integer",
            )),
            Err(_) => Err(Error::validation(
                path,
                format!(
                    "expected a non-negative 32-bit integer for type 'Int', but found a {}",
                    v.kind()
                ),
            )),
        },
        other => Err(Error::validation(
            path,
            format!(
                "expected a 32-bit integer for type 'Int', but found {}",
                article(other.kind())
            ),
        )),
    }
}

pub use crate::value::article;

/// An object argument's fields (after resolving a variable), or an error naming the type.
pub fn object(
    ctx: &mut Ctx<'_>,
    v: &Value,
    type_name: &str,
    path: &str,
) -> Result<Vec<(String, Value)>> {
    match ctx.resolve(v)? {
        Value::Object(fields) => Ok(fields),
        other => Err(Error::validation(
            path,
            format!(
                "expected an object for type '{}', but found {}",
                type_name,
                article(other.kind())
            ),
        )),
    }
}

/// A list argument; a single value is coerced to a one-element list (GraphQL input coercion).
pub fn list(ctx: &mut Ctx<'_>, v: &Value) -> Result<Vec<Value>> {
    match ctx.resolve(v)? {
        Value::List(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Ok(alloc::vec![other]),
    }
}

/// Hasura parses GeoJSON input itself; these are its messages for malformed geometries.
fn check_geojson(v: &Value, path: &str) -> Result<()> {
    let fail = |m: &str| Err(Error::new(crate::error::ErrorCode::ParseFailed, path, m));
    let Value::Object(_) = v else { return Ok(()) };
    let kind = match v.get("type") {
        Some(Value::String(s)) | Some(Value::Enum(s)) => s.as_str(),
        _ => return Ok(()),
    };
    if kind == "GeometryCollection" {
        if let Some(Value::List(items)) = v.get("geometries") {
            for g in items {
                check_geojson(g, path)?;
            }
        }
        return Ok(());
    }
    let Some(coords) = v.get("coordinates") else {
        return Ok(());
    };
    fn list(v: &Value) -> &[Value] {
        match v {
            Value::List(items) => items,
            _ => &[],
        }
    }
    fn position(v: &Value) -> core::result::Result<(), &'static str> {
        let n = list(v)
            .iter()
            .filter(|x| matches!(x, Value::Number(_)))
            .count();
        if n < 2 {
            return Err("A Position needs at least 2 elements");
        }
        Ok(())
    }
    /// Checks every position of `v`, then that there are at least `min` (else `msg`).
    fn positions<'v>(
        v: &'v Value,
        min: usize,
        msg: &'static str,
    ) -> core::result::Result<&'v [Value], &'static str> {
        let ps = list(v);
        for p in ps {
            position(p)?;
        }
        if ps.len() < min {
            return Err(msg);
        }
        Ok(ps)
    }
    fn line(v: &Value) -> core::result::Result<(), &'static str> {
        positions(v, 2, "A LineString needs at least 2 Positions").map(|_| ())
    }
    fn ring(v: &Value) -> core::result::Result<(), &'static str> {
        let ps = positions(v, 4, "A LinearRing needs at least 4 Positions")?;
        if ps.first() != ps.last() {
            return Err("the first and last locations have to be equal for a LinearRing");
        }
        Ok(())
    }
    let checked = match kind {
        "Point" => position(coords),
        "MultiPoint" => list(coords).iter().try_for_each(position),
        "LineString" => line(coords),
        "MultiLineString" => list(coords).iter().try_for_each(line),
        "Polygon" => list(coords).iter().try_for_each(ring),
        "MultiPolygon" => list(coords)
            .iter()
            .try_for_each(|p| list(p).iter().try_for_each(ring)),
        _ => Ok(()),
    };
    match checked {
        Ok(()) => Ok(()),
        Err(m) => fail(m),
    }
}
