// The boot-policy seam. DHCP, TFTP and HTTP ask these questions and nothing else; they never read SQLite or config.
// `null` always means "stay silent for this client" (pixiecore's BootSpec()==nil). Each protocol owns its port
// (src/dhcp/ports.ts, src/tftp/ports.ts, src/http/types.ts) and the client vocabulary lives in src/model/client.ts;
// BootPolicy satisfies the ports structurally. This file only re-exports them for the policy's own files.

export type { BootClient, Firmware } from '../model/client.js';
export type {
  AddressObservation,
  DhcpBootAnswer,
  DhcpBootPort as DhcpBootPolicy,
  DhcpBootQuery,
  DhcpStage,
  UefiStrategy,
} from '../dhcp/ports.js';
export type {
  TftpClientRef,
  TftpOpenResult,
  TftpPolicyPort as TftpBootPolicy,
  TftpTransferReport,
} from '../tftp/ports.js';

// ---- HTTP-facing part: the port src/http owns (src/http/types.ts); re-exported for the policy's files.
export type { HttpBootPolicy, HttpDocument, IpxeScriptRequest, PhoneHomeRequest, TokenArtifactRequest } from '../http/types.js';
