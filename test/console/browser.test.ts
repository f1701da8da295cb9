// The web console in a real browser (Debian's chromium through playwright-core)
// against a real three-node cluster behind the REST server: what it lists, that
// it follows changes live, that its actions work and show their outcome, and
// how it treats read-only, wrong and missing tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { eventually, launchChromium, startConsoleCluster, type Chromium, type ConsoleCluster } from './harness.ts';
import { createOwnedGroup } from '../support/cluster.ts';

let c: ConsoleCluster | undefined;
let browser: Chromium | undefined;
let page: Page;
const pageErrors: string[] = [];
const requested = new Set<string>();
const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));

before(async () => {
  c = await startConsoleCluster();
  browser = await launchChromium();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await c?.stop();
    // FAILOVER_KEEP_SCREENSHOTS=1 keeps them to look at.
    if (process.env['FAILOVER_KEEP_SCREENSHOTS'] === '1') console.log(`screenshots in ${shots}`);
    else fs.rmSync(shots, { recursive: true, force: true });
  }
});

function cluster(): ConsoleCluster {
  assert.ok(c, 'the cluster started');
  return c;
}

async function openPage(hash: string): Promise<Page> {
  assert.ok(browser, 'the browser started');
  const p = await browser.context.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('request', (r) => requested.add(r.url()));
  await p.goto(`${cluster().consoleUrl}${hash}`);
  return p;
}

const text = async (p: Page, selector: string): Promise<string> => ((await p.locator(selector).textContent()) ?? '').trim();

/** Waits until the cell shows the expected text (the page updates from events, not at once). */
async function cellShows(p: Page, selector: string, expected: string | RegExp): Promise<void> {
  await eventually(`${selector} to show ${String(expected)}`, async () => {
    const got = await text(p, selector);
    if (typeof expected === 'string') assert.equal(got, expected);
    else assert.match(got, expected);
  });
}

const groupCell = (group: string, field: string): string => `#groups tr[data-group="${group}"] [data-field="${field}"]`;
const resourceCell = (resource: string, field: string): string => `tr[data-resource="${resource}"] [data-field="${field}"]`;
const nodeCell = (node: string, field: string): string => `#nodes tr[data-node="${node}"] [data-field="${field}"]`;
const latestActivity = '#activity li:first-child';

test('with the full token the console lists nodes, groups and resources with their states, and hides the token', async () => {
  page = await openPage(`#token=${cluster().tokens.full}`);
  await cellShows(page, '#connection', /^Live/);
  assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.length), 1, 'the token is kept in sessionStorage');
  assert.equal(await text(page, '#access'), 'Full access');

  const api = cluster().api;
  await eventually('the page to list every node', async () => assert.equal(await page.locator('#nodes tbody tr').count(), (await api.listNodes()).length));
  for (const n of await api.listNodes()) await cellShows(page, nodeCell(n.name, 'state'), n.state);

  for (const g of await api.listGroups()) {
    await cellShows(page, groupCell(g.name, 'state'), 'Online');
    await cellShows(page, groupCell(g.name, 'owner'), g.owner!);
  }
  for (const r of await api.listResources()) {
    await cellShows(page, resourceCell(r.name, 'state'), 'Online');
    await cellShows(page, resourceCell(r.name, 'owner'), r.owner!);
  }
  assert.equal(await text(page, resourceCell('Web Server', 'dependencies')), '[Web IP]');

  // Accessible markup: real tables with column headers, row headers, labelled controls, buttons with text.
  assert.ok((await page.getByRole('table').count()) >= 4);
  assert.ok((await page.getByRole('columnheader', { name: 'State' }).count()) >= 3);
  assert.equal(await page.getByRole('rowheader', { name: 'Web Server' }).count(), 1);
  assert.equal(await page.getByLabel('Move group Web to').count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Reset resource Web IP' }).textContent(), 'Reset');

  await page.screenshot({ path: path.join(shots, 'console-full.png'), fullPage: true });
});

test('moving a group to a chosen node from the page changes its owner on the page and in the API', async () => {
  const api = cluster().api;
  const before = (await api.getGroup('Web')).owner;
  const target = (await api.listNodes()).map((n) => n.name).find((n) => n !== before)!;
  // A slow Online on the target keeps the move in its last phase long enough to watch it.
  await api.setResourceParameters('Web Server', { OnlineDelayMs: 1_500 });
  await page.getByLabel('Move group Web to').selectOption(target);
  await page.getByRole('button', { name: 'Move group Web', exact: true }).click();

  await cellShows(page, groupCell('Web', 'move'), new RegExp(`^online-on-target ${before} → ${target}, deadline in \\d+ (s|min)`));
  await cellShows(page, latestActivity, new RegExp(`Move group Web to ${target}: running: online-on-target`));
  assert.equal(await page.locator(latestActivity).getAttribute('data-state'), 'running');
  await cellShows(page, latestActivity, new RegExp(`Move group Web to ${target}: done in [0-9.]+ s \\(${before} → ${target}\\)`));
  assert.equal(await page.locator(latestActivity).getAttribute('data-state'), 'ok');
  await cellShows(page, groupCell('Web', 'owner'), target);
  await cellShows(page, groupCell('Web', 'last-move'), `completed ${before} → ${target}`);
  await cellShows(page, resourceCell('Web Server', 'owner'), target);
  await cellShows(page, resourceCell('Web Server', 'state'), 'Online');
  await cellShows(page, groupCell('Web', 'move'), '—');
  const g = await api.getGroup('Web');
  assert.equal(g.owner, target);
  assert.equal(g.state, 'Online');
  await api.setResourceParameters('Web Server', { OnlineDelayMs: 0 });
});

