/**
 * rnnkit's Node entry (the `node` export condition): the public API only. It registers the native
 * N-API addon as the first backend to try (then wasm; `RNNKIT_BACKEND` overrides). The browser entry,
 * ts/index.browser.ts, exports the same names without ever importing the native loader.
 */

import { loadNativeBackend } from './backend/native.js';
import { registerBackendLoader } from './backend/select.js';

// Registration only: the addon itself is loaded on first use (ready(), setBackend() or getBackend()).
registerBackendLoader('native', { load: async () => loadNativeBackend(), loadSync: loadNativeBackend });

export * from './api.js';
