// The header and request timeouts applied to the server: Node counts the headers timeout from the connection's
// accept, so it must leave room for TCP's re-sends of a lost request segment on a lossy link (docs/security.md).

import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { applyServerLimits, httpLimits } from '../../src/http/limits.js';

void test('defaults: headers within 30 s, the whole request within 60 s', () => {
  const server = http.createServer();
  applyServerLimits(server, httpLimits(undefined), () => undefined);
  assert.equal(server.headersTimeout, 30_000);
  assert.equal(server.requestTimeout, 60_000);
});

void test('a shorter request_timeout_seconds also bounds the headers timeout', () => {
  const server = http.createServer();
  applyServerLimits(server, httpLimits({ requestTimeoutMs: 20_000 }), () => undefined);
  assert.equal(server.headersTimeout, 20_000);
  assert.equal(server.requestTimeout, 20_000);
});
