// Embeds texts with transformers.js, as its users call it, in Node and in the browser alike.
//   "model":    AutoModel + AutoTokenizer, reading the graph's `sentence_embedding` output;
//   "pipeline": pipeline('feature-extraction') with {pooling: 'mean', normalize: true} on `token_embeddings`.
// Texts are embedded in the order and batches given (int8 vectors of a dynamic-quantized file depend on the batch),
// then batch-1 latency and batch throughput are timed. Returns {meta, embeddings: {mode: Float32Array}}.

function percentile(sorted, q) {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[index];
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: percentile(sorted, 50), p90_ms: percentile(sorted, 90), p99_ms: percentile(sorted, 99) };
}

async function loadMode(tf, spec, mode) {
  const options = { dtype: 'fp32', model_file_name: spec.model_file_name, device: spec.device };
  if (spec.threads) options.session_options = { intraOpNumThreads: spec.threads };
  if (mode === 'pipeline') {
    const extractor = await tf.pipeline('feature-extraction', spec.model, options);
    return async (texts) => (await extractor(texts, { pooling: 'mean', normalize: true })).data;
  }
  const tokenizer = await tf.AutoTokenizer.from_pretrained(spec.model);
  const model = await tf.AutoModel.from_pretrained(spec.model, options);
  return async (texts) => {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: spec.max_length });
    const outputs = await model(inputs);
    return outputs.sentence_embedding.data;
  };
}

async function embedAll(encode, texts, batch) {
  const parts = [];
  for (let i = 0; i < texts.length; i += batch) parts.push(await encode(texts.slice(i, i + batch)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
}

async function timeMode(encode, spec) {
  const now = () => globalThis.performance.now();
  const timing = spec.timing;
  for (let i = 0; i < timing.warmup; i++) await encode([timing.sentences[i % timing.sentences.length]]);
  const single = [];
  for (let i = 0; i < timing.latency_calls; i++) {
    const start = now();
    await encode([timing.sentences[i % timing.sentences.length]]);
    single.push(now() - start);
  }
  const throughput = {};
  for (const size of timing.batch_sizes) {
    const batches = [];
    for (let b = 0; b < timing.batches; b++) {
      batches.push(Array.from({ length: size }, (_, j) => timing.sentences[(b * size + j) % timing.sentences.length]));
    }
    await encode(batches[0]);
    const start = now();
    for (const texts of batches) await encode(texts);
    throughput[String(size)] = (size * batches.length) / ((now() - start) / 1000);
  }
  return { latency_batch1: { calls: single.length, total: stats(single) }, throughput };
}

export async function run(tf, spec) {
  const meta = { modes: {}, transformers_js: tf.env.version, onnxruntime: tf.env.backends?.onnx?.versions ?? null };
  const embeddings = {};
  for (const mode of spec.modes) {
    const start = globalThis.performance.now();
    const encode = await loadMode(tf, spec, mode);
    const loadMs = globalThis.performance.now() - start;
    embeddings[mode] = await embedAll(encode, spec.texts, spec.batch);
    const timed = spec.timing ? await timeMode(encode, spec) : {};
    meta.modes[mode] = { load_ms: loadMs, count: spec.texts.length, dim: embeddings[mode].length / spec.texts.length,
                         ...timed };
  }
  return { meta, embeddings };
}
