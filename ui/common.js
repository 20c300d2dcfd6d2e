// Shared by the admin pages: API calls with the session's anti-CSRF header, element building (text only, never
// HTML), relative times, the live event stream. Every machine- or LAN-supplied string reaches the DOM through
// text nodes made by el() (control characters made visible by `visible`); nothing here parses HTML.

let csrf = null;

/** The machine states (src/model/machine.ts MACHINE_STATES; test/http/ui.test.ts checks they agree). */
export const STATES = ['discovered', 'registered', 'booting', 'installing', 'installed', 'post-installing', 'configured', 'failed', 'stalled'];

/**
 * Text with its control characters (C0 but newline and tab, DEL, C1) as visible \xNN escapes: the page's one escaper,
 * as src/cli/escape.ts is the terminal's. HTML needs none: text nodes are never parsed.
 */
export function visible(s) {
  return String(s).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The session's anti-CSRF value (kept in memory only); no session → the sign-in page. */
export async function startSession() {
  const res = await fetch('/ui/session', { credentials: 'same-origin' });
  if (!res.ok) {
    location.assign('/ui/signin.html');
    throw new Error('not signed in');
  }
  csrf = (await res.json()).csrf;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error;
    this.cause = body && body.cause;
  }
}

/** One /api/v1 call. Answers {data, headers}; a 401 (session expired) goes back to the sign-in page. */
export async function api(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['x-pxed-csrf'] = csrf || '';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch('/api/v1' + path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (res.headers.get('content-type') || '').startsWith('application/json') ? await res.json() : await res.text();
  if (res.status === 401) {
    location.assign('/ui/signin.html');
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, headers: res.headers };
}

export async function signOut() {
  await fetch('/ui/session', { method: 'DELETE', headers: { 'x-pxed-csrf': csrf || '' }, credentials: 'same-origin' });
  location.assign('/ui/signin.html');
}

/** An element with attributes and children; string children become text nodes. */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(visible(c)) : c);
  }
  return e;
}

/** "3 min ago", "2 h ago", "just now". */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.round((now - t) / 1000);
  if (s < 10) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A relative time with the absolute one on hover; `refreshTimes` keeps them current. */
export function timeEl(iso) {
  return el('time', { class: 'ago', datetime: iso, title: new Date(iso).toLocaleString() }, ago(iso));
}

export function refreshTimes() {
  for (const t of document.querySelectorAll('time.ago')) t.textContent = ago(t.getAttribute('datetime'));
}

export function stateEl(state) {
  return el('span', { class: `state s-${state}` }, state);
}

export function showError(target, err) {
  target.textContent = err instanceof Error ? err.message : String(err);
}

/**
 * Live events over SSE (the session cookie goes with it; EventSource resumes with Last-Event-ID by itself).
 * `onEvent` gets each parsed event; `onStatus` 'live' | 'reconnecting'.
 */
export function liveEvents(onEvent, onStatus) {
  const es = new EventSource('/api/v1/events/stream', { withCredentials: true });
  es.onopen = () => onStatus && onStatus('live');
  es.onerror = () => onStatus && onStatus('reconnecting');
  es.onmessage = (m) => {
    try {
      onEvent(JSON.parse(m.data));
    } catch {
      // A malformed line is skipped; the next one may be fine.
    }
  };
  return es;
}

/** Runs `fn` with at most one call in flight; calls made meanwhile fold into one more run after it. */
export function coalesced(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

export function signOutButton() {
  return el('button', { type: 'button', id: 'signout', class: 'link', onclick: () => void signOut() }, 'Sign out');
}

/** `<option>`s for the configured install entries. */
export function entryOptions(entries, selected) {
  return entries.map((e) => el('option', { value: e.name, selected: e.name === selected }, `${e.name} (${e.os}${e.version ? ' ' + e.version : ''})`));
}
