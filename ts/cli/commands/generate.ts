/**
 * `rnnkit generate --model m.safetensors --prompt "..." --length N --temperature t --seed s`: samples text
 * from a character model. The prompt is fed one character at a time through the streaming `step` API,
 * then each sampled character is fed back; temperature rescales the log-probabilities (0 = greedy).
 */

import type { Sequential } from '../../index.js';
import { tensor } from '../../index.js';
import { CliError, helpText, type FlagSpec } from '../args.js';
import { Random } from '../datasets/random.js';
import { encode } from '../datasets/text.js';
import type { CharMeta } from '../datasets/types.js';
import { requireDataMeta } from '../model-file.js';
import { runOnSavedModel } from '../saved-model.js';
import { BACKEND_FLAG, HELP_FLAG, printNotices } from './common.js';

export const GENERATE_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'a model trained by `rnnkit train` on --text or --dataset text' },
  { name: 'prompt', type: 'string', help: 'text to start from', default: 'the start of the training text' },
  { name: 'length', type: 'int', min: 1, max: 1_000_000, help: 'characters to generate', default: '200' },
  { name: 'temperature', type: 'number', min: 0, help: 'sampling temperature; 0 = always the likeliest character', default: '0.8' },
  { name: 'seed', type: 'int', min: 0, max: 0xffffffff, help: 'seeds the sampling', default: '1' },
  BACKEND_FLAG,
  { name: 'json', type: 'boolean', help: 'print {"prompt", "text"} as one JSON line' },
  HELP_FLAG,
];

export const GENERATE_HELP = helpText(
  'rnnkit generate --model m.safetensors [--prompt "text"] [--length N] [--temperature t] [--seed s]',
  'Samples text from a character model.',
  GENERATE_FLAGS,
);

/** Draws from probabilities `p` (a softmax head's output, or logits when `logits`) at `temperature`. */
function sample(p: Float32Array, temperature: number, logits: boolean, rng: Random): number {
  const logp = Array.from(p, (v) => (logits ? v : Math.log(Math.max(v, 1e-30))));
  if (temperature === 0) return logp.indexOf(Math.max(...logp));
  const m = Math.max(...logp);
  const w = logp.map((l) => Math.exp((l - m) / temperature));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < w.length; j++) {
    u -= w[j];
    if (u <= 0) return j;
  }
  return w.length - 1;
}

/** Continues the prompt (character ids) by `length` sampled characters (the prompt is not included in the result). */
export function sampleText(model: Sequential, meta: CharMeta, prompt: Int32Array, length: number, temperature: number, seed: number): string {
  // The model ends in softmax probabilities or in logits.
  const logits = model.spec.layers[model.spec.layers.length - 1].config.activation !== 'softmax';
  const rng = new Random(seed);
  // One character id per step; the first layer reads it as an id (an Embedding, or a recurrent layer's one-hot row).
  const input = (id: number) => tensor(new Int32Array([id]), [1]);
  model.resetState();
  let out: Float32Array | undefined;
  for (const id of prompt) out = model.step(input(id)).data as Float32Array;
  let text = '';
  for (let k = 0; k < length; k++) {
    if (!out) throw new CliError('--prompt is empty and the model has no start state; give a --prompt of at least one character');
    const next = sample(out, temperature, logits, rng);
    text += meta.vocab[next];
    out = model.step(input(next)).data as Float32Array;
  }
  model.resetState();
  return text;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const command = {
    name: 'generate',
    flags: GENERATE_FLAGS,
    help: GENERATE_HELP,
    missingModel: 'rnnkit generate needs --model file.safetensors (a character model from `rnnkit train --text ...`)',
  };
  return runOnSavedModel(argv, command, (loaded, flags) => {
    const meta = requireDataMeta(loaded, 'generate');
    if (meta.task !== 'charlm') throw new CliError(`${loaded.path} is a ${meta.task} model on ${meta.name}; generate needs a character model (train one with --text file.txt)`);
    const prompt = (flags.prompt as string | undefined) ?? meta.prompt;
    if (prompt.length === 0) throw new CliError('--prompt is empty; give at least one character');
    const temperature = (flags.temperature as number | undefined) ?? 0.8;
    const { ids, mapped } = encode(prompt, meta.vocab, '--prompt', meta.unknown);
    const notices = mapped > 0 ? [`${mapped} --prompt characters are outside the model's vocabulary and read as the unknown symbol "\uFFFD"`] : [];
    const text = sampleText(loaded.model, meta, ids, (flags.length as number | undefined) ?? 200, temperature, (flags.seed as number | undefined) ?? 1);
    if (flags.json) process.stdout.write(JSON.stringify({ prompt, text, temperature, ...(notices.length > 0 ? { notices } : {}) }) + '\n');
    else {
      printNotices(notices);
      process.stdout.write(prompt + text + '\n');
    }
    return 0;
  });
}
