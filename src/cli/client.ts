// The one machine client the `pxed machines` and `pxed events` commands talk to: either the local registry file
// (client-local.ts, through the one set of machine operations) or a running daemon's REST API (`--server URL` with
// the token in PXED_TOKEN; below). Both answer the same shapes and throw the same coded errors, so every command is
// written once:
//   CLI_NOT_FOUND (exit 1)    unknown MAC
//   CLI_REFUSED (exit 1)      the daemon or the lifecycle refused (already registered, not discovered, the entry's
//                             configuration names other MACs, ...)
//   CLI_UNREACHABLE (exit 1)  the daemon did not answer
//   CLI_UNAUTHORIZED (exit 1) the daemon refused PXED_TOKEN
//   CLI_USAGE (exit 2)        bad input, such as an install entry the config does not have

import http from 'node:http';
import https from 'node:https';
import { PxedError } from '../errors.js';
import type { PostInstallReport } from '../machines/operations.js';
import type { BootEvent } from '../model/events.js';
import type { InstallMode, Machine, MachineState } from '../model/machine.js';

export interface AddInput {
  mac: string;
  host: string;
  installMode?: InstallMode;
  /** Register even though the entry's configuration names other MACs. */
  force?: boolean;
}

export interface EditInput {
  host?: string;
  installMode?: InstallMode;
  force?: boolean;
}

export interface MachineClient {
  /** "registry /var/lib/pxed/pxed.db" or "daemon at http://...": for messages. */
  readonly where: string;
  /** Every machine matching the filter (all pages). */
  list(filter: { state?: MachineState; q?: string }): Promise<Machine[]>;
  /** Throws CLI_NOT_FOUND. */
  get(mac: string): Promise<Machine>;
  /** Registers a machine (a discovered one is adopted). */
  add(input: AddInput): Promise<Machine>;
  /** A discovered machine gets its install entry (→ registered); anything else is CLI_REFUSED. */
  adopt(input: AddInput): Promise<Machine>;
  edit(mac: string, input: EditInput): Promise<Machine>;
  remove(mac: string): Promise<void>;
  reinstall(mac: string): Promise<Machine>;
  /** One machine's events (or every machine's), oldest first, after `afterId`. */
  events(mac: string | undefined, afterId?: number): Promise<BootEvent[]>;
  /** New events as they come until `signal` aborts. */
  follow(mac: string | undefined, afterId: number | undefined, onEvent: (e: BootEvent) => void, signal: AbortSignal): Promise<void>;
  close(): void;
}

export const notFoundError = (mac: string, where: string): PxedError => new PxedError('CLI_NOT_FOUND', `no machine with MAC ${mac} in ${where}`, { mac });

/** An error of the machine operations or the API, by its HTTP status, as the client's code. */
export function clientError(status: number, message: string, where: string, mac?: string): PxedError {
  if (status === 401) return new PxedError('CLI_UNAUTHORIZED', `${where} refused the token in PXED_TOKEN`);
  if (status === 404 && mac !== undefined) return notFoundError(mac, where);
  if (status === 400) return new PxedError('CLI_USAGE', message);
  return new PxedError('CLI_REFUSED', message, { status });
}

/** Machines per list request (the API's most). */
const PAGE = 1000;
const EVENT_PAGE = 1000;

/** The REST client (node:http; the SSE stream is read the same way, so the bearer header can be sent). */
export class HttpMachineClient implements MachineClient {
  readonly where: string;
  private readonly base: string;

