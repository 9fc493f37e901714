// Drives the graphedge console in headless Chromium (Debian's, through playwright-core) with
// every non-loopback request aborted: the page must render from graphedge's own assets, read
// the roles from the metadata with the admin secret, and run a query as admin, as role `user`
// with `x-hasura-user-id` from the console's session-variable input, and as `user` through the
// Headers tab; then the SQL panel and the Data, Permissions and Events screens (desktop and
// 390 px wide). Screenshots go to $SCREENSHOTS. Every wait is on a selector or a condition with
// a generous timeout, never a fixed delay.
//
// Environment: GRAPHEDGE_URL (http://127.0.0.1:PORT), ADMIN_SECRET, CHROMIUM (executable),
// SCREENSHOTS (a directory), GRAPHEDGE_HOST (native, the default, or an edge host: worker,
// spin). At the edge nothing delivers events (the native process's background work), so there
// the Events screen's one manual event is checked to be pending. Nothing here needs websockets
// (the Spin host has none).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.GRAPHEDGE_URL;
const secret = process.env.ADMIN_SECRET;
const shots = process.env.SCREENSHOTS;
const host = process.env.GRAPHEDGE_HOST || 'native';
const edge = host !== 'native';
const WAIT = 60_000;
mkdirSync(shots, { recursive: true });

const loopback = (host) =>
  host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const blocked = [];
const problems = [];
let checks = 0;
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}

async function openConsole(viewport) {
  const context = await browser.newContext({ viewport });
  // The network is cut off: anything not on loopback is aborted (and reported).
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !loopback(url.hostname)) {
      blocked.push(url.href);
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // CSP violations and failed loads are console errors; the API's 400/401 answers (the
    // metadata and introspection before the admin secret is entered) are expected.
    const text = m.text();
    if (m.type() === 'error' && !/status of 40[01] /.test(text)) problems.push(`console error: ${text}`);
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400 && (path.startsWith('/console') || path === '/favicon.ico')) {
      problems.push(`${r.status()} for ${path}`);
    }
  });
  await page.goto(`${base}/console`, { waitUntil: 'load', timeout: WAIT });
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', {
    timeout: WAIT,
  });
  return { context, page };
}

// CodeMirror 5 keeps its instance on the wrapper element.
async function setEditor(page, selector, text) {
  await page.waitForFunction((s) => document.querySelector(s)?.CodeMirror, selector, {
    timeout: WAIT,
  });
  await page.evaluate(([s, t]) => document.querySelector(s).CodeMirror.setValue(t), [selector, text]);
}

// Runs the query editor's document (the response editor cleared first) and waits until the
// response editor holds a JSON answer; fails unless `accept` takes it. Returns it.
async function run(page, accept, what) {
  await page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.setValue(''));
  await page.click('button.graphiql-execute-button');
  const handle = await page.waitForFunction(
    () => {
      const text = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue();
      try {
        const json = JSON.parse(text);
        return json && (json.data || json.errors) ? text : false;
      } catch {
        return false;
      }
    },
    null,
    { timeout: WAIT },
  );
  const text = await handle.jsonValue();
  const answer = JSON.parse(text);
  if (!accept(answer)) throw new Error(`${what}: unexpected answer ${text}`);
  return answer;
}

