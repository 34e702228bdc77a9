// The page of `sparsegraph serve`: renders what /api/graph returns, follows /api/events (server-sent
// events) and asks /api/instance when an instance is clicked. Plain browser JavaScript, no build step:
// the only library is dagre (the layout), served from node_modules. Every request carries the token.
'use strict';

const TOKEN = new URLSearchParams(location.search).get('token') ?? '';
const api = (path, params = {}) => `${path}?${new URLSearchParams({ ...params, token: TOKEN })}`;
const COLOURS = { pending: '#d9dde3', queued: '#a7c7f2', running: '#f5b942', cached: '#52b36b', failed: '#e0524a' };
/** Groups with more instances than this start collapsed to their counts (a 5,000-instance sweep stays usable). */
const COLLAPSE_ABOVE = 48;
const CHIP_W = 104;
const CHIP_H = 18;
const GAP = 3;

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
};
const svgEl = (tag, attrs = {}) => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

const model = {
  graph: null,
  states: new Map(),
  progress: {},
  errors: {},
  chips: new Map(), // instance id -> element
  groupOf: new Map(), // instance id -> group
  groups: new Map(), // node id -> { data, element, expanded }
  selected: null,
  scale: 1,
};

function coordsLabel(inst, group) {
  const entries = Object.entries(inst.coords);
  return entries.length === 0 ? group.node : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

function groupSize(g, expanded) {
  const n = g.instances.length;
  const head = 50;
  if (!expanded) return { width: 250, height: head + 36, cols: 0 };
  const cols = n <= 2 ? n : Math.min(6, Math.max(2, Math.ceil(Math.sqrt(n / 1.5))));
  const rows = Math.ceil(n / cols);
  const extra = n > COLLAPSE_ABOVE ? 26 : 0;
  return { width: Math.max(180, cols * (CHIP_W + GAP) + 16), height: head + rows * (CHIP_H + GAP) + 12 + extra, cols };
}

function buildGroups() {
  const host = document.getElementById('groups');
  host.textContent = '';
  for (const g of model.graph.groups) {
    const expanded = g.instances.length <= COLLAPSE_ABOVE;
    const box = el('div', { class: 'group', 'data-node': g.node });
    const count = el('span', { class: 'count' });
    box.append(el('h3', {}, el('span', { text: g.node }), el('span', { class: 'kind', text: g.kind }), count));
    const stack = el('div', { class: 'stack' });
    box.append(stack);
    const summary = el('div', { class: 'summary' });
    const chips = el('div', { class: 'chips' });
    for (const inst of g.instances) {
      const chip = el('div', { class: 'inst', 'data-instance': inst.id, 'data-state': 'pending', title: inst.id, text: coordsLabel(inst, g) });
      chip.addEventListener('click', () => select(inst.id));
      chips.append(chip);
      model.chips.set(inst.id, chip);
      model.groupOf.set(inst.id, g.node);
    }
    box.append(summary, chips);
    const entry = { data: g, element: box, count, stack, summary, chips, expanded };
    if (g.instances.length > COLLAPSE_ABOVE) {
      const toggle = el('button', { class: 'toggle', text: 'show instances' });
      toggle.addEventListener('click', () => {
        entry.expanded = !entry.expanded;
        toggle.textContent = entry.expanded ? 'collapse' : 'show instances';
        layout();
      });
      box.append(toggle);
    }
    model.groups.set(g.node, entry);
    host.append(box);
  }
}

function layout() {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 56, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const [node, entry] of model.groups) {
    const size = groupSize(entry.data, entry.expanded);
    entry.size = size;
    g.setNode(node, { width: size.width, height: size.height });
  }
  for (const [node, entry] of model.groups) for (const u of entry.data.upstream) if (model.groups.has(u)) g.setEdge(u, node);
  dagre.layout(g);
  for (const [node, entry] of model.groups) {
    const n = g.node(node);
    const box = entry.element;
    box.style.left = `${n.x - n.width / 2}px`;
    box.style.top = `${n.y - n.height / 2}px`;
    box.style.width = `${n.width}px`;
    box.style.height = `${n.height}px`;
    box.classList.toggle('collapsed', !entry.expanded);
    if (entry.expanded) entry.chips.style.gridTemplateColumns = `repeat(${entry.size.cols}, ${CHIP_W}px)`;
  }
  const svg = document.getElementById('edges');
  svg.textContent = '';
  const { width, height } = g.graph();
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  const stage = document.getElementById('stage');
  stage.style.width = `${width}px`;
  stage.style.height = `${height}px`;
  for (const e of g.edges()) {
    const pts = g.edge(e).points;
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    svg.append(svgEl('path', { d }));
    const a = pts[pts.length - 1];
    const b = pts[pts.length - 2] ?? pts[0];
    const ang = Math.atan2(a.y - b.y, a.x - b.x);
    const tip = (r, da) => `${(a.x - r * Math.cos(ang + da)).toFixed(1)},${(a.y - r * Math.sin(ang + da)).toFixed(1)}`;
    svg.append(svgEl('polygon', { points: `${a.x},${a.y} ${tip(7, 0.4)} ${tip(7, -0.4)}` }));
  }
}

