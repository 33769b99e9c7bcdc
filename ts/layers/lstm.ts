/**
 * `LSTM` (`nn.LSTM`), PyTorch gate order i, f, g, o, plus ONNX's options: gate / candidate / cell
 * activations, peepholes, cell clip, coupled input-forget gates; PyTorch's output projection `projSize`.
 * Standalone use and options: ./recurrent.ts.
 */

import type { Tensor3D } from '../tensor.js';
import { bool, int, num, oneOf } from './fields.js';
import { GATE_ACTIVATIONS, GATED_FIELDS, RecurrentLayer, type LSTMBackwardOptions, type LSTMForwardOptions, type LSTMGradients, type LSTMOptions, type LSTMOutput } from './recurrent.js';

export class LSTM extends RecurrentLayer {
  static readonly type = 'LSTM';
  static readonly inputKey = 'input_size';
  static readonly fields = {
    ...GATED_FIELDS,
    cellActivation: oneOf('cell_activation', GATE_ACTIVATIONS),
    peephole: bool('peephole'),
    cellClip: num('cell_clip', 'positive'),
    inputForget: bool('input_forget'),
    // 0 = none; the core checks it is below hiddenSize.
    projSize: int('proj_size', 0, 1e9),
  };
  constructor(options: LSTMOptions) {
    super(options);
  }
  forward(x: Tensor3D, opts?: LSTMForwardOptions): LSTMOutput {
    return this.run(x, opts) as LSTMOutput;
  }
  backward(dOutput: Tensor3D, opts?: LSTMBackwardOptions): LSTMGradients {
    return this.runBackward(dOutput, opts) as LSTMGradients;
  }
}
