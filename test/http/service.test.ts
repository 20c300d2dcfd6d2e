import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { HttpService } from '../../src/http/service.js';
import { auth, makeDeps } from './fakes.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

void test('HttpService listens on host:port, stops with keep-alive and SSE clients attached', async () => {
  const deps = makeDeps();
  const svc = new HttpService({ host: '127.0.0.1', port: 0 }, deps);
  assert.throws(() => svc.port, { code: 'HTTP_NOT_STARTED' });
  await svc.start();
  try {
    const port = svc.port;
    assert.ok(port > 1024);
    assert.equal((await get(port, '/healthz')).status, 200);
    // A long-lived SSE client and an idle keep-alive socket must not hold stop() open.
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => res.resume().on('end', resolve)));
    const sse = http.get({ host: '127.0.0.1', port, path: '/api/v1/events/stream', headers: auth });
    sse.on('error', () => undefined);
    await new Promise<void>((resolve) => sse.on('response', () => resolve()));
    const t0 = Date.now();
    await svc.stop();
    assert.ok(Date.now() - t0 < 2000, 'stop is prompt');
    assert.equal(deps.admin.listenerCount, 0);
    agent.destroy();
    await assert.rejects(get(port, '/healthz'));
  } finally {
    await svc.stop();
  }
});

void test('HttpService start fails with HTTP_LISTEN on a taken port', async () => {
  const a = new HttpService({ host: '127.0.0.1', port: 0 }, makeDeps());
  await a.start();
  const b = new HttpService({ host: '127.0.0.1', port: a.port }, makeDeps());
  try {
    await assert.rejects(b.start(), { code: 'HTTP_LISTEN' });
  } finally {
    await b.stop();
    await a.stop();
  }
});
