/**
 * Resident memory of this process for the fit benchmark's scaling table (Linux): VmRSS now, and a
 * peak probe that resets VmHWM (write 5 to /proc/self/clear_refs, Linux ≥ 4.0) and also samples VmRSS
 * every 20 ms, so a peak is caught even where clear_refs is not writable.
 */

import { readFileSync, writeFileSync } from 'node:fs';

/** A field of /proc/self/status in kB, or NaN off Linux. */
export function statusKb(field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Resets VmHWM to the current RSS; false where not allowed. */
function resetHwm(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export interface PeakProbe {
  /** Starts a new window: the peak forgets everything before now. */
  reset(): void;
  /** Highest RSS (kB) since the last reset. */
  peakKb(): number;
  stop(): void;
  /** How the peak is read, for the report. */
  readonly source: string;
}

export function peakProbe(): PeakProbe {
  let sampled = 0;
  let hwm = false;
  const reset = () => {
    hwm = resetHwm();
    sampled = statusKb('VmRSS');
  };
  reset();
  const timer = setInterval(() => (sampled = Math.max(sampled, statusKb('VmRSS'))), 20);
  return {
    reset,
    peakKb: () => Math.max(sampled, statusKb('VmRSS'), hwm ? statusKb('VmHWM') : 0),
    stop: () => clearInterval(timer),
    source: hwm ? 'VmHWM (reset through /proc/self/clear_refs) and VmRSS sampled every 20 ms' : 'VmRSS sampled every 20 ms (clear_refs not writable)',
  };
}
