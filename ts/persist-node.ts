/**
 * Node-only file I/O for save/load. Kept out of every static import chain (model.ts loads it with a
 * dynamic import only when running in Node) so browser bundles never see `node:*` modules.
 * Writes are atomic: a tmp file in the same directory is written, fsynced and renamed over the
 * target, so a crash or failure never leaves a half-written model where a good one was.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes `bytes` to `path` atomically (tmp + fsync + rename); on failure the tmp file is removed. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  // Same directory as the target: rename(2) is atomic only within one filesystem.
  const tmp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let created = false;
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    created = true;
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, written, bytes.length - written);
        written += bytesWritten;
      }
      await fh.sync(); // data on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Persist the rename itself; best effort (some platforms/filesystems refuse to fsync a directory).
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* durability of the directory entry is not guaranteed there; the file itself is complete */
  }
}

/** Reads a whole file as bytes. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
