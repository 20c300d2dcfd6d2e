// OpenAPI 3.1 for /api/v1, generated from the route table's zod schemas (z.toJSONSchema, JSON Schema 2020-12,
// which is OpenAPI 3.1's dialect). Nothing here is written by hand except titles.

import { z } from 'zod';
import { API_PREFIX, type ApiRoute } from './api.js';
import { ErrorSchema, PhoneHomeBody, PhoneHomeResponse, TokenParams } from './schemas.js';

type Json = Record<string, unknown>;

function schemaOf(s: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(s, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

/** Path and query parameters from a zod object schema. */
function parameters(where: 'path' | 'query', s: z.ZodType | undefined): Json[] {
  if (s === undefined) return [];
  const js = schemaOf(s, 'input');
  if (js.properties === undefined && js.additionalProperties !== undefined) {
    // A free-form map (e.g. iPXE settings): one exploded form-style object parameter.
    return [{ name: 'settings', in: where, style: 'form', explode: true, schema: js }];
  }
  const props = (js.properties ?? {}) as Record<string, Json>;
  const required = new Set((js.required ?? []) as string[]);
  return Object.entries(props).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema,
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
  }));
}

const toOpenApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

function errorResponses(codes: number[]): Json {
  const out: Json = {};
  const text: Record<number, string> = { 400: 'Bad request (names the field)', 401: 'Missing or wrong bearer token', 404: 'Not found', 409: 'Conflict (exists / illegal transition)', 500: 'Internal error' };
  for (const c of codes) out[String(c)] = { description: text[c] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  return out;
}

export function buildOpenApi(routes: readonly ApiRoute[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const p = toOpenApiPath(API_PREFIX + r.url);
    const ok =
      r.response instanceof z.ZodType
        ? { description: 'OK', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } }
        : { description: r.response.description, content: { [r.response.contentType]: { schema: { type: 'string' } } } };
    const op: Json = {
      summary: r.summary,
      operationId: `${r.method.toLowerCase()}${p.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security: [{ bearer: [] }],
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      responses: { [String(r.status ?? 200)]: ok, ...errorResponses([400, 401, 404, 409, 500]) },
    };
    if (r.body !== undefined) op.requestBody = { required: r.method !== 'POST' || r.status === 201, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } };
    (paths[p] ??= {})[r.method.toLowerCase()] = op;
  }
  // The phone-home route lives outside the bearer-protected table: its per-boot token is in the path.
  paths[toOpenApiPath(`${API_PREFIX}/boot/:token/events`)] = {
    post: {
      summary: 'Installer phone-home (Subiquity reporting webhook or {status}); authenticated by the per-boot token',
      operationId: 'postPhoneHome',
      security: [],
      parameters: parameters('path', TokenParams),
      requestBody: { required: true, content: { 'application/json': { schema: schemaOf(PhoneHomeBody, 'input') } } },
      responses: {
        '200': { description: 'Recorded', content: { 'application/json': { schema: schemaOf(PhoneHomeResponse, 'output') } } },
        ...errorResponses([400, 404, 500]),
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'pxed API', version, description: 'Machine registry, lifecycle and boot previews of a pxed appliance.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: schemaOf(ErrorSchema, 'output') },
    },
    paths,
  };
}
