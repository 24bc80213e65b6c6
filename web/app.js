// codex32 dashboard: polls the API for bots, containers and usage, follows logs and events over SSE.
// Every call but the page itself carries the token (EventSource cannot send it, so SSE is read through fetch).
const token = (() => {
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) localStorage.setItem('codex32-token', decodeURIComponent(m[1]));
  return localStorage.getItem('codex32-token');
})();
document.getElementById('auth').textContent = token ? 'token set' : 'no token: open the URL with #token=… printed by codex32 serve';
const auth = () => (token ? { authorization: `Bearer ${token}` } : {});

const history = new Map(); // container id -> { cpu: [], mem: [] }
let logSource; // AbortController of the log being followed

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') e.onclick = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
};

const uptime = (ms) => {
  if (!ms) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
};
const mib = (b) => (b ? `${(b / 1024 / 1024).toFixed(1)} MiB` : '-');

function spark(values) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 90 22');
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 90},${21 - (v / max) * 20}`).join(' ');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', pts || '0,21 90,21');
  svg.append(line);
  return svg;
}

async function api(method, path) {
  const r = await fetch(path, { method, headers: auth() });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    alert(`${method} ${path}: ${body.message ?? r.status}`);
  }
  return r;
}

function usageCells(id) {
  const h = history.get(id);
  const last = h?.mem.at(-1);
  return [
    el('td', {}, spark(h?.cpu ?? []), ` ${(h?.cpu.at(-1) ?? 0).toFixed(0)}%`),
    el('td', {}, spark(h?.mem ?? []), ` ${mib(last)}`),
  ];
}

/** Follow a server-sent event stream with the token; calls onEvent(type, data) per event. */
async function sse(path, onEvent, signal) {
  const r = await fetch(path, { headers: { ...auth(), accept: 'text/event-stream' }, signal });
  if (!r.ok || !r.body) return;
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) onEvent(type, JSON.parse(data));
    }
  }
}

function showLogs(label, path) {
  logSource?.abort();
  const pre = document.getElementById('log');
  pre.textContent = '';
  document.getElementById('log-target').textContent = label;
  logSource = new AbortController();
  sse(`${path}?follow=1&tail=100`, (_type, data) => {
    pre.textContent += data.line + '\n';
    pre.scrollTop = pre.scrollHeight;
  }, logSource.signal).catch(() => undefined);
}

/** The host's totals in the bar above the tables. */
function showHost(h) {
  if (!h) return;
  const bar = (pct) => el('span', { class: `bar${pct >= 90 ? ' hot' : ''}` }, el('i', { style: `width:${Math.min(100, pct).toFixed(0)}%` }));
  const memPct = (h.memUsed / h.memTotal) * 100;
  document.querySelector('[data-host="cpu"]').replaceChildren(`CPU ${h.cpuPercent.toFixed(0)}% of ${h.cpus} `, bar(h.cpuPercent));
  document.querySelector('[data-host="mem"]').replaceChildren(`Memory ${mib(h.memUsed)} / ${mib(h.memTotal)} `, bar(memPct));
  document.querySelector('[data-host="load"]').textContent = `load ${h.load.join(' ')}`;
}

/** What needs a look: a bot that gave up, one in a crash loop, one restarted for its memory. */
function alertsFor(bots) {
  const out = [];
  for (const b of bots) {
    const why = b.restartReasons ?? {};
    const policy = why.policy ?? b.restarts;
    if (b.status === 'errored') out.push(['bad', 'gave-up', `${b.name} gave up after ${b.restarts} restarts (exit ${b.exitCode ?? '?'}): fix it, then Start`]);
    else if (b.status === 'restarting' || (policy >= 3 && b.status !== 'exited')) out.push(['warn', 'crash-loop', `${b.name} is crash-looping: ${policy} restarts after exits`]);
    if (why.memory_restart) out.push(['warn', 'memory', `${b.name} was restarted ${why.memory_restart}× for passing its memory_restart`]);
  }
  return out;
}

function showAlerts(bots) {
  const list = document.getElementById('alerts');
  const alerts = alertsFor(bots);
  list.replaceChildren(...alerts.map(([level, kind, text]) => el('li', { class: level, dataset: { alert: kind } }, text)));
  list.hidden = alerts.length === 0;
}

/** Each cell carries its column's name, shown beside it where the table is laid out as cards (a phone). */
function labelCells(table) {
  const names = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
  for (const tr of table.querySelectorAll('tbody tr')) [...tr.children].forEach((td, i) => (td.dataset.label = names[i] ?? ''));
}

async function refresh() {
  const [bots, containers, stats, host] = await Promise.all([
    fetch('/api/bots', { headers: auth() }).then((r) => (r.ok ? r.json() : [])),
    fetch('/api/containers', { headers: auth() }).then((r) => (r.ok ? r.json() : [])),
    fetch('/api/stats', { headers: auth() }).then((r) => (r.ok ? r.json() : [])),
    fetch('/api/host', { headers: auth() }).then((r) => (r.ok ? r.json() : undefined)),
  ]);
  showHost(host);
  showAlerts(bots);
  for (const s of stats) {
    const h = history.get(s.id) ?? { cpu: [], mem: [] };
    h.cpu.push(s.cpuPercent);
    h.mem.push(s.memory);
    h.cpu = h.cpu.slice(-40);
    h.mem = h.mem.slice(-40);
    history.set(s.id, h);
  }
  const now = Date.now();
  const botBody = document.querySelector('#bots tbody');
  botBody.replaceChildren(...bots.map((b) => el('tr', { dataset: { bot: b.name } },
    el('td', {}, b.name),
    el('td', { class: 'muted' }, b.type),
    el('td', { class: `status ${b.status}`, dataset: { status: b.status } }, b.status),
    el('td', {}, b.status === 'running' && b.startedAt ? uptime(now - b.startedAt) : '-'),
    el('td', { title: Object.entries(b.restartReasons ?? {}).map(([k, n]) => `${k} ${n}`).join(', ') }, b.restarts),
    ...usageCells(b.containerId ?? `local-${b.name}`),
    el('td', {}, b.url ? el('a', { href: b.url, target: '_blank' }, b.url) : '-'),
    el('td', {},
      el('button', { dataset: { action: 'run' }, onclick: () => api('POST', `/api/bots/${b.name}/run`).then(refresh) }, 'Start'),
      el('button', { dataset: { action: 'stop' }, onclick: () => api('POST', `/api/bots/${b.name}/stop`).then(refresh) }, 'Stop'),
      el('button', { dataset: { action: 'restart' }, onclick: () => api('POST', `/api/bots/${b.name}/restart`).then(refresh) }, 'Restart'),
      el('button', { onclick: () => showLogs(`bot ${b.name}`, `/api/bots/${b.name}/logs`) }, 'Logs')),
  )));
  document.getElementById('no-bots').hidden = bots.length > 0;
  labelCells(document.getElementById('bots'));
  const ctrBody = document.querySelector('#containers tbody');
  ctrBody.replaceChildren(...containers.map((c) => el('tr', { dataset: { container: c.name } },
    el('td', {}, c.name),
    el('td', { class: 'muted' }, c.image.length > 32 ? '…' + c.image.slice(-31) : c.image),
    el('td', {}, c.isolation),
    el('td', { class: `status ${c.status}`, dataset: { status: c.status } }, c.status),
    el('td', {}, c.status === 'running' && c.startedAt ? uptime(now - c.startedAt) : '-'),
    el('td', {}, c.restarts),
    ...usageCells(c.id),
    el('td', {}, c.url ? el('a', { href: c.url, target: '_blank' }, c.url) : '-'),
    el('td', {},
      el('button', { dataset: { action: 'start' }, onclick: () => api('POST', `/api/containers/${c.id}/start`).then(refresh) }, 'Start'),
      el('button', { dataset: { action: 'stop' }, onclick: () => api('POST', `/api/containers/${c.id}/stop`).then(refresh) }, 'Stop'),
      el('button', { dataset: { action: 'restart' }, onclick: () => api('POST', `/api/containers/${c.id}/restart`).then(refresh) }, 'Restart'),
      el('button', { onclick: () => showLogs(c.name, `/api/containers/${c.id}/logs`) }, 'Logs')),
  )));
  labelCells(document.getElementById('containers'));
}

sse('/api/events?follow=1', (_type, ev) => {
  const attrs = Object.entries(ev.attrs).map(([k, v]) => `${k}=${v}`).join(' ');
  document.getElementById('events').prepend(el('li', {}, `${new Date(ev.time).toLocaleTimeString()} ${ev.type} ${ev.name} ${attrs}`));
  refresh();
}).catch(() => undefined);

refresh();
setInterval(refresh, 2000);
