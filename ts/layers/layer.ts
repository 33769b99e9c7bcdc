/**
 * The base of every TS layer: a typed, checked options object turned into the serialised layer
 * `{type, config}` (config keys are the core's snake_case keys, only those the user gave: the core
 * fills defaults and infers input sizes), and `fromConfig` back. A layer is configuration: shapes,
 * parameter counts and canonical configs come from the core (`Sequential.layerInfo()`).
 */

import type { Tensor2D, Tensor3D } from '../tensor.js';
import { configFromOptions, optionsFromConfig, type Fields } from './fields.js';

/** The serialised layer format shared by the core spec, saved files, the worker protocol and the CLI. */
export interface LayerJSON {
  type: string;
  config: Record<string, unknown>;
}

/** What a model whose first layer is this one reads: float32 features, int32 token ids, or either. */
export type LayerInput = Tensor3D | Tensor2D<'int32'>;

/** A layer class as the registry and `fromConfig` see it. */
export interface LayerClass<T extends Layer<LayerInput> = Layer<LayerInput>> {
  new (options: never): T;
  /** The core's type name, e.g. 'LSTM'. */
  readonly type: string;
  /** camelCase option → core config key. */
  readonly fields: Fields;
  /** The config key that takes the input's size when this is the first layer (absent: cannot be first, or needs none). */
  readonly inputKey?: string;
  /** `Layer.fromConfig`, inherited by every kind. */
  fromConfig(config: unknown, arg?: string): T;
}

export abstract class Layer<In extends LayerInput = Tensor3D> {
  /** Types only: the input a Sequential starting with this layer reads. */
  declare readonly __input?: In;
  readonly #config: Readonly<Record<string, unknown>>;

  /** `extra`: options of the TS object that are not part of the core config. */
  protected constructor(options: unknown, extra: readonly string[] = []) {
    const cls = this.constructor as LayerClass;
    this.#config = Object.freeze(configFromOptions(cls.type, options, cls.fields, extra));
  }

  /** The core's type name ('LSTM', 'Dense', ...). */
  get type(): string {
    return (this.constructor as LayerClass).type;
  }

  /** The core config of the options given (snake_case keys); defaults are the core's. */
  getConfig(): Record<string, unknown> {
    return { ...this.#config };
  }

  /** `{type, config}`: this layer in a spec's `layers` list. */
  toJSON(): LayerJSON {
    return { type: this.type, config: this.getConfig() };
  }

  /** The core layers this layer stands for in a spec (one, except Dense with returnSequences: false). */
  specLayers(): LayerJSON[] {
    return [this.toJSON()];
  }

  /** Rebuilds a layer of this class from its core config (`toJSON().config`, or a canonical one from the core). */
  static fromConfig<T extends Layer<LayerInput>>(this: LayerClass<T>, config: unknown, arg = 'config'): T {
    return new this(optionsFromConfig(this.type, config, this.fields, arg) as never);
  }
}

/** The base of a layer kind without options (activations, global pools, LastStep): `class ReLU extends optionless('ReLU') {}`. */
export function optionless(type: string) {
  return class extends Layer {
    static readonly type = type;
    static readonly fields = {};
    constructor(options: Record<string, never> = {}) {
      super(options);
    }
  };
}
