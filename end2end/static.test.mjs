// The exported static site in Chromium, served by a plain static file
// server written here (not mlgraph). MLGRAPH_EXPORT_DIR is a site that
// `mlgraph export` wrote from the demo catalog plus assets with hostile
// names (scripts/test.sh makes it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch } from './chromium.mjs';

const dir = process.env.MLGRAPH_EXPORT_DIR;
// The same catalog exported with ten names per search shard.
const pagedDir = process.env.MLGRAPH_PAGED_EXPORT_DIR;
const types = { '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
let browser, server, base;
const requested = [];

before(async () => {
  if (!dir) return;
  // Served under a sub-path, to check that every link is relative.
  server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    requested.push(url.pathname);
    const [prefix, root] = url.pathname.startsWith('/paged/') ? ['/paged/', pagedDir] : ['/docs/lineage/', dir];
    if (!root || !url.pathname.startsWith(prefix)) { res.writeHead(404).end(); return; }
    const file = path.join(root, decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html');
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    try {
      const body = await fs.readFile(file.endsWith('/') ? file + 'index.html' : file);
      res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch { res.writeHead(404).end(); }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}/docs/lineage/`;
  browser = await launch();
});
after(async () => { await browser?.close(); server?.close(); });

async function page() {
  const p = await (await browser.newContext()).newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  // A dialog would mean an injected script ran.
  p.on('dialog', async (d) => { errors.push('dialog: ' + d.message()); await d.dismiss(); });
  return { p, errors };
}

test('search, graph, a neighbour and the offline impact explorer work with no server', { skip: !dir && 'MLGRAPH_EXPORT_DIR is not set' }, async () => {
  const { p, errors } = await page();
  await p.goto(base + 'index.html');
  await p.fill('[data-testid=static-search]', 'member daily');
  await p.waitForSelector('[data-testid=static-results] li');
  const names = await p.$$eval('[data-testid=static-results] li a', (as) => as.map((a) => a.textContent));
  assert.ok(names.includes('member_daily_watch'), `search finds member_daily_watch: ${names}`);

  await Promise.all([p.waitForURL(/\/a\/[0-9a-f]{16}\.html$/), p.click('[data-testid=static-results] a:text-is("member_daily_watch")')]);
  await p.waitForSelector('[data-testid=asset-name]:text-is("member_daily_watch")');
  // The graph is the app's Cytoscape component, fed from the page's data file.
  await p.waitForSelector('[data-testid=graph-canvas] canvas');
  const nodes = await p.$eval('[data-testid=graph-canvas]', (el) => Number(el.dataset.nodes));
  assert.ok(nodes > 3, `the graph draws the lineage (${nodes} nodes)`);

  // The offline impact explorer: drop a column and list what it reaches.
  const column = await p.$eval('[data-testid=explorer-column]', (s) => s.value);
  await p.selectOption('[data-testid=explorer-op]', 'drop');
  await p.click('[data-testid=explorer-run]');
  await p.waitForSelector('[data-testid=impact-affected] tr[data-affected]');
  const affected = await p.$$eval('[data-testid=impact-affected] tr[data-affected]', (trs) => trs.length);
  assert.ok(affected > 1, `dropping ${column} reaches downstream assets (${affected})`);

  // A neighbour's link opens its page.
  const next = await p.$eval('[data-testid=downstream] li a', (a) => a.textContent);
  await Promise.all([p.waitForURL(/\/a\/[0-9a-f]{16}\.html$/), p.click('[data-testid=downstream] li a >> nth=0')]);
  await p.waitForSelector(`[data-testid=asset-name]:text-is("${next}")`);

  assert.deepEqual(requested.filter((r) => r.includes('/api') || r.includes('/rpc')), [], 'no request reaches an API');
  // (Browsers ask for /favicon.ico by themselves.)
  const outside = requested.filter((r) => !r.startsWith('/docs/lineage/') && r !== '/favicon.ico');
  assert.deepEqual(outside, [], 'every request stays under the sub-path');
  assert.deepEqual(errors, [], 'no script errors');
});

test('hostile names are shown as text and run nothing', { skip: !dir && 'MLGRAPH_EXPORT_DIR is not set' }, async () => {
  const { p, errors } = await page();
  await p.goto(base + 'index.html');
  await p.fill('[data-testid=static-search]', 'pwned');
  await p.waitForSelector('[data-testid=static-results] li');
  const shown = await p.$$eval('[data-testid=static-results] li a', (as) => as.map((a) => a.textContent));
  const evil = shown.find((t) => t.includes('<script>'));
  assert.ok(evil, `the hostile name is listed as text: ${shown}`);
  await Promise.all([p.waitForURL(/\/a\//), p.click('[data-testid=static-results] li a >> nth=0')]);
  await p.waitForSelector('[data-testid=asset-name]');
  await p.waitForSelector('[data-testid=graph-canvas] canvas');
  assert.match(await p.textContent('[data-testid=asset-name]'), /<\/script>|<script>/);
  // Give any injected handler a moment to fire.
  await p.waitForTimeout(500);
  assert.equal(await p.evaluate(() => window.__pwned ?? null), null, 'no injected script ran');
  assert.deepEqual(errors, [], 'no script errors or dialogs');
});

test('a word too common for one search shard is read page by page with "More names"', { skip: !pagedDir && 'MLGRAPH_PAGED_EXPORT_DIR is not set' }, async () => {
  const { p, errors } = await page();
  await p.goto(base.replace('/docs/lineage/', '/paged/') + 'index.html');
  const manifest = await (await fetch(base.replace('/docs/lineage/', '/paged/') + 'search/manifest.json')).json();
  assert.ok((manifest.pages ?? []).length > 0, 'the export wrote paged shards');
  await p.fill('[data-testid=static-search]', 'member');
  await p.waitForFunction(() => document.getElementById('results').dataset.query === 'member');
  const first = await p.textContent('#count');
  const m = first.match(/^(\d+) found in the first 1 of (\d+) pages of names$/);
  assert.ok(m, `the count says how much was read: ${first}`);
  const names = await p.$$eval('[data-testid=static-results] li a', (as) => as.map((a) => a.textContent));
  assert.ok(names.length > 0 && names.every((n) => /member/i.test(n)), `every result has the word: ${names}`);
  assert.equal(await p.isVisible('[data-testid=static-more]'), true);
  await p.click('[data-testid=static-more]');
  await p.waitForFunction(() => /first 2 of|^\d+ found$/.test(document.getElementById('count').textContent));
  const second = await p.textContent('#count');
  assert.ok(Number.parseInt(second, 10) > Number.parseInt(m[1], 10), `more names were read: ${first} then ${second}`);
  assert.deepEqual(errors, []);
});
