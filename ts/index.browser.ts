/**
 * rnnkit's browser entry (the `browser` export condition): the same public API as ts/index.ts, with
 * WebAssembly as the only backend. Nothing here imports `node:*` modules, directly or transitively.
 * The wasm module loads asynchronously, so `await ready()` before creating or running models.
 */

import { useBrowserBackends } from './backend/select.js';

useBrowserBackends();

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
