//! The standard introspection types (`__Schema`, `__Type`, `__Field`, `__InputValue`,
//! `__EnumValue`, `__Directive`, `__TypeKind`, `__DirectiveLocation`) and the directives every
//! role sees (`include`, `skip`, and Hasura's `cached`).
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::types::{DirectiveDef, EnumValueDef, FieldDef, InputValue, TypeDef, TypeKind, TypeRef};

fn f(name: &str, ty: TypeRef) -> FieldDef {
    FieldDef::new(name, ty)
}
fn n(name: &str) -> TypeRef {
    TypeRef::named(name)
}
fn nn(name: &str) -> TypeRef {
    TypeRef::named(name).non_null()
}
fn include_deprecated() -> Vec<InputValue> {
    vec![InputValue::new("includeDeprecated", n("Boolean")).default("false")]
}
fn enum_type(name: &str, values: &[&str]) -> TypeDef {
    let mut t = TypeDef::new(name, TypeKind::Enum);
    t.enum_values = values
        .iter()
        .map(|v| EnumValueDef {
            name: String::from(*v),
            description: None,
        })
        .collect();
    t
}

/// The introspection types, unsorted (the builder sorts every type).
pub fn meta_types() -> Vec<TypeDef> {
    let mut schema = TypeDef::new("__Schema", TypeKind::Object);
    schema.fields = vec![
        f("description", n("String")),
        f("types", TypeRef::list_nn("__Type")),
        f("queryType", nn("__Type")),
        f("mutationType", n("__Type")),
        f("subscriptionType", n("__Type")),
        f("directives", TypeRef::list_nn("__Directive")),
    ];

    let mut ty = TypeDef::new("__Type", TypeKind::Object);
    ty.fields = vec![
        f("kind", nn("__TypeKind")),
        f("name", n("String")),
        f("description", n("String")),
        f("specifiedByURL", n("String")),
        f("fields", TypeRef::named("__Field").non_null().list()).args(include_deprecated()),
        f("interfaces", TypeRef::named("__Type").non_null().list()),
        f("possibleTypes", TypeRef::named("__Type").non_null().list()),
        f(
            "enumValues",
            TypeRef::named("__EnumValue").non_null().list(),
        )
        .args(include_deprecated()),
        f(
            "inputFields",
            TypeRef::named("__InputValue").non_null().list(),
        )
        .args(include_deprecated()),
        f("ofType", n("__Type")),
    ];

    let mut field = TypeDef::new("__Field", TypeKind::Object);
    field.fields = vec![
        f("name", nn("String")),
        f("description", n("String")),
        f("args", TypeRef::list_nn("__InputValue")).args(include_deprecated()),
        f("type", nn("__Type")),
        f("isDeprecated", nn("Boolean")),
        f("deprecationReason", n("String")),
    ];

    let mut input = TypeDef::new("__InputValue", TypeKind::Object);
    input.fields = vec![
        f("name", nn("String")),
        f("description", n("String")),
        f("type", nn("__Type")),
        f("defaultValue", n("String")),
        f("isDeprecated", nn("Boolean")),
        f("deprecationReason", n("String")),
    ];

    let mut ev = TypeDef::new("__EnumValue", TypeKind::Object);
    ev.fields = vec![
        f("name", nn("String")),
        f("description", n("String")),
        f("isDeprecated", nn("Boolean")),
        f("deprecationReason", n("String")),
    ];

    let mut dir = TypeDef::new("__Directive", TypeKind::Object);
    dir.fields = vec![
        f("name", nn("String")),
        f("description", n("String")),
        f("isRepeatable", nn("Boolean")),
        f("locations", TypeRef::list_nn("__DirectiveLocation")),
        f("args", TypeRef::list_nn("__InputValue")).args(include_deprecated()),
    ];

    let kind = enum_type(
        "__TypeKind",
        &[
            "ENUM",
            "INPUT_OBJECT",
            "INTERFACE",
            "LIST",
            "NON_NULL",
            "OBJECT",
            "SCALAR",
            "UNION",
        ],
    );
    let loc = enum_type(
        "__DirectiveLocation",
        &[
            "ARGUMENT_DEFINITION",
            "ENUM",
            "ENUM_VALUE",
            "FIELD",
            "FIELD_DEFINITION",
            "FRAGMENT_DEFINITION",
            "FRAGMENT_SPREAD",
            "INLINE_FRAGMENT",
            "INPUT_FIELD_DEFINITION",
            "INPUT_OBJECT",
            "INTERFACE",
            "MUTATION",
            "OBJECT",
            "QUERY",
            "SCALAR",
            "SCHEMA",
            "SUBSCRIPTION",
            "UNION",
            "VARIABLE_DEFINITION",
        ],
    );
    vec![schema, ty, field, input, ev, dir, kind, loc]
}

/// `@include`, `@skip` and Hasura's `@cached`.
pub fn directives() -> Vec<DirectiveDef> {
    let field_locs = vec!["FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"];
    vec![
        DirectiveDef {
            name: String::from("cached"),
            description: Some(String::from(
                "whether this query should be cached (Hasura Cloud only)",
            )),
            locations: vec!["QUERY"],
            args: vec![
                InputValue::new("refresh", nn("Boolean"))
                    .desc("refresh the cache entry")
                    .default("false"),
                InputValue::new("ttl", nn("Int"))
                    .desc("measured in seconds")
                    .default("60"),
            ],
            is_repeatable: false,
        },
        DirectiveDef {
            name: String::from("include"),
            description: Some(String::from("whether this query should be included")),
            locations: field_locs.clone(),
            args: vec![InputValue::new("if", nn("Boolean"))],
            is_repeatable: false,
        },
        DirectiveDef {
            name: String::from("skip"),
            description: Some(String::from("whether this query should be skipped")),
            locations: field_locs,
            args: vec![InputValue::new("if", nn("Boolean"))],
            is_repeatable: false,
        },
    ]
}
