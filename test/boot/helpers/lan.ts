// Starts helpers/lan-server.js (the real policy behind pxed's DHCP and HTTP) inside a namespace the test created.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killGroup, waitFor, type Netns } from '../../helpers/netns.js';
import type { ServerConfig } from './lan-server.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lan-server.js');

export interface LanServer {
  stop(): Promise<void>;
}

export async function startLanServer(ns: Netns, cfg: ServerConfig): Promise<LanServer> {
  const child = ns.spawn(process.execPath, [SCRIPT, JSON.stringify(cfg)]);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  try {
    await waitFor('lan server ready', () => out.includes('"ev":"ready"') || out.includes('"ev":"error"') || child.exitCode !== null, 10_000);
  } catch (e) {
    await killGroup(child);
    throw new Error(`${String(e)}; stdout: ${out}; stderr: ${err}`, { cause: e });
  }
  if (!out.includes('"ev":"ready"')) {
    await killGroup(child);
    throw new Error(`lan server failed: ${out} ${err}`);
  }
  return { stop: () => killGroup(child) };
}
