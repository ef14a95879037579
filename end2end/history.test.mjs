// The lineage tab's time slider in Debian's Chromium: an edge that was
// removed is drawn again when the slider goes back before its removal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

const token = process.env.MLGRAPH_ADMIN_TOKEN ?? 'ci-admin-token';
const api = (method, path, body) => fetch(base + path, {
  method,
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('moving the time slider back draws a removed edge again', async () => {
  const ns = `history${Date.now().toString(36)}`;
  const [a, b] = ['a', 'b'].map((n) => `dataset:${ns}:${n}`);
  for (const name of ['a', 'b']) {
    const r = await api('PUT', `/api/v1/assets/${encodeURIComponent(`dataset:${ns}:${name}`)}`, { kind: 'dataset', namespace: ns, name });
    assert.ok(r.ok, await r.text());
  }
  const made = await api('POST', '/api/v1/edges', { from: a, to: b, kind: 'derives' });
  const body = await made.text();
  assert.ok(made.ok, body);
  const edge = JSON.parse(body).id;
  await new Promise((r) => setTimeout(r, 50));
  const removed = await api('DELETE', `/api/v1/edges/${encodeURIComponent(edge)}`);
  assert.ok(removed.ok, await removed.text());

  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${base}/asset?id=${encodeURIComponent(a)}&tab=lineage`);
  await p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  await p.waitForSelector('[data-testid=history-slider]');
  await p.waitForSelector('[data-testid=graph-status]:has-text("0 edges")');
  assert.equal(await p.textContent('[data-testid=history-moment]'), 'now');

  // The stops: a and b created, the edge added, the edge removed; then now.
  const max = Number(await p.getAttribute('[data-testid=history-slider]', 'max'));
  assert.ok(max >= 3, `at least three moments before now (${max})`);
  const slide = async (to) => {
    await p.waitForTimeout(300); // hydration binds the slider's handlers
    await p.$eval('[data-testid=history-slider]', (el, v) => {
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, String(to));
  };
  // Back to when the edge was added: it is drawn again.
  await slide(max - 2);
  await p.waitForURL(/as_of=/);
  await p.waitForSelector('[data-testid=graph-status]:has-text("2 assets, 1 edges")');
  const moment = await p.textContent('[data-testid=history-moment]');
  assert.match(moment, /^\d{4}-\d\d-\d\dT/, `the slider names the moment (${moment})`);
  // The moment it was removed: gone again.
  await slide(max - 1);
  await p.waitForSelector('[data-testid=graph-status]:has-text("0 edges")');
  assert.deepEqual(errors, [], 'no script errors');
  await ctx.close();
});

test('comparing now with a past moment colours what ended', async () => {
  const ns = `compare${Date.now().toString(36)}`;
  const [a, b, c] = ['a', 'b', 'c'].map((n) => `dataset:${ns}:${n}`);
  for (const name of ['a', 'b', 'c']) {
    const r = await api('PUT', `/api/v1/assets/${encodeURIComponent(`dataset:${ns}:${name}`)}`, { kind: 'dataset', namespace: ns, name });
    assert.ok(r.ok, await r.text());
  }
  const made = await api('POST', '/api/v1/edges', { from: a, to: b, kind: 'derives' });
  const body = await made.text();
  assert.ok(made.ok, body);
  await new Promise((r) => setTimeout(r, 50));
  const removed = await api('DELETE', `/api/v1/edges/${encodeURIComponent(JSON.parse(body).id)}`);
  assert.ok(removed.ok, await removed.text());
  await new Promise((r) => setTimeout(r, 50));
  const added = await api('POST', '/api/v1/edges', { from: a, to: c, kind: 'derives' });
  assert.ok(added.ok, await added.text());

  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${base}/asset?id=${encodeURIComponent(a)}&tab=lineage`);
  await p.waitForSelector('[data-testid=compare-select]');
  // The moments: a, b and c created, a -> b added, removed, a -> c added.
  // Compare now with the moment a -> b was added.
  const values = await p.$$eval('[data-testid=compare-select] option', (os) => os.map((o) => o.value));
  assert.ok(values.length >= 3, `moments to compare with (${values})`);
  await p.selectOption('[data-testid=compare-select]', values[values.length - 3]);
  await Promise.all([p.waitForURL(/compare=/), p.click('[data-testid=compare-go]')]);
  const summary = await p.textContent('[data-testid=compare-summary]');
  assert.match(summary, /1 asset and 1 edge appeared/, summary);
  assert.match(summary, /1 asset and 1 edge ended/, summary);
  // Both moments are drawn, what changed coloured by its class.
  await p.waitForSelector('[data-testid=graph-status]:has-text("3 assets, 2 edges")');
  const classes = await p.evaluate(() => ({
    ended: window.mlgraphCy.elements('.ended').map((e) => e.id()).sort(),
    appeared: window.mlgraphCy.elements('.appeared').map((e) => e.id()).sort(),
  }));
  assert.deepEqual(classes.ended, [b, `${a}|derives|${b}`].sort());
  assert.deepEqual(classes.appeared, [c, `${a}|derives|${c}`].sort());
  assert.deepEqual(errors, [], 'no script errors');
  await ctx.close();
});
