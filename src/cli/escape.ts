// The one escaper for human CLI output. Text from the LAN (DHCP option 60, phone-home descriptions, hostnames) must
// not drive the operator's terminal: C0 controls, DEL and C1 controls (U+0080-U+009F, which include the 8-bit CSI
// U+009B) become visible \xHH escapes. JSON output is never passed through here: it stays exact.

const FIELD_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const TEXT_CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

const hex = (c: string): string => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** One value in a table cell or a `key: value` line: every control character escaped, newline and tab included. */
export function escapeField(s: string): string {
  return s.replace(FIELD_CONTROLS, hex);
}

/** A message of several lines: control characters escaped except the newline. */
export function escapeText(s: string): string {
  return s.replace(TEXT_CONTROLS, hex);
}
