/**
 * `Embedding` (`nn.Embedding`): int32 token ids [batch, seq] → [batch, seq, embeddingDim]; the first
 * layer of a model, which then reads token ids. Core: crates/rnnkit-core/src/layers/embedding.rs.
 */

import type { Tensor2D } from '../tensor.js';
import { int, size } from './fields.js';
import { Layer } from './layer.js';

export interface EmbeddingOptions {
  /** Vocabulary size: ids are in 0..numEmbeddings. */
  numEmbeddings: number;
  embeddingDim: number;
  /** This id's row stays zero and gets no gradient; negative counts from the end (PyTorch). Default none. */
  paddingIdx?: number;
}

export class Embedding extends Layer<Tensor2D<'int32'>> {
  static readonly type = 'Embedding';
  static readonly inputKey = 'num_embeddings';
  static readonly fields = {
    numEmbeddings: size('num_embeddings', true),
    embeddingDim: size('embedding_dim', true),
    paddingIdx: int('padding_idx', -1e9, 1e9),
  };
  constructor(options: EmbeddingOptions) {
    super(options);
  }
}
