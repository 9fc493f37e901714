// The console's requests: the metadata API with the admin secret, GraphQL as the chosen role.
import { consoleHeaders, mergeHeaders } from './metadata.js';

export const GRAPHQL_URL = new URL('/v1/graphql', window.location.href).toString();
export const METADATA_URL = new URL('/v1/metadata', window.location.href).toString();
export const EXPLAIN_URL = new URL('/v1/graphql/explain', window.location.href).toString();

export async function postJson(url, headers, body) {
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

function why(r) {
  return (r.json && (r.json.error || r.json.message)) || `HTTP ${r.status}`;
}

/** A metadata API operation with the admin secret; its answer, or throws with the error. */
export async function metadataCall(secret, body) {
  const headers = { 'content-type': 'application/json' };
  if (secret) headers['x-hasura-admin-secret'] = secret;
  const r = await postJson(METADATA_URL, headers, body);
  if (!r.ok || r.json === undefined) throw new Error(why(r));
  return r.json;
}

/** A GraphQL request with the console's settings (secret, role, session variables); the data. */
export async function graphqlCall(settings, query, variables) {
  const r = await postJson(GRAPHQL_URL, mergeHeaders(consoleHeaders(settings)), { query, variables });
  if (r.json === undefined) throw new Error(why(r));
  if (r.json.errors && r.json.errors.length) throw new Error(r.json.errors.map((e) => e.message).join('; '));
  return r.json.data;
}
