// IPv4/CIDR parsing, RFC 1123 host names, SSH public key shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipInCidr, isHostLabel, isHostname, isSshPublicKey, parseCidr, parseIpv4 } from '../../src/config/net.js';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICt0ZvimLKo7lC8WSoeglYL6UkQh+DEALiRL2N/Hrnvq ops@example.org';

void test('IPv4 and CIDR parsing', () => {
  assert.equal(parseIpv4('192.0.2.1'), 0xc0000201);
  for (const bad of ['192.0.2', '192.0.2.256', '192.0.02.1', '1.2.3.4.5', 'a.b.c.d', '']) assert.equal(parseIpv4(bad), null, bad);
  assert.deepEqual(parseCidr('192.0.2.10/24'), { address: '192.0.2.10', prefix: 24, network: 0xc0000200, mask: 0xffffff00 });
  assert.equal(parseCidr('0.0.0.0/0')?.mask, 0);
  for (const bad of ['192.0.2.10', '192.0.2.10/33', '192.0.2.10/024', '192.0.2.300/24', '/24']) assert.equal(parseCidr(bad), null, bad);
  assert.equal(ipInCidr('192.0.2.1', '192.0.2.10/24'), true);
  assert.equal(ipInCidr('192.0.3.1', '192.0.2.10/24'), false);
  assert.equal(ipInCidr('198.51.100.1', '198.51.100.20/31'), false);
  assert.equal(ipInCidr('198.51.100.21', '198.51.100.20/31'), true);
});

void test('RFC 1123 labels and host names', () => {
  for (const ok of ['web-01', 'a', '0pxe', 'A'.repeat(63), 'Web01']) assert.equal(isHostLabel(ok), true, ok);
  for (const bad of ['', '-web', 'web-', 'web_01', 'web.01', 'A'.repeat(64), 'wéb']) assert.equal(isHostLabel(bad), false, bad);
  assert.equal(isHostname('web-01.example.org'), true);
  assert.equal(isHostname('web-01.example.org.'), false);
  assert.equal(isHostname('web..example.org'), false);
  const l63 = 'a'.repeat(63);
  assert.equal(isHostname([l63, l63, l63, 'a'.repeat(61)].join('.')), true, '253 characters');
  assert.equal(isHostname([l63, l63, l63, 'a'.repeat(62)].join('.')), false, '254 characters');
});

void test('SSH public keys: type, base64 blob that encodes the same type, optional comment', () => {
  assert.equal(isSshPublicKey(ED25519), true);
  assert.equal(isSshPublicKey(ED25519.replace(' ops@example.org', '')), true);
  assert.equal(isSshPublicKey('ssh-ed25519 not-a-key'), false);
  assert.equal(isSshPublicKey('ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICt0ZvimLKo7lC8WSoeglYL6UkQh+DEALiRL2N/Hrnvq'), false, 'blob type mismatch');
  assert.equal(isSshPublicKey('ssh-ed25519 AAAAC3Nza'), false, 'truncated');
  assert.equal(isSshPublicKey('-----BEGIN OPENSSH PRIVATE KEY-----'), false);
  assert.equal(isSshPublicKey('ssh-foo AAAA'), false);
  const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8, 1)]).toString('base64');
  assert.equal(isSshPublicKey(`ssh-rsa ${rsaBlob} x`), true);
  const ecBlob = Buffer.concat([Buffer.from([0, 0, 0, 19]), Buffer.from('ecdsa-sha2-nistp256'), Buffer.alloc(8, 1)]).toString('base64');
  assert.equal(isSshPublicKey(`ecdsa-sha2-nistp256 ${ecBlob}`), true);
});
