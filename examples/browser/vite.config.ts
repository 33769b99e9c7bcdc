/**
 * Vite config for the in-browser trainer. The app imports `rnnkit` and `rnnkit/worker-client` exactly
 * as an installed package would; here they resolve to this repository's own package through its
 * package.json "exports" map with the `browser` condition (a package cannot depend on itself, and a
 * `file:` link would change the root lockfile). So the built page uses the same files a user gets from
 * npm: dist/index.browser.js, dist/worker*.js and the build/*.wasm assets, which Vite finds through their
 * literal `new URL('../../build/….wasm', import.meta.url)` and emits next to the bundle.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };

/** Conditions in the order a browser bundler applies them (types are for tsc only). */
const CONDITIONS = ['browser', 'import', 'module', 'default'];

/** Picks the target of one "exports" entry: a string, or the first matching condition (nested). */
function pick(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (typeof entry !== 'object' || entry === null) return undefined;
  for (const [cond, target] of Object.entries(entry)) {
    if (!CONDITIONS.includes(cond)) continue;
    const hit = pick(target);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** Resolves `rnnkit` and `rnnkit/<sub>` through the repository's package.json "exports". */
function selfPackage(): Plugin {
  return {
    name: 'rnnkit-self-package',
    enforce: 'pre',
    resolveId(source) {
      if (source !== pkg.name && !source.startsWith(`${pkg.name}/`)) return null;
      const subpath = source === pkg.name ? '.' : `./${source.slice(pkg.name.length + 1)}`;
      const target = pick(pkg.exports[subpath]);
      if (target === undefined) {
        // Same rule as Node: a subpath the package does not export is an error, not a deep import.
        this.error(`"${subpath}" is not exported by ${pkg.name}'s package.json (exports: ${Object.keys(pkg.exports).join(', ')})`);
      }
      return join(repo, target);
    },
  };
}

/**
 * Cross-origin isolation: without these headers browsers withhold SharedArrayBuffer, and rnnkit's
 * worker falls back to the single-threaded wasm module. A site that hosts the built page needs the
 * same two headers for the threaded one.
 */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here,
  server: { headers: isolation },
  preview: { headers: isolation },
  // Relative asset URLs: the built page works from any folder of any static server.
  base: './',
  plugins: [selfPackage()],
  resolve: { conditions: ['browser', 'module', 'import', 'default'] },
  // Module workers keep rnnkit's code-split modules and import.meta.url (the .wasm location) intact.
  worker: { format: 'es' },
  build: {
    outDir: join(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    // The .wasm modules (~300 kB) are assets to fetch, never inlined as base64.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  logLevel: 'warn',
});
