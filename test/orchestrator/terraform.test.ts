// The Terraform side: the module's HCL variables (read with a small `variable "x" {` reader) against what the
// orchestrator passes, both ways; version pins against terraform/envs/default; the root is JSON with no secret.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProvisioning } from '../../src/config/load.js';
import { BPG_PROVIDER, buildRoot, defaultModuleDir, moduleInputs, TERRAFORM_REQUIRED_VERSION } from '../../src/orchestrator/terraform/root.js';
import { proxmoxEnv, redactor, secretValues } from '../../src/orchestrator/credentials.js';
import { fixtures, repoRoot } from '../helpers/paths.js';

const MODULE = path.join(repoRoot, 'terraform', 'modules', 'proxmox_vm');
const text = (n: string) => readFileSync(fixtures('config', 'original', n), 'utf8');
const prov = parseProvisioning({
  defaults: ['defaults.yaml', text('defaults.yaml')],
  vmSpecs: ['vm_specs.yaml', text('vm_specs.yaml').replace('boot_method: iso ', 'boot_method: pxe ')],
  installConfig: ['install_config.yaml', text('install_config.yaml')],
});

/** Variable names declared in a .tf file, with whether each has a default. */
function hclVariables(file: string): Map<string, { hasDefault: boolean }> {
  const src = readFileSync(file, 'utf8');
  const out = new Map<string, { hasDefault: boolean }>();
  const re = /^variable\s+"([A-Za-z0-9_]+)"\s*\{/gm;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    // The block ends at the first "}" in column 1 after its start.
    const end = src.indexOf('\n}', m.index);
    out.set(m[1]!, { hasDefault: /^\s{2}default\s*=/m.test(src.slice(m.index, end)) });
  }
  return out;
}

void describe('terraform/modules/proxmox_vm', () => {
  const declared = hclVariables(path.join(MODULE, 'variables.tf'));

  void it('the orchestrator passes only declared variables, and every required one (all boot methods)', () => {
    assert.ok(declared.size >= 15, `${declared.size} variables`);
    for (const host of prov.hosts.filter((h) => h.hypervisor === 'proxmox')) {
      for (const method of ['pxe', 'iso', 'image'] as const) {
        const inputs = moduleInputs({ ...host, boot_method: method }, prov, { moduleDir: MODULE, cidataIsoPath: '/tmp/x.iso', userData: '#cloud-config\n' });
        for (const k of Object.keys(inputs)) assert.ok(declared.has(k), `${host.name}/${method}: passes undeclared "${k}"`);
        for (const [k, v] of declared) if (!v.hasDefault) assert.ok(k in inputs, `${host.name}/${method}: required "${k}" not passed`);
      }
    }
    // Every declared variable is used by some boot method (none dead).
    const used = new Set<string>();
    for (const method of ['pxe', 'iso', 'image'] as const) {
      for (const k of Object.keys(moduleInputs({ ...prov.hosts[0]!, boot_method: method }, prov, { moduleDir: MODULE }))) used.add(k);
    }
    for (const k of declared.keys()) assert.ok(used.has(k), `module variable "${k}" is never passed`);
  });

  void it('the module reads every variable it declares, and the outputs exist', () => {
    const main = readFileSync(path.join(MODULE, 'main.tf'), 'utf8');
    for (const k of declared.keys()) assert.match(main, new RegExp(`var\\.${k}\\b`), `var.${k} unused in main.tf`);
    const outputs = readFileSync(path.join(MODULE, 'outputs.tf'), 'utf8');
    assert.match(outputs, /output "vm_id"/);
    assert.match(outputs, /output "mac_addresses"/);
    assert.match(main, /pre_enrolled_keys = false/);
    assert.match(main, /boot_order = local\.boot_order/);
  });

  void it('version pins agree with terraform/envs/default', () => {
    const v = readFileSync(path.join(repoRoot, 'terraform', 'envs', 'default', 'versions.tf'), 'utf8');
    assert.ok(v.includes(`required_version = "${TERRAFORM_REQUIRED_VERSION}"`));
    assert.ok(v.includes(`source  = "${BPG_PROVIDER.source}"`));
    assert.ok(v.includes(`version = "${BPG_PROVIDER.version}"`));
    assert.equal(defaultModuleDir().replace(/\/dist\//, '/'), MODULE.replace(/\/dist\//, '/'));
  });

  void it('the root: JSON, MAC per NIC (derived when none), pxe → agent off, backend {} → local state', () => {
    const web = prov.hostByName('web-01')!;
    const root = buildRoot(web, prov, { moduleDir: MODULE });
    const json = JSON.parse(JSON.stringify(root.main)) as { terraform: Record<string, unknown>; module: { vm: Record<string, string> } };
    assert.equal(json.terraform.backend, undefined);
    assert.equal(json.module.vm.source, MODULE);
    assert.equal(json.module.vm.cores, '${var.cores}');
    assert.deepEqual(root.tfvars.network_devices, [{ bridge: 'vmbr0', vlan_id: 30, model: 'virtio', mac_address: web.mac, mtu: null }]);
    assert.equal(root.tfvars.agent_enabled, false);
    assert.equal(root.tfvars.node_name, 'pve1');
    const s3 = parseProvisioning({
      defaults: ['d', text('defaults.yaml').replace('terraform_backend: {}', 'terraform_backend: { s3: { bucket: tf, key: x } }')],
      vmSpecs: ['v', text('vm_specs.yaml')],
      installConfig: ['i', text('install_config.yaml')],
    });
    assert.deepEqual(buildRoot(s3.hostByName('web-01')!, s3, { moduleDir: MODULE }).main.terraform, {
      required_version: TERRAFORM_REQUIRED_VERSION,
      required_providers: { proxmox: { ...BPG_PROVIDER } },
      backend: { s3: { bucket: 'tf', key: 'x' } },
    });
  });
});

void describe('credentials', () => {
  void it('the original (PM_API_TOKEN_ID + SECRET) and bpg (PROXMOX_VE_*) forms; redaction', () => {
    const a = proxmoxEnv({ PM_API_TOKEN_ID: 'terraform@pve!iac', PM_API_TOKEN_SECRET: 'aaaa-bbbb-cccc' }, 'https://pve:8006/');
    assert.deepEqual(a.env, { PROXMOX_VE_API_TOKEN: 'terraform@pve!iac=aaaa-bbbb-cccc', PROXMOX_VE_ENDPOINT: 'https://pve:8006/' });
    const b = proxmoxEnv({ PROXMOX_VE_API_TOKEN: 'u@pve!t=zzzz-yyyy', PROXMOX_VE_ENDPOINT: 'https://other:8006/' }, 'https://pve:8006/');
    assert.equal(b.env.PROXMOX_VE_ENDPOINT, 'https://other:8006/');
    assert.throws(() => proxmoxEnv({}, 'https://pve:8006/'), /PROXMOX_VE_API_TOKEN/);
    assert.throws(() => proxmoxEnv({ PROXMOX_VE_API_TOKEN: 'x@pve!t=1234' }, null), /PROXMOX_VE_ENDPOINT/);
    const r = redactor([...a.secrets, ...secretValues({ PXED_TOKEN: 'admin-token-1' })]);
    assert.equal(r('token terraform@pve!iac=aaaa-bbbb-cccc and aaaa-bbbb-cccc, admin-token-1; PVEAPIToken=u@pve!t=q'), 'token *** and ***, ***; PVEAPIToken=***');
  });
});
