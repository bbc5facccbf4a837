// emb_ort.js: ONNX Runtime's side of bench/emb_ort.py.
// node emb_ort.js MODEL.onnx IDS THREADS BATCH NREF OUT.f32
// Runs the ids (one document a line, all of one length) in batches through
// the model on the CPU (graph optimisation 'all', intra-op threads THREADS,
// one inter-op thread), after one warm-up batch; writes the last hidden
// states of the first NREF documents to OUT.f32 and prints
// {"seconds", "cpu", "maxrss_kb"} on stdout, the time that of the timed runs.
'use strict';
const fs = require('fs');
const path = require('path');
const peers = process.env.TOKEMB_PEERS || '/opt/tokemb-peers';
const ort = require(path.join(peers, 'ort/node_modules/onnxruntime-node'));

async function main() {
  const [model, idsPath, threads, batch, nref, out] = process.argv.slice(2);
  const B = Number(batch);
  const docs = fs.readFileSync(idsPath, 'utf8').split('\n').filter((l) => l.length)
    .map((l) => l.split(' ').map(BigInt));
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
  });
  const feed = (i) => {
    const part = docs.slice(i, i + B), T = part[0].length;
    return { input_ids: new ort.Tensor('int64', BigInt64Array.from(part.flat()), [part.length, T]) };
  };
  await sess.run(feed(0));
  const refs = [];
  const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
  for (let i = 0; i < docs.length; i += B) {
    const r = await sess.run(feed(i));
    if (i === 0)
      refs.push(r[sess.outputNames[0]].data);
  }
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const h = refs[0], per = h.length / Math.min(B, docs.length);
  fs.writeFileSync(out, Buffer.from(h.buffer, h.byteOffset, Number(nref) * per * 4));
  console.log(JSON.stringify({ seconds: dt, cpu: (cu.user + cu.system) / 1e6,
    maxrss_kb: process.resourceUsage().maxRSS }));
}

main().catch((e) => { console.error('emb_ort.js: ' + e.message); process.exit(1); });
