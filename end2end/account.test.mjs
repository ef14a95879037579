// The account journey in Chromium: an admin adds a user on the Users page;
// the user creates an API token, uses it, revokes it, and changes their
// password on the Account page; the admin then disables them and their
// session ends. Needs the demo users, with MLGRAPH_DEMO_PASSWORD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { base, launch } from './chromium.mjs';

const password = process.env.MLGRAPH_DEMO_PASSWORD;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signIn(username, secret) {
  const p = await (await browser.newContext()).newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${base}/signin`);
  await p.fill('input[name=username]', username);
  await p.fill('input[name=password]', secret);
  await Promise.all([p.waitForURL((u) => !u.pathname.startsWith('/signin')), p.click('form[data-testid=signin-form] button')]);
  return { p, errors };
}

// Hydration may finish after the first paint: an ActionForm submitted
// before it would post as a plain form. Wait until the page is live.
async function hydrated(p) {
  await p.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm')));
  await p.waitForTimeout(300);
}

const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

test('a failed sign-in says so, and a crafted link cannot put words on the page', async () => {
  const p = await (await browser.newContext()).newPage();
  await p.goto(`${base}/signin`);
  await p.fill('input[name=username]', 'val.viewer');
  await p.fill('input[name=password]', 'certainly-not-it');
  await p.click('form[data-testid=signin-form] button');
  assert.equal(await (await p.waitForSelector('[data-testid=signin-error]')).textContent(), 'The user name or password is wrong.');
  await p.goto(`${base}/signin?error=${encodeURIComponent('Your account is locked. Call +1 555 0100.')}`);
  assert.equal(await p.textContent('[data-testid=signin-error]'), 'The user name or password is wrong.');
  await p.goto(`${base}/account?error=${encodeURIComponent('Send your password to evil@example.com')}`);
  assert.doesNotMatch(await p.content(), /evil@example\.com/);
});

test('users are added, tokens created and revoked, passwords changed and users disabled', { skip: !password && 'MLGRAPH_DEMO_PASSWORD is not set' }, async () => {
  const name = `journey.${Date.now()}`;
  const admin = await signIn('admin', password);
  await admin.p.goto(`${base}/users`);
  await hydrated(admin.p);
  await admin.p.fill('[data-testid=add-user] input[name=username]', name);
  await admin.p.fill('[data-testid=add-user] input[name=display_name]', 'Journey User');
  await admin.p.fill('[data-testid=add-user] input[name=password]', 'first-password-1');
  await admin.p.fill('[data-testid=add-user] input[name=roles]', 'editor');
  await admin.p.fill('[data-testid=add-user] input[name=teams]', 'growth');
  await admin.p.click('[data-testid=add-user-submit]');
  const row = `[data-testid=users] tr[data-user="${name}"]`;
  await admin.p.waitForSelector(row);
  assert.equal(await admin.p.inputValue(`${row} input[name=roles]`), 'editor');
  assert.equal(await admin.p.inputValue(`${row} input[name=teams]`), 'growth');

  // The new user's account page, and a token they create and use.
  const user = await signIn(name, 'first-password-1');
  await user.p.goto(`${base}/account`);
  await hydrated(user.p);
  assert.match(await user.p.textContent('[data-testid=account-who]'), /Journey User .* roles: editor · teams: growth/);
  await user.p.fill('[data-testid=tokens] input[name=name]', 'journey script');
  await user.p.click('[data-testid=create-token]');
  const token = (await (await user.p.waitForSelector('[data-testid=new-token]')).textContent()).trim();
  assert.match(token, /^mlt_[0-9a-f]{64}$/);
  const listed = await fetch(`${base}/api/v1/tokens`, bearer(token));
  assert.equal(listed.status, 200, 'the token works');
  const prefix = token.slice(0, 10);
  const tokenRow = `[data-testid=token-list] tr[data-prefix="${prefix}"]`;
  await user.p.waitForSelector(tokenRow);
  await user.p.click(`${tokenRow} button`);
  await user.p.waitForSelector(tokenRow, { state: 'detached' });
  assert.equal((await fetch(`${base}/api/v1/tokens`, bearer(token))).status, 401, 'a revoked token is refused');

  // A wrong current password is named; the right one changes it.
  await user.p.fill('[data-testid=password-form] input[name=current_password]', 'not-my-password');
  await user.p.fill('[data-testid=password-form] input[name=new_password]', 'second-password-2');
  await user.p.click('[data-testid=password-form] button');
  assert.match(await (await user.p.waitForSelector('[data-testid=password-error]')).textContent(), /current_password/);
  await user.p.fill('[data-testid=password-form] input[name=current_password]', 'first-password-1');
  await user.p.fill('[data-testid=password-form] input[name=new_password]', 'second-password-2');
  await user.p.click('[data-testid=password-form] button');
  await user.p.waitForSelector('[data-testid=password-changed]');
  const again = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password: 'second-password-2' }),
  });
  assert.equal(again.status, 200, 'the new password signs in');
  const me = async () => (await user.p.evaluate(async () => (await fetch('/api/v1/session')).json())).user;
  assert.equal(await me(), name, 'the session that changed the password stays');

  // The admin disables the user: their session ends.
  await admin.p.reload();
  await hydrated(admin.p);
  await admin.p.selectOption(`${row} select[name=disabled]`, 'true');
  await admin.p.click(`${row} button`);
  let signedOut = false;
  for (let i = 0; i < 40 && !signedOut; i++) {
    signedOut = (await me()) !== name;
    if (!signedOut) await user.p.waitForTimeout(250);
  }
  assert.ok(signedOut, 'a disabled user is signed out');

  // The last admin cannot take away their own admin role.
  const adminRow = '[data-testid=users] tr[data-user="admin"]';
  await admin.p.fill(`${adminRow} input[name=roles]`, 'viewer');
  await admin.p.click(`${adminRow} button`);
  assert.match(await (await admin.p.waitForSelector('[data-testid=users-error]')).textContent(), /only enabled admin/);
  assert.deepEqual([...admin.errors, ...user.errors], [], 'no script errors');
});
