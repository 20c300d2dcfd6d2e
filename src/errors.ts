// Coded errors. Callers branch on `code`, never on `message`.
// Codes are stable strings, grouped by subsystem prefix: CONFIG_*, REGISTRY_*, DHCP_*, TFTP_*, HTTP_*, BOOT_*,
// LIFECYCLE_*, CLI_*, ORCH_*.

export class PxedError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PxedError';
    this.code = code;
    this.details = details;
  }
}

export function isPxedError(err: unknown, code?: string): err is PxedError {
  return err instanceof PxedError && (code === undefined || err.code === code);
}

/** A short, single-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof PxedError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