// The Data, Permissions and Events screens (admin secret entered, role admin); `label` names
// the screenshots (desktop, phone), where each screen must not scroll sideways.
async function screens(page, label) {
  const noSideways = async (what) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    const vw = page.viewportSize().width;
    check(w <= vw + 10, `${label}: ${what} has no horizontal scrolling (${w}px in ${vw}px)`);
  };
  await page.selectOption('#ge-role', 'admin');

  // Data: the tracked tables, the article rows as admin, then filtered.
  await page.click('#ge-tab-data');
  await page.click('.ge-tables button[data-table="article"]', { timeout: WAIT });
  await page.waitForFunction(() => document.querySelectorAll('.ge-data-rows tbody tr').length === 3, null, {
    timeout: WAIT,
  });
  const columns = await page.textContent('.ge-columns');
  check(/id: Int/.test(columns) && /title: String/.test(columns), `${label}: the data browser shows article's columns`);
  const rels = await page.textContent('.ge-relationships');
  check(/author \(object → author\)/.test(rels), `${label}: the data browser shows article's relationships (${rels})`);
  check(true, `${label}: the data browser lists article and shows its 3 rows`);
  await page.selectOption('#ge-data-filter-col', 'id');
  await page.fill('#ge-data-filter-value', '3');
  await page.click('form[aria-label="Filter and sort"] button[type="submit"]');
  await page.waitForFunction(
    () => {
      const rows = document.querySelectorAll('.ge-data-rows tbody tr');
      return rows.length === 1 && rows[0].textContent.includes('three');
    },
    null,
    { timeout: WAIT },
  );
  check(true, `${label}: the data browser filters (id = 3)`);
  if (!edge) {
    // A second source on the same database, customized (namespace `shop`, prefix `s_`): its
    // rows are read under the namespace, by the engine's names.
    await page.click('.ge-tables button[data-table="author"][data-source="shop"]', { timeout: WAIT });
    await page
      .waitForFunction(() => document.querySelectorAll('.ge-data-rows tbody tr').length === 2, null, {
        timeout: WAIT,
      })
      .catch(async (e) => {
        throw new Error(`${e.message}: ${await page.textContent('.ge-rows')}`);
      });
    const heading = await page.textContent('.ge-rows h3');
    check(/field shop\.s_author/.test(heading), `${label}: the data browser reads a customized source (${heading})`);
    await page.click('.ge-tables button[data-table="article"]');
    await page.waitForFunction(() => document.querySelectorAll('.ge-data-rows tbody tr').length === 3, null, {
      timeout: WAIT,
    });
  }
  // As role user 1: only their rows, only the columns they may read.
  await page.selectOption('#ge-role', 'user');
  await page.fill('#ge-var-x-hasura-user-id', '1');
  await page.waitForFunction(
    () => {
      const rows = [...document.querySelectorAll('.ge-data-rows tbody tr')];
      const cols = document.querySelector('.ge-columns')?.textContent || '';
      return rows.length === 2 && !cols.includes('author_id') && rows.every((r) => !r.textContent.includes('two'));
    },
    null,
    { timeout: WAIT },
  );
  check(true, `${label}: the data browser runs as the chosen role (user 1: 2 rows, no author_id)`);
  await page.screenshot({ path: join(shots, `8-data-user-${label}.png`), fullPage: true });
  await page.selectOption('#ge-role', 'admin');
  await noSideways('the data browser');
  await page.screenshot({ path: join(shots, `8-data-${label}.png`), fullPage: true });

  // Permissions (reached with the keyboard: the tabs follow the arrow keys): the user role's
  // select rule on article, as words and as JSON.
  await page.focus('#ge-tab-data');
  await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#ge-tab-permissions[aria-selected="true"]:focus', { timeout: WAIT });
  check(true, `${label}: the screen tabs follow the arrow keys`);
  const cell = 'table.ge-perm-matrix[data-table="article"] tr[data-role="user"] td[data-op="select"]';
  await page.waitForSelector(cell, { timeout: WAIT });
  const rule = await page.textContent(cell);
  check(
    /author_id/.test(rule) && /x-hasura-user-id/i.test(rule) && /id, title/.test(rule),
    `${label}: the permission matrix shows user's filter on X-Hasura-User-Id (${rule.replace(/\s+/g, ' ').slice(0, 90)}…)`,
  );
  const json = await page.textContent(`${cell} .ge-json`);
  check(/"_eq"/.test(json) && /X-Hasura-User-Id/.test(json), `${label}: the rule's JSON is there too`);
  await noSideways('the permission matrix');
  await page.screenshot({ path: join(shots, `9-permissions-${label}.png`), fullPage: true });
  await page.click('button[data-view="column"]');
  await page.selectOption('#ge-perm-col-table', { label: 'article (default)' });
  await page.waitForSelector('table.ge-perm-columns', { timeout: WAIT });
  const titleRow = await page.textContent('table.ge-perm-columns tr:has(th:text-is("title"))');
  const authorRow = await page.textContent('table.ge-perm-columns tr:has(th:text-is("author_id"))');
  check(/user/.test(titleRow) && !/user/.test(authorRow), `${label}: who can read a column (title: user; author_id: admin only)`);
  await page.screenshot({ path: join(shots, `10-permissions-columns-${label}.png`), fullPage: true });
  await page.click('button[data-view="role"]');
  await page.selectOption('#ge-perm-role', 'user');
  const seen = await page.textContent('table.ge-perm-role');
  check(/article/.test(seen) && /x-hasura-user-id/i.test(seen), `${label}: what role user can see`);
  await page.screenshot({ path: join(shots, `11-permissions-role-${label}.png`), fullPage: true });

  // Events: the trigger with its counts and recent events, the cron trigger and its schedule.
  await page.click('#ge-tab-events');
  const trigger = 'tr[data-trigger="article_changed"]';
  await page.waitForSelector(trigger, { timeout: WAIT });
  await page.waitForSelector('tr[data-cron="nightly_report"]', { timeout: WAIT });
  await page.waitForFunction((s) => !/…/.test(document.querySelector(`${s} .ge-pending`).textContent), trigger, {
    timeout: WAIT,
  });
  check(
    /0 3 \* \* \*/.test(await page.textContent('tr[data-cron="nightly_report"]')),
    `${label}: the events screen lists the event trigger and the cron trigger with its schedule`,
  );
  // The next fire time: the earliest scheduled cron event (created with the trigger, at the
  // edge too).
  const next = await page.waitForFunction(
    () => {
      const cell = document.querySelector('tr[data-cron="nightly_report"] td[data-label="next fire time"]');
      return cell && cell.textContent !== '…' && cell.textContent;
    },
    null,
    { timeout: WAIT },
  );
  const fire = await next.jsonValue();
  check(/T03:00:00/.test(fire), `${label}: the cron trigger's next fire time (${fire})`);
  if (edge) {
    const pending = (await page.textContent(`${trigger} .ge-pending`)).trim();
    check(pending === '1', `${label}: ${host}: the trigger's manual event is pending (${pending}; nothing delivers at the edge)`);
  }
  await page.click(`${trigger} button[aria-expanded]`);
  await page.click(`${trigger} .ge-recent button[aria-label^="Redeliver"]`, { timeout: WAIT });
  await page.waitForSelector(`${trigger} p[role="status"]:text("queued for redelivery")`, { timeout: WAIT });
  check(true, `${label}: a recent event is redelivered from the events screen`);
  await noSideways('the events screen');
  await page.screenshot({ path: join(shots, `12-events-${label}.png`), fullPage: true });

  await page.click('#ge-tab-graphiql');
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: WAIT });
}

