/**
 * `sparsegraph serve` in a real browser: playwright-core driving Debian's chromium (`.ci/run` installs
 * it). The page loads with every instance; a run in another process turns states to running and then
 * cached, with a figure appearing; requests without the token, or under another Host, are refused.
 * Screenshots are kept in test-artifacts/serve/. Every wait is for an event (a selector, a stdout line).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cli, cliPath, kindsModule, tempDir, writePipeline } from '../exec/helpers.js';

const CHROMIUM = process.env['SPARSEGRAPH_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(fileURLToPath(new URL('../../../test-artifacts/serve/', import.meta.url)));
const PAPER = resolve(fileURLToPath(new URL('../../../pipelines/paper.yaml', import.meta.url)));
const skip = !existsSync(CHROMIUM) && `no chromium at ${CHROMIUM} (apt-get install chromium, or set SPARSEGRAPH_CHROMIUM)`;

/** A `serve` process and its URL: resolves at its first stdout line starting with http://. */
async function serve(args: string[]): Promise<{ url: string; base: string; token: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [cliPath, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((done, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('http://'));
      if (line && out.includes('\n')) done(line.trim());
    });
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
  const parsed = new URL(url);
  return { url, base: parsed.origin, token: parsed.searchParams.get('token')!, child, stderr: () => err };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

/** A GET with a chosen Host header (fetch does not let one set it). */
function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

async function openPage(browser: Browser, url: string): Promise<{ page: Page; ms: number }> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  const ms = Date.now() - t0;
  await page.waitForSelector('body[data-live="1"]');
  return { page, ms };
}

const TINY = `sparsegraph: 1
name: tiny
nodes:
  a: { kind: test-constant, with: { v: 1 } }
  walk:
    kind: test-slow-walk
    inputs: { start: a }
    matrix: { seed: [1, 2, 3] }
    with: { steps: 12, ms: 400, seed: "\${item.seed}" }
  total: { kind: test-sum, inputs: { all: [walk] } }
  plot: { kind: test-figure, with: { title: tiny } }
`;

