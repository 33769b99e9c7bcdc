/**
 * The app's Web Worker: rnnkit's ready-made worker entry serves the WorkerModel protocol on this
 * worker as soon as it is imported, so training runs here and the page's main thread stays free.
 * (A local file rather than `new Worker(new URL('rnnkit/worker', …))`: bundlers resolve package names
 * in imports, not in URLs.)
 */
import 'rnnkit/worker';
