// How coded errors become HTTP answers. Every error body is {error: HTTP_*, message} (+ `cause` with the original
// code when it came from another subsystem). Callers and tests branch on `error`, never on `message`.

import { httpStatus, isPxedError, type ErrorCode } from '../errors.js';

export interface HttpErrorAnswer {
  status: number;
  body: { error: string; message: string; cause?: string };
}

/** The public `error` of a status, for codes of other subsystems (their own code goes to `cause`). */
const PUBLIC_ERROR: Readonly<Record<number, ErrorCode>> = {
  400: 'HTTP_BAD_REQUEST',
  404: 'HTTP_NOT_FOUND',
  409: 'HTTP_CONFLICT',
};

/**
 * Maps a thrown value to an answer. A PxedError answers the status its code has in the one error table
 * (ERROR_STATUS, src/errors.ts):
 *   HTTP_* codes are the answer itself: {error: code, message}
 *   ARTIFACT_INVALID, BOOT_SCRIPT_INVALID (generated config/script failed its own validation) → 500, message kept
 *   other 400/404/409 codes → HTTP_BAD_REQUEST ("field: message") / HTTP_NOT_FOUND / HTTP_CONFLICT, cause: code
 * Any other 5xx, and anything that is not a PxedError → 500 with a generic message (the detail goes to the log).
 */
export function errorAnswer(err: unknown): HttpErrorAnswer {
  if (isPxedError(err)) {
    const code = err.code;
    const status = httpStatus(code);
    if (code === 'ARTIFACT_INVALID' || code === 'BOOT_SCRIPT_INVALID') {
      return { status, body: { error: 'HTTP_ARTIFACT_INVALID', message: `generated artifact failed validation: ${err.message}`, cause: code } };
    }
    if (code.startsWith('HTTP_')) return { status, body: { error: code, message: err.message } };
    const error = PUBLIC_ERROR[status];
    if (error === undefined) return { status: 500, body: { error: 'HTTP_INTERNAL', message: 'internal error', cause: code } };
    if (status === 400) {
      const field = typeof err.details?.field === 'string' ? err.details.field : null;
      const message = field !== null && !err.message.startsWith(field) ? `${field}: ${err.message}` : err.message;
      return { status, body: { error, message, cause: code } };
    }
    return { status, body: { error, message: err.message, cause: code } };
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