function setScale(s) {
  model.scale = Math.min(2, Math.max(0.15, s));
  document.getElementById('stage').style.transform = `scale(${model.scale})`;
}

function fit() {
  const canvas = document.getElementById('canvas');
  const stage = document.getElementById('stage');
  const w = parseFloat(stage.style.width) || 1;
  const h = parseFloat(stage.style.height) || 1;
  setScale(Math.min(1, (canvas.clientWidth - 8) / w, (canvas.clientHeight - 8) / h));
}

// ---------------------------------------------------------------------------------------- live updates

function applyStates(states) {
  const touched = new Set();
  for (const [id, state] of Object.entries(states)) {
    model.states.set(id, state);
    const chip = model.chips.get(id);
    if (chip) chip.dataset.state = state;
    touched.add(model.groupOf.get(id));
    if (model.selected === id) select(id, true);
  }
  for (const node of touched) if (node) refreshGroup(node);
  refreshFigures();
}

function refreshGroup(node) {
  const entry = model.groups.get(node);
  if (!entry) return;
  const counts = { pending: 0, queued: 0, running: 0, cached: 0, failed: 0 };
  for (const inst of entry.data.instances) counts[model.states.get(inst.id) ?? 'pending']++;
  const n = entry.data.instances.length;
  entry.count.textContent = `${counts.cached}/${n}`;
  entry.stack.textContent = '';
  for (const s of ['cached', 'running', 'failed', 'queued']) {
    if (counts[s] === 0) continue;
    const part = el('span');
    part.style.width = `${(100 * counts[s]) / n}%`;
    part.style.background = COLOURS[s];
    entry.stack.append(part);
  }
  entry.summary.textContent = Object.entries(counts).filter(([, c]) => c > 0).map(([s, c]) => `${c} ${s}`).join(' · ');
  entry.element.classList.toggle('active', counts.running > 0);
  entry.element.dataset.counts = JSON.stringify(counts);
}

function applyCounts(counts) {
  const legend = document.getElementById('legend');
  legend.textContent = '';
  let total = 0;
  for (const s of model.graph.states) total += counts[s] ?? 0;
  for (const s of model.graph.states) {
    const sw = el('span', { class: 'swatch' });
    sw.style.background = COLOURS[s];
    legend.append(el('li', { 'data-legend': s }, sw, el('span', { text: `${s} ${counts[s] ?? 0}` })));
  }
  const done = counts.cached ?? 0;
  document.getElementById('overall-fill').style.width = `${total ? (100 * done) / total : 0}%`;
  document.getElementById('overall-text').textContent = `${done}/${total} cached${counts.running ? `, ${counts.running} running` : ''}${counts.failed ? `, ${counts.failed} failed` : ''}`;
}

const fmtEta = (s) => (s === undefined ? '' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);

function progressText(p) {
  if (!p) return '';
  return [
    p.step !== undefined ? `step ${p.step}${p.totalSteps ? `/${p.totalSteps}` : ''}` : '',
    p.epoch !== undefined ? `epoch ${p.epoch}` : '',
    p.loss !== undefined ? `loss ${p.loss.toFixed(4)}` : '',
    p.etaS !== undefined ? `ETA ${fmtEta(p.etaS)}` : '',
    p.message ?? '',
  ].filter(Boolean).join(' · ');
}

function applyProgress(progress) {
  model.progress = progress;
  for (const [id, chip] of model.chips) {
    const p = progress[id];
    let bar = chip.querySelector('.bar');
    if (!p || !p.totalSteps) {
      bar?.remove();
      continue;
    }
    if (!bar) chip.append((bar = el('span', { class: 'bar' })));
    bar.style.width = `${(100 * (p.step ?? 0)) / p.totalSteps}%`;
    chip.title = `${id}\n${progressText(p)}`;
  }
  const list = document.getElementById('running');
  list.textContent = '';
  const ids = Object.keys(progress);
  document.getElementById('running-count').textContent = ids.length ? `(${ids.length})` : '';
  if (ids.length === 0) list.append(el('li', { class: 'muted', text: 'nothing running' }));
  for (const id of ids) {
    const p = progress[id];
    const bar = el('div', { class: 'pbar' }, el('span'));
    bar.firstChild.style.width = p.totalSteps ? `${(100 * (p.step ?? 0)) / p.totalSteps}%` : '0';
    list.append(el('li', { 'data-running': id, onclick: () => select(id) }, el('code', { text: id }), el('div', { class: 'muted', text: progressText(p) || 'starting' }), bar));
  }
  if (model.selected && progress[model.selected]) {
    const line = document.getElementById('detail-progress');
    if (line) line.textContent = progressText(progress[model.selected]);
  }
}

