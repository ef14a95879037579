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
