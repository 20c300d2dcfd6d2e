import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPxedError } from '../../../src/errors.js';
import { validateUserData } from '../../../src/boot/os/validate.js';

function fails(doc: unknown, field: string, schema: string): void {
  assert.throws(
    () => validateUserData(doc),
    (e: unknown) => isPxedError(e, 'ARTIFACT_INVALID') && e.details?.field === field && e.details.schema === schema && e.message.includes(field),
    `${field} (${schema})`,
  );
}

void test('a minimal valid document passes all three checks', () => {
  validateUserData({ autoinstall: { version: 1, identity: { hostname: 'h', username: 'u', password: '$6$x$y' }, 'user-data': { users: [{ name: 'a' }] } } });
});

void test('broken documents fail with the field named', () => {
  // Misplaced autoinstall key at the cloud-config top level (LP #2062988): cloud-init rejects it.
  fails({ autoinstall: { version: 1 }, identity: {} }, 'identity', 'cloud-init');
  fails({ autoinstall: { version: '1' } }, 'autoinstall.version', 'cloud-init');
  fails({ autoinstall: { version: 1, identity: { hostname: 'h', username: 'u' } } }, 'autoinstall.identity.password', 'Subiquity autoinstall');
  fails({ autoinstall: { version: 1, shutdown: 'halt' } }, 'autoinstall.shutdown', 'Subiquity autoinstall');
  fails({ autoinstall: { version: 1, 'late-commands': [1] } }, 'autoinstall.late-commands[0]', 'Subiquity autoinstall');
  fails({ autoinstall: { version: 1, 'user-data': { users: [{ name: 'a', bogus: 1 }] } } }, 'autoinstall.user-data.users[0].bogus', 'cloud-init');
  fails({ users: [] }, 'autoinstall', 'pxed');
});
