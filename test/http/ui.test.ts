// The admin page's script, run against a real listening app with a minimal DOM stand-in (no browser here):
// it lists machines, adds one, reinstalls one and shows live events from the SSE stream.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { buildHttpApp } from '../../src/http/app.js';
import { UI_JS } from '../../src/http/ui.js';
import { ADMIN_TOKEN, makeDeps } from './fakes.js';

class El {
  children: El[] = [];
  textContent = '';
  className = '';
  value = '';
  scrollTop = 0;
  scrollHeight = 0;
  onclick: (() => unknown) | null = null;
  onsubmit: ((e: { preventDefault(): void; target: El }) => unknown) | null = null;
  fields: Record<string, string> = {};
  constructor(readonly tag: string) {}
  appendChild(c: El): El {
    this.children.push(c);
    return c;
  }
  replaceChildren(): void {
    this.children = [];
  }
  get childNodes(): El[] {
    return this.children;
  }
  get firstChild(): El | undefined {
    return this.children[0];
  }
  removeChild(c: El): void {
    this.children = this.children.filter((x) => x !== c);
  }
  reset(): void {
    this.fields = {};
  }
  /** All text below this element, depth first. */
  text(): string {
    return [this.textContent, ...this.children.map((c) => c.text())].join(' ');
  }
  find(pred: (e: El) => boolean): El | undefined {
    if (pred(this)) return this;
    for (const c of this.children) {
      const f = c.find(pred);
      if (f) return f;
    }
    return undefined;
  }
}

const deps = makeDeps({ sseHeartbeatMs: 1000 });
const app = buildHttpApp(deps);
let base = '';
before(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(() => app.close());

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test('admin page script: table, add form, reinstall, live timeline', async () => {
  deps.admin.create({ mac: '52:54:00:00:00:aa', host: 'web1' });
  const ids = ['token', 'login', 'logout', 'status', 'machines', 'add', 'timeline'];
  const els = Object.fromEntries(ids.map((id) => [id, new El(id)])) as Record<string, El>;
  const storage = new Map<string, string>([['pxed-token', ADMIN_TOKEN]]);
  const document = { getElementById: (id: string) => els[id], createElement: (tag: string) => new El(tag) };
  const sessionStorage = {
    getItem: (k: string) => storage.get(k) ?? null,
    setItem: (k: string, v: string) => void storage.set(k, v),
    removeItem: (k: string) => void storage.delete(k),
  };
  const fetchRel = (url: string, init?: RequestInit) => fetch(base + url, init);
  class FormData {
    constructor(private readonly form: El) {}
    get(k: string): string | undefined {
      return this.form.fields[k];
    }
  }
  new Function('document', 'sessionStorage', 'fetch', 'FormData', UI_JS)(document, sessionStorage, fetchRel, FormData);

  await until('machine table', () => els.machines!.text().includes('52:54:00:00:00:aa'));
  assert.match(els.machines!.text(), /web1/);
  assert.match(els.status!.textContent, /1 machine/);
  await until('stream subscribed', () => deps.admin.listenerCount === 1);

  // Add a machine through the form.
  els.add!.fields = { mac: '52:54:00:00:00:bb', host: 'web2', installMode: 'always' };
  await els.add!.onsubmit!({ preventDefault: () => undefined, target: els.add! });
  assert.equal(deps.admin.get('52:54:00:00:00:bb')?.installMode, 'always');
  await until('second row', () => els.machines!.children.length === 2);

  // A live event shows up in the timeline.
  deps.admin.emit('52:54:00:00:00:aa', 'dhcp-offer', { xid: 7 });
  await until('timeline line', () => els.timeline!.text().includes('dhcp-offer'));

  // Reinstall from the row's button.
  deps.admin.machines.set('52:54:00:00:00:aa', { ...deps.admin.get('52:54:00:00:00:aa')!, state: 'installed' });
  const btn = els.machines!.find((e) => e.tag === 'button' && e.onclick !== null)!;
  await btn.onclick!();
  assert.equal(deps.admin.get('52:54:00:00:00:aa')?.state, 'registered');
  await until('state event in timeline', () => els.timeline!.text().includes('"to":"registered"'));

  // Forget the token: the stream is closed and the table cleared.
  els.logout!.onclick!();
  assert.equal(storage.has('pxed-token'), false);
  await until('stream closed', () => deps.admin.listenerCount === 0);
  assert.equal(els.machines!.children.length, 0);
});
