// Render benchmark for the lineage graph (not a test: `node --test` skips
// this folder's file names). It opens the explorer on the largest hub of a
// running mlgraph, at depths that fill the 2,000-node window, in headless
// Chromium, once with Cytoscape's canvas renderer and once with its WebGL
// renderer (`renderer=webgl`), and reports, as medians over several loads:
// - mount: the app's own timing of building the graph and laying it out
//   (the canvas's data-render-ms);
// - ready: navigation start until the graph is drawn (two frames after the
//   canvas reports its node count);
// - frame: the mean frame time over 60 frames of continuous zooming.
//
//   MLGRAPH_URL=http://127.0.0.1:3000 node end2end/bench/render.mjs
import { base, launch } from '../chromium.mjs';

const loads = Number(process.env.LOADS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const hubs = await (await fetch(`${base}/api/v1/hubs?limit=1`)).json();
const hub = hubs.items[0];
if (!hub) throw new Error('the catalog has no hubs');
const twice = (id) => encodeURIComponent(encodeURIComponent(id));

const browser = await launch(['--enable-unsafe-swiftshader']);
const results = [];
for (const renderer of ['canvas', 'webgl']) {
  const rows = [];
  for (let i = 0; i < loads; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const p = await ctx.newPage();
    const url = `${base}/graph?id=${twice(hub.id)}&up=0&down=8${renderer === 'webgl' ? '&renderer=webgl' : ''}`;
    await p.goto(url);
    await p.waitForFunction(() => document.querySelector('[data-testid=graph-canvas]')?.dataset.nodes, null,
      { timeout: 120000 });
    const row = await p.evaluate(() => new Promise((done) => {
      const el = document.querySelector('[data-testid=graph-canvas]');
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const ready = performance.now();
        const cy = window.mlgraphCy;
        let frames = 0;
        const start = performance.now();
        const step = () => {
          cy.zoom({ level: cy.zoom() * (frames < 30 ? 1.02 : 0.98), renderedPosition: { x: 700, y: 350 } });
          frames += 1;
          if (frames < 60) requestAnimationFrame(step);
          else done({
            nodes: Number(el.dataset.nodes),
            edges: Number(el.dataset.edges),
            mount: Number(el.dataset.renderMs),
            ready,
            frame: (performance.now() - start) / frames,
          });
        };
        requestAnimationFrame(step);
      }));
    }));
    rows.push(row);
    await ctx.close();
  }
  const r = {
    renderer,
    nodes: rows[0].nodes,
    edges: rows[0].edges,
    mount_ms: median(rows.map((x) => x.mount)),
    ready_ms: Math.round(median(rows.map((x) => x.ready))),
    frame_ms: Number(median(rows.map((x) => x.frame)).toFixed(1)),
  };
  results.push(r);
  console.log(JSON.stringify(r));
}
await browser.close();
console.log(`hub ${hub.id}; medians of ${loads} loads; headless Chromium with --disable-gpu (WebGL runs on SwiftShader, in software)`);
