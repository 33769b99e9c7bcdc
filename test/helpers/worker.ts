/**
 * The worker protocol without a Worker: `serve()` (ts/worker.ts) on one port of a MessageChannel in
 * this thread, `WorkerModel` (ts/worker-client.ts) on the other, so a test drives exactly the messages
 * a real worker would get. The ports close after each test.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach } from 'vitest';

import type { MessageEndpoint } from '../../ts/worker-client.js';
import { serve } from '../../ts/worker.js';

/**
 * Call inside a `describe`: returns `connect()`, which starts a served channel and hands back the
 * client end for `WorkerModel.create` / `WorkerModel.fromBytes`.
 */
export function inProcessWorker(): () => MessageEndpoint {
  let ports: MessageChannel | undefined;
  afterEach(() => {
    ports?.port1.close();
    ports?.port2.close();
    ports = undefined;
  });
  return () => {
    ports = new MessageChannel();
    // Node's MessagePort lacks the DOM's Transferable typing but speaks the same protocol.
    serve(ports.port1 as unknown as MessageEndpoint);
    return ports.port2 as unknown as MessageEndpoint;
  };
}
