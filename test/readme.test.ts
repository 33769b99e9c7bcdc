/**
 * The README's Node snippets run as written: every ```ts block that imports from 'rnnkit' is run on
 * its own (import pointed at this checkout's dist/, in a temporary working directory), so a snippet
 * with an undefined variable, a renamed export or a wrong call fails here. Needs `npm run build`.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist/index.js');
const tsx = join(root, 'node_modules/.bin/tsx');

/**
 * The ```ts blocks of the README that import the package, and the module scripts of its ```html
 * blocks (run in Node against the same API: this checks their names and variables, not the page). Every
 * ```json model spec (one with "layers") must build in the core as written.
 */
function nodeSnippets(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const ts = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => /from 'rnnkit'/.test(code));
  const html = [...readme.matchAll(/```html\n[\s\S]*?<script type="module">([\s\S]*?)<\/script>[\s\S]*?```/g)].map((m) =>
    m[1].replace(/from '[^']*rnnkit\/dist\/index\.browser\.js'/, "from 'rnnkit'"),
  );
  return [...ts, ...html];
}

describe.skipIf(!existsSync(entry))('README snippets', () => {
  const snippets = nodeSnippets();
  it('has Node snippets to run', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(4);
  });
  snippets.forEach((code, k) => {
    const title = code.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('import')) ?? `#${k}`;
    it(`runs as written: snippet ${k + 1} (${title.trim().slice(0, 60)})`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'rnnkit-readme-'));
      try {
        const file = join(dir, `snippet${k + 1}.mts`);
        writeFileSync(file, code.replaceAll("from 'rnnkit'", `from ${JSON.stringify(entry)}`));
        const r = spawnSync(tsx, [file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
        expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 150_000);
  });
});

describe.skipIf(!existsSync(entry))('README model specs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const specs = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]).filter((j) => j.includes('"layers"'));
  it('every JSON model spec in the README builds in the core as written', async () => {
    expect(specs.length).toBeGreaterThanOrEqual(1);
    const { getBackend, ready } = (await import(pathToFileURL(entry).href)) as typeof import('../ts/index.js');
    await ready();
    for (const spec of specs) getBackend().createModel(spec).dispose();
  });
});