test('moving a group to the best node lets the placement policy choose', async () => {
  const api = cluster().api;
  const before = (await api.getGroup('CMS01')).owner;
  await page.getByLabel('Move group CMS01 to').selectOption({ label: 'best node' });
  await page.getByRole('button', { name: 'Move group CMS01', exact: true }).click();
  await cellShows(page, latestActivity, /^.*Move group CMS01 to the best node: done in/);
  const after = (await api.getGroup('CMS01')).owner;
  assert.notEqual(after, before);
  await cellShows(page, groupCell('CMS01', 'owner'), after!);
});

test('a resource taken offline and online from the page changes state on the page and in the API', async () => {
  const api = cluster().api;
  await page.getByRole('button', { name: 'Offline resource Web Server' }).click();
  await cellShows(page, latestActivity, /Offline resource Web Server: done/);
  await cellShows(page, resourceCell('Web Server', 'state'), 'Offline');
  assert.equal((await api.getResource('Web Server')).state, 'Offline');
  await cellShows(page, groupCell('Web', 'state'), 'PartialOnline');

  await page.getByRole('button', { name: 'Online resource Web Server' }).click();
  await cellShows(page, latestActivity, /Online resource Web Server: done/);
  await cellShows(page, resourceCell('Web Server', 'state'), 'Online');
  await cellShows(page, groupCell('Web', 'state'), 'Online');
  assert.equal((await api.getResource('Web Server')).state, 'Online');
});

test('changes made elsewhere (through the API) appear on the page without reloading it', async () => {
  const api = cluster().api;
  const op = await api.offlineGroup('CMS01');
  await cellShows(page, groupCell('CMS01', 'state'), 'Offline');
  await cellShows(page, resourceCell('Mailbox Database (CMS01)', 'state'), 'Offline');
  await eventually('the offline to end', async () => assert.equal((await api.getOperation(op.id)).done, true));
  await page.getByRole('button', { name: 'Online group CMS01' }).click();
  await cellShows(page, latestActivity, /Online group CMS01: done/);
  await cellShows(page, groupCell('CMS01', 'state'), 'Online');
  assert.equal((await api.getGroup('CMS01')).state, 'Online');
});

test('pause and resume a node from the page; a move to the paused node shows its WSFC error', async () => {
  const api = cluster().api;
  const owner = (await api.getGroup('Web')).owner!;
  const paused = (await api.listNodes()).map((n) => n.name).find((n) => n !== owner)!;
  await page.getByRole('button', { name: `Pause node ${paused}` }).click();
  await cellShows(page, nodeCell(paused, 'state'), 'Paused');
  assert.equal((await api.getNode(paused)).state, 'Paused');
  assert.equal(await page.getByRole('button', { name: `Resume node ${paused}` }).isEnabled(), true);

  await page.getByLabel('Move group Web to').selectOption(paused);
  await page.getByRole('button', { name: 'Move group Web', exact: true }).click();
  await cellShows(page, latestActivity, /Move group Web to .*: ERROR_CLUSTER_NODE_PAUSED \(\d+\): .*paused/);
  assert.equal(await page.locator(latestActivity).getAttribute('data-state'), 'failed');
  assert.equal((await api.getGroup('Web')).owner, owner, 'the refused move changed nothing');

  await page.getByRole('button', { name: `Resume node ${paused}` }).click();
  await cellShows(page, nodeCell(paused, 'state'), 'Up');
  assert.equal((await api.getNode(paused)).state, 'Up');
  await page.screenshot({ path: path.join(shots, 'console-after-actions.png'), fullPage: true });
});

