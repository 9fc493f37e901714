// The graphedge console: GraphiQL (with the Explorer plugin) under a bar holding the admin
// secret, the role to run as (roles read from the metadata) and the session variables that
// role's permissions use. Every request merges those headers with the Headers tab's.
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import 'graphiql/graphiql.css';
import '@graphiql/plugin-explorer/dist/style.css';
import './console.css';
import { consoleHeaders, mergeHeaders, rolesOf } from './metadata.js';

const GRAPHQL_URL = new URL('/v1/graphql', window.location.href).toString();
const METADATA_URL = new URL('/v1/metadata', window.location.href).toString();
const explorer = explorerPlugin();

// The secret stays in this tab only (sessionStorage); role and variables too.
function load(key, fallback) {
  try {
    const v = window.sessionStorage.getItem(`graphedge:${key}`);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;
  }
}
function save(key, value) {
  try {
    window.sessionStorage.setItem(`graphedge:${key}`, JSON.stringify(value));
  } catch {
    /* storage disabled: the values live as long as the page */
  }
}

async function postJson(url, headers, body) {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { ok: res.ok, status: res.status, text, json };
}

const DEFAULT_QUERY = `# graphedge console
#
# Pick a role above (roles come from the metadata, read with the admin secret) and fill in
# the session variables its permissions use; the Headers tab below adds or overrides headers.
# Run with Ctrl-Enter.

query {
  __typename
}
`;

function Console() {
  const [secret, setSecret] = useState(() => load('secret', ''));
  const [draft, setDraft] = useState(secret);
  const [role, setRole] = useState(() => load('role', 'admin'));
  const [values, setValues] = useState(() => load('vars', {}));
  const [roles, setRoles] = useState(null); // null: not read (yet); [] : read, none
  const [status, setStatus] = useState('Reading roles from the metadata…');
  const valuesRef = useRef(values);
  valuesRef.current = values;

  const known = roles && roles.find((r) => r.role === role);
  const vars = known ? known.vars : [];
  const varsRef = useRef(vars);
  varsRef.current = vars;

  const readRoles = useCallback(async (withSecret) => {
    setStatus('Reading roles from the metadata…');
    const headers = { 'content-type': 'application/json' };
    if (withSecret) headers['x-hasura-admin-secret'] = withSecret;
    try {
      const r = await postJson(METADATA_URL, headers, { type: 'export_metadata', args: {} });
      if (!r.ok || !r.json) {
        const why = (r.json && (r.json.error || r.json.message)) || `HTTP ${r.status}`;
        setRoles(null);
        setStatus(`Roles unavailable (${why}): ${withSecret ? 'check the admin secret' : 'enter the admin secret'}, or type a role.`);
        return;
      }
      const found = rolesOf(r.json);
      setRoles(found);
      setStatus(`${found.length} role${found.length === 1 ? '' : 's'} in the metadata.`);
    } catch (e) {
      setRoles(null);
      setStatus(`Roles unavailable: ${e.message}`);
    }
  }, []);

  useEffect(() => {
    readRoles(secret);
  }, [secret, readRoles]);

  const applySecret = () => {
    if (draft !== secret) {
      setSecret(draft);
      save('secret', draft);
    }
  };
  const chooseRole = (r) => {
    setRole(r);
    save('role', r);
  };
  const setVar = (name, value) => {
    const next = { ...valuesRef.current, [name]: value };
    setValues(next);
    save('vars', next);
  };

  // A new fetcher (so GraphiQL introspects again) when the secret or the role changes; the
  // session variables are read at each request.
  const fetcher = useMemo(
    () => async (params, opts) => {
      const own = consoleHeaders({ secret, role, vars: varsRef.current, values: valuesRef.current });
      const headers = mergeHeaders(own, opts && opts.headers);
      const r = await postJson(GRAPHQL_URL, headers, params);
      return r.json !== undefined ? r.json : { errors: [{ message: `HTTP ${r.status}: ${r.text}` }] };
    },
    [secret, role],
  );

  const roleOptions = ['admin', ...(roles || []).map((r) => r.role)];
  if (!roleOptions.includes(role)) roleOptions.push(role);

  return (
    <div className="ge-app">
      <header className="ge-bar">
        <h1 className="ge-title">graphedge</h1>
        <form
          className="ge-controls"
          aria-label="Request settings"
          onSubmit={(e) => {
            e.preventDefault();
            applySecret();
          }}
        >
          <div className="ge-field">
            <label htmlFor="ge-secret">Admin secret</label>
            <input
              id="ge-secret"
              type="password"
              autoComplete="off"
              spellCheck="false"
              placeholder="x-hasura-admin-secret"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onBlur={applySecret}
            />
          </div>
          <div className="ge-field">
            <label htmlFor="ge-role">Role</label>
            {roles ? (
              <select id="ge-role" value={role} onChange={(e) => chooseRole(e.target.value)}>
                {roleOptions.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id="ge-role"
                placeholder="admin"
                spellCheck="false"
                value={role === 'admin' ? '' : role}
                onChange={(e) => chooseRole(e.target.value || 'admin')}
              />
            )}
          </div>
          {vars.map((v) => (
            <div className="ge-field" key={v}>
              <label htmlFor={`ge-var-${v}`}>{v}</label>
              <input
                id={`ge-var-${v}`}
                className="ge-var"
                data-session-variable={v}
                spellCheck="false"
                value={values[v] || ''}
                onChange={(e) => setVar(v, e.target.value)}
              />
            </div>
          ))}
          <button type="submit" className="ge-apply">
            Apply
          </button>
        </form>
        <p className="ge-status" role="status" aria-live="polite">
          {status}
        </p>
      </header>
      <main className="ge-graphiql" aria-label="GraphiQL">
        <GraphiQL fetcher={fetcher} plugins={[explorer]} defaultQuery={DEFAULT_QUERY} />
      </main>
    </div>
  );
}

createRoot(document.getElementById('console')).render(<Console />);
