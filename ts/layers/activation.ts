/**
 * Activation layers, elementwise on sequences or vectors: `ReLU`, `GELU` (exact, erf), `Tanh`,
 * `Sigmoid`. Core: crates/rnnkit-core/src/layers/activation_layer.rs.
 */

import { optionless } from './layer.js';

export class ReLU extends optionless('ReLU') {}
export class GELU extends optionless('GELU') {}
export class Tanh extends optionless('Tanh') {}
export class Sigmoid extends optionless('Sigmoid') {}
