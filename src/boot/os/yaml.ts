// The one YAML serialiser for documents read by cloud-init, Subiquity and netplan. Those read YAML 1.1 with
// PyYAML, where plain scalars like 52:54:00:12:34:01 (sexagesimal int), yes/on/y (bool), 0755 (octal), `=` and
// `<<` do not mean the string pxed wrote. So every string is emitted plain only when it is obviously a string in
// both YAML 1.1 and 1.2; everything else is double-quoted (multi-line ASCII text becomes a literal block).

import YAML from 'yaml';

/** Plain-safe: starts with a letter, `_` or `/`, then only characters without YAML meaning mid-scalar. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@%+=-]*$/;
/** YAML 1.1 booleans and nulls that PyYAML resolves to non-strings. */
const RESOLVES_TO_NON_STRING = /^(y|yes|n|no|true|false|on|off|null)$/i;
/** Literal blocks only for printable ASCII lines without trailing blanks (anything else is double-quoted). */
const BLOCK_OK = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)(?:\n(?:[\x20-\x7e]*[\x21-\x7e])?)*$/;

function styleFor(v: string): 'PLAIN' | 'QUOTE_DOUBLE' | 'BLOCK_LITERAL' {
  if (v.includes('\n')) return BLOCK_OK.test(v) && !v.endsWith('\n') ? 'BLOCK_LITERAL' : 'QUOTE_DOUBLE';
  return PLAIN.test(v) && !RESOLVES_TO_NON_STRING.test(v) ? 'PLAIN' : 'QUOTE_DOUBLE';
}

/** Serialises a JSON-like value as block-style YAML that PyYAML (1.1) and `yaml` (1.2) read back identically. */
export function toYaml(value: unknown): string {
  const doc = new YAML.Document(value, { version: '1.1' });
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') node.type = styleFor(node.value);
    },
  });
  // `yaml` leaves these raw inside double quotes, but PyYAML refuses C1 controls in a stream and reads NEL, LS, PS
  // as line breaks. Styling above puts every non-ASCII string in double quotes, where a \uXXXX escape is valid.
  return doc
    .toString({ lineWidth: 0, minContentWidth: 0, directives: false })
    .replace(/[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Parses YAML the way cloud-init does (YAML 1.1 rules). */
export function parseYaml11(text: string): unknown {
  return YAML.parse(text, { version: '1.1' });
}
