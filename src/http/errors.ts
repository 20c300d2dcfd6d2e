// How coded errors become HTTP answers. Every error body is {error: HTTP_*, message} (+ `cause` with the original
// code when it came from another subsystem). Callers and tests branch on `error`, never on `message`.

import { isPxedError } from '../errors.js';

export interface HttpErrorAnswer {
  status: number;
  body: { error: string; message: string; cause?: string };
}

/**
 * Maps a thrown value to an answer. PxedError codes map by name:
 *   ARTIFACT_INVALID, BOOT_SCRIPT_INVALID (generated config/script failed its own validation) → 500, message kept
 *   HTTP_*: carries its own status in details.status (default 400)
 *   *_NOT_FOUND → 404; *_EXISTS, *_CONFLICT, LIFECYCLE_ILLEGAL → 409; *_BAD_INPUT → 400 ("field: message")
 * Anything else → 500 with a generic message (the detail goes to the log, not to the client).
 */
export function errorAnswer(err: unknown): HttpErrorAnswer {
  if (isPxedError(err)) {
    const code = err.code;
    if (code === 'ARTIFACT_INVALID' || code === 'BOOT_SCRIPT_INVALID') {
      return { status: 500, body: { error: 'HTTP_ARTIFACT_INVALID', message: `generated artifact failed validation: ${err.message}`, cause: code } };
    }
    if (code.startsWith('HTTP_')) {
      const status = typeof err.details?.status === 'number' ? err.details.status : 400;
      return { status, body: { error: code, message: err.message } };
    }
    if (code.endsWith('_NOT_FOUND')) return { status: 404, body: { error: 'HTTP_NOT_FOUND', message: err.message, cause: code } };
    if (code.endsWith('_EXISTS') || code.endsWith('_CONFLICT') || code === 'LIFECYCLE_ILLEGAL') {
      return { status: 409, body: { error: 'HTTP_CONFLICT', message: err.message, cause: code } };
    }
    if (code.endsWith('_BAD_INPUT')) {
      const field = typeof err.details?.field === 'string' ? err.details.field : null;
      const message = field !== null && !err.message.startsWith(field) ? `${field}: ${err.message}` : err.message;
      return { status: 400, body: { error: 'HTTP_BAD_REQUEST', message, cause: code } };
    }
    return { status: 500, body: { error: 'HTTP_INTERNAL', message: 'internal error', cause: code } };
  }
  // fastify's own errors (body parsing, media type, body too large) carry a 4xx statusCode.
  const fe = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const status = fe.statusCode;
    const error = status === 415 ? 'HTTP_UNSUPPORTED_MEDIA_TYPE' : status === 413 ? 'HTTP_BODY_TOO_LARGE' : 'HTTP_BAD_REQUEST';
    const message = fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'body: empty JSON body' : `body: ${String(fe.message)}`;
    return { status, body: { error, message } };
  }
  return { status: 500, body: { error: 'HTTP_INTERNAL', message: 'internal error' } };
}
