/**
 * Saved models as the CLI writes and reads them: an ordinary rnnkit safetensors file (weights with
 * PyTorch names, the model spec) plus two JSON entries in `__metadata__`: `rnnkit.data` (task,
 * normalisation statistics or vocabulary, window — see datasets/types.ts) and `rnnkit.train` (how it
 * was trained, on which backend, with which final metrics). Anything that is not such a file becomes a
 * CliError that says what the file is instead.
 */

import { Sequential } from '../model.js';
import { decodeSafetensors } from '../persist.js';
import { CliError, readUserFile } from './args.js';
import type { DataMeta } from './datasets/types.js';

export const DATA_KEY = 'rnnkit.data';
export const TRAIN_KEY = 'rnnkit.train';

/** How a model was trained, as stored under `rnnkit.train`. */
export interface TrainInfo {
  command: string;
  config: Record<string, string | number | boolean>;
  backend: string;
  isa: string;
  epochs: number;
  trainedAt: string;
  seconds: number;
  metrics: Record<string, number>;
  stoppedEarly: boolean;
}

export interface LoadedModel {
  path: string;
  model: Sequential;
  metadata: Record<string, string>;
  data?: DataMeta;
  train?: TrainInfo;
}

export function modelMetadata(data: DataMeta, train: TrainInfo): Record<string, string> {
  return { [DATA_KEY]: JSON.stringify(data), [TRAIN_KEY]: JSON.stringify(train) };
}

function parseJsonEntry<T>(path: string, metadata: Record<string, string>, key: string): T | undefined {
  const text = metadata[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${path}: its __metadata__ entry "${key}" is not valid JSON (the file was edited or damaged)`);
  }
}

/** Reads and checks the file, then builds the model on the current backend. */
export function loadModelFile(path: string): LoadedModel {
  const bytes = readUserFile(path, 'model file');
  let metadata: Record<string, string>;
  try {
    metadata = decodeSafetensors(bytes).metadata;
  } catch (e) {
    throw new CliError(`${path} is not an rnnkit safetensors file: ${(e as Error).message}`);
  }
  if (metadata.format !== 'rnnkit' || typeof metadata.spec !== 'string') {
    const fmt = metadata.format === undefined ? 'no format entry' : `format "${metadata.format}"`;
    throw new CliError(
      `${path} is a safetensors file but not an rnnkit model (its __metadata__ has ${fmt} and no rnnkit model spec); ` +
        'train one with `rnnkit train --out model.safetensors`',
    );
  }
  let model: Sequential;
  try {
    model = Sequential.fromBytes(bytes);
  } catch (e) {
    throw new CliError(`${path} is not a usable rnnkit model: ${(e as Error).message}`);
  }
  return {
    path,
    model,
    metadata,
    data: parseJsonEntry<DataMeta>(path, metadata, DATA_KEY),
    train: parseJsonEntry<TrainInfo>(path, metadata, TRAIN_KEY),
  };
}

/** The data metadata a command needs, or a CliError explaining that the file came from the library API. */
export function requireDataMeta(loaded: LoadedModel, command: string): DataMeta {
  if (!loaded.data) {
    throw new CliError(
      `${loaded.path} was saved with the rnnkit library, not \`rnnkit train\`: it has no dataset metadata ` +
        `(normalisation, vocabulary, window), so \`rnnkit ${command}\` cannot prepare its input. \`rnnkit info\` still reads it.`,
    );
  }
  return loaded.data;
}
