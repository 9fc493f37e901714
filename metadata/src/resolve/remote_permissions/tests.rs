//! Role SDLs against a small remote: Hasura's messages for what is not a subset, and the views
//! (presets, hidden fully preset input objects, inherited unions).
use super::*;
use graphedge_core::remote_schemas::{RemoteCustomization, RemoteUrl};

fn named(n: &str) -> Type {
    Type::Named(n.into())
}

fn non_null(n: &str) -> Type {
    Type::NonNull(Box::new(named(n)))
}

fn arg(name: &str, ty: Type) -> InputValue {
    InputValue {
        name: name.into(),
        description: None,
        ty,
        default_value: None,
        preset: None,
    }
}

fn field(name: &str, ty: Type, args: Vec<InputValue>) -> RemoteField {
    RemoteField {
        name: name.into(),
        description: None,
        args,
        ty,
        deprecation: None,
    }
}

fn ty(kind: TypeKind, name: &str) -> RemoteType {
    RemoteType {
        kind,
        name: name.into(),
        description: None,
        fields: vec![],
        input_fields: vec![],
        enum_values: vec![],
        interfaces: vec![],
        possible_types: vec![],
    }
}

fn remote() -> RemoteSchema {
    let mut query = ty(TypeKind::Object, "Query");
    query.fields = vec![
        field("hello", named("String"), vec![]),
        field("user", named("User"), vec![arg("user_id", non_null("Int"))]),
        field("picture", named("Photo"), vec![arg("size", named("Size"))]),
    ];
    let mut user = ty(TypeKind::Object, "User");
    user.fields = vec![
        field("user_id", named("Int"), vec![]),
        field("text", named("String"), vec![arg("text", named("String"))]),
    ];
    let mut photo = ty(TypeKind::Object, "Photo");
    photo.fields = vec![field("width", named("Int"), vec![])];
    let mut size = ty(TypeKind::InputObject, "Size");
    size.input_fields = vec![arg("width", named("Int")), arg("height", named("Int"))];
    let mut status = ty(TypeKind::Enum, "Status");
    status.enum_values = vec![("READ".into(), None, None), ("SENT".into(), None, None)];
    RemoteSchema {
        name: "r".into(),
        url: RemoteUrl::Url("http://r".into()),
        headers: vec![],
        forward_client_headers: false,
        timeout_seconds: 60,
        types: vec![query, user, photo, size, status],
        query_type: Some("Query".into()),
        mutation_type: None,
        subscription_type: None,
        permissions: vec![],
        customization: RemoteCustomization::default(),
        role_schemas: vec![],
        relationships: Vec::new(),
    }
}

/// The message for `sdl` (`Ok` views are returned as `Ok`).
fn check(sdl: &str) -> Result<RemoteSchema, String> {
    role_view(&remote(), sdl).map_err(|e| e.message().to_string())
}

#[test]
fn subsets_are_views() {
    let v =
        check("type User { user_id: Int } type Query { user(user_id: Int!): User hello: String }")
            .unwrap();
    assert_eq!(v.types.len(), 2);
    assert_eq!(v.root("query").unwrap().fields.len(), 2);
    assert_eq!(v.mutation_type, None);
}

