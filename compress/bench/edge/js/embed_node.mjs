// node embed_node.mjs SPEC.json: transformers.js on onnxruntime-node; writes MODE.f32 files and prints one JSON line.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@huggingface/transformers';
import { run } from './embed_core.mjs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
tf.env.allowRemoteModels = false;
tf.env.allowLocalModels = true;
tf.env.localModelPath = spec.root;
tf.env.useFSCache = false;
const { meta, embeddings } = await run(tf, { ...spec, device: 'cpu' });
for (const [mode, values] of Object.entries(embeddings)) {
  const path = join(spec.out, `${mode}.f32`);
  writeFileSync(`${path}.tmp`, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  renameSync(`${path}.tmp`, path);
}
meta.runtime = `node ${process.version}`;
console.log(JSON.stringify(meta));
