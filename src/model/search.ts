// Machine search, the same for the REST API (GET /machines?q=) and the local CLI (`pxed machines list --search`):
// a case-insensitive substring of the MAC (also without separators, so 5254.0012 finds 52:54:00:12:..), of the
// install entry, of the installed system's hostname (when the caller knows it), or of the IP.

export interface Searchable {
  mac: string;
  host: string | null;
  ip: string | null;
  hostname?: string | null;
}

export function machineMatcher(q: string): (m: Searchable) => boolean {
  const needle = q.trim().toLowerCase();
  const bare = needle.replace(/[^0-9a-f]/g, '');
  const macLike = bare.length >= 2 && /^[0-9a-f:.-]+$/.test(needle);
  return (m) =>
    m.mac.includes(needle) ||
    (macLike && m.mac.replace(/:/g, '').includes(bare)) ||
    (m.host ?? '').toLowerCase().includes(needle) ||
    (m.hostname ?? '').toLowerCase().includes(needle) ||
    (m.ip ?? '').includes(needle);
}