#[test]
fn hasura_messages() {
    let cases = [
        ("scalar Time type Query { hello: String }",
         "validation for the given role-based schema failed because \"Scalar\": \"Time\" does not exist in the upstream remote schema"),
        ("enum Status { READ IDLE } type Query { hello: String }",
         "validation for the given role-based schema failed because enum \"Status\" contains the following enum values that do not exist in the corresponding upstream remote enum: \"IDLE\""),
        ("enum Status { READ READ } type Query { hello: String }",
         "validation for the given role-based schema failed because duplicate enum values: \"READ\" found in the \"Status\" enum"),
        ("type Query { hello: String user: User } type User { user_id: Int }",
         "validation for the given role-based schema failed because field: \"user\" expects the following non nullable arguments to be present: \"user_id\""),
        ("type User { user_id: Int! created: String } type Query { hello: String }",
         "validation for the given role-based schema failed for the following reasons:\n • expected type of \"user_id\"(\"Object field\") to be Int but received Int!\n • field \"created\" does not exist in the \"Object\": \"User\"\n"),
        ("type User { user_id: Int @preset(value: 2) } type Query { hello: String }",
         "validation for the given role-based schema failed because Preset directives can be defined only on INPUT_FIELD_DEFINITION or ARGUMENT_DEFINITION"),
        ("type Query { user(user_id: Int! @preset(value: {a: 1})): User } type User { user_id: Int }",
         "validation for the given role-based schema failed because expected preset value \"{a: 1}\" of type \"Int\" to be a scalar value"),
        ("input Size { width: Int @preset(value: \"x-hasura-w\") height: [Int] @preset(value: \"x-hasura-h\") } type Query { hello: String }",
         "validation for the given role-based schema failed for the following reasons:\n • expected type of \"height\"(\"Input object argument\") to be Int but received [Int]\n • illegal preset value at \"height\". Session arguments can only be set for singleton values\n"),
    ];
    for (sdl, want) in cases {
        assert_eq!(check(sdl).err().as_deref(), Some(want), "{sdl}");
    }
    assert!(matches!(
        role_view(&remote(), "type Query {"),
        Err(RoleSchemaError::Parse(_))
    ));
}

#[test]
fn presets() {
    let v = check(
        "type User { user_id: Int text(text: String @preset(value: \"hi\")): String }
         input Size { width: Int @preset(value: 42) height: Int @preset(value: 7) }
         type Photo { width: Int }
         type Query { user(user_id: Int! @preset(value: \"x-hasura-user-id\")): User picture(size: Size): Photo }",
    )
    .unwrap();
    let user = v.root("query").unwrap().field("user").unwrap();
    assert_eq!(
        user.args[0].preset,
        Some(Preset::Session {
            var: "x-hasura-user-id".into(),
            ty: non_null("Int"),
            enum_values: None
        })
    );
    let text = v.type_named("User").unwrap().field("text").unwrap();
    assert_eq!(
        text.args[0].preset,
        Some(Preset::Value(Value::String("hi".into())))
    );
    // Every field of `Size` preset: the type is gone, `size` always sent with them.
    assert!(v.type_named("Size").is_none());
    let picture = v.root("query").unwrap().field("picture").unwrap();
    assert!(
        matches!(&picture.args[0].preset, Some(Preset::Value(Value::Object(f))) if f.len() == 2)
    );
    // `static: true` keeps an `x-hasura-` string as it is.
    let v = check(
        "type User { user_id: Int text(text: String @preset(value: \"x-hasura-a\", static: true)): String }
         type Query { hello: String }",
    )
    .unwrap();
    let text = v.type_named("User").unwrap().field("text").unwrap();
    assert_eq!(
        text.args[0].preset,
        Some(Preset::Value(Value::String("x-hasura-a".into())))
    );
}

#[test]
fn inherited_roles_see_the_union() {
    let a = check("type Query { hello: String }").unwrap();
    let b = check(
        "type User { user_id: Int } type Query { user(user_id: Int! @preset(value: 1)): User }",
    )
    .unwrap();
    let c =
        check("type User { text(text: String): String } type Query { user(user_id: Int!): User }")
            .unwrap();
    let u = union_of(&[&a, &b, &c]).unwrap();
    let q = u.root("query").unwrap();
    assert_eq!(q.fields.len(), 2);
    assert!(
        q.field("user").unwrap().args[0].preset.is_none(),
        "c may set it"
    );
    assert_eq!(u.type_named("User").unwrap().fields.len(), 2);
    assert!(union_of(&[]).is_none());
    // Two parents presetting one argument to different values cannot be inherited.
    let d = check(
        "type User { user_id: Int } type Query { user(user_id: Int! @preset(value: 2)): User }",
    )
    .unwrap();
    assert!(presets_conflict(&[&a, &b, &d]));
    assert!(!presets_conflict(&[&a, &b, &c]));
    assert!(!presets_conflict(&[&b, &b]));
}
