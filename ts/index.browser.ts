/**
 * rnnkit's browser entry (the `browser` export condition): the same public API as ts/index.ts, with
 * WebAssembly as the only backend. Nothing here imports `node:*` modules, directly or transitively.
 * The wasm module loads asynchronously, so `await ready()` before creating or running models.
 */

import { useBrowserBackends } from './backend/select.js';

useBrowserBackends();

export * from './api.js';
