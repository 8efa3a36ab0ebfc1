// The browser check: transformers.js (its browser bundle, onnxruntime-web on WebAssembly) runs the artifact served
// by the harness on 127.0.0.1, then posts the embeddings and timings back to it.
import * as tf from '/tf/transformers.js';
import { run } from '/edge/embed_core.mjs';

const status = (text) => { document.getElementById('status').textContent = text; };

async function post(path, body, type) {
  const response = await fetch(path, { method: 'POST', body, headers: { 'Content-Type': type } });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status}`);
}

try {
  const spec = await (await fetch('/spec.json')).json();
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = '/models/';
  tf.env.useBrowserCache = false;
  tf.env.backends.onnx.wasm.wasmPaths = '/ort/';
  tf.env.backends.onnx.wasm.numThreads = spec.threads || navigator.hardwareConcurrency || 1;
  status('running');
  const { meta, embeddings } = await run(tf, { ...spec, device: 'wasm' });
  meta.runtime = navigator.userAgent;
  meta.cross_origin_isolated = globalThis.crossOriginIsolated === true;
  meta.wasm_threads = tf.env.backends.onnx.wasm.numThreads;
  for (const [mode, values] of Object.entries(embeddings)) await post(`/result/${mode}.f32`, values, 'application/octet-stream');
  await post('/result/meta.json', JSON.stringify(meta), 'application/json');
  status('done');
} catch (error) {
  status(`failed: ${error}`);
  await post('/result/error.json', JSON.stringify({ error: String(error && error.stack || error) }), 'application/json');
}
