// Coded errors. Callers branch on `code`, never on `message`.
// Every code the project throws is a key of ERROR_STATUS, the one table of codes: it also says which HTTP status
// the code answers when it reaches the HTTP API (http/errors.ts turns it into the body). Codes are stable strings
// grouped by subsystem prefix; the prefix means nothing to the code (nothing decides by name).

export const ERROR_STATUS = {
  // Shared vocabulary.
  MAC_INVALID: 400,
  LIFECYCLE_ILLEGAL: 409,
  // Config files (loaded at start-up or by the CLI).
  CONFIG_INVALID: 500,
  // Machine registry.
  REGISTRY_EXISTS: 409,
  REGISTRY_NOT_FOUND: 404,
  REGISTRY_INVALID: 400,
  REGISTRY_IO: 500,
  REGISTRY_SCHEMA: 500,
  REGISTRY_CORRUPT: 500,
  // Machine operations (src/machines).
  MACHINE_BAD_INPUT: 400,
  MACHINE_NOT_FOUND: 404,
  MACHINE_CONFLICT: 409,
  /** The install entry's configuration names other MACs; `force` registers anyway. */
  MACHINE_MAC_MISMATCH: 409,
  // Boot policy.
  BOOT_BAD_INPUT: 400,
  BOOT_NOT_FOUND: 404,
  BOOT_HOST_NOT_FOUND: 404,
  BOOT_PROFILE_NOT_FOUND: 404,
  BOOT_CONFLICT: 409,
  /** A generated iPXE script failed its own validation: our bug or a hostile config value, never the client's. */
  BOOT_SCRIPT_INVALID: 500,
  /** A generated install artifact failed its own validation (same). */
  ARTIFACT_INVALID: 500,
  // DHCP and TFTP services (start-up and packet handling; they never reach HTTP).
  DHCP_BIND: 500,
  DHCP_CONFIG: 500,
  DHCP_CONFLICT: 500,
  DHCP_MALFORMED: 500,
  DHCP_NO_INTERFACE: 500,
  TFTP_ACCESS_DENIED: 500,
  TFTP_BIND: 500,
  TFTP_CONFIG: 500,
  TFTP_MALFORMED: 500,
  TFTP_NOT_A_FILE: 500,
  TFTP_SOURCE_SHORT: 500,
  // HTTP service: the codes its answers carry.
  HTTP_BAD_REQUEST: 400,
  HTTP_BAD_PATH: 400,
  HTTP_UNAUTHORIZED: 401,
  /** An admin page session's write without its anti-CSRF header. */
  HTTP_FORBIDDEN: 403,
  HTTP_NOT_FOUND: 404,
  HTTP_CONFLICT: 409,
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  HTTP_RANGE_NOT_SATISFIABLE: 416,
  HTTP_INTERNAL: 500,
  HTTP_TOO_MANY_STREAMS: 503,
  HTTP_ARTIFACT_INVALID: 500,
  HTTP_LISTEN: 500,
  HTTP_NOT_STARTED: 500,
  // Command line.
  CLI_USAGE: 400,
  // pxed assets (download, verify, extract what the image catalog references).
  ASSET_INVALID: 500,
  ASSET_UNKNOWN: 400,
  /** The server misbehaved (status, lengths, redirects, timeouts) or the connection failed. */
  ASSET_DOWNLOAD: 500,
  /** The bytes do not have the SHA-256 the catalog or SHA256SUMS says. */
  ASSET_CHECKSUM: 500,
  ASSET_EXTRACT: 500,
  // The machine client (local registry or --server): the same codes in both modes. Never answered over HTTP.
  CLI_NOT_FOUND: 404,
  CLI_REFUSED: 409,
  CLI_UNREACHABLE: 500,
  CLI_UNAUTHORIZED: 500,
  // Orchestrator: post-install (a config value Ansible/nixos-rebuild must not get; a child that cannot start).
  ORCH_ANSIBLE_INVALID: 500,
  ORCH_ANSIBLE_UNSAFE: 500,
  ORCH_NIXOS_INVALID: 500,
  ORCH_NIXOS_SPAWN: 500,
  // Orchestrator (pxed provision): the daemon it talks to refused or failed.
  ORCH_API: 500,
  // Orchestrator: the cidata seed ISO could not be built (xorriso failed or missing).
  ORCH_SEED: 500,
  // pxed service install|uninstall.
  SERVICE_BAD_INPUT: 400,
  SERVICE_CONFLICT: 409,
  SERVICE_SYSTEMCTL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The HTTP status a code answers. */
export function httpStatus(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

export class PxedError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PxedError';
    this.code = code;
    this.details = details;
  }
}

export function isPxedError(err: unknown, code?: ErrorCode): err is PxedError {
  return err instanceof PxedError && (code === undefined || err.code === code);
}

/** A short, single-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof PxedError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
