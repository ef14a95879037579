// The lineage graph in Debian's Chromium: Cytoscape draws the window the
// server computed, clicking a dashed node expands it, double-clicking
// opens an asset, paths and search-to-focus work, and without JavaScript
// the same lineage is readable as lists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

let browser;

before(async () => {
  browser = await launch();
});
after(async () => { await browser?.close(); });

async function page(options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, ...options });
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  return { p, errors };
}

// The router decodes query values twice, so links encode ids twice.
const twice = (id) => encodeURIComponent(encodeURIComponent(id));

async function assetId(name) {
  const r = await fetch(`${base}/api/v1/assets?q=${encodeURIComponent(name)}&limit=5`);
  const body = await r.json();
  const hit = body.items.find((a) => a.name === name);
  assert.ok(hit, `the demo catalog has ${name}`);
  return hit.id;
}

async function lineageCount(id, up, down) {
  const ids = new Set([id]);
  for (const [direction, depth] of [['upstream', up], ['downstream', down]]) {
    if (depth === 0) continue;
    const r = await fetch(`${base}/api/v1/lineage/${encodeURIComponent(id)}?direction=${direction}&depth=${depth}`);
    for (const n of (await r.json()).nodes) ids.add(n.id);
  }
  return ids.size;
}

// Waits for Cytoscape to draw and returns the drawn node count.
async function drawn(p) {
  await p.waitForSelector('[data-testid=graph-canvas]:not([hidden]) canvas');
  await p.waitForFunction(() => document.querySelector('[data-testid=graph-canvas]').dataset.nodes);
  // The toolbar above the canvas appears on the next reactive tick and
  // moves the canvas down; clicks must wait for the page to settle.
  await p.waitForSelector('[data-testid=fit]', { state: 'visible' });
  return Number(await p.getAttribute('[data-testid=graph-canvas]', 'data-nodes'));
}

// Where a node is on screen, in page coordinates.
async function where(p, id) {
  await p.evaluate(() => document.querySelector('[data-testid=graph-canvas]').scrollIntoView());
  // Cytoscape caches where its container is and refreshes that on the
  // scroll event, which fires with the next frame: wait for it.
  await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return p.evaluate((id) => {
    const box = document.querySelector('[data-testid=graph-canvas]').getBoundingClientRect();
    const pos = window.mlgraphCy.getElementById(id).renderedPosition();
    return { x: box.left + pos.x, y: box.top + pos.y };
  }, id);
}

test('the lineage tab draws the window the API reports, with kinds and hubs marked', async () => {
  const { p, errors } = await page();
  const id = await assetId('playback_events');
  await p.goto(`${base}/asset?id=${twice(id)}&tab=lineage`);
  const n = await drawn(p);
  assert.equal(n, await lineageCount(id, 2, 2), 'two hops each way, as the lineage API counts them');
  assert.equal(await p.evaluate(() => window.mlgraphCy.nodes().length), n);
  assert.ok(await p.isHidden('[data-testid=graph-fallback]'), 'the lists give way to the drawing');
  const look = await p.evaluate((id) => {
    const cy = window.mlgraphCy;
    return {
      center: cy.getElementById(id).hasClass('center'),
      kinds: [...new Set(cy.nodes().map((n) => n.data('kind')))],
      shapes: [...new Set(cy.nodes().map((n) => n.style('shape')))],
      hubs: cy.nodes('.hub').length,
    };
  }, id);
  assert.ok(look.center, 'the asset itself is marked');
  assert.ok(look.kinds.length >= 3, `several kinds drawn: ${look.kinds}`);
  assert.equal(look.shapes.length, look.kinds.length, 'one shape per kind');
  assert.ok(look.hubs >= 1, 'hubs are marked');
  // Fit and zoom change the viewport.
  const z0 = await p.evaluate(() => window.mlgraphCy.zoom());
  await p.click('button[aria-label="Zoom in"]');
  assert.ok(await p.evaluate(() => window.mlgraphCy.zoom()) > z0, 'zoom in zooms');
  await p.click('[data-testid=fit]');
  const inside = await p.evaluate(() => {
    const cy = window.mlgraphCy;
    const w = cy.width(), h = cy.height();
    return cy.nodes().every((n) => { const q = n.renderedPosition(); return q.x >= 0 && q.x <= w && q.y >= 0 && q.y <= h; });
  });
  assert.ok(inside, 'fit brings every node into view');
  assert.deepEqual(errors, []);
});

test('clicking a dashed node adds its hidden neighbours', async () => {
  const { p, errors } = await page();
  const id = await assetId('playback_events');
  await p.goto(`${base}/asset?id=${twice(id)}&tab=lineage&up=1&down=1`);
  const before = await drawn(p);
  const target = await p.evaluate(() => {
    const n = window.mlgraphCy.nodes().filter((n) => n.data('more') > 0)[0];
    return { id: n.id(), name: n.data('name'), more: n.data('more') };
  });
  const at = await where(p, target.id);
  await p.mouse.click(at.x, at.y);
  await p.waitForFunction((b) => Number(document.querySelector('[data-testid=graph-canvas]').dataset.nodes) > b, before);
  const after = Number(await p.getAttribute('[data-testid=graph-canvas]', 'data-nodes'));
  assert.equal(after - before, Math.min(target.more, 150), `the ${target.more} hidden neighbours are drawn`);
  assert.equal(await p.evaluate((id) => window.mlgraphCy.getElementById(id).data('more'), target.id), Math.max(0, target.more - 150));
  assert.ok((await p.textContent('[data-testid=graph-status]')).includes(`around ${target.name}`), 'the clicked node was expanded');
  assert.deepEqual(errors, []);
});

