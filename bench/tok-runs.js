// bench/tok-runs.js [--max N] [--fixture FILE] [PIECE...]
// Runs of one repeated piece, every length 1..N (default 4096), through
// t5-small's Unigram in tok-encode and in its references: Hugging Face
// tokenizers (npm tokenizers@0.23.2) for tokenizer.json, and Debian's
// python3-sentencepiece for the same vocabulary written as a .model
// (bench/spm-t5model.py).  Pieces default to '-' and 'ab'.  Prints the
// agreement per reference and piece; exits 1 on any difference.  With
// --fixture, writes HF's encodings of a few dozen of those lengths as
// t/data/tok/expected JSONL (read by build/t/test-tok-exact).  Run with
//   NODE_PATH=/opt/tokemb-peers/npm/node_modules node bench/tok-runs.js
const fs = require('fs');
const os = require('os');
const path = require('path');
const {spawnSync} = require('child_process');

const here = __dirname;
const D = process.env.TOKEMB_DATA || path.join(here, '../../shared/data');
const BIN = process.env.TOKEMB_BIN || path.join(here, '../build/bin');
const json = D + '/tokenizers/t5-small/tokenizer.json';
let max = 4096, fixture = null;
const pieces = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--max') max = +argv[++i];
  else if (argv[i] === '--fixture') fixture = argv[++i];
  else pieces.push(argv[i]);
}
if (!pieces.length) pieces.push('-', 'ab');

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, {input, maxBuffer: 1 << 30});
  if (r.status !== 0)
    throw new Error(cmd + ' ' + args.join(' ') + ': ' + (r.stderr || '').toString());
  return r.stdout.toString();
}
const lines = o => o.split('\n').slice(0, -1);
function ours(model, texts, opts) {
  return lines(run(BIN + '/tok-encode', ['-m', model, ...opts], texts.join('\n') + '\n'));
}

(async () => {
  const {Tokenizer} = require('tokenizers');
  const tk = Tokenizer.fromFile(json);
  tk.disablePadding(); tk.disableTruncation();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-runs-'));
  const model = tmp + '/t5.model';
  run('/usr/bin/python3', [path.join(here, 'spm-t5model.py'), json, model]);
  const py = `import sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
for l in sys.stdin:
    print(' '.join(map(str, sp.encode(l.rstrip('\\n')))))`;
  let allok = true;
  const fix = [];
  const keep = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 31, 32, 33, 64, 100,
    127, 128, 255, 256, 1000, 1024, 4096]);
  for (const p of pieces) {
    const texts = [];
    for (let n = 1; n <= max; n++) texts.push(p.repeat(n));
    const want = [];
    for (let i = 0; i < texts.length; i += 500) {
      const part = texts.slice(i, i + 500);
      const a = await tk.encodeBatch(part, {addSpecialTokens: false});
      for (let k = 0; k < part.length; k++) {
        want.push(Array.from(a[k].getIds()).join(' '));
        if (keep.has(i + k + 1))
          fix.push(JSON.stringify({text: part[k], ids: Array.from(a[k].getIds())}));
      }
    }
    const got = ours(json, texts, ['--no-special']);
    const spmWant = lines(run('/usr/bin/python3', ['-c', py, model], texts.join('\n') + '\n'));
    const spmGot = ours(model, texts, []);
    for (const [ref, w, g] of [['tokenizer.json vs HF', want, got], ['.model vs sentencepiece', spmWant, spmGot]]) {
      let ok = 0, first = 0;
      for (let i = 0; i < max; i++)
        if (w[i] === g[i]) ok++;
        else if (!first) first = i + 1;
      if (ok !== max) allok = false;
      console.log(`t5-small ${ref.padEnd(24)} ${JSON.stringify(p).padEnd(6)} x 1..${max}: ` +
        `${ok}/${max} agree` + (first ? ` (first difference at length ${first})` : ''));
    }
  }
  fs.rmSync(tmp, {recursive: true});
  if (fixture)
    fs.writeFileSync(fixture, fix.join('\n') + '\n');
  process.exit(allok ? 0 : 1);
})().catch(e => { console.error('tok-runs: ' + e.message); process.exit(1); });
