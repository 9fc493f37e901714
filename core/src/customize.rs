//! Source customization (Hasura's `customization` of a source): a `root_fields.namespace`
//! wraps the source's root fields in one root field, and `type_names` (`prefix`, `suffix`,
//! `mapping`) renames every type the source generates. Root field `prefix`/`suffix` are
//! applied by the metadata crate to the root field names themselves.
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

/// The GraphQL built-in scalars and the root/meta types, never renamed.
fn builtin(name: &str) -> bool {
    matches!(
        name,
        "Int"
            | "Float"
            | "String"
            | "Boolean"
            | "ID"
            | "query_root"
            | "mutation_root"
            | "subscription_root"
    ) || name.starts_with("__")
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Customization {
    /// `root_fields.namespace`: the source's root fields live under this one field.
    pub namespace: Option<String>,
    /// `type_names.prefix` / `suffix`.
    pub type_prefix: String,
    pub type_suffix: String,
    /// `type_names.mapping`: explicit new names (instead of prefix and suffix).
    pub type_mapping: BTreeMap<String, String>,
    /// `naming_convention: graphql-default`: type names in PascalCase (each `_`-separated
    /// word capitalized and joined), except a custom table name at the start, kept as given.
    pub pascal_types: bool,
    /// The custom names (`custom_name`) of the source's tables, kept as given.
    pub custom_bases: alloc::vec::Vec<String>,
}

/// `author_local` → `AuthorLocal`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `author_local_by_pk` → `authorLocalByPk` (the first word as given).
pub fn camel(name: &str) -> String {
    let mut words = name.split('_').filter(|w| !w.is_empty());
    let mut out = String::from(words.next().unwrap_or(""));
    for w in words {
        out.push_str(&pascal(w));
    }
    out
}

/// The argument, operator and field names Hasura generates that `graphql-default` camel-cases
/// (`GQLNameIdentifier`s of more than one word: `order_by` → `orderBy`, `_is_null` → `_isNull`).
/// One-word names (`where`, `limit`, `_set`, `_eq`, `count`) are the same in both conventions.
pub const GENERATED_NAMES: &[&str] = &[
    // arguments
    "order_by",
    "distinct_on",
    "pk_columns",
    "on_conflict",
    "update_columns",
    "_delete_key",
    "_delete_elem",
    "_delete_at_path",
    "batch_size",
    "initial_value",
    // fields
    "affected_rows",
    "stddev_pop",
    "stddev_samp",
    "var_pop",
    "var_samp",
    // boolean operators
    "_is_null",
    "_has_key",
    "_has_keys_any",
    "_has_keys_all",
    "_contained_in",
    "_ancestor_any",
    "_descendant_any",
    "_matches_any",
    "_matches_fulltext",
    "_st_contains",
    "_st_crosses",
    "_st_equals",
    "_st_intersects",
    "_st_overlaps",
    "_st_touches",
    "_st_within",
    "_st_d_within",
    "_st_3d_d_within",
    "_st_3d_intersects",
];

/// `_is_null` → `_isNull`, `order_by` → `orderBy` (a leading `_` kept).
pub fn camel_generated(name: &str) -> String {
    match name.strip_prefix('_') {
        Some(rest) => format!("_{}", camel(rest)),
        None => camel(name),
    }
}

/// The `order_by` enum's values (`asc`, …, `desc_nulls_last`).
pub const ORDER_BY_VALUES: [&str; 6] = [
    "asc",
    "asc_nulls_first",
    "asc_nulls_last",
    "desc",
    "desc_nulls_first",
    "desc_nulls_last",
];

impl Customization {
    /// Whether types get other names.
    pub fn renames_types(&self) -> bool {
        !self.type_prefix.is_empty()
            || !self.type_suffix.is_empty()
            || !self.type_mapping.is_empty()
            || self.pascal_types
    }

    pub fn is_identity(&self) -> bool {
        self.namespace.is_none() && !self.renames_types()
    }

    /// Whether the source uses the `graphql-default` naming convention.
    pub fn graphql_default(&self) -> bool {
        self.pascal_types
    }

    /// The client's name of a generated argument, operator or field (one of
    /// [`GENERATED_NAMES`], or an `order_by` value): camelCase (values: UPPERCASE) under
    /// `graphql-default`, else as given.
    pub fn generated(&self, name: &str) -> String {
        if !self.pascal_types {
            String::from(name)
        } else if ORDER_BY_VALUES.contains(&name) {
            name.to_ascii_uppercase()
        } else if GENERATED_NAMES.contains(&name) {
            camel_generated(name)
        } else {
            String::from(name)
        }
    }

    /// The generated name (Hasura's default spelling) a client's `name` stands for: `orderBy`
    /// → `order_by` under `graphql-default`, where the default spelling of a renamed name is
    /// no name at all (`""`, which matches nothing). Other names are returned as given.
    pub fn canonical<'a>(&self, name: &'a str) -> alloc::borrow::Cow<'a, str> {
        use alloc::borrow::Cow;
        if !self.pascal_types {
            return Cow::Borrowed(name);
        }
        if let Some(v) = ORDER_BY_VALUES
            .iter()
            .find(|v| v.eq_ignore_ascii_case(name))
        {
            // ASC stands for asc; asc itself is not a value under graphql-default.
            return Cow::Borrowed(if name == v.to_ascii_uppercase() {
                v
            } else {
                ""
            });
        }
        if GENERATED_NAMES.contains(&name) {
            return Cow::Borrowed("");
        }
        if !name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Borrowed(name);
        }
        match GENERATED_NAMES.iter().find(|g| camel_generated(g) == name) {
            Some(g) => Cow::Borrowed(g),
            None => Cow::Borrowed(name),
        }
    }

    /// The customized name of a type the source generates.
    pub fn type_name(&self, name: &str) -> String {
        if builtin(name) {
            return String::from(name);
        }
        if let Some(n) = self.type_mapping.get(name) {
            return n.clone();
        }
        let cased;
        let name = if self.pascal_types {
            cased = self.pascal_type(name);
            cased.as_str()
        } else {
            name
        };
        format!("{}{}{}", self.type_prefix, name, self.type_suffix)
    }

    fn pascal_type(&self, name: &str) -> String {
        for base in &self.custom_bases {
            if let Some(rest) = name.strip_prefix(base.as_str()) {
                if rest.is_empty() || rest.starts_with('_') {
                    return format!("{base}{}", pascal(rest));
                }
            }
        }
        pascal(name)
    }

    /// The type of the namespace field under a root type (`<ns>_query`,
    /// `<ns>_mutation_frontend`, `<ns>_subscription`, customized).
    pub fn namespace_type(&self, root: &str) -> Option<String> {
        let ns = self.namespace.as_ref()?;
        let suffix = match root {
            "mutation_root" => "_mutation_frontend",
            "subscription_root" => "_subscription",
            _ => "_query",
        };
        Some(self.type_name(&format!("{ns}{suffix}")))
    }
}
