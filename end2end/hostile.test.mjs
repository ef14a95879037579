// Hostile content in Debian's Chromium: a search text and an asset name
// that close the page's <title> and open an <img onerror=…> run no script
// on the search page, on every tab of the asset's page or on the lineage
// explorer; the browser reports no Content-Security-Policy violation, so
// the page's own scripts (hydration, WebAssembly, Cytoscape) all run under
// the nonce policy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

const password = process.env.MLGRAPH_DEMO_PASSWORD;
const HOSTILE = '</title><img src=x onerror="window.__x=1">';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// The router decodes query values twice, so links encode ids twice.
const twice = (id) => encodeURIComponent(encodeURIComponent(id));

async function page() {
  const p = await (await browser.newContext()).newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  p.on('dialog', async (d) => { errors.push('dialog: ' + d.message()); await d.dismiss(); });
  await p.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { p, errors };
}

async function check(p, errors, url, { graph = false } = {}) {
  const res = await p.goto(url);
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'/, `${url}: a nonce policy (${csp})`);
  // Hydration loaded the app's WebAssembly under the policy.
  await p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  if (graph) {
    await p.waitForSelector('[data-testid=graph-canvas]:not([hidden]) canvas');
  }
  const title = await p.title();
  assert.ok(title.includes('</title>'), `${url}: the title shows the text as text: ${title}`);
  assert.equal(await p.evaluate(() => window.__x), undefined, `${url}: an injected script ran`);
  assert.equal(await p.$$eval('img[src=x]', (els) => els.length), 0, `${url}: an injected element`);
  assert.deepEqual(await p.evaluate(() => window.__violations), [], `${url}: the policy blocked something`);
  assert.deepEqual(errors, [], `${url}: script errors`);
}

test('a reflected title runs no script', async () => {
  const { p, errors } = await page();
  await check(p, errors, `${base}/?q=${encodeURIComponent(HOSTILE)}`);
});

test('a stored asset name runs no script on any page that titles it', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const signIn = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  assert.equal(signIn.status, 200);
  const cookie = signIn.headers.get('set-cookie').split(';')[0];
  const name = `n_${HOSTILE}`;
  const id = `dataset:evil:${name}`;
  const put = await fetch(`${base}/api/v1/assets/${encodeURIComponent(id)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ kind: 'dataset', namespace: 'evil', name, description: HOSTILE, owners: [HOSTILE.replaceAll(' ', '_')] }),
  });
  const putText = await put.text();
  assert.ok([200, 201].includes(put.status), `PUT: ${put.status} ${putText}`);
  const created = JSON.parse(putText);
  // Something downstream, so the lineage tab and explorer draw a graph.
  const edge = await fetch(`${base}/api/v1/edges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ from: created.id, to: (await (await fetch(`${base}/api/v1/assets?q=member_profiles&limit=1`)).json()).items[0].id, kind: 'derives' }),
  });
  const edgeText = await edge.text();
  assert.ok([200, 201].includes(edge.status), `edge: ${edge.status} ${edgeText}`);
  const { p, errors } = await page();
  await check(p, errors, `${base}/asset?id=${twice(created.id)}`);
  await check(p, errors, `${base}/asset?id=${twice(created.id)}&tab=lineage`, { graph: true });
  await check(p, errors, `${base}/graph?id=${twice(created.id)}`, { graph: true });

  // The downloadable reports, opened in the browser, run nothing either
  // (loaded as the page's content, with no policy to help), and the
  // server's policy for them allows no script at all.
  for (const format of ['html', 'svg']) {
    const url = `${base}/api/v1/assets/${encodeURIComponent(created.id)}/report?format=${format}`;
    const res = await fetch(url);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/, `${url}: a no-script policy`);
    const text = await res.text();
    assert.ok(!text.includes('<img src=x'), `${url}: the markup went into the report`);
    await p.setContent(text);
    assert.equal(await p.evaluate(() => window.__x), undefined, `${url}: an injected script ran`);
    assert.deepEqual(errors, [], `${url}: script errors`);
  }
});

test('downloads (impact CSV, Knative YAML, NDJSON export) are never pages', async () => {
  const assets = await (await fetch(`${base}/api/v1/assets?kind=dataset&limit=100`)).json();
  const dataset = assets.items.find((a) => a.schema.length > 0);
  // The demo's LLM endpoint has a scaling policy, so it has a manifest.
  const service = (await (await fetch(`${base}/api/v1/assets?q=assistant_llm_endpoint&kind=service&limit=5`)).json()).items.find((a) => a.name === 'assistant_llm_endpoint');
  assert.ok(service, 'the demo has assistant_llm_endpoint');
  const downloads = [
    [`${base}/api/v1/impact?format=csv`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: dataset.id, changes: [{ op: 'drop', column: dataset.schema[0].name }] }) }, /^text\/csv/],
    [`${base}/api/v1/services/${encodeURIComponent(service.id)}/manifest?format=knative`, {}, /^application\/yaml/],
    [`${base}/api/v1/export`, {}, /^application\/x-ndjson/],
  ];
  for (const [url, init, type] of downloads) {
    const res = await fetch(url, init);
    assert.equal(res.status, 200, `${url}: ${res.status}`);
    assert.match(res.headers.get('content-type') ?? '', type, url);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/, url);
    await res.arrayBuffer();
  }
});
