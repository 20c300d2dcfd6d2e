// The /api/v1 routes the admin page needs beyond the machine CRUD: the configured install entries (for the add,
// adopt and edit forms) and one machine's page (identity, the stage view from model/stage.ts, artifact previews with
// their validation result). Both go through AdminApi and the one error table like every other route.

import { z } from 'zod';
import { PxedError, httpStatus, isPxedError } from '../../errors.js';
import { PREVIEW_ARTIFACT_NAMES, type PreviewArtifact } from '../../model/artifacts.js';
import { stageView } from '../../model/stage.js';
import type { ApiRoute } from '../api.js';
import { MacParams, MachineSchema, normalizeMacLoose } from '../schemas.js';
import type { AdminApi, EntrySummary } from '../types.js';

export const EntrySchema = z
  .object({ name: z.string(), os: z.string(), version: z.string().nullable(), hostname: z.string(), macs: z.array(z.string()) })
  .describe('InstallEntry');

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

type Preview = z.infer<typeof PreviewSchema>;

/** One artifact as the machine would get it; null when its OS has no such artifact. */
async function previewOf(admin: AdminApi, mac: string, artifact: PreviewArtifact): Promise<Preview | null> {
  try {
    const doc = await admin.preview(mac, artifact);
    if (doc === null) return null;
    const body = typeof doc.body === 'string' ? doc.body : doc.body.toString('utf8');
    return body.length > PREVIEW_MAX ? { artifact, ok: true, body: body.slice(0, PREVIEW_MAX), truncated: true } : { artifact, ok: true, body };
  } catch (err) {
    if (isPxedError(err) && (err.code === 'ARTIFACT_INVALID' || err.code === 'BOOT_SCRIPT_INVALID')) return { artifact, ok: false, error: err.message };
    // Not applicable to this machine (no such artifact for its OS, no install entry yet, ...).
    if (isPxedError(err) && httpStatus(err.code) < 500) return null;
    throw err;
  }
}

/** The install entries (none when the admin port does not list them). */
export async function entriesOf(admin: AdminApi): Promise<readonly EntrySummary[]> {
  return (await admin.entries?.()) ?? [];
}

export function uiApiRoutes(admin: AdminApi): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/config/entries',
      summary: 'The install entries of the provisioning config (name, OS, version, hostname, the MACs each names)',
      response: z.array(EntrySchema),
      handler: async () => entriesOf(admin),
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
        if (machine === null) throw new PxedError('HTTP_NOT_FOUND', 'no such machine');
        let events = await admin.events(mac, { limit: 100_000 });
        if (events.length > PAGE_EVENTS) events = events.slice(-PAGE_EVENTS);
        const previews: Preview[] = [];
        for (const a of PREVIEW_ARTIFACT_NAMES) {
          const p = await previewOf(admin, mac, a);
          if (p !== null) previews.push(p);
        }
        const entry = machine.host === null ? null : ((await entriesOf(admin)).find((e) => e.name === machine.host) ?? null);
        return { machine, entry, view: stageView(events, machine.state), previews, lastEventId: events.at(-1)?.id ?? null };
      },
    },
  ];
}
