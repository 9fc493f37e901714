// What the console learns from the metadata (`export_metadata`): the roles that have a
// permission somewhere and, per role, the session variables (`X-Hasura-*`) its permissions
// use in filters, checks and presets; the tracked tables. And the requests it builds: headers,
// the data browser's query, the explain request. Pure functions, no DOM.

const PERMISSION_KINDS = [
  'select_permissions',
  'insert_permissions',
  'update_permissions',
  'delete_permissions',
];

const SESSION_VAR = /^x-hasura-[a-z0-9_-]+$/i;

/** Every `X-Hasura-*` string (keys and values) in `value`, lower-cased, into `into`. */
export function collectSessionVars(value, into = new Set()) {
  if (typeof value === 'string') {
    if (SESSION_VAR.test(value) && value.toLowerCase() !== 'x-hasura-role') {
      into.add(value.toLowerCase());
    }
  } else if (Array.isArray(value)) {
    for (const v of value) collectSessionVars(v, into);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      collectSessionVars(k, into);
      collectSessionVars(v, into);
    }
  }
  return into;
}

/**
 * The roles of an `export_metadata` answer (either the metadata itself or
 * `{resource_version, metadata}`), sorted, each with the sorted session variables its
 * permissions use: `[{role, vars: [...]}, ...]`. An inherited role uses its members' variables.
 */
export function rolesOf(answer) {
  const md = answer && answer.metadata && answer.resource_version !== undefined ? answer.metadata : answer;
  const roles = new Map();
  const add = (role, permission) => {
    if (typeof role !== 'string' || role === 'admin') return;
    if (!roles.has(role)) roles.set(role, new Set());
    if (permission !== undefined) collectSessionVars(permission, roles.get(role));
  };
  for (const source of (md && md.sources) || []) {
    for (const table of source.tables || []) {
      for (const kind of PERMISSION_KINDS) {
        for (const p of table[kind] || []) add(p.role, p.permission);
      }
    }
    for (const fn of source.functions || []) {
      for (const p of fn.permissions || []) add(p.role);
    }
  }
  const inherited = (md && md.inherited_roles) || [];
  for (const r of inherited) add(r.role_name);
  for (const r of inherited) {
    for (const member of r.role_set || []) {
      for (const v of (roles.get(member) || [])) roles.get(r.role_name).add(v);
    }
  }
  return [...roles.keys()].sort().map((role) => ({ role, vars: [...roles.get(role)].sort() }));
}

/**
 * The headers the console's own controls add to a request: the admin secret, and for a role
 * other than admin `x-hasura-role` plus the non-empty session variables of that role.
 */
export function consoleHeaders({ secret, role, vars, values }) {
  const h = {};
  if (secret) h['x-hasura-admin-secret'] = secret;
  if (role && role !== 'admin') {
    h['x-hasura-role'] = role;
    for (const v of vars || []) {
      const value = values && values[v];
      if (value !== undefined && value !== '') h[v] = value;
    }
  }
  return h;
}

/**
 * The headers of one request: the console's, then the Headers tab's (which win, compared
 * without case), then `content-type`.
 */
export function mergeHeaders(fromConsole, fromTab) {
  const out = {};
  const names = new Map();
  const put = (k, v) => {
    const lower = k.toLowerCase();
    if (names.has(lower)) delete out[names.get(lower)];
    names.set(lower, k);
    out[k] = v;
  };
  for (const [k, v] of Object.entries(fromConsole || {})) put(k, v);
  for (const [k, v] of Object.entries(fromTab || {})) {
    if (v !== undefined && v !== null) put(k, String(v));
  }
  if (!names.has('content-type')) out['content-type'] = 'application/json';
  return out;
}

/** The metadata itself from an `export_metadata` answer (with or without `resource_version`). */
export function unwrapMetadata(answer) {
  return answer && answer.metadata && answer.resource_version !== undefined ? answer.metadata : answer || {};
}

function relationshipTarget(rel) {
  const using = (rel && rel.using) || {};
  if (using.manual_configuration) {
    const t = using.manual_configuration.remote_table;
    return typeof t === 'string' ? t : t && t.name;
  }
  const fk = using.foreign_key_constraint_on;
  if (fk && typeof fk === 'object' && fk.table) return typeof fk.table === 'string' ? fk.table : fk.table.name;
  return undefined;
}

/**
 * The tracked tables of the metadata, per source, in order: `[{source, schema, name, rootField,
 * relationships: [{name, kind: 'object'|'array', target}], eventTriggers: [...]}]`. `rootField`
 * is the table's select root field (its `custom_root_fields.select`, else its `custom_name`,
 * else `name` in `public` and `schema_name` elsewhere).
 */
