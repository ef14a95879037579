// Browser journeys in Debian's Chromium, driven by playwright-core against
// a running mlgraph (MLGRAPH_URL) that holds the demo catalog.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

let browser;

before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function page() {
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  return { p, errors };
}

test('search, filter by kind, open an asset and see its schema and neighbours', async () => {
  const { p, errors } = await page();
  await p.goto(base + '/');
  // The page hydrates: the wasm module is fetched and runs without errors.
  await p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  await p.fill('.searchbar input[name=q]', 'playback');
  await Promise.all([p.waitForURL(/q=playback/), p.press('.searchbar input[name=q]', 'Enter')]);
  await p.waitForSelector('[data-testid=results]');
  const total = Number((await p.textContent('[data-testid=result-count]')).split(' ')[0]);
  assert.ok(total > 1, `several assets match "playback" (${total})`);

  await Promise.all([p.waitForURL(/kind=dataset/), p.click('a.facet[data-facet=kind][data-value=dataset]')]);
  await p.waitForSelector('a.chip');
  const kinds = await p.$$eval('[data-testid=results] tbody .badge', (bs) => bs.map((b) => b.textContent));
  assert.ok(kinds.length > 0, 'the filtered list is not empty');
  assert.ok(kinds.every((k) => k === 'dataset'), `only datasets remain: ${kinds}`);
  const narrowed = Number((await p.textContent('[data-testid=result-count]')).split(' ')[0]);
  assert.ok(narrowed < total, 'the kind filter narrows the results');

  await Promise.all([p.waitForURL(/\/asset\?id=/), p.click('[data-testid=results] a:text-is("playback_events")')]);
  await p.waitForSelector('[data-testid=asset-name]');
  assert.equal(await p.textContent('[data-testid=asset-name]'), 'playback_events');
  const columns = await p.$$eval('[data-testid=schema] tbody tr td.mono:not(.type)', (tds) => tds.map((t) => t.textContent));
  assert.ok(columns.includes('member_id') && columns.includes('title_id'), `schema lists columns: ${columns}`);
  const downstream = await p.$$eval('[data-testid=downstream] li a', (as) => as.map((a) => a.textContent));
  assert.ok(downstream.includes('member_daily_watch'), `downstream lists member_daily_watch: ${downstream}`);

  // A neighbour link opens that asset's page, whose upstream links back.
  await Promise.all([p.waitForURL(/member_daily_watch/), p.click('[data-testid=downstream] a:text-is("member_daily_watch")')]);
  await p.waitForSelector('[data-testid=asset-name]:text-is("member_daily_watch")');
  const upstream = await p.$$eval('[data-testid=upstream] li a', (as) => as.map((a) => a.textContent));
  assert.ok(upstream.includes('playback_events'), `upstream lists playback_events: ${upstream}`);
  assert.deepEqual(errors, [], 'no script errors');
});

test('pages work with JavaScript disabled', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const p = await ctx.newPage();
  await p.goto(base + '/?q=ranker&kind=model');
  const names = await p.$$eval('[data-testid=results] td.name a', (as) => as.map((a) => a.textContent));
  assert.ok(names.includes('home_ranker'), `server-rendered results: ${names}`);
  await p.click('[data-testid=results] a:text-is("home_ranker")');
  await p.waitForSelector('[data-testid=reuse]');
  const reuse = await p.$$eval('[data-testid=reuse] li a', (as) => as.map((a) => a.textContent));
  assert.ok(reuse.length > 0, 'the reuse panel suggests other models built from the same features');
  const upstream = await p.$$eval('[data-testid=all-upstream] li a', (as) => as.map((a) => a.textContent));
  assert.ok(upstream.includes('playback_events'), `the full lineage reaches the raw events: ${upstream}`);
  const downstream = await p.$$eval('[data-testid=all-downstream] li a', (as) => as.map((a) => a.textContent));
  assert.ok(downstream.includes('home_page'), `the full lineage reaches the product surface: ${downstream}`);
  await ctx.close();
});

test('paging moves through a large result set', async () => {
  const { p } = await page();
  await p.goto(base + '/?limit=50');
  const first = await p.$$eval('[data-testid=results] td.name a', (as) => as.map((a) => a.textContent));
  assert.equal(first.length, 50);
  await Promise.all([p.waitForURL(/offset=50/), p.click('a.pager-btn[rel=next]')]);
  await p.waitForSelector('.pager-range:text-matches("^51")');
  const second = await p.$$eval('[data-testid=results] td.name a', (as) => as.map((a) => a.textContent));
  assert.equal(second.length, 50);
  assert.notDeepEqual(first, second);
});

test('a listing continues by cursor, and facet values can be filtered', async () => {
  const { p, errors } = await page();
  await p.goto(base + '/?limit=25');
  const ids = (sel) => p.$$eval(sel, (as) => as.map((a) => a.getAttribute('title')));
  const names = (sel) => p.$$eval(sel, (as) => as.map((a) => a.textContent));
  const rows = '[data-testid=results] td.name a';
  const first = await ids(rows);
  const firstNames = await names(rows);
  // Past offset 10,000 the Next link is a cursor; here, take the first
  // page's cursor from the API.
  const api = await (await fetch(base + '/api/v1/assets?limit=25')).json();
  assert.deepEqual(api.items.map((a) => a.id), first, 'the page and the API list the same assets');
  await p.goto(base + '/?limit=25&after=' + encodeURIComponent(api.next));
  const after = await ids(rows);
  const afterNames = await names(rows);
  assert.equal(after.length, 25);
  assert.ok(!after.some((id) => first.includes(id)), 'the cursor page starts after the first page');
  assert.ok(afterNames[0] >= firstNames[firstNames.length - 1], `name order: ${firstNames.at(-1)} then ${afterNames[0]}`);
  await Promise.all([p.waitForURL(/after=/), p.click('a.pager-btn[rel=next]')]);
  await Promise.all([p.waitForURL((u) => !u.search.includes('after=')), p.click('a.pager-btn:text-is("« First page")')]);
  // Facet values: the filter narrows the owner and tag lists. The URL
  // changes before the first page has rendered, so wait for its facets.
  await p.waitForFunction(() => document.querySelectorAll('a.facet[data-facet=owner]').length > 1, null, { timeout: 10000 }).catch(() => {});
  const owners = await p.$$eval('a.facet[data-facet=owner]', (as) => as.map((a) => a.dataset.value));
  assert.ok(owners.length > 1, `owners: ${owners}`);
  const pick = owners[0];
  await p.fill('.facet-filter input[name=fq]', pick.slice(0, 4));
  await Promise.all([p.waitForURL(/fq=/), p.press('.facet-filter input[name=fq]', 'Enter')]);
  const narrowed = await p.$$eval('a.facet[data-facet=owner]', (as) => as.map((a) => a.dataset.value));
  assert.ok(narrowed.includes(pick), `${pick} stays: ${narrowed}`);
  assert.ok(narrowed.every((o) => o.toLowerCase().includes(pick.slice(0, 4).toLowerCase())), `only matching owners: ${narrowed}`);
  // A bad cursor is a clear error, not a crash.
  await p.goto(base + '/?after=nonsense');
  assert.match(await p.textContent('.error-box'), /after/);
  assert.deepEqual(errors, []);
});
