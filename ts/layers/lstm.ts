/**
 * `LSTM` (`nn.LSTM`), PyTorch gate order i, f, g, o. Standalone use and options: ./recurrent.ts.
 */

import type { Tensor3D } from '../tensor.js';
import { RECURRENT_FIELDS, RecurrentLayer, type LSTMBackwardOptions, type LSTMForwardOptions, type LSTMGradients, type LSTMOutput, type RecurrentOptions } from './recurrent.js';

export class LSTM extends RecurrentLayer {
  static readonly type = 'LSTM';
  static readonly inputKey = 'input_size';
  static readonly fields = RECURRENT_FIELDS;
  constructor(options: RecurrentOptions) {
    super(options);
  }
  forward(x: Tensor3D, opts?: LSTMForwardOptions): LSTMOutput {
    return this.run(x, opts) as LSTMOutput;
  }
  backward(dOutput: Tensor3D, opts?: LSTMBackwardOptions): LSTMGradients {
    return this.runBackward(dOutput, opts) as LSTMGradients;
  }
}
