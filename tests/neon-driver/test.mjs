// Drives graphedge's SQL gateway with the real `@neondatabase/serverless` driver: its `neon()`
// HTTP query function with `fetchEndpoint` pointed at the gateway.
// Env: GATEWAY_URL (http://127.0.0.1:PORT/sql), DATABASE_URL (with the right password),
// GATEWAY_SECRET (the bearer secret). Exits non-zero on the first failed check.
import { neon, neonConfig } from '@neondatabase/serverless';
import assert from 'node:assert/strict';

neonConfig.fetchEndpoint = process.env.GATEWAY_URL;
const url = process.env.DATABASE_URL;
const sql = neon(url);
let checks = 0;
async function check(name, fn) {
  try {
    await fn();
    checks++;
  } catch (e) {
    console.error(`FAILED: ${name}:`, e);
    process.exit(1);
  }
}

await check('plain query', async () => {
  assert.deepEqual(await sql`SELECT 1 AS one, 'x' AS two`, [{ one: 1, two: 'x' }]);
});

await check('parameters of every common type', async () => {
  const when = new Date('2024-02-29T12:34:56.789Z');
  const [r] = await sql.query(
    `SELECT $1::int AS i, $2::bigint AS b, $3::numeric AS n, $4::text AS t, $5::bool AS bo,
            $6::text AS nu, $7::json AS j, $8::jsonb AS jb, $9::timestamptz AS ts, $10::date AS d,
            $11::uuid AS u, $12::int[] AS ia, $13::bytea AS by, $14::text[] AS ta,
            $15::float8 AS f, $16::bool AS bf`,
    [42, 9007199254740993n, '12345678901234567890.0123', 'it\'s "quoted" ; é', true,
     null, { a: [1, 'two'] }, { b: null }, when, '2024-02-29',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', [1, 2, 3], Buffer.from([0, 1, 254, 255]),
     ['a', 'b c', null], 1.5, false],
  );
  assert.equal(r.i, 42);
  assert.equal(r.b, '9007199254740993');
  assert.equal(r.n, '12345678901234567890.0123');
  assert.equal(r.t, 'it\'s "quoted" ; é');
  assert.equal(r.bo, true);
  assert.equal(r.nu, null);
  assert.deepEqual(r.j, { a: [1, 'two'] });
  assert.deepEqual(r.jb, { b: null });
  assert.ok(r.ts instanceof Date);
  assert.equal(r.ts.toISOString(), when.toISOString());
  assert.ok(r.d instanceof Date);
  assert.equal(r.u, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.deepEqual(r.ia, [1, 2, 3]);
  assert.deepEqual([...r.by], [0, 1, 254, 255]);
  assert.deepEqual(r.ta, ['a', 'b c', null]);
  assert.equal(r.f, 1.5);
  assert.equal(r.bf, false);
});

await check('tagged-template parameters', async () => {
  const name = "Robert'); DROP TABLE students;--";
  assert.deepEqual(await sql`SELECT ${name}::text AS name, ${7} + 1 AS eight`, [{ name, eight: 8 }]);
});

await check('full results and array mode', async () => {
  const full = await sql.query('SELECT 1 AS a, 2 AS b', [], { fullResults: true });
  assert.equal(full.command, 'SELECT');
  assert.equal(full.rowCount, 1);
  assert.deepEqual(full.fields.map(f => [f.name, f.dataTypeID]), [['a', 23], ['b', 23]]);
  assert.deepEqual(full.rows, [{ a: 1, b: 2 }]);
  assert.deepEqual(await sql.query('SELECT 1 AS a, 2 AS b', [], { arrayMode: true }), [[1, 2]]);
});

await check('transaction', async () => {
  await sql`CREATE TABLE IF NOT EXISTS neon_driver_t (id int PRIMARY KEY, v text)`;
  await sql`TRUNCATE neon_driver_t`;
  const [ins, sel] = await sql.transaction([
    sql`INSERT INTO neon_driver_t VALUES (1, 'a'), (2, 'b')`,
    sql`SELECT count(*)::int AS n FROM neon_driver_t`,
  ], { isolationLevel: 'Serializable', readOnly: false, deferrable: false });
  assert.deepEqual(ins, []);
  assert.deepEqual(sel, [{ n: 2 }]);
  // A failing statement rolls back the whole batch.
  await assert.rejects(
    sql.transaction([
      sql`INSERT INTO neon_driver_t VALUES (3, 'c')`,
      sql`INSERT INTO neon_driver_t VALUES (1, 'dup')`,
    ]),
    e => e.code === '23505' && /duplicate key/.test(e.message) && e.constraint === 'neon_driver_t_pkey',
  );
  assert.deepEqual(await sql`SELECT id FROM neon_driver_t ORDER BY id`, [{ id: 1 }, { id: 2 }]);
  // Read-only batches refuse writes.
  await assert.rejects(
    sql.transaction([sql`INSERT INTO neon_driver_t VALUES (9, 'x')`], { readOnly: true }),
    e => e.code === '25006',
  );
});

await check('errors carry the SQLSTATE fields', async () => {
  await assert.rejects(sql`SELECT 1/0`, e => e.code === '22012' && e.severity === 'ERROR');
  await assert.rejects(sql`SELEC 1`, e => e.code === '42601' && e.position === '1');
});

await check('authentication', async () => {
  const bad = neon(url.replace(/:[^:@/]*@/, ':wrong@'));
  await assert.rejects(bad`SELECT 1`, e => /401/.test(e.message));
  const withToken = neon(url.replace(/:[^:@/]*@/, ':wrong@'), { authToken: process.env.GATEWAY_SECRET });
  assert.deepEqual(await withToken`SELECT 2 AS two`, [{ two: 2 }]);
});

console.log(`neon-driver: ${checks} checks passed`);