describe('sparsegraph serve in a browser', { skip }, () => {
  let browser: Browser;
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
  });

  it('refuses requests without the token, with a wrong one, or under another Host', async () => {
    const dir = tempDir('sg-serve-auth-');
    const file = writePipeline(dir, 'p.yaml', TINY);
    const s = await serve([file, '--kinds', kindsModule, '--cache', join(dir, 'cache')]);
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
      for (const path of ['/', '/api/graph', '/api/events', '/static/app.js', '/report/report.html']) {
        assert.equal(await statusOf(`${s.base}${path}`), 401, path);
        assert.equal(await statusOf(`${s.base}${path}?token=${'0'.repeat(48)}`), 403, path);
      }
      const port = new URL(s.base).port;
      assert.equal(await statusOf(`${s.base}/api/graph?token=${s.token}`), 200);
      assert.equal(await statusOf(`${s.base}/api/graph?token=${s.token}`, { host: `attacker.example:${port}` }), 403, 'DNS rebinding');
      assert.equal(await statusOf(`${s.base}/api/graph?token=${s.token}`, { origin: 'http://attacker.example' }), 403, 'cross-origin');
      assert.equal(await statusOf(`${s.base}/api/graph`, { authorization: `token ${s.token}` }), 200);
      const res = await fetch(`${s.base}/api/graph?token=${s.token}`, { headers: { origin: s.base } });
      assert.equal(res.headers.get('access-control-allow-origin'), null, 'no CORS');
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    } finally {
      await stop(s.child);
    }
  });

  it('shows every instance, then follows a run in another process to cached, with its figure', { timeout: 240_000 }, async () => {
    const dir = tempDir('sg-serve-live-');
    const file = writePipeline(dir, 'p.yaml', TINY);
    const cache = join(dir, 'cache');
    // The server starts before any cache exists, as it would before a first run.
    const s = await serve([file, '--kinds', kindsModule, '--cache', cache]);
    try {
      const { page } = await openPage(browser, s.url);
      const ids = await page.$$eval('[data-instance]', (els) => els.map((e) => e.getAttribute('data-instance')));
      assert.deepEqual(ids.sort(), ['a', 'plot', 'total', 'walk[seed=1]', 'walk[seed=2]', 'walk[seed=3]']);
      assert.deepEqual(new Set(await page.$$eval('[data-instance]', (els) => els.map((e) => e.getAttribute('data-state')))), new Set(['pending']));

      // cli() adds the test kinds through $SPARSEGRAPH_KINDS.
      const running = cli(['run', file, '--cache', cache, '--jobs', '2']);
      await page.waitForSelector('[data-instance^="walk"][data-state="running"]', { timeout: 60_000 });
      // Per-node progress arrives while it runs: step and ETA in the running list.
      await page.waitForFunction(() => /step \d+\/12/.test(document.getElementById('running')?.textContent ?? ''), undefined, { timeout: 60_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'tiny-running.png') });
      const ran = await running;
      assert.equal(ran.code, 0, ran.stderr);
      await page.waitForFunction(() => [...document.querySelectorAll('[data-instance]')].every((e) => e.getAttribute('data-state') === 'cached'), undefined, { timeout: 30_000 });
      await page.waitForSelector('[data-figure="plot"] img');
      await page.waitForFunction(() => (document.querySelector('[data-figure="plot"] img') as HTMLImageElement | null)?.naturalWidth! > 0);

      await page.click('[data-instance="walk[seed=2]"]');
      await page.waitForSelector('#detail[data-detail="walk[seed=2]"] [data-export="out.csv"]');
      const detail = await page.textContent('#detail');
      assert.match(detail ?? '', /Provenance/);
      assert.match(detail ?? '', /[0-9a-f]{64}/, 'the key');
      assert.match(detail ?? '', /seed\s*2/);
      const csvHref = await page.getAttribute('[data-export="out.csv"]', 'href');
      const csv = await fetch(new URL(csvHref!, s.base)).then((r) => r.text());
      assert.match(csv, /^name,index,value\n/);
      await page.screenshot({ path: join(ARTIFACTS, 'tiny-done.png') });
    } finally {
      await stop(s.child);
    }
  });

  it("renders the paper's 217 instances, every one an element", { timeout: 60_000 }, async () => {
    const dir = tempDir('sg-serve-paper-');
    const s = await serve([PAPER, '--cache', join(dir, 'cache')]);
    try {
      const { page, ms } = await openPage(browser, s.url);
      assert.equal(await page.$$eval('[data-instance]', (els) => els.length), 217);
      const renderMs = Number(await page.getAttribute('body', 'data-render-ms'));
      process.stdout.write(`# paper: 217 instances, page ready in ${ms} ms (render ${renderMs} ms)\n`);
      // The 2 s target of a render is a speed figure, recorded in BENCHMARKS.md, not asserted here.
      await page.screenshot({ path: join(ARTIFACTS, 'paper-empty.png') });
    } finally {
      await stop(s.child);
    }
  });

  it('keeps a 5,000-instance pipeline usable: big groups collapse to counts', { timeout: 60_000 }, async () => {
    const dir = tempDir('sg-serve-big-');
    const file = writePipeline(dir, 'big.yaml', `sparsegraph: 1
name: big
nodes:
  a: { kind: test-constant, matrix: { i: [${Array.from({ length: 2500 }, (_, i) => i).join(', ')}] }, with: { v: "\${item.i}" } }
  b: { kind: test-add, inputs: { a: a }, with: { plus: 1 } }
`);
    const s = await serve([file, '--kinds', kindsModule, '--cache', join(dir, 'cache')]);
    try {
      const { page, ms } = await openPage(browser, s.url);
      assert.equal(await page.$$eval('[data-instance]', (els) => els.length), 5000);
      process.stdout.write(`# big: 5000 instances, page ready in ${ms} ms\n`);
      // How fast is a speed figure (BENCHMARKS.md); what is asserted is that big groups collapse and still open.
      assert.equal(await page.$$eval('.group.collapsed', (els) => els.length), 2);
      assert.match((await page.textContent('[data-node="a"] .summary')) ?? '', /2500 pending/);
      await page.click('[data-node="a"] .toggle');
      await page.waitForSelector('[data-node="a"]:not(.collapsed)');
      await page.click('[data-instance="a[i=7]"]');
      await page.waitForSelector('#detail[data-detail="a[i=7]"]');
      await page.screenshot({ path: join(ARTIFACTS, 'big.png') });
    } finally {
      await stop(s.child);
    }
  });
});
