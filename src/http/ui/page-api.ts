// The /api/v1 routes the admin page needs beyond the machine CRUD: the configured install entries (for the add and
// adopt forms) and one machine's page (identity, stage view from model/stage.ts, artifact previews with their
// validation result). Both go through AdminApi and the one error table like every other route.

import { z } from 'zod';
import { PxedError, isPxedError } from '../../errors.js';
import { stageView } from '../../model/stage.js';
import type { HostSpec } from '../../config/provisioning.js';
import type { ApiRoute } from '../api.js';
import { MacParams, MachineSchema, normalizeMacLoose } from '../schemas.js';
import type { AdminApi, PreviewArtifact } from '../types.js';

/** One install entry of install_config.yaml as the page lists it. */
export interface EntrySummary {
  name: string;
  os: string;
  version: string | null;
  /** The installed system's hostname. */
  hostname: string;
  /** The MACs the entry's configuration names (its NICs); registering another MAC for it needs `force`. */
  macs: string[];
}

/** The page's view of the configured hosts (computed once: the config is frozen). */
export function entrySummaries(hosts: readonly HostSpec[]): EntrySummary[] {
  return hosts.map((h) => {
    const macs = new Set<string>();
    if (h.mac !== null) macs.add(h.mac);
    for (const n of h.netifs) if (n.mac !== null) macs.add(n.mac);
    return { name: h.name, os: h.install.os, version: h.install.version, hostname: h.install.network.hostname, macs: [...macs] };
  });
}

export const EntrySchema = z.object({ name: z.string(), os: z.string(), version: z.string().nullable(), hostname: z.string(), macs: z.array(z.string()) }).describe('InstallEntry');

/** Previews tried for every machine; those its OS has no such artifact for are left out. */
const PREVIEWS: readonly PreviewArtifact[] = ['ipxe', 'user-data', 'meta-data', 'nixos-config', 'nixos-install'];
/** Larger previews are cut (the full document stays available at /machines/:mac/render/:artifact). */
const PREVIEW_MAX = 64 * 1024;
/** The page shows at most this many events (the newest). */
const PAGE_EVENTS = 2000;

const PreviewSchema = z.object({
  artifact: z.string(),
  ok: z.boolean().describe('false when rendering or validation failed; `error` says why'),
  body: z.string().optional(),
  truncated: z.boolean().optional(),
  error: z.string().optional(),
});
const StageViewSchema = z.object({
  boots: z.array(z.object({ startedAt: z.string(), lines: z.array(z.object({ id: z.number(), time: z.string(), kind: z.string(), text: z.string() })) })),
  bar: z.array(z.object({ stage: z.string(), label: z.string(), status: z.string() })),
  stage: z.string().nullable(),
  status: z.string(),
  hint: z.string().nullable(),
});
export const MachinePageSchema = z
  .object({ machine: MachineSchema, entry: EntrySchema.nullable(), view: StageViewSchema, previews: z.array(PreviewSchema), lastEventId: z.number().nullable() })
  .describe('MachinePage');

async function previewOf(admin: AdminApi, mac: string, artifact: PreviewArtifact): Promise<z.infer<typeof PreviewSchema> | null> {
  try {
    const doc = await admin.preview(mac, artifact);
    if (doc === null) return null;
    const body = typeof doc.body === 'string' ? doc.body : doc.body.toString('utf8');
    return body.length > PREVIEW_MAX ? { artifact, ok: true, body: body.slice(0, PREVIEW_MAX), truncated: true } : { artifact, ok: true, body };
  } catch (err) {
    if (isPxedError(err) && err.code.endsWith('_NOT_FOUND')) return null;
    if (isPxedError(err) && (err.code === 'ARTIFACT_INVALID' || err.code === 'BOOT_SCRIPT_INVALID')) return { artifact, ok: false, error: err.message };
    throw err;
  }
}

export function uiApiRoutes(admin: AdminApi, entries: (() => readonly EntrySummary[]) | undefined): ApiRoute[] {
  const list = (): readonly EntrySummary[] => entries?.() ?? [];
  return [
    {
      method: 'GET',
      url: '/config/entries',
      summary: 'The install entries of the provisioning config (name, OS, version, the MACs each names)',
      response: z.array(EntrySchema),
      handler: async () => list(),
    },
    {
      method: 'GET',
      url: '/machines/:mac/page',
      summary: "One machine's page: identity, timeline as sentences grouped by boot, stage bar and hint, artifact previews",
      params: MacParams,
      response: MachinePageSchema,
      handler: async (ctx) => {
        const mac = normalizeMacLoose((ctx.params as { mac: string }).mac);
        const machine = await admin.get(mac);
        if (machine === null) throw new PxedError('HTTP_NOT_FOUND', 'no such machine', { status: 404 });
        let events = await admin.events(mac, { limit: 100_000 });
        if (events.length > PAGE_EVENTS) events = events.slice(-PAGE_EVENTS);
        const previews = [];
        for (const a of PREVIEWS) {
          const p = await previewOf(admin, mac, a);
          if (p !== null) previews.push(p);
        }
        const entry = machine.host === null ? null : (list().find((e) => e.name === machine.host) ?? null);
        return { machine, entry, view: stageView(events, machine.state), previews, lastEventId: events.at(-1)?.id ?? null };
      },
    },
  ];
}
