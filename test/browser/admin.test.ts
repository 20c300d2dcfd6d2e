// The admin page in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against pxed's HTTP app
// on loopback, on the real boot policy and registry (in memory, with a settable clock for the watchdog). DHCP is
// not in this test: the proxy offer is the policy call the DHCP server makes; the rest of the boot is real HTTP
// (iPXE script, kernel, user-data, phone-home).
//
// Screenshots go to test/artifacts/ (git-ignored); PXED_UPDATE_SCREENSHOTS=1 also refreshes the two in docs/.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { MAC, client, hostSpec, query, rig } from '../boot/fixtures.js';

const TOKEN = 'browser-test-admin-token-0123456789';
const SPARE = '52:54:00:99:00:01';
const XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
const ARTIFACTS = path.resolve('test/artifacts');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pxed-browser-'));
mkdirSync(path.join(tmp, 'assets/ubuntu/24.04'), { recursive: true });
writeFileSync(path.join(tmp, 'assets/ubuntu/24.04/vmlinuz'), Buffer.alloc(64 * 1024, 1));
// ubu1 names MAC; `spare` names no NIC MAC, so adopting any discovered machine as it needs no force.
const r = rig({ unknownMacs: 'discover' }, [hostSpec('ubu1', 'ubuntu'), hostSpec('spare', 'custom', { mac: null })]);
r.clock.t = Date.now();
const app = buildHttpApp({
  policy: r.policy,
  admin: r.admin,
  assetRoots: [path.join(tmp, 'assets')],
  ipxeBinRoots: [],
  adminToken: TOKEN,
  logger: silentLogger,
  ready: () => true,
});
let base = '';
let ctx: BrowserContext;
let page: Page;
const dialogs: string[] = [];

