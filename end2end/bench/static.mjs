// Browser figures for an exported static site, against dbt docs' approach
// (one JSON file with everything, loaded and searched in the browser).
//
//   node end2end/bench/static.mjs SITE_DIR ALL_JSON
//
// SITE_DIR is what `mlgraph export --out` wrote; ALL_JSON is the whole
// catalog as one JSON document (scripts/bench-export.sh makes both). Both
// are served by a plain static server written here, on loopback.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { launch } from '../chromium.mjs';

const [siteDir, allJson] = process.argv.slice(2).map((p) => path.resolve(p));
const types = { '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const served = new Map();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const file = url.pathname === '/all.json' ? allJson : path.join(siteDir, decodeURIComponent(url.pathname));
  try {
    const body = await fs.readFile(file);
    served.set(url.pathname, body.length);
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fcp = (p) => p.evaluate(() => new Promise((resolve) => {
  const seen = performance.getEntriesByName('first-contentful-paint');
  if (seen.length) return resolve(seen[0].startTime);
  new PerformanceObserver((l) => resolve(l.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
}));

const queries = ['member', 'watch time', 'ranker', 'title pop', 'search click', 'playback'];
const rows = [];

// The export: index page, then searches, each in a fresh page.
{
  const paints = [];
  const searches = [];
  let firstLoad = 0;
  for (const q of queries) {
    served.clear();
    const p = await (await browser.newContext()).newPage();
    await p.goto(base + '/index.html', { waitUntil: 'load' });
    paints.push(await fcp(p));
    firstLoad = Math.max(firstLoad, [...served.values()].reduce((a, b) => a + b, 0));
    await p.fill('[data-testid=static-search]', q);
    await p.waitForFunction((q) => document.getElementById('results').dataset.query === q, q);
    // The page's own clock: from the input event to the rendered results,
    // including fetching and parsing the shard.
    searches.push(Number(await p.$eval('#results', (el) => el.dataset.ms)));
    await p.context().close();
  }
  rows.push(['export: index first paint (ms)', median(paints), Math.max(...paints)]);
  rows.push(['export: bytes loaded before a search', firstLoad, firstLoad]);
  rows.push(['export: search answer, query to rendered results (ms)', median(searches), Math.max(...searches)]);
}
// The heaviest asset page (largest page + data), first paint.
{
  const pages = await fs.readdir(path.join(siteDir, 'a'));
  let heaviest = null;
  let size = 0;
  for (const f of pages) {
    const page = f.replace('.html', '');
    const s = (await fs.stat(path.join(siteDir, 'a', f))).size + (await fs.stat(path.join(siteDir, 'data', page + '.json'))).size;
    if (s > size) { size = s; heaviest = f; }
  }
  const paints = [];
  for (let i = 0; i < 3; i++) {
    const p = await (await browser.newContext()).newPage();
    await p.goto(`${base}/a/${heaviest}`, { waitUntil: 'load' });
    paints.push(await fcp(p));
    await p.context().close();
  }
  rows.push([`export: heaviest asset page (${size} bytes with data) first paint (ms)`, median(paints), Math.max(...paints)]);
}
// dbt docs' approach: fetch and parse everything, then search it.
{
  const loads = [];
  const searches = [];
  for (let i = 0; i < 3; i++) {
    const p = await (await browser.newContext()).newPage();
    await p.goto(base + '/index.html');
    const r = await p.evaluate(async (queries) => {
      const t0 = performance.now();
      const all = await (await fetch('/all.json')).json();
      const t1 = performance.now();
      const times = queries.map((q) => {
        const s = performance.now();
        const words = q.toLowerCase().split(/\s+/);
        all.assets.filter((a) => words.every((w) => a.name.toLowerCase().includes(w))).slice(0, 50);
        return performance.now() - s;
      });
      return { load: t1 - t0, search: Math.max(...times) };
    }, queries);
    loads.push(r.load);
    searches.push(r.search);
    await p.context().close();
  }
  const bytes = (await fs.stat(allJson)).size;
  rows.push([`one JSON file (dbt docs' way), ${bytes} bytes: fetch + parse (ms)`, median(loads), Math.max(...loads)]);
  rows.push(['one JSON file: search after loading (ms)', median(searches), Math.max(...searches)]);
}
await browser.close();
server.close();
console.log('| measurement | median | worst |\n|---|---|---|');
for (const [what, m, w] of rows) console.log(`| ${what} | ${Math.round(m)} | ${Math.round(w)} |`);
