/**
 * A persistent benchmark child process driven by line-delimited JSON: one request per line on its
 * stdin, one reply per line on its stdout, in order; the first line it prints is the "ready" reply.
 * Used for PyTorch (bench/peers/torch.ts, bench/fit/run.ts) and for the fit workloads' Node workers
 * (bench/fit/worker.ts), whose thread pools, BLAS settings and memory must not touch the driver.
 * Children are killed by `close()` and, failing that, when this process exits.
 */

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Reply {
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

/** Every child alive, killed when this process exits (process.exit included) if close() did not. */
const alive = new Set<JsonChild>();
process.on('exit', () => {
  for (const c of alive) c.kill();
});

export class JsonChild {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private readonly stderrTail: string[] = [];
  private exitReason?: string;
  readonly ready: Promise<Reply>;
  /** Scratch directory for files handed to the child, removed when the child goes. */
  readonly dir = mkdtempSync(join(tmpdir(), 'rnnkit-bench-'));

  /** `label` names the child in errors, e.g. "torch_bench.py ×2". */
  constructor(readonly label: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    alive.add(this);
    this.ready = new Promise<Reply>((resolve, reject) => this.pending.push({ resolve, reject }));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.trim()) return;
      const waiter = this.pending.shift();
      if (!waiter) return;
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        waiter.reject(new Error(`${this.label}: not a JSON reply: ${line.slice(0, 200)}`));
        return;
      }
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(`${this.label}: ${reply.error ?? 'failed'}`));
    });
    createInterface({ input: this.proc.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    this.proc.stdin.on('error', () => {
      /* EPIPE after the child died: reported through 'close' */
    });
    this.proc.on('error', (e) => this.gone(`${command} ${args.join(' ')} failed: ${e.message}`));
    // 'close': after stdout/stderr are drained, so every reply line was handled and the error carries the traceback.
    this.proc.on('close', (code, signal) => this.gone(`${this.label} exited with ${signal ?? code}`));
  }

  get dead(): boolean {
    return this.exitReason !== undefined;
  }

  /** The child's pid (for /proc reads by the driver). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  private gone(reason: string): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    alive.delete(this);
    const tail = this.stderrTail.slice(-3).join(' | ');
    const error = new Error(tail ? `${reason}: ${tail}` : reason);
    for (const w of this.pending.splice(0)) w.reject(error);
    rmSync(this.dir, { recursive: true, force: true });
  }

  request(msg: Record<string, unknown>): Promise<Reply> {
    if (this.exitReason !== undefined) return Promise.reject(new Error(this.exitReason));
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.proc.stdin.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Asks the child to quit (EOF), then kills it if it has not gone within `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.proc.once('close', () => resolve()));
    this.proc.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.kill();
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    alive.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
