// Unit tests of the helpers the Data, Permissions, Events and SQL screens use (src/metadata.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventCounts,
  explainRequest,
  filterValue,
  namedType,
  rowsOf,
  rowsQuery,
  tablesOf,
  withGraphqlNames,
} from '../src/metadata.js';

test('tracked tables: root field names and relationships', () => {
  const md = {
    resource_version: 2,
    metadata: {
      sources: [
        {
          name: 'default',
          tables: [
            {
              table: { schema: 'public', name: 'article' },
              object_relationships: [{ name: 'author', using: { foreign_key_constraint_on: 'author_id' } }],
              array_relationships: [
                { name: 'comments', using: { foreign_key_constraint_on: { table: { schema: 'public', name: 'comment' }, column: 'article_id' } } },
              ],
              event_triggers: [{ name: 'article_ev' }],
            },
            { table: { schema: 'shop', name: 'order' } },
            { table: { schema: 'public', name: 'x' }, configuration: { custom_name: 'Ex', custom_root_fields: { select: 'allEx' } } },
            { table: { schema: 'public', name: 'y' }, configuration: { custom_name: 'Why' } },
          ],
        },
      ],
    },
  };
  const t = tablesOf(md);
  assert.deepEqual(
    t.map((x) => x.rootField),
    ['article', 'shop_order', 'allEx', 'Why'],
  );
  assert.deepEqual(t[0].relationships, [
    { name: 'author', kind: 'object', target: undefined },
    { name: 'comments', kind: 'array', target: 'comment' },
  ]);
  assert.equal(t[0].eventTriggers[0].name, 'article_ev');
  assert.deepEqual(tablesOf({}), []);
});

test('types, filter values and the rows query', () => {
  assert.deepEqual(namedType({ kind: 'NON_NULL', ofType: { kind: 'LIST', ofType: { kind: 'OBJECT', name: 'a' } } }), {
    kind: 'OBJECT',
    name: 'a',
    list: true,
  });
  assert.equal(filterValue('Int', '12'), 12);
  assert.equal(filterValue('Boolean', 'true'), true);
  assert.equal(filterValue('String', '12'), '12');
  assert.equal(filterValue('Int', 'x'), 'x');
  const q = rowsQuery({
    rootField: 'article',
    columns: ['id', 'title'],
    limit: 10,
    offset: 20,
    sort: { column: 'title', desc: true },
    filter: { column: 'id', scalar: 'Int', value: '3' },
  });
  assert.match(q.query, /query BrowseRows\(\$limit: Int!, \$offset: Int!, \$value: Int\)/);
  assert.match(q.query, /article\(limit: \$limit, offset: \$offset, order_by: \{title: desc\}, where: \{id: \{_eq: \$value\}\}\)/);
  assert.deepEqual(q.variables, { limit: 10, offset: 20, value: 3 });
  assert.doesNotMatch(rowsQuery({ rootField: 'a', columns: ['id'], limit: 1, offset: 0 }).query, /order_by|where/);
});

test('customized sources: the engine names, the namespace around the rows query', () => {
  const tables = tablesOf({
    sources: [
      { name: 'default', tables: [{ table: { schema: 'public', name: 'article' } }] },
      { name: 'shop', tables: [{ table: { schema: 'public', name: 'order_line' } }] },
    ],
  });
  const matrix = {
    tables: [
      {
        source: 'shop',
        table: { schema: 'public', name: 'order_line' },
        graphql: { namespace: 'shop', select: 'myOrderLine', order_by: 'orderBy', asc: 'ASC', desc: 'DESC' },
      },
    ],
  };
  const t = withGraphqlNames(tables, matrix);
  assert.deepEqual(
    t.map((x) => [x.rootField, x.namespace]),
    [
      ['article', null],
      ['myOrderLine', 'shop'],
    ],
  );
  assert.deepEqual(withGraphqlNames(tables, null).map((x) => x.rootField), ['article', 'order_line']);
  const q = rowsQuery({ rootField: 'myOrderLine', namespace: 'shop', columns: ['id'], limit: 2, offset: 0 });
  assert.match(q.query, /\{\n  shop \{\n    myOrderLine\(limit: \$limit, offset: \$offset\) \{\n      id\n    \}\n  \}\n\}$/);
  assert.deepEqual(rowsOf({ shop: { myOrderLine: [{ id: 1 }] } }, t[1]), [{ id: 1 }]);
  // graphql-default spells the sort argument and its values its own way.
  const sorted = rowsQuery({ ...t[1], columns: ['id'], limit: 2, offset: 0, sort: { column: 'id', desc: true } });
  assert.match(sorted.query, /myOrderLine\(limit: \$limit, offset: \$offset, orderBy: \{id: DESC\}\)/);
  assert.deepEqual(rowsOf({ article: [{ id: 2 }] }, t[0]), [{ id: 2 }]);
  assert.deepEqual(rowsOf(null, t[1]), []);
});

test('explain: the secret on the request, the session in user', () => {
  const r = explainRequest(
    { 'x-hasura-admin-secret': 's', 'X-Hasura-Role': 'user', 'x-hasura-user-id': '1', 'content-type': 'application/json', other: 'o' },
    { query: '{ a }', variables: null },
  );
  assert.deepEqual(r, {
    headers: { 'content-type': 'application/json', 'x-hasura-admin-secret': 's' },
    body: { query: { query: '{ a }', variables: {} }, user: { 'x-hasura-role': 'user', 'x-hasura-user-id': '1' } },
  });
});

test('event counts', () => {
  assert.deepEqual(
    eventCounts([{ delivered: true }, { error: true }, {}, { archived: true }, { error: true, delivered: true }]),
    { pending: 1, failed: 2, delivered: 1 },
  );
});
