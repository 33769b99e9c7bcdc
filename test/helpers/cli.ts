/**
 * The `rnnkit` command as a user runs it, for tests that need the real process (exit code, stdout,
 * stderr): `node dist/cli/main.js ...`, so `npm run build:ts` must have run (`cliBuilt` says whether it has).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export const cliBuilt = existsSync(MAIN);

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rnnkit ...args` in `cwd` to completion (RNNKIT_DEBUG off: errors print as users see them). */
export function runCli(cwd: string, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, RNNKIT_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
