// The graphedge console: a bar holding the admin secret, the role to run as (roles read from
// the metadata) and the session variables that role's permissions use, over four screens:
// GraphiQL (with the Explorer plugin and a SQL panel: the generated SQL and plan of the current
// query through /v1/graphql/explain), Data (browse tracked tables as the role), Permissions
// (the permission matrix) and Events (event and cron triggers). Every GraphiQL request merges
// the bar's headers with the Headers tab's.
import React, { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { useEditorContext } from '@graphiql/react';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import 'graphiql/graphiql.css';
import '@graphiql/plugin-explorer/dist/style.css';
import './console.css';
import { consoleHeaders, explainRequest, mergeHeaders, rolesOf, tablesOf, withGraphqlNames } from './metadata.js';
import { EXPLAIN_URL, GRAPHQL_URL, METADATA_URL, postJson } from './api.js';
import Data from './screens/data.jsx';
import Events from './screens/events.jsx';
import Permissions from './screens/permissions.jsx';

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

const SCREENS = [
  ['graphiql', 'GraphiQL'],
  ['data', 'Data'],
  ['permissions', 'Permissions'],
  ['events', 'Events'],
];
const screenOfHash = () => {
  const h = window.location.hash.replace(/^#/, '');
  return SCREENS.some(([id]) => id === h) ? h : 'graphiql';
};

function parseJson(text) {
  if (!text || !text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

// The toolbar's SQL button: hands the editors' current query, variables and headers over.
function SqlButton({ onExplain }) {
  const { queryEditor, variableEditor, headerEditor } = useEditorContext({ nonNull: true });
  return (
    <button
      type="button"
      className="graphiql-toolbar-button ge-sql-button"
      aria-label="Show the generated SQL"
      title="Show the generated SQL (explain)"
      onClick={() =>
        onExplain({
          query: queryEditor ? queryEditor.getValue() : '',
          variables: parseJson(variableEditor && variableEditor.getValue()),
          headers: parseJson(headerEditor && headerEditor.getValue()),
        })
      }
    >
      SQL
    </button>
  );
}

function SqlPanel({ state, onClose }) {
  const closeRef = useRef(null);
  useEffect(() => {
    if (closeRef.current) closeRef.current.focus();
  }, []);
  return (
    <section className="ge-sql" aria-label="Generated SQL">
      <div className="ge-row">
        <h2>Generated SQL</h2>
        <span className="ge-muted">as role {state.role}</span>
        <button type="button" ref={closeRef} onClick={onClose}>
          Close
        </button>
      </div>
      {state.loading && <p>Explaining…</p>}
      {state.error && (
        <p className="ge-error" role="alert">
          {state.error}
        </p>
      )}
      {state.fields &&
        state.fields.map((f, i) => (
          <div key={i} className="ge-sql-field">
            <h3>{f.field}</h3>
            <pre className="ge-sql-text">{f.sql || '(no SQL: answered without the database)'}</pre>
            {f.plan && (
              <details>
                <summary>Plan</summary>
                <pre>{Array.isArray(f.plan) ? f.plan.join('\n') : JSON.stringify(f.plan, null, 1)}</pre>
              </details>
            )}
          </div>
        ))}
    </section>
  );
}

const DEFAULT_QUERY = `# graphedge console
#
# Pick a role above (roles come from the metadata, read with the admin secret) and fill in
# the session variables its permissions use; the Headers tab below adds or overrides headers.
# Run with Ctrl-Enter; the SQL button in the toolbar shows the SQL the query runs.
# Data, Permissions and Events are the other screens (tabs above).

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
  const [tables, setTables] = useState(null);
  const [mdError, setMdError] = useState('');
  const [status, setStatus] = useState('Reading roles from the metadata…');
  const [screen, setScreen] = useState(screenOfHash);
  const [sql, setSql] = useState(null);
  const valuesRef = useRef(values);
  valuesRef.current = values;

  const known = roles && roles.find((r) => r.role === role);
  const vars = useMemo(() => (known ? known.vars : []), [known]);
  const varsRef = useRef(vars);
  varsRef.current = vars;

  const readMetadata = useCallback(async (withSecret) => {
    setStatus('Reading roles from the metadata…');
    const headers = { 'content-type': 'application/json' };
    if (withSecret) headers['x-hasura-admin-secret'] = withSecret;
    try {
      const r = await postJson(METADATA_URL, headers, { type: 'export_metadata', args: {} });
      if (!r.ok || !r.json) {
        const why = (r.json && (r.json.error || r.json.message)) || `HTTP ${r.status}`;
        setRoles(null);
        setTables(null);
        setMdError(`The metadata is unavailable (${why}): it needs the admin secret.`);
        setStatus(`Roles unavailable (${why}): ${withSecret ? 'check the admin secret' : 'enter the admin secret'}, or type a role.`);
        return;
      }
      const found = rolesOf(r.json);
      setRoles(found);
      // Where each table's rows are in the GraphQL schema (source customization applied).
      const m = await postJson(METADATA_URL, headers, { type: 'graphedge_permission_matrix', args: {} });
      setTables(withGraphqlNames(tablesOf(r.json), m.ok ? m.json : null));
      setMdError('');
      setStatus(`${found.length} role${found.length === 1 ? '' : 's'} in the metadata.`);
    } catch (e) {
      setRoles(null);
      setTables(null);
      setMdError(`The metadata is unavailable: ${e.message}`);
      setStatus(`Roles unavailable: ${e.message}`);
    }
  }, []);

  useEffect(() => {
    readMetadata(secret);
  }, [secret, readMetadata]);

  useEffect(() => {
    const onHash = () => setScreen(screenOfHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const tabRefs = useRef({});
  const choose = (id, focus) => {
    setScreen(id);
    if (window.location.hash !== `#${id}`) window.history.replaceState(null, '', `#${id}`);
    if (focus && tabRefs.current[id]) tabRefs.current[id].focus();
  };
  // Back on GraphiQL: its CodeMirror editors measure themselves again.
  useEffect(() => {
    if (screen !== 'graphiql') return;
    for (const el of document.querySelectorAll('.graphiql-container .CodeMirror')) {
      if (el.CodeMirror) el.CodeMirror.refresh();
    }
  }, [screen]);
  const onTabKey = (e) => {
    const ids = SCREENS.map(([id]) => id);
    const at = ids.indexOf(screen);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: ids.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    choose(ids[(to + ids.length) % ids.length], true);
  };

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

  // The settings the Data screen runs with (a new object when one of them changes).
  const settings = useMemo(() => ({ secret, role, vars, values }), [secret, role, vars, values]);

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

  const explain = useCallback(
    async ({ query, variables, headers: tab }) => {
      const own = consoleHeaders({ secret, role, vars: varsRef.current, values: valuesRef.current });
      const req = explainRequest(mergeHeaders(own, tab), { query, variables });
      const asRole = req.body.user['x-hasura-role'] || 'admin';
      setSql({ loading: true, role: asRole });
      try {
        const r = await postJson(EXPLAIN_URL, req.headers, req.body);
        if (!r.ok || !r.json) {
          const why = (r.json && (r.json.error || r.json.message)) || `HTTP ${r.status}: ${r.text}`;
          setSql({ role: asRole, error: `No SQL: ${why}` });
          return;
        }
        // A subscription answers one object, a query one entry per root field.
        const fields = Array.isArray(r.json) ? r.json : [{ field: 'subscription', sql: r.json.sql, plan: r.json.plan }];
        setSql({ role: asRole, fields });
      } catch (e) {
        setSql({ role: asRole, error: `No SQL: ${e.message}` });
      }
    },
    [secret, role],
  );
  const toolbar = useMemo(() => ({ additionalContent: <SqlButton onExplain={explain} /> }), [explain]);

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
        <nav className="ge-nav" aria-label="Screens">
          <div role="tablist" aria-label="Screens" onKeyDown={onTabKey}>
            {SCREENS.map(([id, label]) => (
              <button
                key={id}
                id={`ge-tab-${id}`}
                ref={(el) => {
                  tabRefs.current[id] = el;
                }}
                type="button"
                role="tab"
                aria-selected={screen === id}
                aria-controls={`ge-screen-${id}`}
                tabIndex={screen === id ? 0 : -1}
                onClick={() => choose(id, false)}
              >
                {label}
              </button>
            ))}
          </div>
        </nav>
      </header>
      <main
        id="ge-screen-graphiql"
        className="ge-graphiql"
        role="tabpanel"
        aria-labelledby="ge-tab-graphiql"
        hidden={screen !== 'graphiql'}
      >
        <div className="ge-graphiql-editor">
          <GraphiQL fetcher={fetcher} plugins={[explorer]} defaultQuery={DEFAULT_QUERY} toolbar={toolbar} />
        </div>
        {sql && <SqlPanel state={sql} onClose={() => setSql(null)} />}
      </main>
      {screen !== 'graphiql' && (
        <main id={`ge-screen-${screen}`} className="ge-screen" role="tabpanel" aria-labelledby={`ge-tab-${screen}`}>
          {screen === 'data' && <Data tables={tables} settings={settings} error={mdError} />}
          {screen === 'permissions' && <Permissions secret={secret} />}
          {screen === 'events' && <Events secret={secret} tables={tables} error={mdError} onRefresh={() => readMetadata(secret)} />}
        </main>
      )}
    </div>
  );
}

createRoot(document.getElementById('console')).render(<Console />);
