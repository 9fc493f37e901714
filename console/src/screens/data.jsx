// Data: the tracked tables per source (from export_metadata), their columns and relationships
// (as the chosen role sees them, by introspection), and their rows through the GraphQL API as
// that role, filtered (column = value), sorted and paged.
import React, { useEffect, useState } from 'react';
import { graphqlCall } from '../api.js';
import { namedType, rowsOf, rowsQuery } from '../metadata.js';

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
const ROOTS = `query BrowseRoots { __schema { queryType { fields { name type { ${TYPE_REF} } } } } }`;
const FIELDS = `query BrowseType($name: String!) { __type(name: $name) { fields { name args { name } type { ${TYPE_REF} } } } }`;

const fieldPath = (table) => (table.namespace ? `${table.namespace}.${table.rootField}` : table.rootField);

const cell = (v) => (v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function Rows({ table, settings }) {
  const [shape, setShape] = useState(null); // {columns: [{name, scalar}], rels: [...]}
  const [error, setError] = useState('');
  const [rows, setRows] = useState(null);
  const [more, setMore] = useState(false);
  const [page, setPage] = useState(0);
  const [size, setSize] = useState(10);
  const [sort, setSort] = useState({ column: '', desc: false });
  const [filterDraft, setFilterDraft] = useState({ column: '', value: '' });
  const [filter, setFilter] = useState({ column: '', value: '' });

  // The table's type as the role sees it.
  useEffect(() => {
    let live = true;
    setShape(null);
    setRows(null);
    setError('');
    setPage(0);
    setSort({ column: '', desc: false });
    setFilter({ column: '', value: '' });
    setFilterDraft({ column: '', value: '' });
    (async () => {
      const roots = await graphqlCall(settings, ROOTS);
      let fields = roots.__schema.queryType.fields;
      if (table.namespace) {
        const ns = fields.find((f) => f.name === table.namespace);
        if (!ns) throw new Error(`role ${settings.role} has no ${table.namespace} field (no select permission?)`);
        const nsType = await graphqlCall(settings, FIELDS, { name: namedType(ns.type).name });
        fields = nsType.__type.fields;
      }
      const field = fields.find((f) => f.name === table.rootField);
      if (!field) throw new Error(`role ${settings.role} has no ${fieldPath(table)} field (no select permission?)`);
      const typeName = namedType(field.type).name;
      const type = await graphqlCall(settings, FIELDS, { name: typeName });
      const columns = [];
      const rels = [];
      for (const f of type.__type.fields) {
        const t = namedType(f.type);
        if ((t.kind === 'SCALAR' || t.kind === 'ENUM') && !t.list && !f.args.length) columns.push({ name: f.name, scalar: t.name });
        else if (t.kind === 'OBJECT' && !/(_a|A)ggregate$/.test(f.name)) rels.push({ name: f.name, type: t.name, list: t.list });
      }
      if (live) setShape({ columns, rels });
    })().catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [table, settings]);

  useEffect(() => {
    if (!shape || !shape.columns.length) return undefined;
    let live = true;
    const col = shape.columns.find((c) => c.name === filter.column);
    const { query, variables } = rowsQuery({
      rootField: table.rootField,
      namespace: table.namespace,
      orderBy: table.orderBy,
      asc: table.asc,
      desc: table.desc,
      columns: shape.columns.map((c) => c.name),
      limit: size + 1,
      offset: page * size,
      sort,
      filter: col ? { column: col.name, scalar: col.scalar, value: filter.value } : null,
    });
    setRows(null);
    graphqlCall(settings, query, variables)
      .then((data) => {
        if (!live) return;
        const got = rowsOf(data, table);
        setMore(got.length > size);
        setRows(got.slice(0, size));
        setError('');
      })
      .catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [shape, table, settings, page, size, sort, filter]);

  const label = `${table.schema}.${table.name}`;
  return (
    <section className="ge-card ge-rows" aria-label={`Rows of ${label}`}>
      <h3>
        {label} <span className="ge-muted">({table.source}, field {fieldPath(table)}, as {settings.role})</span>
      </h3>
      {shape && (
        <dl className="ge-shape">
          <dt>Columns</dt>
          <dd className="ge-columns">{shape.columns.map((c) => `${c.name}: ${c.scalar}`).join(', ') || 'none'}</dd>
          <dt>Relationships</dt>
          <dd className="ge-relationships">
            {table.relationships.length
              ? table.relationships
                  .map((r) => {
                    const seen = shape.rels.some((x) => x.name === r.name) ? '' : ', not visible to this role';
                    return `${r.name} (${r.kind}${r.target ? ` → ${r.target}` : ''}${seen})`;
                  })
                  .join('; ')
              : 'none'}
          </dd>
        </dl>
      )}
      {shape && shape.columns.length > 0 && (
        <form
          className="ge-row"
          aria-label="Filter and sort"
          onSubmit={(e) => {
            e.preventDefault();
            setPage(0);
            setFilter(filterDraft);
          }}
        >
          <label htmlFor="ge-data-filter-col">Where</label>
          <select
            id="ge-data-filter-col"
            value={filterDraft.column}
            onChange={(e) => setFilterDraft({ ...filterDraft, column: e.target.value })}
          >
            <option value="">(no filter)</option>
            {shape.columns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
          <label htmlFor="ge-data-filter-value">=</label>
          <input
            id="ge-data-filter-value"
            spellCheck="false"
            value={filterDraft.value}
            onChange={(e) => setFilterDraft({ ...filterDraft, value: e.target.value })}
          />
          <button type="submit">Filter</button>
          <label htmlFor="ge-data-sort">Sort</label>
          <select
            id="ge-data-sort"
            value={sort.column}
            onChange={(e) => {
              setPage(0);
              setSort({ ...sort, column: e.target.value });
            }}
          >
            <option value="">(none)</option>
            {shape.columns.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name}
              </option>
            ))}
          </select>
          <label>
            <input
              type="checkbox"
              checked={sort.desc}
              onChange={(e) => {
                setPage(0);
                setSort({ ...sort, desc: e.target.checked });
              }}
            />{' '}
            descending
          </label>
        </form>
      )}
      {error && (
        <p className="ge-error" role="alert">
          {error}
        </p>
      )}
      {shape && !rows && !error && <p>Reading rows…</p>}
      {rows && (
        <>
          <div className="ge-scroll" tabIndex={0} role="region" aria-label="Rows">
            <table className="ge-grid ge-data-rows ge-wide">
              <thead>
                <tr>
                  {shape.columns.map((c) => (
                    <th scope="col" key={c.name}>
                      {c.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i}>
                    {shape.columns.map((c) => (
                      <td key={c.name}>{cell(r[c.name])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="ge-row" aria-label="Pages">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span>
              Page {page + 1} · {rows.length} row{rows.length === 1 ? '' : 's'}
            </span>
            <button type="button" disabled={!more} onClick={() => setPage(page + 1)}>
              Next
            </button>
            <label htmlFor="ge-data-size">Per page</label>
            <select
              id="ge-data-size"
              value={size}
              onChange={(e) => {
                setPage(0);
                setSize(Number(e.target.value));
              }}
            >
              {[10, 25, 100].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </div>
        </>
      )}
    </section>
  );
}

export default function Data({ tables, settings, error }) {
  const [chosen, setChosen] = useState(null);
  const table = tables && chosen !== null ? tables[chosen] : null;
  const sources = [...new Set((tables || []).map((t) => t.source))];
  return (
    <div className="ge-screen-body ge-split">
      <nav className="ge-card ge-tables" aria-label="Tracked tables">
        <h2>Data</h2>
        {error && (
          <p className="ge-error" role="alert">
            {error}
          </p>
        )}
        {tables && tables.length === 0 && <p>No tracked tables.</p>}
        {sources.map((s) => (
          <div key={s}>
            <h3>Source {s}</h3>
            <ul>
              {tables.map((t, i) =>
                t.source === s ? (
                  <li key={i}>
                    <button
                      type="button"
                      className="ge-link"
                      aria-current={chosen === i ? 'true' : undefined}
                      data-table={t.name}
                      data-source={t.source}
                      onClick={() => setChosen(i)}
                    >
                      {t.schema === 'public' ? t.name : `${t.schema}.${t.name}`}
                    </button>
                  </li>
                ) : null,
              )}
            </ul>
          </div>
        ))}
      </nav>
      {table ? <Rows table={table} settings={settings} /> : <p className="ge-hint">Pick a table to browse its rows as role {settings.role}.</p>}
    </div>
  );
}