const QUERY = 'query { article(order_by: {id: asc}) { id title } }';

// GRAPHEDGE_CHECKS=demo: the console of `graphedge dev` (README command 1, no admin secret) on
// its demo schema: the `user` role from the metadata, a query as admin and as user 1, and the
// demo's rules in the permission matrix (published articles; the author row of
// X-Hasura-User-Id).
async function demo() {
  const { context, page } = await openConsole({ width: 1280, height: 800 });
  check(true, 'demo: the console renders with the network cut off');
  await page.waitForSelector('select#ge-role option[value="user"]', { state: 'attached', timeout: WAIT });
  check(true, 'demo: the role picker lists the demo role user (no admin secret configured)');
  const q = 'query { article(order_by: {id: asc}) { id } author(order_by: {id: asc}) { name } }';
  await setEditor(page, '.graphiql-query-editor .CodeMirror', q);
  const admin = await run(page, (r) => r.data && r.data.article && r.data.article.length === 4, 'demo admin');
  check(admin.data.author.length === 3, 'demo: admin sees the 4 articles and 3 authors');
  await page.selectOption('#ge-role', 'user');
  await page.fill('#ge-var-x-hasura-user-id', '1');
  const user = await run(page, (r) => r.data && r.data.article && r.data.article.length === 3, 'demo user 1');
  check(
    user.data.article.map((a) => a.id).join() === '1,3,4' && user.data.author.map((a) => a.name).join() === 'Ada',
    'demo: user 1 sees the published articles and only their author row',
  );
  await page.screenshot({ path: join(shots, 'demo-1-user.png') });
  await page.click('#ge-tab-permissions');
  const cell = (table) => `table.ge-perm-matrix[data-table="${table}"] tr[data-role="user"] td[data-op="select"]`;
  await page.waitForSelector(cell('article'), { timeout: WAIT });
  const article = (await page.textContent(cell('article'))).replace(/\s+/g, ' ');
  const author = (await page.textContent(cell('author'))).replace(/\s+/g, ' ');
  check(/is_published/.test(article) && /true/.test(article), `demo: the matrix shows user's article rule (${article.slice(0, 80)}…)`);
  check(/x-hasura-user-id/i.test(author), `demo: the matrix shows user's author rule (${author.slice(0, 80)}…)`);
  await page.screenshot({ path: join(shots, 'demo-2-permissions.png'), fullPage: true });
  await context.close();
  check(blocked.length === 0, `demo: no request left loopback (${blocked.join(', ') || 'none'})`);
  check(problems.length === 0, `demo: no page errors or CSP violations (${problems.join(' | ') || 'none'})`);
  console.log(`console checks passed (${checks}, demo); screenshots in ${shots}`);
}

try {
  if (process.env.GRAPHEDGE_CHECKS === 'demo') {
    await demo();
  } else {
    await full();
  }
} catch (e) {
  // What the page reported helps more than the timeout it led to.
  for (const p of problems) console.error(p);
  for (const b of blocked) console.error(`blocked: ${b}`);
  throw e;
} finally {
  await browser.close();
}

