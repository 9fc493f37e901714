// Unit tests of src/metadata.js (node's test runner; scripts/build-console.sh --check runs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectSessionVars, consoleHeaders, mergeHeaders, rolesOf } from '../src/metadata.js';

const metadata = {
  version: 3,
  sources: [
    {
      name: 'default',
      tables: [
        {
          table: { schema: 'public', name: 'article' },
          select_permissions: [
            { role: 'user', permission: { columns: ['id'], filter: { author_id: { _eq: 'X-Hasura-User-Id' } } } },
            { role: 'editor', permission: { columns: '*', filter: { _or: [{ team: { _in: 'x-hasura-allowed-teams' } }] } } },
          ],
          insert_permissions: [
            { role: 'user', permission: { check: {}, set: { org_id: 'X-HASURA-ORG-ID' }, columns: ['title'] } },
          ],
          update_permissions: [{ role: 'reviewer', permission: { filter: {}, check: { x: { _eq: 'plain text' } } } }],
        },
      ],
      functions: [{ function: 'search', permissions: [{ role: 'anonymous' }] }],
    },
  ],
  inherited_roles: [{ role_name: 'staff', role_set: ['user', 'editor'] }],
};

test('roles and the session variables their permissions use', () => {
  assert.deepEqual(rolesOf(metadata), [
    { role: 'anonymous', vars: [] },
    { role: 'editor', vars: ['x-hasura-allowed-teams'] },
    { role: 'reviewer', vars: [] },
    { role: 'staff', vars: ['x-hasura-allowed-teams', 'x-hasura-org-id', 'x-hasura-user-id'] },
    { role: 'user', vars: ['x-hasura-org-id', 'x-hasura-user-id'] },
  ]);
  // export_metadata with a resource_version wraps the metadata.
  assert.deepEqual(rolesOf({ resource_version: 3, metadata }), rolesOf(metadata));
  assert.deepEqual(rolesOf({}), []);
});

test('session variables: keys and values, not x-hasura-role', () => {
  const vars = collectSessionVars({ 'X-Hasura-A': ['x-hasura-role', { b: 'X-Hasura-B' }], c: 'x-hasura-' });
  assert.deepEqual([...vars].sort(), ['x-hasura-a', 'x-hasura-b']);
});

test('headers: the console fields, then the Headers tab wins', () => {
  const own = consoleHeaders({
    secret: 's',
    role: 'user',
    vars: ['x-hasura-user-id', 'x-hasura-org-id'],
    values: { 'x-hasura-user-id': '1', 'x-hasura-org-id': '', 'x-hasura-other': '9' },
  });
  assert.deepEqual(own, { 'x-hasura-admin-secret': 's', 'x-hasura-role': 'user', 'x-hasura-user-id': '1' });
  assert.deepEqual(consoleHeaders({ secret: '', role: 'admin', vars: [], values: {} }), {});
  assert.deepEqual(mergeHeaders(own, { 'X-Hasura-User-Id': 2, 'x-extra': 'e' }), {
    'x-hasura-admin-secret': 's',
    'x-hasura-role': 'user',
    'X-Hasura-User-Id': '2',
    'x-extra': 'e',
    'content-type': 'application/json',
  });
});
