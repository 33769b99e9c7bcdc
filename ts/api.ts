/**
 * The public API shared by both entries (ts/index.ts for Node, ts/index.browser.ts for browsers).
 * Entries add only their backend registration; nothing here imports `node:*` modules.
 */

export { backendInfo, getBackend, liveHandles, ready, setBackend } from './backend/select.js';
export type { Backend, BackendName, ModelHandle, ParamInfo } from './backend/types.js';
export { dataset, Dataset, type DatasetOptions, type SequenceInput } from './dataset.js';
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
  type BatchLogs,
  type CompileOptions,
  type EpochLogs,
  type FitCallbacks,
  type FitOptions,
  type History,
  type Loss,
  type ModelSpec,
  type OptimizerConfig,
  type OptimizerType,
  type SequentialOptions,
  type TracePanel,
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
