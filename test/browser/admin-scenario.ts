// The admin page scenario in real Chromium (Debian's /usr/bin/chromium, driven by playwright-core), run by
// admin.test.ts inside the server namespace it creates: pxed's HTTP app and its proxy-DHCP service on the real boot
// policy and registry (in memory, with a settable clock for the watchdog) in this process; the browser, started by
// this process, shares the namespace and reaches the page on its loopback only. The machine's side of the boot is
// real traffic from the client namespace (PXED_CLIENT_NETNS): a PXE DISCOVER broadcast answered by the DHCP service,
// then the iPXE script, kernel, user-data and phone-home over HTTP from the client's address.
//
// Screenshots go to test/artifacts/ (git-ignored); PXED_UPDATE_SCREENSHOTS=1 also refreshes the two in docs/.
// Exit status 0 when every step passed.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { DhcpService } from '../../src/dhcp/server.js';
import { OPT, decode, encode, messageType } from '../../src/dhcp/codec.js';
import { buildHttpApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { MAC, hostSpec, rig } from '../boot/fixtures.js';
import { fixtures } from '../helpers/paths.js';
import { CLIENT_CIDR, SERVER_CIDR } from './admin-scenario-net.js';

const execFileP = promisify(execFile);
const CLIENT_NS = process.env.PXED_CLIENT_NETNS ?? '';
const CLIENT_IP = CLIENT_CIDR.split('/')[0]!;
const TOKEN = 'browser-test-admin-token-0123456789';
const SPARE = '52:54:00:99:00:01';
const XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
const ARTIFACTS = path.resolve('test/artifacts');
const RAWCLIENT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dhcp', 'helpers', 'rawclient.js');

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
const dhcp = new DhcpService({ interface: 'eth0', policy: r.policy, log: silentLogger, bootServerPort: null });
let base = '';
let port = 0;
let ctx: BrowserContext;
let page: Page;
const dialogs: string[] = [];
/** Requests the page tried to send anywhere but its own origin (none expected). */
const elsewhere: string[] = [];

/** A real UEFI firmware DISCOVER (test/fixtures/dhcp) for `mac`, broadcast from the client namespace; the offers. */
async function pxeDiscover(mac: string, vendorClass?: string): Promise<number> {
  const p = decode(readFileSync(fixtures('dhcp', 'uefi-pxe-01-fw-client-discover.bin')));
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(p.chaddr);
  p.xid = Math.floor(Math.random() * 0xffffffff) >>> 0;
  if (vendorClass !== undefined) p.options = p.options.map((o) => (o.code === OPT.VENDOR_CLASS ? { ...o, data: Buffer.from(vendorClass, 'latin1') } : o));
  const cfg = { bind: { address: '0.0.0.0', port: 68 }, send: [{ to: '255.255.255.255', port: 67, hex: encode(p).toString('hex') }], listenMs: 700 };
  const { stdout } = await execFileP('ip', ['netns', 'exec', CLIENT_NS, process.execPath, RAWCLIENT, JSON.stringify(cfg)], { timeout: 30_000 });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { ev: string; hex?: string })
    .filter((o) => o.ev === 'rx' && o.hex !== undefined && messageType(decode(Buffer.from(o.hex, 'hex'))) === 2).length;
}

/** An HTTP request from the client namespace (curl), as the machine makes it; the body. */
async function fromClient(urlPath: string, post?: unknown): Promise<string> {
  const args = ['-sS', '-o', '-', '-w', '\n%{http_code}', `http://${SERVER_CIDR.split('/')[0]}:${port}${urlPath}`];
  if (post !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(post));
  const { stdout } = await execFileP('ip', ['netns', 'exec', CLIENT_NS, 'curl', ...args], { timeout: 30_000, maxBuffer: 8 * 1024 * 1024 });
  const i = stdout.lastIndexOf('\n');
  assert.equal(stdout.slice(i + 1), '200', `${urlPath}: ${stdout.slice(0, 300)}`);
  return stdout.slice(0, i);
}

async function setUp(): Promise<void> {
  await app.listen({ host: '0.0.0.0', port: 0 });
  port = (app.server.address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
  await dhcp.start();
  mkdirSync(ARTIFACTS, { recursive: true });
  ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    // --no-sandbox only because the tests run as root.
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
    viewport: { width: 1280, height: 900 },
  });
  // Nothing but the page's loopback origin: any other request would be a bug (the page loads no external resources).
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => {
    elsewhere.push(route.request().url());
    return route.abort();
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(10_000);
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void (d.type() === 'confirm' ? d.accept() : d.dismiss());
  });
}

async function tearDown(): Promise<void> {
  await ctx?.close().catch(() => undefined);
  await dhcp.stop();
  await app.close();
  r.close();
  rmSync(tmp, { recursive: true, force: true });
}