export function tablesOf(answer) {
  const md = unwrapMetadata(answer);
  const out = [];
  for (const source of md.sources || []) {
    for (const t of source.tables || []) {
      const qt = typeof t.table === 'string' ? { schema: 'public', name: t.table } : t.table || {};
      const schema = qt.schema || 'public';
      const conf = t.configuration || {};
      const roots = conf.custom_root_fields || {};
      const select = typeof roots.select === 'string' ? roots.select : roots.select && roots.select.name;
      const base = conf.custom_name || (schema === 'public' ? qt.name : `${schema}_${qt.name}`);
      const relationships = [
        ...(t.object_relationships || []).map((r) => ({ name: r.name, kind: 'object', target: relationshipTarget(r) })),
        ...(t.array_relationships || []).map((r) => ({ name: r.name, kind: 'array', target: relationshipTarget(r) })),
      ];
      out.push({
        source: source.name,
        schema,
        name: qt.name,
        rootField: select || base,
        relationships,
        eventTriggers: t.event_triggers || [],
      });
    }
  }
  return out;
}

/**
 * The tables of `tablesOf` with where the engine put their rows in the GraphQL schema (the
 * `graphql` names of a `graphedge_permission_matrix` answer: source customization and naming
 * convention applied): `rootField` and `namespace` (null: at the root). Tables the matrix does
 * not list keep the names `tablesOf` guessed.
 */
export function withGraphqlNames(tables, matrix) {
  const key = (source, schema, name) => JSON.stringify([source, schema, name]);
  const names = new Map();
  for (const t of (matrix && matrix.tables) || []) {
    if (t.graphql && t.table) names.set(key(t.source, t.table.schema, t.table.name), t.graphql);
  }
  return tables.map((t) => {
    const g = names.get(key(t.source, t.schema, t.name));
    if (!g) return { ...t, namespace: t.namespace || null };
    const order = g.order_by ? { orderBy: g.order_by, asc: g.asc, desc: g.desc } : {};
    return { ...t, rootField: g.select, namespace: g.namespace || null, ...order };
  });
}

/** A GraphQL type reference (introspection) unwrapped: `{kind, name, list}`. */
export function namedType(type) {
  let t = type;
  let list = false;
  while (t && (t.kind === 'NON_NULL' || t.kind === 'LIST')) {
    if (t.kind === 'LIST') list = true;
    t = t.ofType;
  }
  return { kind: t && t.kind, name: t && t.name, list };
}

const JSON_SCALARS = /^(int|float|boolean|bigint|smallint|integer|numeric|float8|float4|real|double precision)$/i;

/** The typed value of a filter box's text for a column of GraphQL scalar `scalar`. */
export function filterValue(scalar, text) {
  if (JSON_SCALARS.test(scalar || '')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * The data browser's query for `rootField` (under the field `namespace` when given): the
 * `columns`, a page (`limit`, `offset`), an optional sort `{column, desc}` and an optional
 * filter `{column, scalar, value}` (column equals the value). Returns `{query, variables}`.
 */
export function rowsQuery({ rootField, namespace, columns, limit, offset, sort, filter, orderBy, asc, desc }) {
  const params = ['$limit: Int!', '$offset: Int!'];
  const args = ['limit: $limit', 'offset: $offset'];
  const variables = { limit, offset };
  if (sort && sort.column) {
    const dir = sort.desc ? desc || 'desc' : asc || 'asc';
    args.push(`${orderBy || 'order_by'}: {${sort.column}: ${dir}}`);
  }
  if (filter && filter.column) {
    params.push(`$value: ${filter.scalar || 'String'}`);
    args.push(`where: {${filter.column}: {_eq: $value}}`);
    variables.value = filterValue(filter.scalar, filter.value);
  }
  const select = `${rootField}(${args.join(', ')}) {\n    ${columns.join('\n    ')}\n  }`;
  const body = namespace ? `${namespace} {\n    ${select.replace(/\n/g, '\n  ')}\n  }` : select;
  const query = `query BrowseRows(${params.join(', ')}) {\n  ${body}\n}`;
  return { query, variables };
}

/** The rows of a `rowsQuery` answer. */
export function rowsOf(data, { rootField, namespace }) {
  const at = namespace ? (data || {})[namespace] : data;
  return (at && at[rootField]) || [];
}

/**
 * The `/v1/graphql/explain` request for a request's headers (the console's merged with the
 * Headers tab's): the admin secret goes on the request, every other `x-hasura-*` header is
 * the session (`user`) the query is compiled for. Returns `{headers, body}`.
 */
export function explainRequest(headers, { query, variables, operationName }) {
  const out = { 'content-type': 'application/json' };
  const user = {};
  for (const [k, v] of Object.entries(headers || {})) {
    const lower = k.toLowerCase();
    if (lower === 'x-hasura-admin-secret') out[lower] = v;
    else if (lower.startsWith('x-hasura-')) user[lower] = v;
  }
  const q = { query, variables: variables || {} };
  if (operationName) q.operationName = operationName;
  return { headers: out, body: { query: q, user } };
}

/** Pending and failed counts of a page of `pg_get_event_logs` events. */
export function eventCounts(events) {
  let pending = 0;
  let failed = 0;
  let delivered = 0;
  for (const e of events || []) {
    if (e.archived) continue;
    if (e.error) failed += 1;
    else if (e.delivered) delivered += 1;
    else pending += 1;
  }
  return { pending, failed, delivered };
}
