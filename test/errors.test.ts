import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_STATUS, PxedError, httpStatus, isErrorCode } from '../src/errors.js';
import { errorAnswer } from '../src/http/errors.js';

void it('every code has a status in the one table, and answers it over HTTP', () => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.ok(isErrorCode(code));
    assert.ok([400, 401, 403, 404, 409, 413, 415, 416, 500, 503].includes(status), code);
    assert.equal(errorAnswer(new PxedError(code as keyof typeof ERROR_STATUS, 'x')).status, status, code);
  }
  assert.equal(isErrorCode('REGISTRY_BAD_MAC'), false);
  assert.equal(isErrorCode('toString'), false);
});

void it('bad input to the registry is a 400, not an accidental 500', () => {
  assert.equal(httpStatus('MAC_INVALID'), 400);
  assert.equal(httpStatus('REGISTRY_INVALID'), 400);
  const a = errorAnswer(new PxedError('REGISTRY_INVALID', 'overrides: not JSON', { field: 'overrides' }));
  assert.deepEqual(a, { status: 400, body: { error: 'HTTP_BAD_REQUEST', message: 'overrides: not JSON', cause: 'REGISTRY_INVALID' } });
  assert.deepEqual(errorAnswer(new PxedError('MAC_INVALID', 'not a MAC address: "x"')).body, {
    error: 'HTTP_BAD_REQUEST',
    message: 'not a MAC address: "x"',
    cause: 'MAC_INVALID',
  });
});

void it('internal codes keep their detail out of the answer', () => {
  assert.deepEqual(errorAnswer(new PxedError('REGISTRY_IO', 'disk /var/lib/pxed is full')), {
    status: 500,
    body: { error: 'HTTP_INTERNAL', message: 'internal error', cause: 'REGISTRY_IO' },
  });
  assert.equal(errorAnswer(new PxedError('ARTIFACT_INVALID', 'bad')).body.error, 'HTTP_ARTIFACT_INVALID');
  assert.equal(errorAnswer(new PxedError('REGISTRY_NOT_FOUND', 'no machine')).status, 404);
  assert.equal(errorAnswer(new Error('boom')).status, 500);
});
