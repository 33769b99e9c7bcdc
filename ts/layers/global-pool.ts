/**
 * `GlobalMeanPool` / `GlobalMaxPool`: [batch, seq, F] → [batch, F] over each sequence's valid steps.
 * Core: crates/rnnkit-core/src/layers/global_pool.rs.
 */

import { optionless } from './layer.js';

export class GlobalMeanPool extends optionless('GlobalMeanPool') {}
export class GlobalMaxPool extends optionless('GlobalMaxPool') {}
