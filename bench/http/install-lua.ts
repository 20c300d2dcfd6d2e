// wrk's Lua script for bench/http's install case (run.ts): wrk's two threads walk disjoint halves of the 'always'
// machines (even / odd indexes), each MAC once per run, the MAC computed from the index (a table of 40 000 strings is
// too big for one Lua chunk); done() prints wrk's tail percentiles. With `raw`, each response's own latency too.

/** The script for `machines` 'always' machines named 52:54:b1:xx:xx:xx by index. */
export function installLua(machines: number, raw: boolean): string {
  return [
    'local threads = 0',
    'function setup(thread)',
    '  thread:set("tid", threads)',
    '  threads = threads + 1',
    'end',
    'local i = 0',
    'request = function()',
    `  local n = (i * 2 + tid) % ${machines}`,
    '  i = i + 1',
    '  local path = string.format("/ipxe/52:54:b1:%02x:%02x:%02x?buildarch=x86_64&platform=efi", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)',
    '  return wrk.format("GET", path)',
    'end',
    ...(raw
      ? [
          // --raw: each response's own latency, uncorrected (wrk 4 adds coordinated-omission samples to the
          // histogram it reports), matched to its request by the MAC the install script carries (pxed.mac=).
          'local ffi = require("ffi")',
          'ffi.cdef[[ typedef struct { long s; long us; } pxed_tv; int gettimeofday(pxed_tv *tv, void *tz); ]]',
          'local tv = ffi.new("pxed_tv")',
          'local function now() ffi.C.gettimeofday(tv, nil); return tonumber(tv.s) * 1000 + tonumber(tv.us) / 1000 end',
          'local sent = {}',
          'lat, at = {}, {}',
          'local plain = request',
          'request = function() local r = plain(); sent[string.match(r, "/ipxe/([^?]+)")] = now(); return r end',
          'response = function(status, headers, body)',
          '  local mac = string.match(body, "pxed%.mac=(%S+)")',
          '  local t = mac and sent[mac]',
          '  if t then lat[#lat + 1] = now() - t; at[#at + 1] = t; sent[mac] = nil end',
          'end',
          'local all = {}',
          'local setup0 = setup',
          'setup = function(thread) setup0(thread); all[#all + 1] = thread end',
        ]
      : []),
    'done = function(summary, latency, requests)',
    ...(raw
      ? [
          '  local l, a = {}, {}',
          '  for _, t in ipairs(all) do local tl, ta = t:get("lat"), t:get("at"); for i, v in ipairs(tl) do l[#l + 1] = v; a[#a + 1] = ta[i] end end',
          '  local idx = {}',
          '  for i = 1, #l do idx[i] = i end',
          '  table.sort(idx, function(x, y) return l[x] < l[y] end)',
          '  local t0 = math.huge',
          '  for i = 1, #a do if a[i] < t0 then t0 = a[i] end end',
          '  local function p(q) return l[idx[math.max(1, math.floor(q / 100 * #idx))]] end',
          '  io.write(string.format("tail uncorrected (%d responses): p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f ms\\n", #idx, p(50), p(90), p(99), p(99.9), p(100)))',
          '  local top = {}',
          '  for k = #idx, math.max(1, #idx - 11), -1 do top[#top + 1] = string.format("%.0f ms at +%.0f ms", l[idx[k]], a[idx[k]] - t0) end',
          '  io.write("tail slowest: " .. table.concat(top, ", ") .. "\\n")',
        ]
      : []),
    '  for _, p in ipairs({ 90, 95, 98, 99, 99.5, 99.9 }) do io.write(string.format("tail p%g %.1f ms\\n", p, latency:percentile(p) / 1000)) end',
    '  io.write(string.format("tail max %.1f ms, connect errors %d, read %d, write %d, timeout %d\\n", latency.max / 1000, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))',
    'end',
    '',
  ].join('\n');
}