function refreshFigures() {
  const host = document.getElementById('figures');
  for (const g of model.graph.groups) {
    const port = g.figurePorts[0];
    if (port === undefined) continue;
    for (const inst of g.instances) {
      const cached = model.states.get(inst.id) === 'cached';
      const existing = host.querySelector(`[data-figure="${CSS.escape(inst.id)}"]`);
      if (cached && !existing) {
        const img = el('img', { src: api('/api/figure.svg', { id: inst.id, port }), alt: inst.id });
        host.append(el('figure', { 'data-figure': inst.id, onclick: () => select(inst.id) }, img, el('figcaption', { text: inst.id })));
      } else if (!cached && existing) existing.remove();
    }
  }
  if (!host.firstChild) host.append(el('p', { class: 'muted', 'data-empty': '1', text: 'no figures in the cache yet' }));
  else if (host.children.length > 1) host.querySelector('[data-empty]')?.remove();
}

function connect() {
  const live = document.getElementById('live');
  const source = new EventSource(api('/api/events'));
  source.addEventListener('open', () => {
    live.className = 'live on';
    live.textContent = 'live';
  });
  source.addEventListener('error', () => {
    live.className = 'live off';
    live.textContent = 'reconnecting';
  });
  source.addEventListener('snapshot', (e) => {
    const snap = JSON.parse(e.data);
    model.errors = snap.errors;
    applyStates(snap.states);
    applyCounts(snap.counts);
    applyProgress(snap.progress);
    showReport(snap.report);
    document.body.dataset.live = '1';
  });
  source.addEventListener('states', (e) => {
    const msg = JSON.parse(e.data);
    applyStates(msg.states);
    applyCounts(msg.counts);
  });
  source.addEventListener('progress', (e) => applyProgress(JSON.parse(e.data).progress));
  source.addEventListener('report', (e) => showReport(JSON.parse(e.data).available));
}

function showReport(available) {
  const link = document.getElementById('report-link');
  link.href = api('/report/report.html');
  link.classList.toggle('hidden', !available);
}

// ---------------------------------------------------------------------------------------------- detail

function row(name, value) {
  const v = typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
  return el('tr', {}, el('td', { text: name }), el('td', {}, el('code', { text: v })));
}

function table(entries) {
  const t = el('table');
  for (const [k, v] of entries) t.append(row(k, v));
  return t;
}

/** A small line chart of a landscape: loss along the path per split (and accuracy as a second panel). */
function landscapePlot(landscape) {
  const W = 380, H = 150, L = 38, B = 22, T = 8;
  const wrap = el('div');
  for (const field of ['loss', 'accuracy']) {
    const svg = svgEl('svg', { width: W, height: H, class: 'plot', 'data-plot': field });
    const pts = landscape.points;
    const xs = pts.map((p) => p.x);
    const ys = pts.map((p) => p[field]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const sx = (x) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - 8);
    const sy = (y) => T + (1 - (y - y0) / (y1 - y0 || 1)) * (H - T - B);
    svg.append(svgEl('line', { x1: L, y1: H - B, x2: W - 8, y2: H - B, stroke: '#ccc' }));
    const lab = (x, y, text, anchor = 'start') => {
      const t = svgEl('text', { x, y, 'text-anchor': anchor });
      t.textContent = text;
      svg.append(t);
    };
    lab(L - 4, sy(y1) + 4, y1.toPrecision(3), 'end');
    lab(L - 4, sy(y0), y0.toPrecision(3), 'end');
    lab(L, H - 6, `${landscape.axis} = ${x0}`);
    lab(W - 8, H - 6, String(x1), 'end');
    lab(W / 2, H - 6, field, 'middle');
    const colours = { train: '#3465a4', test: '#e07b39' };
    for (const split of ['train', 'test']) {
      const s = pts.filter((p) => p.split === split).sort((a, b) => a.x - b.x);
      if (s.length === 0) continue;
      svg.append(svgEl('polyline', { points: s.map((p) => `${sx(p.x).toFixed(1)},${sy(p[field]).toFixed(1)}`).join(' '), fill: 'none', stroke: colours[split], 'stroke-width': 1.8 }));
      lab(W - 10, sy(s[s.length - 1][field]) - 4, split, 'end');
    }
    wrap.append(svg);
  }
  return wrap;
}

