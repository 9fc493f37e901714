// What the console learns from the metadata (`export_metadata`): the roles that have a
// permission somewhere and, per role, the session variables (`X-Hasura-*`) its permissions
// use in filters, checks and presets. Pure functions, no DOM.

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