test('a group created elsewhere appears; a failing online shows the resource Failed with its WSFC error; reset recovers it', async () => {
  const api = cluster().api;
  await createOwnedGroup(api, 'Lab');
  await api.createResource('Flaky', 'Dummy', 'Lab', { common: { RestartAction: 0 } });
  await api.onlineGroup('Lab');
  await cellShows(page, resourceCell('Flaky', 'state'), 'Online');
  await cellShows(page, groupCell('Lab', 'state'), 'Online');

  await page.getByRole('button', { name: 'Offline resource Flaky' }).click();
  await cellShows(page, resourceCell('Flaky', 'state'), 'Offline');
  await api.setResourceParameters('Flaky', { OnlineFail: 5006 });
  await page.getByRole('button', { name: 'Online resource Flaky' }).click();
  await cellShows(page, latestActivity, /Online resource Flaky: failed in [0-9.]+ s: ERROR_RESOURCE_NOT_AVAILABLE \(5006\): online of resource "Flaky" failed/);
  assert.equal(await page.locator(latestActivity).getAttribute('data-state'), 'failed');
  await cellShows(page, resourceCell('Flaky', 'state'), 'Failed');
  await cellShows(page, groupCell('Lab', 'state'), 'Failed');
  await cellShows(page, resourceCell('Flaky', 'last-error'), /^ERROR_RESOURCE_NOT_AVAILABLE \(5006\): online of resource "Flaky" failed/);
  assert.equal((await api.getResource('Flaky')).state, 'Failed');
  await page.screenshot({ path: path.join(shots, 'console-failed.png'), fullPage: true });

  await api.setResourceParameters('Flaky', { OnlineFail: 0 });
  await page.getByRole('button', { name: 'Reset resource Flaky' }).click();
  await cellShows(page, latestActivity, /Reset resource Flaky: done/);
  await cellShows(page, resourceCell('Flaky', 'state'), /^(Offline|Online)$/);
  await page.getByRole('button', { name: 'Online resource Flaky' }).click();
  await cellShows(page, latestActivity, /Online resource Flaky: done/);
  await cellShows(page, resourceCell('Flaky', 'state'), 'Online');
  assert.equal((await api.getResource('Flaky')).state, 'Online');
});

test('draining a node from the page moves its groups away and pauses it; resume brings it back', async () => {
  const api = cluster().api;
  const node = (await api.getGroup('Web')).owner!;
  await page.getByRole('button', { name: `Drain node ${node}` }).click();
  await cellShows(page, latestActivity, new RegExp(`Drain node ${node}: done in`));
  await cellShows(page, nodeCell(node, 'state'), 'Paused');
  for (const g of await api.listGroups()) {
    assert.notEqual(g.owner, node, `group ${g.name} left ${node}`);
    await cellShows(page, groupCell(g.name, 'owner'), g.owner!);
  }
  await page.getByRole('button', { name: `Resume node ${node}` }).click();
  await cellShows(page, nodeCell(node, 'state'), 'Up');
  assert.equal((await api.getNode(node)).state, 'Up');
});

test('with the read-only token the console shows everything but every action is disabled', async () => {
  const p = await openPage(`#token=${cluster().tokens.read}`);
  try {
    await cellShows(p, '#access', 'Read-only token');
    await cellShows(p, '#connection', /^Live/);
    assert.equal(await p.locator('#read-only-notice').isVisible(), true);
    await cellShows(p, groupCell('Web', 'state'), 'Online');
    await cellShows(p, resourceCell('Web IP', 'state'), 'Online');
    const actions = p.locator('[data-field="actions"] button, [data-field="actions"] select');
    const count = await actions.count();
    assert.ok(count >= 3 * 3 + 2 * 4 + 4 * 3, `every action control is there (${count})`);
    for (let i = 0; i < count; i++) assert.equal(await actions.nth(i).isDisabled(), true, `control ${i} is disabled`);
    await p.screenshot({ path: path.join(shots, 'console-read-only.png'), fullPage: true });
  } finally {
    await p.close();
  }
});

test('a wrong token shows that it was refused, with the WSFC error; no token asks for one', async () => {
  const wrong = await openPage('#token=not-the-token');
  try {
    await cellShows(wrong, '#signin-problem', /^The token was refused: ERROR_ACCESS_DENIED \(5\): unknown token/);
    assert.equal(await wrong.locator('#cluster').isVisible(), false);
    assert.equal(await wrong.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');
    await wrong.screenshot({ path: path.join(shots, 'console-wrong-token.png'), fullPage: true });

    // The form takes a token too.
    await wrong.getByLabel('Token', { exact: true }).fill(cluster().tokens.read);
    await wrong.getByRole('button', { name: 'Open the console' }).click();
    await cellShows(wrong, '#access', 'Read-only token');
  } finally {
    await wrong.close();
  }
  const none = await openPage('');
  try {
    await cellShows(none, '#signin-problem', /^No token/);
    assert.equal(await none.locator('#cluster').isVisible(), false);
  } finally {
    await none.close();
  }
});

test('the page raised no script errors and talked to nothing but the API server, never with the token in a URL', () => {
  assert.deepEqual(pageErrors, []);
  const origin = new URL(cluster().consoleUrl).origin;
  assert.ok(requested.size > 0);
  for (const url of requested) {
    assert.equal(new URL(url).origin, origin, url);
    for (const token of Object.values(cluster().tokens)) assert.ok(!url.includes(token), url);
  }
});
