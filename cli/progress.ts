/**
 * Turns execution events into something a person can follow: on a terminal, an overall bar plus one
 * bar per running node (step, loss, ETA) drawn by cli-progress; elsewhere, plain log lines.
 */
import cliProgress from 'cli-progress';
import type { ExecutionEvent } from '../engine/exec/executor.js';
import { paint } from './output.js';

export interface ProgressView {
  readonly onEvent: (event: ExecutionEvent) => void;
  stop(): void;
}

export function progressView(total: number, interactive: boolean): ProgressView {
  return interactive ? new BarsView(total) : new LinesView(total);
}

function describeFinish(e: Extract<ExecutionEvent, { type: 'finish' }>): string {
  const seconds = (e.ms / 1000).toFixed(1);
  switch (e.status) {
    case 'executed':
      return `${paint('green', 'done', process.stderr)}    ${e.id} (${seconds}s)`;
    case 'cached':
      return `cached  ${e.id}`;
    case 'failed':
      return `${paint('red', 'FAILED', process.stderr)}  ${e.id}: ${e.error ?? ''}`;
    case 'skipped':
      return `skipped ${e.id} (an input failed)`;
    case 'aborted':
      return `stopped ${e.id}`;
  }
}

class LinesView implements ProgressView {
  private finished = 0;
  private readonly lastLogged = new Map<string, number>();

  constructor(private readonly total: number) {}

  onEvent(e: ExecutionEvent): void {
    const out = process.stderr;
    if (e.type === 'start') out.write(`start   ${e.id}\n`);
    else if (e.type === 'progress') {
      // One line every 10 s per node keeps CI logs readable.
      const now = Date.now();
      if (now - (this.lastLogged.get(e.id) ?? 0) < 10_000) return;
      this.lastLogged.set(e.id, now);
      const { step, totalSteps, loss, lr, epoch, message } = e.event;
      const parts = [
        step !== undefined ? `step ${step}${totalSteps ? `/${totalSteps}` : ''}` : '',
        epoch !== undefined ? `epoch ${epoch}` : '',
        loss !== undefined ? `loss ${loss.toFixed(4)}` : '',
        lr !== undefined ? `lr ${lr.toPrecision(3)}` : '',
        message ?? '',
      ].filter(Boolean);
      out.write(`        ${e.id}: ${parts.join(', ')}\n`);
    } else {
      this.finished++;
      out.write(`[${this.finished}/${this.total}] ${describeFinish(e)}\n`);
    }
  }

  stop(): void {}
}

class BarsView implements ProgressView {
  private readonly multi = new cliProgress.MultiBar(
    {
      clearOnComplete: false,
      hideCursor: true,
      stream: process.stderr,
      format: ' {bar} {percentage}% | {id} | {detail} | ETA {eta_formatted}',
      barsize: 20,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly overall: cliProgress.SingleBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private finished = 0;

  constructor(total: number) {
    this.overall = this.multi.create(Math.max(total, 1), 0, { id: 'pipeline', detail: `0/${total} nodes` });
  }

  onEvent(e: ExecutionEvent): void {
    if (e.type === 'start') {
      this.bars.set(e.id, this.multi.create(1, 0, { id: e.id, detail: 'starting' }));
    } else if (e.type === 'progress') {
      const bar = this.bars.get(e.id);
      if (!bar) return;
      const { step, totalSteps, loss, lr, epoch, message } = e.event;
      if (totalSteps) bar.setTotal(totalSteps);
      const detail = [
        epoch !== undefined ? `epoch ${epoch}` : '',
        loss !== undefined ? `loss ${loss.toFixed(4)}` : '',
        lr !== undefined ? `lr ${lr.toPrecision(3)}` : '',
        message ?? '',
      ].filter(Boolean);
      bar.update(step ?? 0, { detail: detail.join(', ') || 'running' });
    } else {
      const bar = this.bars.get(e.id);
      if (bar) {
        this.multi.remove(bar);
        this.bars.delete(e.id);
      }
      this.finished++;
      this.multi.log(`${describeFinish(e)}\n`);
      this.overall.update(this.finished, { detail: `${this.finished} nodes finished` });
    }
  }

  stop(): void {
    this.multi.stop();
  }
}
