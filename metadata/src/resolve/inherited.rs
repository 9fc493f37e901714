//! Stage 5: inherited roles (`inherited_roles: [{role_name, role_set}]`) folded into effective
//! permissions, parents first (an inherited role may inherit from inherited roles; cycles are
//! reported and the roles on them dropped).
//!
//! Per table and permission type, an explicit permission of the inherited role wins. Otherwise:
//! - select: OR of the parents' filters, union of columns and computed fields, the largest
//!   `limit` (none if a parent has none), aggregations if any parent allows them; a column only
//!   some parents allow gets a cell filter (`column_filters`) = OR of those parents' conditions;
//! - insert/update/delete: inherited when every parent that has one agrees; conflicting parents
//!   are reported (`inherited role permission inconsistency`) and the role gets none.
//!
//! A tracked function is allowed to an inherited role when any parent is allowed.
use std::collections::{BTreeMap, HashMap};

use graphedge_core::model::{Permissions, SelectPermission};
use graphedge_core::Value;
use serde_json::json;

use super::{Cx, INHERITED_PERMISSION_KIND};
use crate::raw;

pub(crate) fn resolve_inherited_roles(
    cx: &mut Cx<'_>,
    metadata: &raw::Metadata,
    _source: &raw::Source,
) {
    let mut roles: BTreeMap<String, &raw::InheritedRole> = BTreeMap::new();
    for r in &metadata.inherited_roles {
        roles.entry(r.role_name.clone()).or_insert(r);
    }
    let order = topological_order(cx, &roles);
    for role in &order {
        cx.schema
            .inherited_roles
            .insert(role.clone(), roles[role].role_set.clone());
    }
    for role in &order {
        let parents = &roles[role].role_set;
        for tid in 0..cx.schema.tables.len() {
            inherit_table(cx, tid, role, parents);
        }
        for f in &mut cx.schema.functions {
            if !f.permissions.contains(role) && parents.iter().any(|p| f.permissions.contains(p)) {
                f.permissions.push(role.clone());
            }
        }
    }
}

/// Inherited roles with their parents first; roles on a cycle are reported and left out.
fn topological_order(
    cx: &mut Cx<'_>,
    roles: &BTreeMap<String, &raw::InheritedRole>,
) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
        Cyclic,
    }
    fn visit(
        role: &str,
        roles: &BTreeMap<String, &raw::InheritedRole>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
        order: &mut Vec<String>,
        cycles: &mut Vec<Vec<String>>,
    ) -> bool {
        match marks.get(role) {
            Some(Mark::Done) => return true,
            Some(Mark::Cyclic) => return false,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|r| r == role).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].to_vec();
                cycle.push(role.to_string());
                cycles.push(cycle);
                return false;
            }
            None => {}
        }
        let Some(def) = roles.get(role) else {
            return true;
        };
        marks.insert(role.to_string(), Mark::Visiting);
        stack.push(role.to_string());
        let mut ok = true;
        for parent in &def.role_set {
            ok &= visit(parent, roles, marks, stack, order, cycles);
        }
        stack.pop();
        if ok {
            marks.insert(role.to_string(), Mark::Done);
            order.push(role.to_string());
        } else {
            marks.insert(role.to_string(), Mark::Cyclic);
        }
        ok
    }
    let mut marks = HashMap::new();
    let mut order = Vec::new();
    let mut cycles = Vec::new();
    for role in roles.keys() {
        let mut stack = Vec::new();
        visit(role, roles, &mut marks, &mut stack, &mut order, &mut cycles);
    }
    for (role, def) in roles {
        if marks.get(role) == Some(&Mark::Cyclic) {
            let cycle = cycles
                .iter()
                .find(|c| c.contains(role))
                // Hasura shows a cycle as a list of names, its first one repeated at the end.
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .unwrap_or_else(|| role.clone());
            cx.report(
                "inherited_role",
                format!("inherited_role {role}"),
                serde_json::to_value(def).unwrap_or_default(),
                format!("found cycle(s) in roles: {cycle}"),
            );
        }
    }
    order
}

