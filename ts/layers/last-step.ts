/**
 * `LastStep`: [batch, seq, F] → [batch, F], each sequence's last *valid* step (by its length).
 * Core: crates/rnnkit-core/src/layers/last_step.rs.
 */

import { optionless } from './layer.js';

export class LastStep extends optionless('LastStep') {}
