// The one way every browser script here starts Debian's Chromium (not a
// test file: `node --test` skips this name).
import { chromium } from 'playwright-core';

export const base = process.env.MLGRAPH_URL ?? 'http://127.0.0.1:3000';

export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}