before(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  mkdirSync(ARTIFACTS, { recursive: true });
  ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    // --no-sandbox only because the tests run as root.
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
    viewport: { width: 1280, height: 900 },
  });
  // Nothing but loopback: any other request would be a bug (the page loads no external resources).
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(5000);
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void (d.type() === 'confirm' ? d.accept() : d.dismiss());
  });
});
after(async () => {
  await ctx?.close();
  await app.close();
  r.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function get(url: string): Promise<string> {
  const res = await fetch(base + url);
  assert.equal(res.status, 200, url);
  return res.text();
}
async function phoneHome(token: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}/api/v1/boot/${token}/events`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
}
const stageIs = (stage: string, status = 'current'): Promise<unknown> => page.waitForSelector(`#stages .st-${status}[data-stage="${stage}"]`);
async function noSideScroll(): Promise<void> {
  await page.setViewportSize({ width: 375, height: 800 });
  const { sw, cw } = await page.evaluate<{ sw: number; cw: number }>('({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth })');
  assert.ok(sw <= cw, `horizontal scroll at phone width: ${sw} > ${cw}`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

void test('admin page in Chromium: sign-in, add, a live boot, a stall, adopt, reinstall, delete, hostile text', async () => {
  // Wrong token: stays on sign-in.
  await page.goto(base + '/');
  assert.match(page.url(), /\/ui\/signin\.html$/);
  await page.fill('#token', 'not-the-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('#error:text("Wrong admin token.")');
  assert.match(page.url(), /\/ui\/signin\.html$/);
  // Right token: the list; the cookie is HttpOnly (no script sees it).
  await page.fill('#token', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/ui\/$/);
  assert.equal(await page.evaluate<string>('document.cookie'), '');

  // Add a machine, MAC in dash form.
  await page.fill('#add input[name=mac]', MAC.replace(/:/g, '-').toUpperCase());
  await page.selectOption('#add select[name=host]', 'ubu1');
  await page.click('#add button[type=submit]');
  await page.waitForSelector(`tr[data-mac="${MAC}"] .s-registered`);

  // Its page, then a boot driven over HTTP, watched live.
  await page.click(`a:text("${MAC}")`);
  await page.waitForURL(/machine\.html/);
  await stageIs('dhcp');
  r.policy.dhcpBoot(query(client('efi-x64'), 'proxy-offer'));
  await stageIs('boot-file');
  const script = await get(`/ipxe/${MAC}?buildarch=x86_64&platform=efi`);
  const token = /\/nocloud\/([A-Za-z0-9_-]{43})\//.exec(script)?.[1] ?? assert.fail(script);
  await stageIs('kernel-initrd');
  await get('/assets/ubuntu/24.04/vmlinuz');
  await stageIs('installer-config');
  await get(`/nocloud/${token}/user-data`);
  await stageIs('installer-progress');
  await phoneHome(token, { event_type: 'start', name: 'subiquity/Install/install/curtin', description: `partitioning ${XSS}\u001b[31m\u0007` });
  await page.waitForSelector('.lines li.ev-phone-home');
  await phoneHome(token, { event_type: 'finish', name: 'subiquity/Late/run', result: 'SUCCESS' });
  await stageIs('post-install');
  const text = await page.textContent('#timeline');
  assert.ok(text?.includes(`partitioning ${XSS}\\x1b[31m\\x07`), text ?? '');
  assert.match(text ?? '', /installed in \d/);
  assert.equal(await page.textContent('#identity .id-ip'), '127.0.0.1');

  // Reinstall, a new boot that stops after the proxy offer: the watchdog fires and the page shows the hint.
  await page.click('#actions .reinstall');
  await stageIs('dhcp');
  r.policy.dhcpBoot(query(client('efi-x64'), 'proxy-offer'));
  await stageIs('boot-file');
  r.clock.advanceMinutes(31);
  assert.deepEqual(r.watchdog.check(), [MAC]);
  await stageIs('boot-file', 'stalled');
  assert.match((await page.textContent('#hint')) ?? '', /proxy offer sent, no TFTP request/);
  await page.locator('details.preview summary').first().click();
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-machine.png'), fullPage: true });
  await noSideScroll();

  // A machine shows up by itself (discovered, hostile vendor class): the list picks it up live; adopt it.
  await page.goto(base + '/ui/');
  await page.waitForSelector(`tr[data-mac="${MAC}"]`);
  r.policy.dhcpBoot(query(client('efi-x64', { mac: SPARE, vendorClass: `${XSS}\u0007\u001b[2J` })));
  await page.waitForSelector(`tr[data-mac="${SPARE}"] .s-discovered`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-list.png'), fullPage: true });
  await noSideScroll();
  await page.selectOption(`tr[data-mac="${SPARE}"] select.adopt-entry`, 'spare');
  await page.click(`tr[data-mac="${SPARE}"] button.adopt`);
  await page.waitForSelector(`tr[data-mac="${SPARE}"] .s-registered`);
  assert.equal(r.registry.machineGet(SPARE)?.host, 'spare');
  await page.goto(`${base}/ui/machine.html?mac=${SPARE}`);
  await page.waitForSelector('#identity .id-vendor-class');
  assert.equal(await page.textContent('#identity .id-vendor-class'), `${XSS}\\x07\\x1b[2J`);
  assert.ok((await page.textContent('#timeline'))?.includes(`vendor class ${XSS}\\x07\\x1b[2J`));

  // Delete from the list, after the confirmation.
  await page.goto(base + '/ui/');
  await page.click(`tr[data-mac="${SPARE}"] button.delete`);
  await page.waitForSelector(`tr[data-mac="${SPARE}"]`, { state: 'detached' });
  assert.equal(r.registry.machineGet(SPARE), null);

  // The hostile strings stayed text: no script ran, no alert, only the page's own script element.
  assert.equal(await page.evaluate<unknown>('window.pwned'), undefined);
  assert.ok(dialogs.every((d) => d.startsWith('confirm:')), dialogs.join('\n'));
  assert.deepEqual(dialogs.length, 3);

  // Sign out: back to sign-in, and the list is closed again.
  await page.click('#signout');
  await page.waitForURL(/signin\.html/);
  await page.goto(base + '/ui/');
  assert.match(page.url(), /signin\.html/);

  if (process.env.PXED_UPDATE_SCREENSHOTS === '1') {
    for (const f of ['admin-list.png', 'admin-machine.png']) copyFileSync(path.join(ARTIFACTS, f), path.resolve('docs', f));
  }
});
