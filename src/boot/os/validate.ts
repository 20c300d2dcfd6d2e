// Validation of generated NoCloud user-data before it is served (issue 6): the whole document against the
// cloud-init schema (draft-04), its `autoinstall` section against Subiquity's schema, and `autoinstall.user-data`
// (cloud-config for the installed system) against the cloud-init schema again. A failure is a PxedError
// ARTIFACT_INVALID whose details.field is the dotted path of the offending key (e.g. `autoinstall.identity.password`).

import AjvDraft04Module from 'ajv-draft-04';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { PxedError } from '../../errors.js';
import cloudInitSchema from './schemas/cloud-init-schema.json' with { type: 'json' };
import autoinstallSchema from './schemas/autoinstall-schema.json' with { type: 'json' };

// Format checks the schemas use. Deliberately small: pxed only emits http:// URLs, RFC 1123 names and no dates.
const formats = {
  uri: (s: string): boolean => /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/.test(s),
  hostname: (s: string): boolean => /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(s),
  date: (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s),
};

// Both packages are CommonJS with `exports.default`; under NodeNext the default import is module.exports.
const AjvDraft04 = AjvDraft04Module.default;
const Ajv = AjvModule.default;

interface AjvLike {
  addFormat(name: string, fn: (s: string) => boolean): unknown;
  compile(schema: object): ValidateFunction;
}

/** Compiles once, on first use. strict: false because cloud-init's schema carries its own annotation keywords
 *  (label, deprecated, hidden, ...). */
function compile(ajv: AjvLike, schema: object): ValidateFunction {
  for (const [name, fn] of Object.entries(formats)) ajv.addFormat(name, fn);
  return ajv.compile(schema);
}

let cloudInit: ValidateFunction | undefined;
let autoinstall: ValidateFunction | undefined;

function cloudInitValidator(): ValidateFunction {
  cloudInit ??= compile(new AjvDraft04({ strict: false, allErrors: true }), cloudInitSchema);
  return cloudInit;
}

function autoinstallValidator(): ValidateFunction {
  autoinstall ??= compile(new Ajv({ strict: false, allErrors: true }), autoinstallSchema);
  return autoinstall;
}

/** Compiles both validators now (about a second for cloud-init's schema) instead of on the first user-data request. */
export function compileValidators(): void {
  cloudInitValidator();
  autoinstallValidator();
}

/** The dotted key path an Ajv error is about (the missing/extra property included). */
export function errorField(err: ErrorObject, prefix: string): string {
  const parts = err.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = err.params as { missingProperty?: string; additionalProperty?: string };
  if (err.keyword === 'required' && params.missingProperty !== undefined) parts.push(params.missingProperty);
  if (err.keyword === 'additionalProperties' && params.additionalProperty !== undefined) parts.push(params.additionalProperty);
  const path = parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('');
  return `${prefix}${path}`.replace(/^\./, '');
}

/** The most telling error: the deepest one, preferring concrete keywords over oneOf/anyOf summaries. */
function pickError(errors: readonly ErrorObject[]): ErrorObject {
  const concrete = errors.filter((e) => !['oneOf', 'anyOf', 'allOf', 'if', 'not'].includes(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  const depth = (e: ErrorObject): number => errorField(e, '').split(/[.[]/).length;
  return pool.reduce((best, e) => (depth(e) > depth(best) ? e : best));
}

function check(validate: ValidateFunction, data: unknown, prefix: string, schemaName: string, artifact: string): void {
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const err = pickError(errors);
  const field = errorField(err, prefix);
  const extra = err.keyword === 'additionalProperties' ? ' (unknown key)' : '';
  throw new PxedError('ARTIFACT_INVALID', `${artifact}: ${field || '<root>'}: ${err.message ?? 'invalid'}${extra} (${schemaName} schema)`, {
    field,
    artifact,
    schema: schemaName,
    errors: errors.slice(0, 10).map((e) => ({ field: errorField(e, prefix), message: e.message ?? '' })),
  });
}

/**
 * Validates a parsed user-data document (`#cloud-config` with an `autoinstall:` section). Throws ARTIFACT_INVALID
 * naming the first offending field; returns nothing when the document passes all three checks.
 */
export function validateUserData(doc: unknown): void {
  check(cloudInitValidator(), doc, '', 'cloud-init', 'user-data');
  const ai = (doc as { autoinstall?: unknown }).autoinstall;
  if (typeof ai !== 'object' || ai === null) {
    throw new PxedError('ARTIFACT_INVALID', 'user-data: autoinstall: missing autoinstall section', { field: 'autoinstall', artifact: 'user-data', schema: 'pxed' });
  }
  check(autoinstallValidator(), ai, 'autoinstall', 'Subiquity autoinstall', 'user-data');
  const target = (ai as { 'user-data'?: unknown })['user-data'];
  if (target !== undefined) check(cloudInitValidator(), target, 'autoinstall.user-data', 'cloud-init', 'user-data');
}