test('double-clicking a node opens its asset page', async () => {
  const { p, errors } = await page();
  const id = await assetId('playback_events');
  await p.goto(`${base}/asset?id=${twice(id)}&tab=lineage&up=1&down=1`);
  await drawn(p);
  const other = await p.evaluate((id) => {
    const n = window.mlgraphCy.nodes().filter((n) => n.id() !== id && n.data('more') === 0)[0]
      ?? window.mlgraphCy.nodes().filter((n) => n.id() !== id)[0];
    return { id: n.id(), name: n.data('name') };
  }, id);
  const at = await where(p, other.id);
  await Promise.all([p.waitForURL((u) => u.searchParams.get('id') === encodeURIComponent(other.id)), p.mouse.dblclick(at.x, at.y)]);
  await p.waitForSelector('[data-testid=asset-name]');
  assert.equal(await p.textContent('[data-testid=asset-name]'), other.name);
  assert.deepEqual(errors, []);
});

test('the explorer starts from hubs, highlights a path and focuses a search', async () => {
  const { p, errors } = await page();
  await p.goto(`${base}/graph`);
  await p.waitForSelector('[data-testid=hubs] tbody tr');
  const first = await p.textContent('[data-testid=hubs] tbody tr:first-child td:first-child a');
  await Promise.all([p.waitForURL(/\/graph\?id=/), p.click('[data-testid=hubs] tbody tr:first-child a:text-is("Explore")')]);
  assert.ok((await drawn(p)) > 1, `the lineage of ${first} is drawn`);
  const center = new URL(p.url()).searchParams.get('id');

  // Depth controls: upstream 0, downstream 1.
  await p.selectOption('[data-testid=up-depth]', '0');
  await p.selectOption('[data-testid=down-depth]', '1');
  await Promise.all([p.waitForURL(/up=0&down=1/), p.click('.depth-form button')]);
  const n = await drawn(p);
  assert.equal(n, await lineageCount(decodeURIComponent(center), 0, 1));

  // A path two hops down, found by the server and highlighted.
  await p.selectOption('[data-testid=down-depth]', '2');
  await Promise.all([p.waitForURL(/down=2/), p.click('.depth-form button')]);
  await drawn(p);
  const far = await p.evaluate(() => {
    const cy = window.mlgraphCy;
    const c = cy.nodes('.center')[0];
    const two = c.outgoers('node').outgoers('node').filter((n) => !c.outgoers('node').contains(n) && n.id() !== c.id());
    return two[0].id();
  });
  await p.fill('[data-testid=path-to]', far);
  await p.click('button:text-is("Highlight path")');
  await p.waitForSelector('[data-testid=graph-canvas][data-path]');
  const path = (await p.getAttribute('[data-testid=graph-canvas]', 'data-path')).split(' ');
  assert.equal(path.length, 3, 'two hops');
  assert.equal(path[2], far);
  assert.equal(await p.evaluate(() => window.mlgraphCy.edges('.on-path').length), 2);
  assert.ok(await p.evaluate(() => window.mlgraphCy.nodes('.faded').length) > 0, 'the rest fades');

  // Search-to-focus selects and centres a node.
  const name = await p.evaluate((far) => window.mlgraphCy.getElementById(far).data('name'), far);
  await p.fill('[data-testid=graph-find]', name);
  await p.press('[data-testid=graph-find]', 'Enter');
  await p.waitForSelector(`[data-testid=graph-canvas][data-focused]`);
  assert.equal(await p.getAttribute('[data-testid=graph-canvas]', 'data-focused'), far);
  assert.ok(await p.evaluate((far) => window.mlgraphCy.getElementById(far).selected(), far));
  assert.deepEqual(errors, []);
});

test('without JavaScript the lineage tab lists the same assets by distance', async () => {
  const { p } = await page({ javaScriptEnabled: false });
  const id = await assetId('playback_events');
  await p.goto(`${base}/asset?id=${twice(id)}&tab=lineage`);
  // Each distance lists its first 25 assets and says how many more there
  // are, which together is the whole lineage within the depths.
  const links = await p.$$eval('[data-testid=graph-fallback] li a', (as) => as.length);
  const more = await p.$$eval('[data-testid=graph-fallback] .more a', (as) => as.map((a) => Number(a.textContent.split(' ')[0])));
  assert.ok(more.length > 0, 'the demo hub has a distance with more than 25 assets');
  assert.equal(links + more.reduce((a, b) => a + b, 0), await lineageCount(id, 2, 2));
  const heads = await p.$$eval('[data-testid=graph-fallback] h3', (hs) => hs.map((h) => h.textContent));
  assert.ok(heads.includes('This asset') && heads.includes('1 downstream') && heads.includes('2 downstream'), `${heads}`);
});

test('without JavaScript an asset page pages through a long lineage list to its end', async () => {
  const { p } = await page({ javaScriptEnabled: false });
  const id = await assetId('playback_events');
  const r = await fetch(`${base}/api/v1/lineage/${encodeURIComponent(id)}?direction=downstream&depth=2`);
  const want = (await r.json()).nodes.filter((n) => n.depth === 2).map((n) => n.name).sort();
  assert.ok(want.length > 25, `playback_events has more than one window at two hops (${want.length})`);
  await p.goto(`${base}/asset?id=${twice(id)}`);
  const head = await p.textContent('#hop2 h4');
  assert.ok(head.endsWith(`· ${want.length}`), `the count is shown: ${head}`);
  const got = [];
  for (let i = 0; i < 10; i++) {
    got.push(...await p.$$eval('#hop2 li a', (as) => as.map((a) => a.textContent)));
    const next = await p.$('#hop2 a[rel=next]');
    if (!next) break;
    await Promise.all([p.waitForURL(/more=down2/), next.click()]);
  }
  assert.deepEqual(got, [...want].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'every asset once, by name');
});
