// What every value pxed writes as one word of a boot script must be, whichever script carries it (iPXE: ipxe.ts,
// GRUB: grub.ts): non-empty, bounded, one line of printable ASCII without whitespace, so it stays one kernel
// command-line argument. Each script language adds its own rules on top.

/** Why `value` cannot be one boot-script word, or null when it can (the rules shared by every script language). */
export function unsafeWordReason(value: string): string | null {
  if (value.length === 0) return 'it is empty';
  if (value.length > 4096) return 'it is longer than 4096 characters';
  if (/[\r\n]/.test(value)) return 'it contains a line break';
  if (/[\x00-\x1f\x7f]/.test(value)) return 'it contains a control character';
  if (/[^\x20-\x7e]/.test(value)) return 'it contains non-ASCII characters';
  if (/\s/.test(value)) return 'it contains whitespace';
  return null;
}

/** A value for an error message: JSON-quoted, cut at 120 characters. */
export function describeValue(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
}
