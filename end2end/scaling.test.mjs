// The scaling journey in Chromium: an operator previews switching the
// reference LLM endpoint from round-robin to power of two choices on the
// reference traffic, sees P99 drop, applies it, and finds the new version
// in the history. Needs the demo catalog with MLGRAPH_DEMO_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

const password = process.env.MLGRAPH_DEMO_PASSWORD;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('preview round-robin against power of two choices, then apply', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const found = await (await fetch(`${base}/api/v1/assets?q=assistant_llm_endpoint&kind=service`)).json();
  const service = found.items.find((a) => a.name === 'assistant_llm_endpoint');
  assert.ok(service, 'the demo has the reference LLM endpoint');
  const p = await (await browser.newContext()).newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  const consoleErrors = [];
  p.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await p.goto(`${base}/signin`);
  await p.fill('input[name=username]', 'olu.ops');
  await p.fill('input[name=password]', password);
  await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/signin')), p.click('form[data-testid=signin-form] button')]);

  await p.goto(`${base}/asset?id=${encodeURIComponent(encodeURIComponent(service.id))}&tab=scaling`);
  await p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  await p.waitForSelector('[data-testid=policy-load-balancer]');
  assert.match(await p.textContent('[data-testid=policy-load-balancer]'), /round/i);
  // Hydration may finish after the first paint (on a loaded machine, many
  // seconds later): retry the choice until the editor's diff shows it.
  for (let i = 0; i < 160; i++) {
    await p.selectOption('[data-testid=load-balancer]', 'power-of-two');
    if ((await p.textContent('[data-testid=policy-diff]')).includes('power-of-two')) break;
    await p.waitForTimeout(250);
  }
  assert.match(await p.textContent('[data-testid=policy-diff]'), /load_balancer: round-robin → power-of-two/);
  await p.selectOption('[data-testid=scenario]', 'reference');
  await p.fill('[data-testid=duration]', '30');
  await p.press('[data-testid=duration]', 'Tab');
  await p.waitForSelector('[data-testid=preview]:not([disabled])');
  await p.click('[data-testid=preview]');
  // Say what the page showed, and what the browser logged, if it was not
  // the result.
  const shown = await p.waitForSelector('[data-testid=preview-result], [data-testid=scaling] .error-box', { timeout: 75_000 })
    .catch((e) => { throw new Error(`${e.message.split('\n')[0]}; script errors: ${[...errors, ...consoleErrors].join(' | ')}`); });
  assert.equal(await shown.getAttribute('data-testid'), 'preview-result', `the preview failed: ${await shown.textContent()}`);
  const current = Number(await p.getAttribute('[data-testid=headline-current]', 'data-p99'));
  const proposed = Number(await p.getAttribute('[data-testid=headline-proposed]', 'data-p99'));
  assert.ok(proposed < current, `P99 drops from ${current} ms to ${proposed} ms`);
  assert.equal(await p.locator('[data-testid=preview-result] svg.chart').count(), 3, 'latency, pods and queue charts');

  await p.click('[data-testid=apply]');
  await p.waitForSelector('[data-testid=policy-history] tr[data-version="2"]');
  const row = await p.textContent('[data-testid=policy-history] tr[data-version="2"]');
  assert.match(row, /load_balancer: round-robin → power-of-two/);
  assert.match(row, /olu\.ops/);
  assert.match(await p.textContent('[data-testid=policy-load-balancer]'), /power/i);

  // Replay a pasted trace: a bad row is named, a good trace is simulated.
  await p.selectOption('[data-testid=scenario]', 'trace');
  await p.waitForSelector('[data-testid=trace]', { state: 'visible' });
  await p.fill('[data-testid=trace]', 'seconds,qps\n0,20000\n4,lots\n');
  await p.click('[data-testid=preview]');
  const refused = await p.waitForSelector('[data-testid=scaling] .error-box');
  assert.match(await refused.textContent(), /trace line 3: qps `lots` is not a number/);
  await p.fill('[data-testid=trace]', 'seconds,qps\n0,20000\n5,60000\n10,20000\n');
  await p.fill('[data-testid=duration]', '10');
  await p.press('[data-testid=duration]', 'Tab');
  await p.click('[data-testid=preview]');
  await p.waitForSelector('[data-testid=preview-result][data-scenario=trace]', { timeout: 75_000 });
  assert.equal(await p.locator('[data-testid=preview-result] svg.chart').count(), 3, 'the trace run is charted');

  // The per-pod model is editable too, and shows in the diff.
  await p.fill('[data-testid=output-tokens]', '64');
  await p.press('[data-testid=output-tokens]', 'Tab');
  await p.waitForFunction(() => document.querySelector('[data-testid=policy-diff]').textContent.includes('perf.output_tokens: 50 → 64'));

  assert.deepEqual(errors, [], 'no script errors');
  assert.deepEqual(consoleErrors.filter((m) => /hydrat|panicked/i.test(m)), [], 'the page hydrated');
});

// The page's data is sent twice: as HTML and as serialized resources the
// browser hydrates from. Every serialized copy must be the signed-in
// operator's view; one computed for an anonymous caller (a server
// function that read its caller after an await, once its owner was gone)
// made hydration fail on some loads. Twenty loads catch that reliably.
test('every serialized copy of the scaling page is the signed-in caller\'s', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const signin = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ username: 'olu.ops', password }),
  });
  assert.equal(signin.status, 200, await signin.text());
  const cookie = signin.headers.get('set-cookie').split(';')[0];
  const url = `${base}/asset?id=${encodeURIComponent('service:serving-prod:assistant_llm_endpoint')}&tab=scaling`;
  for (let i = 0; i < 20; i++) {
    const html = await (await fetch(url, { headers: { cookie } })).text();
    const copies = html.match(/\\"can_apply\\":(true|false)/g) ?? [];
    assert.ok(copies.length >= 1, 'the page carries its serialized data');
    assert.deepEqual(copies.filter((c) => c.endsWith('false')), [], `load ${i}: a copy was computed for someone else`);
  }
});
