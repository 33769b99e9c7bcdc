/**
 * The public API shared by both entries (ts/index.ts for Node, ts/index.browser.ts for browsers).
 * Entries add only their backend registration; nothing here imports `node:*` modules.
 */

export { backendInfo, getBackend, liveHandles, ready, setBackend } from './backend/select.js';
export type { Backend, BackendName, LayerInfo, LayerShape, ModelHandle, ParamInfo, StateInfo } from './backend/types.js';
export { dataset, Dataset, type DatasetOptions, type SequenceInput } from './dataset.js';
export { ERROR_CODES, isRnnkitError, type RnnkitError, type RnnkitErrorCode } from './errors.js';
// Every layer kind, its options type, the registry and the recurrent layers' standalone types.
export * from './layers.js';
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
