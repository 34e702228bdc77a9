/**
 * The local page of `sparsegraph serve`: one module owns every route and its checks (as Jupyter's server
 * does): a random token on every request (`?token=`, or `Authorization: token T`), the Host header
 * against the names this server listens under (no DNS rebinding), no CORS headers at all, and a strict
 * Content-Security-Policy. The page reads a small JSON API and server-sent events (as TensorBoard's page
 * reads its API); the server reads the cache and the progress files, never writes either.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeKey } from '../../base/brand.js';
import type { PortType, PortValueMap } from '../../base/values.js';
import type { CacheStore, ResultRecord } from '../../cache/store.js';
import type { ValidGraph } from '../../engine/lang/analyze.js';
import { upstreamIds } from '../../engine/lang/expand.js';
import { planGraph, type PlanEntry } from '../../engine/plan.js';
import { encodeExport, extensionsFor } from '../../science/export/formats.js';
import { reportDir } from '../report.js';
import { LiveState, STATES, type InstanceState } from './live-state.js';

/** Where the page's own files are: copied beside this module by the build (package.json). */
const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const require = createRequire(import.meta.url);
/** The layout library, served to the page from node_modules (its browser build bundles graphlib). */
const DAGRE_FILE = join(dirname(require.resolve('@dagrejs/dagre/package.json')), 'dist', 'dagre.min.js');
const STATIC: Record<string, { file: string; type: string }> = {
  '/static/app.js': { file: join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/static/style.css': { file: join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/static/dagre.min.js': { file: DAGRE_FILE, type: 'text/javascript; charset=utf-8' },
};
/** How often the server looks at the cache and the progress files: the page updates within a second. */
const TICK_MS = 250;

export interface ServeOptions {
  readonly graph: ValidGraph;
  readonly cacheDir: string;
  /** Opens the cache read-only; undefined while there is none yet (it is asked again each tick). */
  readonly openStore: () => Promise<CacheStore | undefined>;
  readonly host: string;
  readonly port: number;
  /** A fixed token (tests); random otherwise. */
  readonly token?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'SAMEORIGIN',
  'Cache-Control': 'no-store',
};

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const app = new PageApp(options, token);
  const server = createServer((req, res) => {
    app.handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(e as Error).message}\n`);
      else res.end();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => done());
  });
  const port = (server.address() as AddressInfo).port;
  app.listening(port);
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? hostname() : options.host;
  const urlHost = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    token,
    close: () => app.close(server),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, ...extra });
  res.end(body);
}

const json = (res: ServerResponse, value: unknown, status = 200) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

class PageApp {
  private store: CacheStore | undefined;
  private opening: Promise<void> | undefined;
  private readonly live: LiveState;
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private allowedHosts = new Set<string>();
  private plan: { entries: Map<string, PlanEntry>; cachedCount: number } | undefined;
  private reportMtime = 0;
  private readonly graph: ValidGraph;

  constructor(
    private readonly options: ServeOptions,
    private readonly token: string,
  ) {
    this.graph = options.graph;
    this.live = new LiveState(options.graph, options.cacheDir);
  }

  listening(port: number): void {
    const names = ['127.0.0.1', 'localhost', '[::1]'];
    const host = this.options.host;
    if (host === '0.0.0.0' || host === '::') {
      // Listening on every interface: the names and addresses this machine answers to.
      names.push(hostname());
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    } else names.push(host.includes(':') ? `[${host}]` : host);
    this.allowedHosts = new Set(names.map((n) => `${n.toLowerCase()}:${port}`));
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    void this.tick();
  }

  async close(server: Server): Promise<void> {
    clearInterval(this.timer);
    for (const c of this.clients) c.end();
    await new Promise<void>((done) => server.close(() => done()));
    server.closeAllConnections();
    await this.store?.close();
  }

  // --------------------------------------------------------------------------------------- checks

  /** The one gate every route passes: Host, then token. Returns false after answering. */
  private admit(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts.has(host)) {
      send(res, 403, 'text/plain; charset=utf-8', `forbidden: unexpected Host header '${host}'\n`);
      return false;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.allowedHosts.has(origin.replace(/^http:\/\//, '').toLowerCase())) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden: cross-origin request\n');
      return false;
    }
    const given = url.searchParams.get('token') ?? /^token\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (given === undefined || given === null) {
      send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: open the URL that `sparsegraph serve` printed (it carries ?token=...)\n', { 'WWW-Authenticate': 'token' });
      return false;
    }
    const a = Buffer.from(given);
    const b = Buffer.from(this.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden: wrong token\n');
      return false;
    }
    return true;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.admit(req, res, url)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n', { Allow: 'GET, HEAD' });
    const path = url.pathname;
    if (path === '/') return this.page(res);
    const asset = STATIC[path];
    if (asset) return send(res, 200, asset.type, readFileSync(asset.file));
    if (path === '/api/graph') return json(res, this.graphView());
    if (path === '/api/events') return this.events(req, res);
    if (path === '/api/instance') return this.instance(res, url.searchParams.get('id') ?? '');
    if (path === '/api/figure.svg') return this.figure(res, url.searchParams.get('id') ?? '', url.searchParams.get('port') ?? 'figure');
    if (path === '/api/export') return this.exportOne(res, url.searchParams.get('id') ?? '', url.searchParams.get('port') ?? '', url.searchParams.get('ext') ?? '');
    if (path === '/report' || path.startsWith('/report/')) return this.report(res, path.slice('/report'.length));
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  // ---------------------------------------------------------------------------------- live state

  private async ensureStore(): Promise<CacheStore | undefined> {
    if (this.store) return this.store;
    this.opening ??= this.options
      .openStore()
      .then((s) => {
        this.store = s;
      })
      .finally(() => {
        this.opening = undefined;
      });
    await this.opening;
    return this.store;
  }

  private async tick(): Promise<void> {
    const store = await this.ensureStore().catch(() => undefined);
    const { changed, progressed } = this.live.tick(store);
    if (changed.size > 0) this.plan = undefined;
    if (changed.size > 0) this.broadcast('states', { states: Object.fromEntries(changed), counts: this.counts() });
    if (progressed || changed.size > 0) this.broadcast('progress', { progress: Object.fromEntries(this.live.progress) });
    const report = join(reportDir(this.graph), 'report.html');
    const mtime = existsSync(report) ? statSync(report).mtimeMs : 0;
    if (mtime !== this.reportMtime) {
      this.reportMtime = mtime;
      this.broadcast('report', { available: mtime > 0, at: mtime });
    }
  }

  private counts(): Record<InstanceState, number> {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<InstanceState, number>;
    for (const s of this.live.states.values()) counts[s]++;
    return counts;
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const c of this.clients) c.write(message);
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    // The whole state first, so that a page that loaded the graph a moment ago misses nothing.
    res.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify({
      states: Object.fromEntries(this.live.states),
      progress: Object.fromEntries(this.live.progress),
      errors: Object.fromEntries(this.live.errors),
      counts: this.counts(),
      report: this.reportMtime > 0,
    })}\n\n`);
    this.clients.add(res);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      this.clients.delete(res);
    });
  }

  // --------------------------------------------------------------------------------------- views

  private page(res: ServerResponse): void {
    const html = readFileSync(join(PAGE_DIR, 'index.html'), 'utf8').replaceAll('__TOKEN__', this.token).replaceAll('__NAME__', escapeHtml(this.graph.name));
    send(res, 200, 'text/html; charset=utf-8', html);
  }

  /** The instance graph grouped by pipeline node, with the edges between nodes and the states now. */
  private graphView() {
    const groups = new Map<string, { node: string; kind: string; outputs: Record<string, { type: PortType }>; instances: { id: string; key: string; coords: Record<string, unknown> }[]; upstream: Set<string> }>();
    const nodeOf = new Map<string, string>();
    for (const i of this.graph.instances) {
      nodeOf.set(i.id, i.nodeId);
      let g = groups.get(i.nodeId);
      if (!g) groups.set(i.nodeId, (g = { node: i.nodeId, kind: i.kind.kind, outputs: i.kind.outputs as Record<string, { type: PortType }>, instances: [], upstream: new Set() }));
      g.instances.push({ id: i.id, key: i.key, coords: i.coords });
      for (const u of upstreamIds(i)) g.upstream.add(nodeOf.get(u) ?? u);
    }
    return {
      name: this.graph.name,
      file: this.graph.file,
      states: STATES,
      groups: [...groups.values()].map((g) => ({
        node: g.node,
        kind: g.kind,
        instances: g.instances,
        upstream: [...g.upstream].filter((u) => u !== g.node),
        // Outputs the page shows as figures: any kind's Figure port, not only the `figure` kind's.
        figurePorts: Object.entries(g.outputs)
          .filter(([, o]) => o.type === 'Figure')
          .map(([port]) => port),
      })),
      live: Object.fromEntries(this.live.states),
      counts: this.counts(),
    };
  }

  private planEntries(store: CacheStore | undefined): Map<string, PlanEntry> | undefined {
    if (!store) return undefined;
    if (!this.plan) this.plan = { entries: new Map(planGraph(this.graph, store).map((e) => [e.id, e])), cachedCount: 0 };
    return this.plan.entries;
  }

  private async instance(res: ServerResponse, id: string): Promise<void> {
    const instance = this.graph.byId.get(id);
    if (!instance) return json(res, { error: `no instance '${id}'` }, 404);
    const store = await this.ensureStore().catch(() => undefined);
    const record = store?.record(instance.key);
    const entry = this.planEntries(store)?.get(id);
    const outputs = Object.entries(instance.kind.outputs as Record<string, { type: PortType; doc?: string }>).map(([port, o]) => ({
      port,
      type: o.type,
      doc: o.doc ?? '',
      exports: extensionsFor(o.type),
    }));
    const values: Record<string, unknown> = {};
    if (record && store) {
      const loaded = await this.loadOutputs(store, instance.key);
      for (const o of outputs) {
        const v = loaded?.[o.port];
        // Only what the page draws: metrics and landscapes as they are; checkpoints are only exported.
        if (o.type === 'Metrics' || o.type === 'Landscape') values[o.port] = v;
        if (o.type === 'Figure' && v) values[o.port] = { title: (v as PortValueMap['Figure']).title ?? '' };
      }
    }
    json(res, {
      id,
      node: instance.nodeId,
      kind: instance.kind.kind,
      version: instance.kind.version,
      coords: instance.coords,
      params: instance.params,
      key: instance.key,
      state: this.live.states.get(id),
      error: this.live.errors.get(id),
      progress: this.live.progress.get(id),
      plan: entry ? { status: entry.status, reason: entry.reason } : undefined,
      upstream: upstreamIds(instance),
      provenance: record ? provenanceView(store!, record) : undefined,
      outputs,
      values,
    });
  }

  private async loadOutputs(store: CacheStore, key: NodeKey): Promise<Record<string, unknown> | undefined> {
    try {
      return await store.load(key);
    } catch {
      // Damaged or removed since `record`: shown as not cached.
      return undefined;
    }
  }

  private async loadPort(id: string, port: string): Promise<{ type: PortType; value: unknown } | string> {
    const instance = this.graph.byId.get(id);
    if (!instance) return `no instance '${id}'`;
    const def = (instance.kind.outputs as Record<string, { type: PortType }>)[port];
    if (!def) return `instance '${id}' has no output '${port}'`;
    const store = await this.ensureStore().catch(() => undefined);
    const loaded = store && store.has(instance.key) ? await this.loadOutputs(store, instance.key) : undefined;
    if (!loaded || loaded[port] === undefined) return `'${id}' is not in the cache`;
    return { type: def.type, value: loaded[port] };
  }

  private async figure(res: ServerResponse, id: string, port: string): Promise<void> {
    const got = await this.loadPort(id, port);
    if (typeof got === 'string' || got.type !== 'Figure') return send(res, 404, 'text/plain; charset=utf-8', `${typeof got === 'string' ? got : 'not a figure'}\n`);
    send(res, 200, 'image/svg+xml', (got.value as PortValueMap['Figure']).svg);
  }

  private async exportOne(res: ServerResponse, id: string, port: string, ext: string): Promise<void> {
    const got = await this.loadPort(id, port);
    if (typeof got === 'string') return send(res, 404, 'text/plain; charset=utf-8', `${got}\n`);
    if (!extensionsFor(got.type).includes(ext)) return send(res, 400, 'text/plain; charset=utf-8', `a ${got.type} exports as ${extensionsFor(got.type).join(', ')}\n`);
    const { bytes } = encodeExport(got.type, got.value as never, ext);
    const name = `${id}.${port}${ext}`.replace(/[^A-Za-z0-9._=-]+/g, '_');
    const type = ext === '.svg' ? 'image/svg+xml' : ext === '.json' ? 'application/json' : ext === '.csv' ? 'text/csv' : 'application/octet-stream';
    send(res, 200, type, bytes, { 'Content-Disposition': `attachment; filename="${name}"` });
  }

  /** The report `report` / `run` wrote beside the pipeline, and its figures; nothing outside that folder. */
  private report(res: ServerResponse, rest: string): void {
    const root = resolve(reportDir(this.graph));
    const file = normalize(join(root, rest === '' || rest === '/' ? 'report.html' : decodeURIComponent(rest)));
    if (file !== root && !file.startsWith(root + sep)) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
    if (!existsSync(file) || !statSync(file).isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'no report yet: `sparsegraph run` or `sparsegraph report` writes it\n');
    const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : file.endsWith('.svg') ? 'image/svg+xml' : file.endsWith('.png') ? 'image/png' : 'text/plain; charset=utf-8';
    // The report is one self-contained file with inline styles: its own, looser policy, still no scripts.
    send(res, 200, type, readFileSync(file), { 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'" });
  }
}

/** A record's provenance and the first step of its chain (the results it read), for the side panel. */
function provenanceView(store: CacheStore, record: ResultRecord) {
  const p = record.provenance;
  const inputs = Object.entries(p.inputs).map(([port, keys]) => ({
    port,
    from: (Array.isArray(keys) ? keys : [keys]).map((k: NodeKey) => ({ key: k, node: store.record(k)?.provenance.nodeId })),
  }));
  return { ...p, inputs, sizeBytes: record.sizeBytes, createdAt: record.createdAt };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
