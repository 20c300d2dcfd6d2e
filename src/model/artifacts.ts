// The one artifact table: what the admin API's preview route and `pxed render` can render, and the token route
// each stands for (family/name as the installer fetches it); null = the machine's iPXE script.

export const PREVIEW_ARTIFACTS = {
  ipxe: null,
  'user-data': { family: 'nocloud', name: 'user-data' },
  'meta-data': { family: 'nocloud', name: 'meta-data' },
  'nixos-install': { family: 'nixos', name: 'install.sh' },
  'nixos-config': { family: 'nixos', name: 'configuration.nix' },
  'nixos-host': { family: 'nixos', name: 'host.json' },
} as const;

export type PreviewArtifact = keyof typeof PREVIEW_ARTIFACTS;

export const PREVIEW_ARTIFACT_NAMES = Object.keys(PREVIEW_ARTIFACTS) as [PreviewArtifact, ...PreviewArtifact[]];

export function isPreviewArtifact(name: string): name is PreviewArtifact {
  return Object.hasOwn(PREVIEW_ARTIFACTS, name);
}
