// Permissions: the `graphedge_permission_matrix` of the metadata API as a table × role ×
// operation grid, "who can read this column?" and "what can this role see?".
import React, { useCallback, useEffect, useState } from 'react';
import { metadataCall } from '../api.js';

const OPS = ['select', 'insert', 'update', 'delete'];
const tableName = (t) => (t.table.schema === 'public' ? t.table.name : `${t.table.schema}.${t.table.name}`);
const json = (v) => JSON.stringify(v, null, 1);

function Condition({ label, text, value }) {
  return (
    <div className="ge-cond">
      <span className="ge-k">{label}:</span> <span className="ge-cond-text">{text}</span>
      <details>
        <summary>JSON</summary>
        <pre className="ge-json">{json(value)}</pre>
      </details>
    </div>
  );
}

function Cols({ label, cols }) {
  if (!cols) return null;
  return (
    <div>
      <span className="ge-k">{label}:</span> {cols.length ? cols.join(', ') : 'none'}
    </div>
  );
}

function Presets({ set }) {
  if (!set || !Object.keys(set).length) return null;
  return (
    <div>
      <span className="ge-k">presets:</span>{' '}
      {Object.entries(set)
        .map(([k, v]) => `${k} = ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ')}
    </div>
  );
}

/** One role's rule for one operation (null: not allowed). */
export function Rule({ op, rule }) {
  if (!rule) return <span className="ge-deny">not allowed</span>;
  return (
    <div className="ge-rule" data-op={op}>
      {op !== 'delete' && <Cols label="columns" cols={rule.columns} />}
      {rule.computed_fields && rule.computed_fields.length > 0 && <Cols label="computed" cols={rule.computed_fields} />}
      {rule.filter !== undefined && <Condition label="rows" text={rule.filter_text} value={rule.filter} />}
      {rule.check !== undefined && rule.check !== null && <Condition label="check" text={rule.check_text} value={rule.check} />}
      <Presets set={rule.set} />
      {op === 'select' && (
        <div>
          <span className="ge-k">limit:</span> {rule.limit ?? 'none'} · <span className="ge-k">aggregations:</span>{' '}
          {rule.allow_aggregations ? 'yes' : 'no'}
        </div>
      )}
      {op === 'select' && rule.query_root_fields && (
        <div>
          <span className="ge-k">query root fields:</span> {rule.query_root_fields.join(', ') || 'none'}
        </div>
      )}
      {op === 'select' && rule.subscription_root_fields && (
        <div>
          <span className="ge-k">subscription root fields:</span> {rule.subscription_root_fields.join(', ') || 'none'}
        </div>
      )}
      {op === 'select' && rule.column_conditions && Object.keys(rule.column_conditions).length > 0 && (
        <div>
          <span className="ge-k">columns only where:</span>{' '}
          {Object.entries(rule.column_conditions)
            .map(([c, w]) => `${c}: ${w}`)
            .join('; ')}
        </div>
      )}
      {rule.backend_only && <div className="ge-k">backend only</div>}
    </div>
  );
}

function Matrix({ matrix }) {
  return matrix.tables.map((t) => (
    <section key={`${t.source}.${tableName(t)}`} className="ge-card" aria-label={`Permissions of ${tableName(t)}`}>
      <h3>
        {tableName(t)} <span className="ge-muted">({t.source})</span>
      </h3>
      {matrix.roles.length === 0 ? (
        <p>No role other than admin.</p>
      ) : (
        <table className="ge-grid ge-perm-matrix" data-table={tableName(t)}>
          <thead>
            <tr>
              <th scope="col">role</th>
              {OPS.map((op) => (
                <th scope="col" key={op}>
                  {op}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {matrix.roles.map((role) => (
              <tr key={role} data-role={role}>
                <th scope="row">{role}</th>
                {OPS.map((op) => (
                  <td key={op} data-label={op} data-op={op}>
                    <Rule op={op} rule={t.roles[role] && t.roles[role][op]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  ));
}

function ByColumn({ matrix }) {
  const [which, setWhich] = useState(0);
  const t = matrix.tables[which];
  return (
    <section className="ge-card" aria-label="Who can read this column?">
      <div className="ge-row">
        <label htmlFor="ge-perm-col-table">Table</label>
        <select id="ge-perm-col-table" value={which} onChange={(e) => setWhich(Number(e.target.value))}>
          {matrix.tables.map((x, i) => (
            <option key={i} value={i}>
              {tableName(x)} ({x.source})
            </option>
          ))}
        </select>
      </div>
      {t && (
        <table className="ge-grid ge-perm-columns">
          <thead>
            <tr>
              <th scope="col">column</th>
              <th scope="col">read by</th>
              <th scope="col">inserted by</th>
              <th scope="col">updated by</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(t.columns).map(([col, who]) => (
              <tr key={col}>
                <th scope="row">{col}</th>
                {['select', 'insert', 'update'].map((op) => (
                  <td key={op} data-label={op === 'select' ? 'read by' : `${op}d by`}>
                    {who[op].length ? who[op].join(', ') : <span className="ge-deny">admin only</span>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function ByRole({ matrix }) {
  const [role, setRole] = useState(matrix.roles[0] || '');
  const vars = (matrix.session_variables && matrix.session_variables[role]) || [];
  const parents = matrix.inherited_roles && matrix.inherited_roles[role];
  return (
    <section className="ge-card" aria-label="What can this role see?">
      <div className="ge-row">
        <label htmlFor="ge-perm-role">Role</label>
        <select id="ge-perm-role" value={role} onChange={(e) => setRole(e.target.value)}>
          {matrix.roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <p>
        <span className="ge-k">session variables read:</span> {vars.length ? vars.join(', ') : 'none'}
        {parents && (
          <>
            {' '}
            · <span className="ge-k">inherits from:</span> {Array.isArray(parents) ? parents.join(', ') : json(parents)}
          </>
        )}
      </p>
      <table className="ge-grid ge-perm-role">
        <thead>
          <tr>
            <th scope="col">table</th>
            <th scope="col">can see</th>
            <th scope="col">can change</th>
          </tr>
        </thead>
        <tbody>
          {matrix.tables.map((t) => {
            const p = t.roles[role] || {};
            const changes = ['insert', 'update', 'delete'].filter((op) => p[op]);
            return (
              <tr key={`${t.source}.${tableName(t)}`}>
                <th scope="row">{tableName(t)}</th>
                <td data-label="can see">
                  <Rule op="select" rule={p.select} />
                </td>
                <td data-label="can change">{changes.length ? changes.join(', ') : <span className="ge-deny">nothing</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

const VIEWS = [
  ['matrix', 'Table × role'],
  ['column', 'Who can read this column?'],
  ['role', 'What can this role see?'],
];

export default function Permissions({ secret }) {
  const [matrix, setMatrix] = useState(null);
  const [error, setError] = useState('');
  const [view, setView] = useState('matrix');
  const read = useCallback(async () => {
    setError('');
    try {
      setMatrix(await metadataCall(secret, { type: 'graphedge_permission_matrix', args: {} }));
    } catch (e) {
      setMatrix(null);
      setError(`The permission matrix is unavailable (${e.message}): it needs the admin secret.`);
    }
  }, [secret]);
  useEffect(() => {
    read();
  }, [read]);

  return (
    <div className="ge-screen-body">
      <div className="ge-row">
        <h2>Permissions</h2>
        <div role="group" aria-label="View" className="ge-seg">
          {VIEWS.map(([id, label]) => (
            <button key={id} type="button" aria-pressed={view === id} onClick={() => setView(id)} data-view={id}>
              {label}
            </button>
          ))}
        </div>
        <button type="button" onClick={read}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="ge-error" role="alert">
          {error}
        </p>
      )}
      {!matrix && !error && <p>Reading the permission matrix…</p>}
      {matrix && matrix.tables.length === 0 && <p>No tracked tables.</p>}
      {matrix && matrix.tables.length > 0 && view === 'matrix' && <Matrix matrix={matrix} />}
      {matrix && matrix.tables.length > 0 && view === 'column' && <ByColumn matrix={matrix} />}
      {matrix && matrix.tables.length > 0 && view === 'role' && <ByRole matrix={matrix} />}
    </div>
  );
}
