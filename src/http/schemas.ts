// Request and response schemas of /api/v1 (zod 4). The same schemas validate requests and generate the OpenAPI
// document (openapi.ts), so the two cannot drift apart.

import { z } from 'zod';
import { MAC_PATTERN, parseMac } from '../net/mac.js';
import { INSTALL_MODES, MACHINE_STATES, UEFI_STRATEGIES, BOOT_CHAINS } from '../model/machine.js';
import { PREVIEW_ARTIFACT_NAMES } from '../model/artifacts.js';

/** Lower-case colon form of a MAC that matched MAC_PATTERN (the one project-wide parser, net/mac.ts). */
export function normalizeMacLoose(s: string): string {
  return parseMac(s)!;
}

export const Mac = z.string().regex(MAC_PATTERN, 'must be a MAC address like 52:54:00:12:34:56').describe('MAC address (any common spelling; answered in lower-case colon form)');
/** install_config.yaml entry names. */
export const HostName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be an install entry name (letters, digits, . _ -; at most 63)')
  .describe('Install entry name (install_config.yaml key)');
export const State = z.enum(MACHINE_STATES);
export const InstallModeSchema = z.enum(INSTALL_MODES).describe("'once': boot the local disk after installed; 'always': reinstall on every netboot");

export const Overrides = z
  .object({
    efiBinary: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a file name').optional(),
    uefiStrategy: z.enum(UEFI_STRATEGIES).optional(),
    bootChain: z.enum(BOOT_CHAINS).optional(),
  })
  .strict();

export const MachineSchema = z
  .object({
    mac: z.string(),
    host: z.string().nullable(),
    state: State,
    installMode: InstallModeSchema,
    arch: z.number().int().nullable(),
    firmware: z.string().nullable(),
    uuid: z.string().nullable(),
    vendorClass: z.string().nullable(),
    ip: z.string().nullable(),
    overrides: Overrides,
    createdAt: z.string(),
    updatedAt: z.string(),
    stateChangedAt: z.string(),
  })
  .describe('Machine');

export const BootEventSchema = z
  .object({
    id: z.number().int(),
    mac: z.string(),
    time: z.string(),
    kind: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .describe('BootEvent');

export const ErrorSchema = z
  .object({ error: z.string(), message: z.string(), cause: z.string().optional().describe('The original error code, when another subsystem raised it') })
  .describe('Error');

export const MacParams = z.object({ mac: Mac }).strict();
export const RenderParams = z.object({ mac: Mac, artifact: z.enum(PREVIEW_ARTIFACT_NAMES) }).strict();
export const TokenParams = z.object({ token: z.string().min(1).max(200) }).strict();

/** iPXE settings for previews (?buildarch=x86_64&platform=efi&uuid=…), as the bootstrap script would pass them. */
export const PreviewQuery = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be an iPXE setting name'),
  z.string().max(200),
);
const Count = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);
/** Machines per page: default and most. */
export const LIST_PAGE_DEFAULT = 500;
export const LIST_PAGE_MAX = 1000;
export const ListQuery = z
  .object({
    state: State.optional(),
    /** Case-insensitive substring of MAC, host or IP. */
    q: z.string().max(64).optional(),
    limit: Count.refine((n) => n >= 1 && n <= LIST_PAGE_MAX, `must be 1-${LIST_PAGE_MAX}`).optional(),
    offset: Count.optional(),
  })
  .strict();
export const EventsQuery = z.object({ after: Count.optional(), limit: Count.optional() }).strict();

const Force = z
  .boolean()
  .describe("Register even though the install entry's configuration names other MACs (refused otherwise: the installed system would not configure this NIC)");
export const MachineCreateBody = z
  .object({ mac: Mac, host: HostName, installMode: InstallModeSchema.optional(), overrides: Overrides.optional(), force: Force.optional() })
  .strict();
export const MachinePatchBody = z
  .object({ host: HostName.optional(), installMode: InstallModeSchema.optional(), overrides: Overrides.optional(), force: Force.optional() })
  .strict()
  .refine((b) => Object.keys(b).some((k) => k !== 'force'), { message: 'at least one of host, installMode, overrides' });
const Tally = z.number().int().min(0).max(1_000_000_000);
/** Ansible's per-host play recap. */
export const PostInstallStatsSchema = z
  .object({ ok: Tally, changed: Tally, unreachable: Tally, failed: Tally, skipped: Tally, rescued: Tally.optional(), ignored: Tally.optional() })
  .strict();
/** A post stage `pxed provision --server` ran itself (machine operations: recordPostInstall). */
export const PostInstallBody = z
  .object({
    phase: z.enum(['started', 'ok', 'failed']),
    host: HostName.optional(),
    method: z.enum(['ansible', 'nixos-rebuild', 'none']).optional(),
    stats: PostInstallStatsSchema.nullable().optional(),
    logPath: z.string().min(1).max(4096).optional().describe("The run's log on the machine that ran it"),
    durationMs: z.number().int().min(0).max(1e12).optional(),
    exitCode: z.number().int().min(-1024).max(1024).nullable().optional(),
    error: z.string().max(2000).optional(),
  })
  .strict()
  .describe('PostInstallReport');
export const ReinstallBody = z.object({ reason: z.string().max(200).optional() }).strict();

export const PhoneHomeBody = z
  .unknown()
  .describe('A Subiquity reporting-webhook event, or {"status": "installed"|"failed", "detail": …}');
export const PhoneHomeResponse = z.object({ state: z.string() });
export const DeleteResponse = z.object({ deleted: z.literal(true) });

/** One line per problem: `body.mac: must be a MAC address …` — the field always comes first. */
export function describeIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${[where, ...i.path.map(String), k].join('.')}: unknown field`).join('; ');
      return `${[where, ...i.path.map(String)].join('.')}: ${i.message}`;
    })
    .join('; ');
}