async function full() {
  const { context, page } = await openConsole({ width: 1280, height: 800 });
  check(true, 'GraphiQL renders with the network cut off');
  await page.screenshot({ path: join(shots, '1-loaded.png') });

  // Admin secret: roles come from the metadata.
  await page.fill('#ge-secret', secret);
  await page.press('#ge-secret', 'Enter');
  await page.waitForSelector('select#ge-role option[value="user"]', { state: 'attached', timeout: WAIT });
  check(true, 'the role picker lists the metadata roles');

  await setEditor(page, '.graphiql-query-editor .CodeMirror', QUERY);
  const admin = await run(page, (r) => r.data && r.data.article && r.data.article.length === 3, 'admin');
  check(admin.data.article.map((a) => a.id).join() === '1,2,3', 'admin sees every article');
  await page.screenshot({ path: join(shots, '2-admin.png') });

  // Role `user`: the session variable its permission uses gets an input.
  await page.selectOption('#ge-role', 'user');
  await page.waitForSelector('#ge-var-x-hasura-user-id', { timeout: WAIT });
  check(true, 'role user shows an x-hasura-user-id input');
  await page.fill('#ge-var-x-hasura-user-id', '1');
  const user = await run(page, (r) => r.data && r.data.article && r.data.article.length === 2, 'user 1');
  check(user.data.article.map((a) => a.id).join() === '1,3', 'user 1 sees only their articles');
  await page.screenshot({ path: join(shots, '3-user.png') });

  // The Headers tab is merged into the request (and wins over the console's fields).
  await page.selectOption('#ge-role', 'admin');
  await page.click('button[data-name="headers"]');
  await setEditor(
    page,
    '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
    JSON.stringify({ 'x-hasura-role': 'user', 'x-hasura-user-id': '2' }),
  );
  const viaHeaders = await run(page, (r) => r.data && r.data.article && r.data.article.length === 1, 'headers tab');
  check(viaHeaders.data.article[0].id === 2, 'the Headers tab is honoured (user 2 through it)');
  await page.screenshot({ path: join(shots, '4-headers-tab.png') });

  // The Explorer plugin.
  await page.click('button[aria-label="Show GraphiQL Explorer"]');
  await page.waitForSelector('.graphiql-explorer-root, .docExplorerWrap', { timeout: WAIT });
  check(true, 'the Explorer plugin opens');
  await page.screenshot({ path: join(shots, '5-explorer.png') });

  // The SQL panel: the generated SQL of the current query, for the session the Headers tab
  // gives (role user, user 2).
  await page.click('button.ge-sql-button');
  const sqlText = await page.waitForFunction(
    () => {
      const pre = document.querySelector('.ge-sql .ge-sql-text');
      const err = document.querySelector('.ge-sql .ge-error');
      return (pre && pre.textContent) || (err && `ERROR ${err.textContent}`) || false;
    },
    null,
    { timeout: WAIT },
  );
  const sql = await sqlText.jsonValue();
  check(/\bSELECT\b/i.test(sql) && /article/.test(sql), `the SQL panel shows a SELECT (${sql.slice(0, 80)}…)`);
  check(/role user/.test(await page.textContent('.ge-sql')), 'the SQL is for the Headers tab\'s role');
  await page.screenshot({ path: join(shots, '7-sql-desktop.png') });
  await screens(page, 'desktop');
  await context.close();

  // A phone-width screen.
  const phone = await openConsole({ width: 390, height: 844 });
  const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 400, `no horizontal scrolling at phone width (${width}px)`);
  await phone.page.screenshot({ path: join(shots, '6-phone.png'), fullPage: true });
  await phone.page.fill('#ge-secret', secret);
  await phone.page.press('#ge-secret', 'Enter');
  await phone.page.waitForSelector('select#ge-role option[value="user"]', { state: 'attached', timeout: WAIT });
  await screens(phone.page, 'phone');
  await setEditor(phone.page, '.graphiql-query-editor .CodeMirror', QUERY);
  await phone.page.click('button.ge-sql-button');
  await phone.page.waitForFunction(() => /SELECT/.test(document.querySelector('.ge-sql .ge-sql-text')?.textContent), null, {
    timeout: WAIT,
  });
  const sqlWidth = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  check(sqlWidth <= 400, `phone: the SQL panel shows a SELECT without horizontal scrolling (${sqlWidth}px)`);
  await phone.page.screenshot({ path: join(shots, '7-sql-phone.png'), fullPage: true });
  await phone.context.close();

  check(blocked.length === 0, `no request left loopback (${blocked.join(', ') || 'none'})`);
  check(problems.length === 0, `no page errors or CSP violations (${problems.join(' | ') || 'none'})`);
  console.log(`console checks passed (${checks}, ${host}); screenshots in ${shots}`);
}
