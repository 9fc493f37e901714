// Drives the graphedge console in headless Chromium (Debian's, through playwright-core) with
// every non-loopback request aborted: the page must render from graphedge's own assets, read
// the roles from the metadata with the admin secret, and run a query as admin, as role `user`
// with `x-hasura-user-id` from the console's session-variable input, and as `user` through the
// Headers tab. Screenshots go to $SCREENSHOTS. Every wait is on a selector or a condition with
// a generous timeout, never a fixed delay.
//
// Environment: GRAPHEDGE_URL (http://127.0.0.1:PORT), ADMIN_SECRET, CHROMIUM (executable),
// SCREENSHOTS (a directory).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.GRAPHEDGE_URL;
const secret = process.env.ADMIN_SECRET;
const shots = process.env.SCREENSHOTS;
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

const QUERY = 'query { article(order_by: {id: asc}) { id title } }';

try {
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
  await context.close();

  // A phone-width screen.
  const phone = await openConsole({ width: 390, height: 844 });
  const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 400, `no horizontal scrolling at phone width (${width}px)`);
  await phone.page.screenshot({ path: join(shots, '6-phone.png'), fullPage: true });
  await phone.context.close();

  check(blocked.length === 0, `no request left loopback (${blocked.join(', ') || 'none'})`);
  check(problems.length === 0, `no page errors or CSP violations (${problems.join(' | ') || 'none'})`);
  console.log(`console checks passed (${checks}); screenshots in ${shots}`);
} finally {
  await browser.close();
}
