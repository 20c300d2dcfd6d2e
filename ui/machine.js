// One machine: identity, state and how long in it, the stage bar with the current or stalled stage, the hint,
// the timeline as sentences grouped by boot, and the rendered artifacts with their validation result. Everything
// comes from GET /api/v1/machines/:mac/page (the server runs the one stage function); the event stream triggers a
// refetch when this machine's events arrive (one fetch in flight at most).
import { ago, api, coalesced, el, entryOptions, liveEvents, refreshTimes, showError, signOutButton, startSession, stateEl, timeEl } from './common.js';

const $ = (id) => document.getElementById(id);
const mac = new URLSearchParams(location.search).get('mac') || '';
let entries = [];
let lastEventId = null;

function identity(m, entry) {
  const items = [
    ['MAC', m.mac], ['UUID', m.uuid], ['Arch', m.arch === null ? null : String(m.arch)], ['Firmware', m.firmware],
    ['Vendor class', m.vendorClass], ['IP', m.ip], ['Install entry', m.host],
    ['OS', entry ? `${entry.os}${entry.version ? ' ' + entry.version : ''}` : null], ['Install mode', m.installMode],
    ['Registered', null],
  ];
  const out = [];
  for (const [k, v] of items) {
    if (k === 'Registered') {
      out.push(el('dt', {}, 'Known since'), el('dd', {}, timeEl(m.createdAt)));
      continue;
    }
    out.push(el('dt', {}, k), el('dd', { class: `id-${k.toLowerCase().replace(/\W+/g, '-')}` }, v === null || v === undefined ? '—' : String(v)));
  }
  return out;
}

function actions(m) {
  const enc = encodeURIComponent(m.mac);
  const run = (question, fn, after) => async () => {
    if (question && !window.confirm(question)) return;
    try {
      await fn();
      if (after) after();
      else await load();
    } catch (err) {
      showError($('error'), err);
    }
  };
  if (m.state === 'discovered') {
    const pick = el('select', { 'aria-label': 'Install entry', class: 'adopt-entry' }, ...entryOptions(entries));
    const force = el('input', { type: 'checkbox', 'aria-label': 'force' });
    const adopt = () => api('POST', '/machines', { mac: m.mac, host: pick.value, ...(force.checked ? { force: true } : {}) });
    return [
      pick,
      el('label', { class: 'check', title: "Adopt even if the entry's configuration names other MACs" }, force, 'force'),
      el('button', { type: 'button', class: 'adopt', onclick: run(null, adopt) }, 'Adopt'),
    ];
  }
  return [
    el('button', { type: 'button', class: 'reinstall', onclick: run(`Reinstall ${m.mac}?`, () => api('POST', `/machines/${enc}/reinstall`, {})) }, 'Reinstall'),
    el('button', {
      type: 'button', class: 'delete danger',
      onclick: run(`Delete ${m.mac} with its timeline?`, () => api('DELETE', `/machines/${enc}`), () => location.assign('/ui/')),
    }, 'Delete'),
  ];
}

function timeline(view) {
  const boots = view.boots.slice().reverse();
  return boots.map((b, i) => el('section', { class: 'boot' },
    el('h4', {}, `Boot ${boots.length - i} — `, timeEl(b.startedAt)),
    el('ol', { class: 'lines' }, ...b.lines.map((l) => el('li', { class: `ev ev-${l.kind}`, 'data-id': l.id },
      el('time', { datetime: l.time, title: new Date(l.time).toLocaleString() }, new Date(l.time).toLocaleTimeString()),
      ' ', el('span', { class: 'text' }, l.text))))));
}

function previews(list) {
  if (list.length === 0) return [el('p', { class: 'muted' }, 'Nothing to render for this machine.')];
  return list.map((p) => el('details', { class: 'preview' },
    el('summary', {}, p.artifact, ' ', el('span', { class: p.ok ? 'valid' : 'invalid' }, p.ok ? '✓ valid' : `✗ invalid: ${p.error}`)),
    p.body !== undefined ? el('pre', {}, p.body + (p.truncated ? '\n… (cut)' : '')) : null));
}

const load = coalesced(async () => {
  try {
    const { data } = await api('GET', `/machines/${encodeURIComponent(mac)}/page`);
    const { machine: m, view, entry } = data;
    lastEventId = data.lastEventId;
    document.title = `pxed: ${m.mac}`;
    $('title').textContent = m.mac + (m.host ? ` — ${m.host}` : '');
    const since = ago(m.stateChangedAt);
    const forHow = since === 'just now' || since === '' ? ' since ' : ` for ${since.replace(' ago', '')}, since `;
    $('state-line').replaceChildren(stateEl(m.state), forHow, el('time', { datetime: m.stateChangedAt }, new Date(m.stateChangedAt).toLocaleString()));
    $('stages').replaceChildren(...view.bar.map((s) => el('li', { class: `stage st-${s.status}`, 'data-stage': s.stage }, s.label)));
    $('stages').dataset.status = view.status;
    $('hint').hidden = view.hint === null;
    $('hint').textContent = view.hint || '';
    $('actions').replaceChildren(...actions(m));
    $('identity').replaceChildren(...identity(m, entry));
    $('timeline').replaceChildren(...timeline(view));
    $('previews').replaceChildren(...previews(data.previews));
    $('error').textContent = '';
  } catch (err) {
    showError($('error'), err);
  }
});

async function main() {
  await startSession();
  $('signout-slot').append(signOutButton());
  entries = (await api('GET', '/config/entries')).data;
  await load();
  liveEvents((ev) => {
    if (ev.mac === mac && (lastEventId === null || ev.id > lastEventId)) void load();
  }, (s) => { $('live').textContent = s === 'live' ? '● live' : '○ reconnecting'; });
  setInterval(refreshTimes, 15_000);
}

void main();
