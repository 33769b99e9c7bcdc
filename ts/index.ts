/**
 * rnnkit's Node entry (the `node` export condition): the public API only. It registers the native
 * N-API addon as the first backend to try (then wasm; `RNNKIT_BACKEND` overrides). The browser entry,
 * ts/index.browser.ts, exports the same names without ever importing the native loader.
 */

import { loadNativeBackend } from './backend/native.js';
import { registerBackendLoader } from './backend/select.js';

// Registration only: the addon itself is loaded on first use (ready(), setBackend() or getBackend()).
registerBackendLoader('native', { load: async () => loadNativeBackend(), loadSync: loadNativeBackend });

export { backendInfo, getBackend, liveHandles, ready, setBackend } from './backend/select.js';
export type { Backend, BackendName, ModelHandle, ParamInfo } from './backend/types.js';
export { ERROR_CODES, isRnnkitError, type RnnkitError, type RnnkitErrorCode } from './errors.js';
export {
  Dense,
  GRU,
  LSTM,
  RecurrentLayer,
  RNN,
  type BackwardOptions,
  type BlockSpec,
  type CellName,
  type DenseActivation,
  type DenseConfig,
  type DenseOptions,
  type ForwardOptions,
  type HeadSpec,
  type Layer,
  type LoadStateDictOptions,
  type LSTMBackwardOptions,
  type LSTMForwardOptions,
  type LSTMGradients,
  type LSTMOutput,
  type RecurrentConfig,
  type RecurrentGradients,
  type RecurrentInit,
  type RecurrentOptions,
  type RecurrentOutput,
  type RNNConfig,
  type RNNOptions,
  type WeightInit,
} from './layers.js';
export {
  Sequential,
  type CompileOptions,
  type EpochLogs,
  type FitOptions,
  type History,
  type Loss,
  type ModelSpec,
  type OptimizerConfig,
  type OptimizerType,
  type SequentialOptions,
} from './model.js';
export {
  randn,
  Tensor,
  tensor,
  zeros,
  type DataTypeMap,
  type DType,
  type Lengths,
  type RandnOptions,
  type Shape,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  type TensorConstructor,
  type WidenShape,
} from './tensor.js';
