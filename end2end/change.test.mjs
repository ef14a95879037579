// The schema-change journey in Chromium: an editor proposes dropping a
// column that feeds a model served in production, sees the impact, and an
// approver approves and applies it. Needs the demo catalog and its users,
// with MLGRAPH_DEMO_PASSWORD as their password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

const password = process.env.MLGRAPH_DEMO_PASSWORD;
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Double encoding, as the app's own links do (its router decodes twice).
const assetUrl = (id) => `${base}/asset?id=${encodeURIComponent(encodeURIComponent(id))}`;
const last = (id) => id.split(':').pop();

/// A demo dataset column that feeds (through mapped edges) a feature that
/// trains a model deployed to a production service, found from the export.
async function target() {
  const text = await (await fetch(`${base}/api/v1/export`)).text();
  const records = text.trim().split('\n').map((l) => JSON.parse(l));
  const assets = new Map(records.filter((r) => r.type === 'asset').map((a) => [a.id, a]));
  const edges = records.filter((r) => r.type === 'edge');
  for (const d of edges) {
    // The other journeys read playback_events; leave it alone.
    if (d.kind !== 'derives' || !d.from.startsWith('dataset:') || last(d.from) === 'playback_events') continue;
    for (const m of d.columns ?? []) {
      for (const t of edges) {
        if (t.kind !== 'trains' || t.from !== d.to || !(t.columns ?? []).some((c) => c.from === m.to)) continue;
        const deploy = edges.find((e) => e.kind === 'deploys' && e.from === t.to);
        if (!deploy) continue;
        const service = assets.get(deploy.to);
        if (!service.tags.includes('production')) continue;
        return { dataset: d.from, column: m.from, model: t.to, service: deploy.to, owners: assets.get(t.to).owners };
      }
    }
  }
  throw new Error('the demo has no column that feeds a served model');
}

async function signIn(p, user) {
  await p.goto(`${base}/signin`);
  await p.fill('input[name=username]', user);
  await p.fill('input[name=password]', password);
  await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/signin')), p.click('form[data-testid=signin-form] button')]);
  await p.waitForSelector(`[data-testid=me]`);
}

const hydrated = (p) => p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));

test('propose a drop, see its impact, approve it and apply it', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const t = await target();
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));

  // Anonymous visitors see no propose form that works: sign in first.
  await signIn(p, 'ana.silva');
  assert.match(await p.textContent('[data-testid=me]'), /editor/);
  await p.goto(assetUrl(t.dataset));
  await p.waitForSelector('[data-testid=asset-version]');
  const before = Number(await p.textContent('[data-testid=asset-version]'));

  await Promise.all([p.waitForURL(/\/propose\?id=/), p.click('[data-testid=propose-change]')]);
  await hydrated(p);
  const row = `[data-testid=schema-editor] tr[data-column="${t.column}"]`;
  await p.waitForSelector(row);
  // Hydration can finish after the first paint; retry the choice until
  // the live preview answers.
  for (let i = 0; i < 20; i++) {
    await p.selectOption(`${row} select`, 'drop');
    if (await p.$('[data-testid=impact-affected]')) break;
    await p.waitForTimeout(250);
  }
  const affected = `[data-testid=impact-affected] tr[data-affected="${t.model}"]`;
  await p.waitForSelector(affected);
  assert.match(await p.textContent(affected), /breaking/);
  assert.match(await p.textContent(affected), new RegExp(`${t.column}`), 'the column chain explains why');
  const services = await p.textContent('[data-testid=impact-services]');
  assert.ok(services.includes(last(t.service)), `the service is hit: ${services}`);
  assert.match(services, /production/);
  const owners = await p.textContent('[data-testid=impact-owners]');
  for (const o of t.owners) assert.ok(owners.includes(o), `${o} is to be notified: ${owners}`);

  await Promise.all([p.waitForURL(/\/change\?id=\d+/), p.click('[data-testid=submit-change]')]);
  const url = p.url();
  await p.waitForSelector('[data-testid=cr-state]');
  assert.equal(await p.textContent('[data-testid=cr-state]'), 'open');
  assert.ok(!(await p.$('[data-testid=step-approve]')), 'the proposer cannot approve');
  const waiting = await p.$$eval('[data-testid=approvals] tr[data-approver]', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(waiting.length > 0 && waiting.every((w) => w.includes('waiting')), `owners wait: ${waiting}`);

  // The approver signs in, finds it in the inbox, approves and applies.
  await p.click('[data-testid=signout]');
  await p.waitForSelector('[data-testid=signin-link]');
  await signIn(p, 'ben.okafor');
  await p.goto(`${base}/inbox`);
  await p.waitForSelector('[data-testid=change-list]');
  await Promise.all([p.waitForURL(/\/change\?id=/), p.click(`[data-testid=change-list] a[href="${new URL(url).pathname}${new URL(url).search}"]`)]);
  await hydrated(p);
  await p.waitForSelector('[data-testid=step-approve]');
  await p.click('[data-testid=step-approve]');
  await p.waitForSelector('[data-testid=cr-state]:text-is("approved")');
  await p.click('[data-testid=step-apply]');
  await p.waitForSelector('[data-testid=cr-state]:text-is("applied")');

  await p.goto(assetUrl(t.dataset));
  await p.waitForSelector('[data-testid=asset-version]');
  assert.equal(Number(await p.textContent('[data-testid=asset-version]')), before + 1, 'the dataset is at schema version n+1');
  const columns = await p.$$eval('[data-testid=schema] tbody tr td.mono:not(.type)', (tds) => tds.map((td) => td.textContent));
  assert.ok(!columns.includes(t.column), `${t.column} is gone: ${columns}`);
  assert.deepEqual(errors, [], 'no script errors');
});

test('the audit log is for admins and records sign-ins', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await signIn(p, 'admin');
  await p.goto(`${base}/audit`);
  await p.waitForSelector('[data-testid=audit]');
  const text = await p.textContent('[data-testid=audit]');
  assert.match(text, /session\.create/);
  // A viewer may not read the audit log.
  const viewer = await (await browser.newContext()).newPage();
  await signIn(viewer, 'val.viewer');
  await viewer.goto(`${base}/audit`);
  await viewer.waitForSelector('.error-box');
  assert.match(await viewer.textContent('.error-box'), /may not read the audit log/);
});
