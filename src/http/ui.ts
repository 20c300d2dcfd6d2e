// The small admin page at GET / (HTML) and /ui/app.js (its script). No framework, no build step, no inline script
// (the page is served with a CSP that forbids it). Data is only ever written with textContent, never innerHTML.
// The operator types the API token; it is kept in sessionStorage (gone when the tab closes) and sent as a bearer
// header. EventSource cannot send headers, so the live timeline reads the SSE stream through fetch().

export const UI_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const UI_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pxed</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #ddd; }
  .state { font-weight: 600; }
  .s-installed, .s-configured { color: #176e2b; } .s-failed, .s-stalled { color: #b00020; }
  .s-booting, .s-installing { color: #8a5a00; }
  #timeline { font: 12px/1.3 ui-monospace, monospace; max-height: 22em; overflow: auto; background: #f6f6f6; padding: 6px; }
  #status { color: #555; margin-left: 1em; }
  fieldset { margin: 1em 0; border: 1px solid #ccc; }
</style>
</head>
<body>
<h1>pxed</h1>
<form id="login"><label>API token <input id="token" type="password" autocomplete="off" size="40"></label>
<button type="submit">Use token</button><button type="button" id="logout">Forget token</button><span id="status"></span></form>
<h2>Machines</h2>
<table><thead><tr><th>MAC</th><th>Install entry</th><th>State</th><th>Mode</th><th>IP</th><th>Since</th><th></th></tr></thead>
<tbody id="machines"></tbody></table>
<fieldset><legend>Add machine</legend>
<form id="add"><label>MAC <input name="mac" required placeholder="52:54:00:12:34:56"></label>
<label>Install entry <input name="host" required></label>
<label>Mode <select name="installMode"><option>once</option><option>always</option></select></label>
<button type="submit">Add</button></form></fieldset>
<h2>Live timeline</h2>
<div id="timeline"></div>
<script src="/ui/app.js"></script>
</body>
</html>
`;

export const UI_JS = `'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const token = () => sessionStorage.getItem('pxed-token') || '';
  const status = (msg) => { $('status').textContent = msg; };
  let lastEventId = null;
  let streamAbort = null;

  async function api(method, path, body) {
    const headers = { authorization: 'Bearer ' + token() };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch('/api/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : await res.text();
    if (!res.ok) throw new Error((data && data.message) || res.statusText);
    return data;
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  // One list fetch in flight and at most one queued, at most one a second: a burst of state events (hundreds of
  // DISCOVERs a second) costs one fetch a second, not one each.
  let loading = null;
  let queued = false;
  function refresh() {
    if (loading) { queued = true; return loading; }
    loading = (async () => {
      try { await load(); }
      finally {
        await new Promise((r) => setTimeout(r, 1000));
        loading = null;
        if (queued) { queued = false; void refresh(); }
      }
    })();
    return loading;
  }

  async function load() {
    if (!token()) { status('enter the API token'); return; }
    try {
      const machines = await api('GET', '/machines?limit=500');
      if (!token()) return; // logged out while the fetch was in flight
      const tbody = $('machines');
      tbody.replaceChildren();
      for (const m of machines) {
        const tr = document.createElement('tr');
        cell(tr, m.mac); cell(tr, m.host); cell(tr, m.state, 'state s-' + m.state); cell(tr, m.installMode);
        cell(tr, m.ip); cell(tr, m.stateChangedAt);
        const td = cell(tr, '');
        const btn = document.createElement('button');
        btn.textContent = 'Reinstall';
        btn.onclick = async () => {
          try { await api('POST', '/machines/' + encodeURIComponent(m.mac) + '/reinstall', {}); await refresh(); }
          catch (e) { status('reinstall failed: ' + e.message); }
        };
        td.appendChild(btn);
        tbody.appendChild(tr);
      }
      status(machines.length + ' machine(s)');
    } catch (e) { status('error: ' + e.message); }
  }

  function addLine(ev) {
    const div = document.createElement('div');
    div.textContent = ev.time + '  ' + ev.mac + '  ' + ev.kind + '  ' + JSON.stringify(ev.detail);
    const tl = $('timeline');
    tl.appendChild(div);
    while (tl.childNodes.length > 500) tl.removeChild(tl.firstChild);
    tl.scrollTop = tl.scrollHeight;
  }

  // Reads text/event-stream through fetch so the bearer header can be sent; reconnects with Last-Event-ID.
  async function stream() {
    if (streamAbort) streamAbort.abort();
    if (!token()) return;
    const ctl = new AbortController();
    streamAbort = ctl;
    while (!ctl.signal.aborted) {
      try {
        const headers = { authorization: 'Bearer ' + token() };
        if (lastEventId !== null) headers['last-event-id'] = String(lastEventId);
        const res = await fetch('/api/v1/events/stream', { headers, signal: ctl.signal });
        if (!res.ok) { status('event stream: HTTP ' + res.status); break; }
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\\n\\n')) !== -1) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let data = '';
            for (const line of block.split('\\n')) {
              if (line.startsWith('id: ')) lastEventId = Number(line.slice(4));
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data) { const ev = JSON.parse(data); addLine(ev); if (ev.kind === 'state') void refresh(); }
          }
        }
      } catch (e) { if (ctl.signal.aborted) return; }
      await new Promise((r) => setTimeout(r, 3000));
    }
  }

  $('token').value = token();
  $('login').onsubmit = (e) => { e.preventDefault(); sessionStorage.setItem('pxed-token', $('token').value.trim()); void refresh(); void stream(); };
  $('logout').onclick = () => { queued = false; sessionStorage.removeItem('pxed-token'); $('token').value = ''; if (streamAbort) streamAbort.abort(); $('machines').replaceChildren(); status('token forgotten'); };
  $('add').onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try { await api('POST', '/machines', { mac: f.get('mac'), host: f.get('host'), installMode: f.get('installMode') }); e.target.reset(); await refresh(); }
    catch (err) { status('add failed: ' + err.message); }
  };
  void refresh();
  void stream();
})();
`;
