// Layer schemas and the merge primitive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deepFreeze, deepMerge, installEntrySchema, vmSpecSchema } from '../../src/config/provisioning.js';

void test('deepMerge: later layers win, objects merge, arrays replace, absent keys never override', () => {
  const defaults = { a: 1, net: { dns: ['192.0.2.53'], domain: 'example.org' }, list: [1, 2, 3] };
  const vm = { a: 2, net: { dhcp: false }, list: [9] };
  const inst = { net: { domain: 'example.net', dns: undefined }, extra: true };
  assert.deepEqual(deepMerge(defaults, vm, inst), {
    a: 2,
    net: { dns: ['192.0.2.53'], domain: 'example.net', dhcp: false },
    list: [9],
    extra: true,
  });
  assert.deepEqual(defaults.net, { dns: ['192.0.2.53'], domain: 'example.org' }, 'inputs untouched');
  assert.deepEqual(deepMerge(undefined, { x: 1 }, undefined), { x: 1 });
  assert.equal(deepMerge({ x: 1 }, 5), 5);
});

void test('deepFreeze freezes nested objects and arrays', () => {
  const v = deepFreeze({ a: { b: [1, { c: 2 }] } });
  assert.ok(Object.isFrozen(v.a.b));
  assert.ok(Object.isFrozen(v.a.b[1]));
  assert.throws(() => {
    (v.a.b as number[]).push(3);
  }, TypeError);
});

void test('vm schema normalises MACs and is strict', () => {
  const vm = vmSpecSchema.parse({ name: 'web-01', hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: '0025.90AB.CD01' } });
  assert.equal(vm.baremetal?.mac, '00:25:90:ab:cd:01');
  assert.equal(vmSpecSchema.safeParse({ name: 'web-01', hypervisor: 'baremetal', boot_method: 'pxe', cpu: 1 }).success, false);
  assert.equal(vmSpecSchema.safeParse({ name: 'web_01', hypervisor: 'baremetal', boot_method: 'pxe' }).success, false);
  for (const netif of [{ vlan: 0 }, { vlan: 4095 }, { mtu: 575 }, { mtu: 9217 }, { model: 'ne2k' }]) {
    assert.equal(vmSpecSchema.safeParse({ name: 'a', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [netif] }).success, false, JSON.stringify(netif));
  }
  for (const netif of [{ vlan: 1 }, { vlan: 4094 }, { mtu: 576 }, { mtu: 9216 }]) {
    assert.equal(vmSpecSchema.safeParse({ name: 'a', hypervisor: 'proxmox', boot_method: 'pxe', netifs: [netif] }).success, true, JSON.stringify(netif));
  }
});

void test('custom install entries: asset paths or URLs, known placeholders only', () => {
  const ok = installEntrySchema.safeParse({
    os: 'custom',
    custom: {
      kernel: 'custom/vmlinuz',
      initrds: ['custom/initrd', 'https://images.example.org/extra.cpio'],
      cmdline: 'console=ttyS0 pxed={{ server }}:{{http_port}} mac={{ mac }} host={{ hostname }} ph={{ phone_home_url }}',
    },
  });
  assert.equal(ok.success, true);
  for (const custom of [
    { kernel: '/etc/passwd', initrds: [], cmdline: '' },
    { kernel: '../up/vmlinuz', initrds: [], cmdline: '' },
    { kernel: 'vmlinuz', initrds: ['ftp://x/y'], cmdline: '' },
    { kernel: 'vmlinuz', initrds: [], cmdline: '{{ secret }}' },
  ]) {
    assert.equal(installEntrySchema.safeParse({ os: 'custom', custom }).success, false, JSON.stringify(custom));
  }
});

void test('versions must be strings (YAML reads 22.10 as 22.1)', () => {
  assert.equal(installEntrySchema.safeParse({ os: 'ubuntu', version: 22.1 }).success, false);
  assert.equal(installEntrySchema.safeParse({ os: 'ubuntu', version: '22.10' }).success, true);
});