  constructor(
    server: string,
    private readonly token: string,
  ) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new PxedError('CLI_USAGE', `--server "${server}" is not a URL (expected http://host:port)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PxedError('CLI_USAGE', `--server must be an http(s) URL, not "${server}"`);
    this.base = url.origin;
    this.where = `daemon at ${this.base}`;
  }

  /**
   * One request over node:http without keep-alive (agent: false), so the CLI exits as soon as it is done (fetch's
   * pooled connection would hold the process for the server's keep-alive time).
   */
  private open(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const url = new URL(`${this.base}/api/v1${path}`);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method,
        agent: false,
        timeout: 15_000,
        ...(signal !== undefined ? { signal } : {}),
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
      });
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(new PxedError('CLI_UNREACHABLE', `${this.where} is unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
      req.end(payload);
    });
  }

  private async call<T>(method: string, path: string, body?: unknown, mac?: string): Promise<{ data: T; headers: http.IncomingHttpHeaders }> {
    const res = await this.open(method, path, body);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let data: unknown = text;
    try {
      data = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const message = typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string' ? (data as { message: string }).message : `HTTP ${status}`;
      throw clientError(status, message, this.where, mac);
    }
    return { data: data as T, headers: res.headers };
  }

  private path(mac: string, rest = ''): string {
    return `/machines/${encodeURIComponent(mac)}${rest}`;
  }

  async list(filter: { state?: MachineState; q?: string }): Promise<Machine[]> {
    const out: Machine[] = [];
    for (;;) {
      const p = new URLSearchParams({ limit: String(PAGE), offset: String(out.length) });
      if (filter.state !== undefined) p.set('state', filter.state);
      if (filter.q !== undefined) p.set('q', filter.q);
      const { data, headers } = await this.call<Machine[]>('GET', `/machines?${p.toString()}`);
      out.push(...data);
      const total = Number(headers['x-total-count'] ?? out.length);
      if (data.length === 0 || out.length >= total) return out;
    }
  }
  async get(mac: string): Promise<Machine> {
    return (await this.call<Machine>('GET', this.path(mac), undefined, mac)).data;
  }
  async add(input: AddInput): Promise<Machine> {
    return (await this.call<Machine>('POST', '/machines', createBody(input))).data;
  }
  async adopt(input: AddInput): Promise<Machine> {
    const m = await this.get(input.mac);
    if (m.state !== 'discovered') throw new PxedError('CLI_REFUSED', `${m.mac} is ${m.state}, not discovered: use "pxed machines edit"`);
    return this.add(input);
  }
  async edit(mac: string, input: EditInput): Promise<Machine> {
    const body: Record<string, unknown> = {};
    if (input.host !== undefined) body.host = input.host;
    if (input.installMode !== undefined) body.installMode = input.installMode;
    if (input.force === true) body.force = true;
    return (await this.call<Machine>('PATCH', this.path(mac), body, mac)).data;
  }
  async remove(mac: string): Promise<void> {
    await this.call('DELETE', this.path(mac), undefined, mac);
  }
  async reinstall(mac: string): Promise<Machine> {
    return (await this.call<Machine>('POST', this.path(mac, '/reinstall'), {}, mac)).data;
  }
  async events(mac: string | undefined, afterId?: number): Promise<BootEvent[]> {
    const out: BootEvent[] = [];
    let after = afterId;
    for (;;) {
      const p = new URLSearchParams({ limit: String(EVENT_PAGE) });
      if (after !== undefined) p.set('after', String(after));
      const path = mac !== undefined ? this.path(mac, `/events?${p.toString()}`) : `/events?${p.toString()}`;
      const { data } = await this.call<BootEvent[]>('GET', path, undefined, mac);
      out.push(...data);
      if (data.length < EVENT_PAGE) return out;
      after = data.at(-1)!.id;
    }
  }

  async follow(mac: string | undefined, afterId: number | undefined, onEvent: (e: BootEvent) => void, signal: AbortSignal): Promise<void> {
    let res: http.IncomingMessage;
    try {
      res = await this.open('GET', `/events/stream${afterId !== undefined ? `?after=${afterId}` : ''}`, undefined, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    res.setTimeout(0);
    if (res.statusCode !== 200) {
      res.resume();
      throw clientError(res.statusCode ?? 0, `the event stream answered HTTP ${res.statusCode ?? 0}`, this.where);
    }
    res.setEncoding('utf8');
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += chunk as string;
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('');
          if (data === '') continue;
          const ev = JSON.parse(data) as BootEvent;
          if (mac === undefined || ev.mac === mac) onEvent(ev);
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
  /** The post stage `pxed provision` ran, onto the machine's timeline (POST /machines/:mac/post-install). */
  async postInstall(mac: string, report: PostInstallReport): Promise<Machine> {
    return (await this.call<Machine>('POST', this.path(mac, '/post-install'), report, mac)).data;
  }
  close(): void {}
}

function createBody(input: AddInput): Record<string, unknown> {
  return {
    mac: input.mac,
    host: input.host,
    ...(input.installMode !== undefined ? { installMode: input.installMode } : {}),
    ...(input.force === true ? { force: true } : {}),
  };
}