function sparkline(series) {
  const W = 220, H = 36;
  const svg = svgEl('svg', { width: W, height: H, class: 'plot' });
  const lo = Math.min(...series), hi = Math.max(...series);
  const pts = series.map((v, i) => `${((i / Math.max(1, series.length - 1)) * (W - 4) + 2).toFixed(1)},${(2 + (1 - (v - lo) / (hi - lo || 1)) * (H - 4)).toFixed(1)}`);
  svg.append(svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: '#3465a4', 'stroke-width': 1.5 }));
  return svg;
}

async function select(id, refresh = false) {
  if (!refresh) {
    model.chips.get(model.selected)?.classList.remove('selected');
    model.selected = id;
    model.chips.get(id)?.classList.add('selected');
  }
  const res = await fetch(api('/api/instance', { id }));
  const d = await res.json();
  if (model.selected !== id) return;
  const box = document.getElementById('detail');
  box.textContent = '';
  box.dataset.detail = id;
  const pill = el('span', { class: 'state-pill', text: d.state });
  pill.style.background = COLOURS[d.state];
  box.append(el('h2', {}, el('span', { text: d.id }), ' ', pill));
  box.append(el('div', { class: 'muted', text: `${d.kind} v${d.version} · node ${d.node}` }));
  if (d.progress) box.append(el('div', { id: 'detail-progress', text: progressText(d.progress) }));
  if (d.error) box.append(el('div', { class: 'error', text: d.error }));
  if (d.plan) box.append(el('div', { class: 'reason', 'data-reason': '1', text: d.plan.status === 'cached' ? 'plan: cached (would not run)' : `plan: runs because ${d.plan.reason}` }));
  box.append(el('h2', { text: 'Key' }), el('code', { text: d.key }));
  box.append(el('h2', { text: 'Parameters' }), table(Object.entries(d.params)));
  if (Object.keys(d.coords).length) box.append(el('h2', { text: 'Sweep coordinates' }), table(Object.entries(d.coords)));
  for (const o of d.outputs) {
    const v = d.values[o.port];
    if (o.type === 'Metrics' && v) {
      box.append(el('h2', { text: `Metrics: ${o.port}` }), table(Object.entries(v.values).map(([k, x]) => [k, typeof x === 'number' ? Number(x.toPrecision(6)) : x])));
      for (const [name, s] of Object.entries(v.series ?? {})) if (s.length > 1) box.append(el('div', { class: 'muted', text: `${name} (${s.length})` }), sparkline(s));
    }
    if (o.type === 'Landscape' && v) box.append(el('h2', { text: `Landscape: ${o.port}` }), landscapePlot(v));
    if (o.type === 'Figure' && v) box.append(el('h2', { text: `Figure: ${v.title || o.port}` }), el('img', { src: api('/api/figure.svg', { id: d.id, port: o.port }), alt: d.id }));
  }
  if (d.provenance) {
    const p = d.provenance;
    box.append(el('h2', { text: 'Provenance' }), table([
      ['made', `${p.endedAt} in ${(p.durationMs / 1000).toFixed(1)} s`],
      ['host', p.host],
      ...(p.backend ? [['backend', `${p.backend.name} ${p.backend.version}${p.backend.kernels ? ` (${p.backend.kernels})` : ''}`]] : []),
      ...(p.seed !== undefined ? [['seed', p.seed]] : []),
      ...(p.gitCommit ? [['commit', p.gitCommit.slice(0, 12)]] : []),
      ['pipeline', p.pipeline ?? '?'],
      ['size', `${p.sizeBytes} bytes`],
      ...p.inputs.map((i) => [`input ${i.port}`, i.from.map((f) => `${f.node ?? '?'} ${f.key.slice(0, 12)}`).join(', ')]),
    ]));
    const ex = el('div', { class: 'exports' });
    for (const o of d.outputs) for (const ext of o.exports) ex.append(el('a', { href: api('/api/export', { id: d.id, port: o.port, ext }), 'data-export': `${o.port}${ext}`, text: `${o.port}${ext}` }));
    box.append(el('h2', { text: 'Export' }), ex);
  } else box.append(el('p', { class: 'muted', text: 'not in the cache yet' }));
}

// ------------------------------------------------------------------------------------------------ start

async function start() {
  const t0 = performance.now();
  const res = await fetch(api('/api/graph'));
  model.graph = await res.json();
  document.getElementById('file').textContent = model.graph.file;
  buildGroups();
  layout();
  applyStates(model.graph.live);
  applyCounts(model.graph.counts);
  applyProgress({});
  fit();
  document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
  document.body.dataset.ready = '1';
  document.getElementById('zoom-in').addEventListener('click', () => setScale(model.scale * 1.25));
  document.getElementById('zoom-out').addEventListener('click', () => setScale(model.scale / 1.25));
  document.getElementById('zoom-fit').addEventListener('click', fit);
  connect();
}

start();
