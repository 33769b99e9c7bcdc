/**
 * Running the built `rnnkit` CLI as a user would (`node dist/cli/main.js ...`, so `npm run build:ts` must
 * have run) and checking the shape of a user error. Shared by the CLI and forecasting test files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_MAIN = join(ROOT, 'dist/cli/main.js');
export const CLI_BUILT = existsSync(CLI_MAIN);
/** Same as CLI_BUILT (the name the text-model tests use). */
export const cliBuilt = CLI_BUILT;

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `cwd`; `onStdout` sees output as it arrives (and gets the child, e.g. to send SIGINT). */
export function runCli(args: string[], cwd: string, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd, env: { ...process.env, RNNKIT_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A user error: exit 1, one readable message containing every fragment, and no stack trace. */
export function expectUserError(r: Run, ...fragments: string[]): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/^rnnkit: error: /);
  for (const f of fragments) expect(r.stderr).toContain(f);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** Runs `rnnkit ...args` in `cwd` to completion, synchronously (RNNKIT_DEBUG off: errors print as users see them). */
export function runCliSync(cwd: string, ...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, RNNKIT_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