fn inherit_table(cx: &mut Cx<'_>, tid: usize, role: &str, parents: &[String]) {
    let table = &cx.schema.tables[tid];
    let parent_perms: Vec<&Permissions> = parents
        .iter()
        .filter_map(|p| table.permissions.get(p))
        .collect();
    let mut perms = table.permissions.get(role).cloned().unwrap_or_default();
    let mut conflicts = Vec::new();
    if perms.select.is_none() {
        let sel: Vec<&SelectPermission> = parent_perms
            .iter()
            .filter_map(|p| p.select.as_ref())
            .collect();
        perms.select = combine_select(&sel);
    }
    macro_rules! agree {
        ($field:ident, $name:literal) => {
            if perms.$field.is_none() {
                let ps: Vec<_> = parent_perms
                    .iter()
                    .filter_map(|p| p.$field.as_ref())
                    .collect();
                match ps.split_first() {
                    None => {}
                    Some((first, rest)) if rest.iter().all(|p| p == first) => {
                        perms.$field = Some((*first).clone())
                    }
                    Some(_) => conflicts.push($name),
                }
            }
        };
    }
    agree!(insert, "insert");
    agree!(update, "update");
    agree!(delete, "delete");
    let table_name = if table.name.schema == "public" {
        table.name.name.clone()
    } else {
        format!("{}.{}", table.name.schema, table.name.name)
    };
    for kind in conflicts {
        let reason = format!(
            "Could not inherit permission for the role '{role}' for the entity: '{kind} permission, table: {table_name}, source: '{}''",
            cx.source_name
        );
        cx.inconsistencies.push(super::Inconsistency {
            definition: json!({"permission_type": kind, "source": cx.source_name, "table": table_name}),
            reason,
            name: role.to_string(),
            kind: INHERITED_PERMISSION_KIND.to_string(),
        });
    }
    if perms != Permissions::default() {
        cx.schema.tables[tid]
            .permissions
            .insert(role.to_string(), perms);
    }
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::Object(f) if f.is_empty())
}

fn or(mut conds: Vec<Value>) -> Value {
    if conds.iter().any(is_true) {
        return Value::Object(Vec::new());
    }
    if conds.len() == 1 {
        return conds.pop().unwrap_or_default();
    }
    Value::Object(vec![("_or".to_string(), Value::List(conds))])
}

/// The select permission an inherited role gets from its parents' (`None` if no parent has one).
pub(crate) fn combine_select(parents: &[&SelectPermission]) -> Option<SelectPermission> {
    match parents {
        [] => return None,
        [only] => return Some((*only).clone()),
        _ => {}
    }
    let filter = or(parents.iter().map(|p| p.filter.clone()).collect());
    let mut columns: Vec<usize> = parents
        .iter()
        .flat_map(|p| p.columns.iter().copied())
        .collect();
    columns.sort_unstable();
    columns.dedup();
    let mut column_filters = BTreeMap::new();
    for &c in &columns {
        let allowing: Vec<&&SelectPermission> =
            parents.iter().filter(|p| p.columns.contains(&c)).collect();
        let restricted = allowing.len() < parents.len()
            || allowing.iter().any(|p| p.column_filters.contains_key(&c));
        if restricted {
            let conds: Vec<Value> = allowing
                .iter()
                .map(|p| p.column_filters.get(&c).unwrap_or(&p.filter).clone())
                .collect();
            let cond = or(conds);
            if !is_true(&cond) {
                column_filters.insert(c, cond);
            }
        }
    }
    let mut computed_fields: Vec<String> = Vec::new();
    for p in parents {
        for cf in &p.computed_fields {
            if !computed_fields.contains(cf) {
                computed_fields.push(cf.clone());
            }
        }
    }
    // Computed fields get the same cell-level treatment as columns.
    let mut computed_field_filters = BTreeMap::new();
    for cf in &computed_fields {
        let allowing: Vec<&&SelectPermission> = parents
            .iter()
            .filter(|p| p.computed_fields.contains(cf))
            .collect();
        let restricted = allowing.len() < parents.len()
            || allowing
                .iter()
                .any(|p| p.computed_field_filters.contains_key(cf));
        if restricted {
            let conds: Vec<Value> = allowing
                .iter()
                .map(|p| {
                    p.computed_field_filters
                        .get(cf)
                        .unwrap_or(&p.filter)
                        .clone()
                })
                .collect();
            let cond = or(conds);
            if !is_true(&cond) {
                computed_field_filters.insert(cf.clone(), cond);
            }
        }
    }
    let limit = parents
        .iter()
        .try_fold(0u64, |acc, p| p.limit.map(|l| acc.max(l)));
    let union_fields = |get: fn(&SelectPermission) -> &Option<Vec<String>>| -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for p in parents {
            for f in get(p).as_ref()? {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        Some(out)
    };
    Some(SelectPermission {
        columns,
        computed_fields,
        filter,
        limit,
        allow_aggregations: parents.iter().any(|p| p.allow_aggregations),
        query_root_fields: union_fields(|p| &p.query_root_fields),
        subscription_root_fields: union_fields(|p| &p.subscription_root_fields),
        column_filters,
        computed_field_filters,
    })
}