const stageIs = (stage: string, status = 'current'): Promise<unknown> => page.waitForSelector(`#stages .st-${status}[data-stage="${stage}"]`);
async function noSideScroll(): Promise<void> {
  await page.setViewportSize({ width: 375, height: 800 });
  const { sw, cw } = await page.evaluate<{ sw: number; cw: number }>('({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth })');
  assert.ok(sw <= cw, `horizontal scroll at phone width: ${sw} > ${cw}`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function scenario(): Promise<void> {
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
  assert.equal(await pxeDiscover(MAC), 1, 'one proxy offer');
  await stageIs('boot-file');
  const script = await fromClient(`/ipxe/${MAC}?buildarch=x86_64&platform=efi`);
  const token = /\/nocloud\/([A-Za-z0-9_-]{43})\//.exec(script)?.[1] ?? assert.fail(script);
  await stageIs('kernel-initrd');
  await fromClient('/assets/ubuntu/24.04/vmlinuz');
  await stageIs('installer-config');
  await fromClient(`/nocloud/${token}/user-data`);
  await stageIs('installer-progress');
  await fromClient(`/api/v1/boot/${token}/events`, { event_type: 'start', name: 'subiquity/Install/install/curtin', description: `partitioning ${XSS}\u001b[31m\u0007` });
  await page.waitForSelector('.lines li.ev-phone-home');
  // The installer's own status report, with a hostile detail.
  await fromClient(`/api/v1/boot/${token}/events`, { status: 'installed', detail: `done ${XSS}\u0007` });
  await stageIs('post-install');
  const text = await page.textContent('#timeline');
  assert.ok(text?.includes(`partitioning ${XSS}\\x1b[31m\\x07`), text ?? '');
  assert.match(text ?? '', /installed in \d/);
  assert.ok(text?.includes(`installer reported installed: done ${XSS}\\x07`), text ?? '');
  // Proxy mode: no lease, the IP is the address that fetched the iPXE script.
  assert.equal(await page.textContent('#identity .id-ip'), CLIENT_IP);

  // Reinstall, a new boot that stops after the proxy offer: the watchdog fires and the page shows the hint.
  await page.click('#actions .reinstall');
  await stageIs('dhcp');
  assert.equal(await pxeDiscover(MAC), 1);
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
  // Recorded as discovered; no offer (it has no install entry yet).
  assert.equal(await pxeDiscover(SPARE, `PXEClient:Arch:00007:UNDI:003016${XSS}\u0007\u001b[2J`), 0);
  await page.waitForSelector(`tr[data-mac="${SPARE}"] .s-discovered`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'admin-list.png'), fullPage: true });
  await noSideScroll();
  await page.selectOption(`tr[data-mac="${SPARE}"] select.adopt-entry`, 'spare');
  await page.click(`tr[data-mac="${SPARE}"] button.adopt`);
  await page.waitForSelector(`tr[data-mac="${SPARE}"] .s-registered`);
  assert.equal(r.registry.machineGet(SPARE)?.host, 'spare');
  // Edit it: install mode always.
  await page.click(`tr[data-mac="${SPARE}"] button.edit`);
  await page.selectOption('tr.edit-row select[name=installMode]', 'always');
  await page.click('tr.edit-row button[type=submit]');
  await page.waitForSelector('tr.edit-row', { state: 'detached' });
  assert.equal(r.registry.machineGet(SPARE)?.installMode, 'always');
  await page.goto(`${base}/ui/machine.html?mac=${SPARE}`);
  await page.waitForSelector('#identity .id-vendor-class');
  assert.equal(await page.textContent('#identity .id-vendor-class'), `PXEClient:Arch:00007:UNDI:003016${XSS}\\x07\\x1b[2J`);
  assert.ok((await page.textContent('#timeline'))?.includes(`vendor class PXEClient:Arch:00007:UNDI:003016${XSS}\\x07\\x1b[2J`));

  // Delete from the list, after the confirmation.
  await page.goto(base + '/ui/');
  await page.click(`tr[data-mac="${SPARE}"] button.delete`);
  await page.waitForSelector(`tr[data-mac="${SPARE}"]`, { state: 'detached' });
  assert.equal(r.registry.machineGet(SPARE), null);

  assert.deepEqual(elsewhere, [], 'the page loads nothing from elsewhere');
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
}

try {
  assert.notEqual(CLIENT_NS, '', 'run by test/browser/admin.test.ts (PXED_CLIENT_NETNS)');
  await setUp();
  await scenario();
  process.stdout.write('admin page scenario: ok\n');
} catch (err) {
  process.stderr.write(`admin page scenario failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await tearDown();
}
