// The machine list: server-side paging, state filter and search (GET /api/v1/machines?q&state&limit&offset, total
// in X-Total-Count), actions by state, the add form, and rows patched live from the event stream with at most one
// list fetch in flight.
import {
  STATES, api, coalesced, el, entryOptions, liveEvents, refreshTimes, showError, signOutButton, startSession, stateEl, timeEl,
} from './common.js';

const PAGE = 50;
const $ = (id) => document.getElementById(id);
const tbody = $('machines').querySelector('tbody');
let entries = [];
let offset = 0;
let total = 0;
/** mac → row, for live patches. */
const rows = new Map();

const entryOf = (name) => entries.find((e) => e.name === name) || null;

function confirmThen(question, fn) {
  return async () => {
    if (!window.confirm(question)) return;
    try {
      await fn();
      await refresh();
    } catch (err) {
      showError($('error'), err);
    }
  };
}

function actionsFor(m) {
  const mac = encodeURIComponent(m.mac);
  if (m.state === 'discovered') {
    const pick = el('select', { 'aria-label': 'Install entry', class: 'adopt-entry' }, ...entryOptions(entries));
    const force = el('input', { type: 'checkbox', 'aria-label': 'force' });
    return [
      pick,
      el('label', { class: 'check', title: "Adopt even if the entry's configuration names other MACs" }, force, 'force'),
      el('button', {
        type: 'button', class: 'adopt',
        onclick: confirmThen(`Adopt ${m.mac} as ${pick.value}?`, () => api('POST', '/machines', { mac: m.mac, host: pick.value, ...(force.checked ? { force: true } : {}) })),
      }, 'Adopt'),
    ];
  }
  return [
    el('button', { type: 'button', class: 'reinstall', onclick: confirmThen(`Reinstall ${m.mac}? Its next netboot installs it again.`, () => api('POST', `/machines/${mac}/reinstall`, {})) }, 'Reinstall'),
    el('button', { type: 'button', class: 'edit', onclick: () => editRow(m) }, 'Edit'),
    el('button', { type: 'button', class: 'delete danger', onclick: confirmThen(`Delete ${m.mac} with its timeline?`, () => api('DELETE', `/machines/${mac}`)) }, 'Delete'),
  ];
}

function editRow(m) {
  const tr = rows.get(m.mac);
  if (!tr || tr.nextSibling?.classList?.contains('edit-row')) return;
  const host = el('select', { name: 'host' }, ...entryOptions(entries, m.host));
  const mode = el('select', { name: 'installMode' }, ...['once', 'always'].map((v) => el('option', { selected: v === m.installMode }, v)));
  const force = el('input', { type: 'checkbox', name: 'force' });
  const msg = el('span', { class: 'error' });
  const form = el('form', {
    class: 'row',
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('PATCH', `/machines/${encodeURIComponent(m.mac)}`, { host: host.value, installMode: mode.value, ...(force.checked ? { force: true } : {}) });
        await refresh();
      } catch (err) {
        showError(msg, err);
      }
    },
  }, el('label', {}, 'Install entry ', host), el('label', {}, 'Mode ', mode),
  el('label', { class: 'check', title: "Save even if the entry's configuration names other MACs" }, force, 'force'), el('button', { type: 'submit' }, 'Save'),
  el('button', { type: 'button', onclick: () => editTr.remove() }, 'Cancel'), msg);
  const editTr = el('tr', { class: 'edit-row' }, el('td', { colspan: 10 }, form));
  tr.after(editTr);
}

function td(label, ...children) {
  return el('td', { 'data-label': label }, ...children);
}

function row(m) {
  const entry = entryOf(m.host);
  const fw = [m.arch !== null ? `arch ${m.arch}` : null, m.firmware].filter(Boolean).join(' / ');
  return el('tr', { 'data-mac': m.mac },
    td('MAC', el('a', { href: `/ui/machine.html?mac=${encodeURIComponent(m.mac)}`, class: 'mac' }, m.mac)),
    td('Hostname', entry ? entry.hostname || '' : ''),
    td('Install entry', m.host || '—'),
    td('OS', entry ? `${entry.os}${entry.version ? ' ' + entry.version : ''}` : ''),
    td('Arch/firmware', fw),
    td('State', stateEl(m.state)),
    td('IP', m.ip || ''),
    td('Last event', el('span', { class: 'last-event' }, `state → ${m.state}`)),
    td('Since', el('span', { class: 'since' }, timeEl(m.stateChangedAt))),
    td('Actions', el('span', { class: 'actions' }, ...actionsFor(m))));
}

const refresh = coalesced(async () => {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  const q = $('q').value.trim();
  if (q) params.set('q', q);
  if ($('state').value) params.set('state', $('state').value);
  try {
    const { data, headers } = await api('GET', `/machines?${params}`);
    total = Number(headers.get('x-total-count') || data.length);
    rows.clear();
    tbody.replaceChildren(...data.map((m) => {
      const tr = row(m);
      rows.set(m.mac, tr);
      return tr;
    }));
    $('pageinfo').textContent = total === 0 ? 'no machines' : `${offset + 1}–${offset + data.length} of ${total}`;
    $('prev').disabled = offset === 0;
    $('next').disabled = offset + data.length >= total;
    $('error').textContent = '';
  } catch (err) {
    showError($('error'), err);
  }
});

/** A live event: patch the row in place (state, since, last event); unknown MACs or state filters refetch. */
function onEvent(ev) {
  const tr = rows.get(ev.mac);
  if (!tr) {
    if (ev.kind === 'state' || ev.kind === 'discovered') void refresh();
    return;
  }
  tr.querySelector('.last-event').textContent = ev.kind;
  if (ev.kind === 'state') {
    if ($('state').value && ev.detail.to !== $('state').value) {
      void refresh();
      return;
    }
    const cell = tr.querySelector('.state');
    cell.replaceWith(stateEl(String(ev.detail.to)));
    tr.querySelector('.since').replaceChildren(timeEl(ev.time));
    // Actions depend on the state (adopt vs reinstall/edit/delete): fetch this one machine and swap its row.
    void api('GET', `/machines/${encodeURIComponent(ev.mac)}`).then(({ data }) => {
      const cur = rows.get(data.mac);
      if (!cur) return;
      const fresh = row(data);
      fresh.querySelector('.last-event').textContent = ev.kind;
      cur.replaceWith(fresh);
      rows.set(data.mac, fresh);
    }, () => undefined);
  }
}

async function main() {
  await startSession();
  $('signout-slot').append(signOutButton());
  for (const s of STATES) $('state').append(el('option', { value: s }, s));
  $('legend').append(...STATES.map((s) => stateEl(s)));
  entries = (await api('GET', '/config/entries')).data;
  $('add').elements.host.append(...entryOptions(entries));
  let typing = null;
  $('q').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; void refresh(); }, 250);
  });
  $('filter').addEventListener('submit', (e) => e.preventDefault());
  $('state').addEventListener('change', () => { offset = 0; void refresh(); });
  $('prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); void refresh(); });
  $('next').addEventListener('click', () => { offset += PAGE; void refresh(); });
  $('add').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target.elements;
    try {
      await api('POST', '/machines', { mac: f.mac.value.trim(), host: f.host.value, installMode: f.installMode.value, ...(f.force.checked ? { force: true } : {}) });
      e.target.reset();
      $('add-error').textContent = '';
      await refresh();
    } catch (err) {
      showError($('add-error'), err);
    }
  });
  await refresh();
  liveEvents(onEvent, (s) => { $('live').textContent = s === 'live' ? '● live' : '○ reconnecting'; });
  setInterval(refreshTimes, 15_000);
}

void main();
