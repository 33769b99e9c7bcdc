/** The machine a benchmark ran on, for its report: CPU model name and family (23 Zen 2, 25 Zen 4, 26 Zen 5). */

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

function cpuinfo(field: string): string | undefined {
  try {
    return new RegExp(`^${field}\\s*:\\s*(.+)$`, 'm').exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim();
  } catch {
    return undefined; // not Linux
  }
}

export function cpuModel(): string {
  return cpuinfo('model name') ?? cpus()[0]?.model ?? 'unknown CPU';
}

/** The CPU family number from /proc/cpuinfo (`lscpu`'s "CPU family"), or undefined off Linux. */
export function cpuFamily(): number | undefined {
  const f = cpuinfo('cpu family');
  return f === undefined ? undefined : Number(f);
}
