/**
 * Recurrent (variational) dropout through the TS API (`recurrentDropout`, core `recurrent_dropout`):
 * option checks, the config it writes, and on each backend that a training forward is masked and
 * reproducible from the seed while inference ignores it. The equations and every gradient are
 * checked in Rust (crates/rnnkit-core/tests/recurrent_dropout.rs).
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { GRU, IndRNN, LSTM, RNN, randn, setBackend } from '../ts/index.js';
import { skipReason } from './helpers/backends.js';
import { thrown } from './helpers/errors.js';

describe('recurrentDropout option', () => {
  it('is written as recurrent_dropout only when given, on every recurrent kind', () => {
    expect(new LSTM({ inputSize: 3, hiddenSize: 4, recurrentDropout: 0.25 }).toJSON()).toEqual({ type: 'LSTM', config: { input_size: 3, hidden_size: 4, recurrent_dropout: 0.25 } });
    expect(new GRU({ hiddenSize: 4, recurrentDropout: 0.5 }).toJSON().config).toEqual({ hidden_size: 4, recurrent_dropout: 0.5 });
    expect(new RNN({ hiddenSize: 4, recurrentDropout: 0.1 }).toJSON().config).toEqual({ hidden_size: 4, recurrent_dropout: 0.1 });
    expect(new IndRNN({ hiddenSize: 4, recurrentDropout: 0.2 }).toJSON().config).toEqual({ hidden_size: 4, recurrent_dropout: 0.2 });
    expect(new LSTM({ hiddenSize: 4 }).toJSON().config).toEqual({ hidden_size: 4 });
  });

  it('must be in [0, 1)', () => {
    for (const v of [1, -0.1, NaN]) {
      const e = thrown(() => new LSTM({ inputSize: 3, hiddenSize: 4, recurrentDropout: v }));
      expect([e.code, e.arg], String(v)).toEqual(['ERR_RNNKIT_VALUE', 'options.recurrentDropout']);
    }
  });
});

describe.each(['native', 'wasm'] as const)('recurrent dropout on %s', (name) => {
  const reason = skipReason(name);
  describe.skipIf(reason !== undefined)(`on ${name}${reason ? ` — ${reason}` : ''}`, () => {
    beforeAll(async () => {
      await setBackend(name);
    });
    const x = randn([6, 3, 2], { seed: 1 });

    it('masks a training forward, reproducibly from the seed; inference ignores it', () => {
      const make = (p: number, seed: number) => new LSTM({ inputSize: 2, hiddenSize: 5, numLayers: 2, bidirectional: true, recurrentDropout: p, seed });
      const [a, b, plain] = [make(0.4, 3), make(0.4, 3), make(0, 3)];
      const inference = plain.forward(x).output.toArray();
      expect(a.forward(x).output.toArray()).toEqual(inference);
      const trainA = a.forward(x, { training: true }).output.toArray();
      expect(b.forward(x, { training: true }).output.toArray()).toEqual(trainA);
      expect(trainA).not.toEqual(inference);
      expect(plain.forward(x, { training: true }).output.toArray()).toEqual(inference);
      const g = a.backward(randn([6, 3, 10], { seed: 2 }));
      expect(g.grads.weight_hh_l1_reverse.toArray().some((v) => v !== 0)).toBe(true);
      for (const l of [a, b, plain]) l.dispose();
    });

    it('is refused on the reset-before GRU, naming the key', () => {
      const gru = new GRU({ inputSize: 2, hiddenSize: 3, resetAfter: false, recurrentDropout: 0.5 });
      const e = thrown(() => gru.forward(x));
      expect([e.code, e.arg]).toEqual(['ERR_RNNKIT_VALUE', 'spec.layers[0].config.recurrent_dropout']);
      expect(e.message).toMatch(/expected 0 for the gru_reset_before cell/);
      gru.dispose();
    });
  });
});
