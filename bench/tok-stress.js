// bench/tok-stress.js [--quick] [-n N] [--from K] [--seed S] [--out FILE] [NAME...]
// Draw random documents from every plane and block (assigned, unassigned and
// private-use code points, noncharacters, combining sequences, every
// whitespace and control, runs of one repeated piece of every length up to
// 4096, and mixtures) and compare tok-encode/tok-decode with the reference of
// each tokenizer of $TOKEMB_DATA/tokenizers:
//   tokenizer.json  npm tokenizers@0.23.2 (Hugging Face tokenizers, native)
//   .tiktoken       npm tiktoken (OpenAI tiktoken, WASM)
//   .model          Debian python3-sentencepiece (/usr/bin/python3)
// Ids with and without special tokens, and decode, per document; for
// tokenizer.json also the offsets (tok-encode --offsets --no-special against
// HF's getOffsets(), its characters counted in bytes).  Prints the
// agreement per tokenizer; the differing cases go to FILE (one JSON a line).
// N defaults to 100000 documents per tokenizer, --quick to 2000; --from K
// compares only documents K to N-1 (the rest of an earlier run's N).  U+0000 is
// left out (documents travel NUL-terminated).  Run with
//   NODE_PATH=/opt/tokemb-peers/npm/node_modules node bench/tok-stress.js
const fs = require('fs');
const path = require('path');
const {spawnSync} = require('child_process');

const here = __dirname;
const D = process.env.TOKEMB_DATA || path.join(here, '../../shared/data');
const BIN = process.env.TOKEMB_BIN || path.join(here, '../build/bin');
let n = 100000, from = 0, seed = 1, out = 'tok-stress.diff.jsonl';
const only = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') n = 2000;
  else if (a === '-n') n = +argv[++i];
  else if (a === '--from') from = +argv[++i];
  else if (a === '--seed') seed = +argv[++i];
  else if (a === '--out') out = argv[++i];
  else only.push(a);
}

// mulberry32
function rng(s) {
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
let R = rng(seed);
const ri = (a, b) => a + Math.floor(R() * (b - a + 1));  // [a, b]
const pick = a => a[Math.floor(R() * a.length)];

const WS = [9, 10, 11, 12, 13, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
  0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x1c, 0x1d, 0x1e, 0x1f];
const CTRL = [];
for (let c = 1; c < 0x20; c++) CTRL.push(c);
for (let c = 0x7f; c < 0xa0; c++) CTRL.push(c);
CTRL.push(0xad, 0x61c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067,
  0x2068, 0x2069, 0xfff9, 0xfffa, 0xfffb, 0xfffc, 0xfffd, 0x110bd, 0x1bca0, 0x1d173, 0xe0001,
  0xe0020, 0xe007f, 0x600, 0x605, 0x6dd, 0x70f, 0x8e2, 0x180e);
const MARKS = [[0x300, 0x36f], [0x483, 0x489], [0x591, 0x5bd], [0x610, 0x61a], [0x64b, 0x65f],
  [0x900, 0x903], [0x93a, 0x94f], [0xe31, 0xe3a], [0x1ab0, 0x1aff], [0x1dc0, 0x1dff],
  [0x20d0, 0x20ff], [0xfe00, 0xfe0f], [0xfe20, 0xfe2f], [0x1f3fb, 0x1f3ff], [0xe0100, 0xe01ef],
  [0x302a, 0x302f], [0x3099, 0x309a], [0x1e94a, 0x1e94a], [0x11f00, 0x11f03]];
const NONCHAR = [];
for (let c = 0xfdd0; c <= 0xfdef; c++) NONCHAR.push(c);
for (let p = 0; p <= 16; p++) NONCHAR.push(p * 0x10000 + 0xfffe, p * 0x10000 + 0xffff);
const PUA = [[0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd]];
// blocks assigned late (Unicode 10..16) and blocks still unassigned
const RECENT = [[0x860, 0x86f], [0x870, 0x89f], [0x8a0, 0x8ff], [0x1ab0, 0x1aff], [0x1c80, 0x1cbf],
  [0x2fe0, 0x2fef], [0x31c0, 0x31ef], [0x9fa6, 0x9fff], [0xa7c0, 0xa7ff], [0xab30, 0xab6f],
  [0x10570, 0x105bf], [0x10780, 0x107bf], [0x10d00, 0x10d8f], [0x10e80, 0x10ebf],
  [0x10f00, 0x10fff], [0x11900, 0x1195f], [0x11ab0, 0x11abf], [0x11f00, 0x11f5f],
  [0x13430, 0x1345f], [0x16fe0, 0x16fff], [0x18800, 0x18d7f], [0x1b000, 0x1b16f],
  [0x1cf00, 0x1cfcf], [0x1d2c0, 0x1d2df], [0x1df00, 0x1dfff], [0x1e030, 0x1e08f],
  [0x1e290, 0x1e2ff], [0x1e4d0, 0x1e4ff], [0x1e7e0, 0x1e7ff], [0x1f900, 0x1faff],
  [0x1fb00, 0x1fbff], [0x2a6d7, 0x2a6df], [0x2b735, 0x2b73f], [0x2b81e, 0x2b82f],
  [0x2cea2, 0x2ceaf], [0x2ebe1, 0x2f7ff], [0x30000, 0x3134f], [0x31350, 0x323af],
  [0x323b0, 0x33fff], [0x40000, 0xdffff], [0xe0000, 0xe0fff], [0x3400, 0x4dbf],
  [0x4e00, 0x9fff], [0xf900, 0xfaff], [0x20000, 0x2a6df], [0x2f800, 0x2fa1f]];
const WORDS = ['hello', 'World', 'the', 'naïve', 'Straße', '日本', 'что', 'ΣΑΣ', 'x', '42',
  "don't", 'İ', 'ǅ', 'ﬁ', 'e\u0301', '👍🏽', '<|endoftext|>', '[CLS]', '<s>', '</s>', '<unk>',
  '<mask>', '[SEP]', '<|im_start|>', '<start_of_turn>', '<|begin_of_text|>'];
const PIECES = ['-', '=', '.', '_', '*', '#', ' ', '\n', '\t', 'a', 'ab', '0', '12', '▁', '😀',
  '日', 'é', 'e\u0301', '\u3000', '!', '~', '/', '-=', '--', '. ', 'x ', '\u00a0', '\u200b', '<'];
const RUNLEN = [];
for (let i = 1; i <= 4096; i++) RUNLEN.push(i);

function cp(c) {
  if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;  // no lone surrogates in UTF-8
  if (c === 0) c = 0x20;
  return String.fromCodePoint(c);
}
const inr = r => cp(ri(r[0], r[1]));
function anycp() {  // any code point: a plane, then anywhere in it
  const p = pick([0, 0, 0, 0, 1, 1, 2, 3, 14, 15, 16]);
  return cp(p * 0x10000 + ri(0, 0xffff));
}
function segment() {
  switch (ri(0, 9)) {
  case 0: { let s = ''; for (let k = ri(1, 12); k--;) s += anycp(); return s; }
  case 1: { let s = ''; for (let k = ri(1, 8); k--;) s += inr(pick(RECENT)); return s; }
  case 2: { let s = ''; for (let k = ri(1, 6); k--;) s += inr(pick(PUA)); return s; }
  case 3: { let s = ''; for (let k = ri(1, 4); k--;) s += cp(pick(NONCHAR)); return s; }
  case 4: {  // combining sequence on a base of any kind
    let s = pick(['a', 'e', 'Z', ' ', '日', 'ا', 'क', '1', '-', '']) ;
    if (R() < 0.3) s = anycp();
    for (let k = ri(1, 8); k--;) s += inr(pick(MARKS));
    return s;
  }
  case 5: { let s = ''; for (let k = ri(1, 8); k--;) s += cp(pick(R() < 0.5 ? WS : CTRL)); return s; }
  case 6: {  // one piece repeated, any length up to 4096 (short lengths more often)
    const len = R() < 0.5 ? ri(1, 64) : pick(RUNLEN);
    return pick(PIECES).repeat(len);
  }
  default: return pick(WORDS);
  }
}
function doc() {
  if (R() < 0.15) return segment();
  let s = '';
  for (let k = ri(1, 8); k--;) s += segment() + (R() < 0.5 ? ' ' : '');
  return s;
}

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, {input, maxBuffer: 1 << 30});
  if (r.status !== 0)
    throw new Error(cmd + ' ' + args.join(' ') + ': ' + (r.stderr || '').toString());
  return r.stdout;
}
function ours(model, docs, opts) {
  const o = run(BIN + '/tok-encode', ['-z', '-m', model, ...opts],
    Buffer.from(docs.map(d => d + '\0').join(''), 'utf8'));
  const parts = o.toString('latin1').split('\0');
  parts.pop();
  return parts.map(p => p === '' ? [] : p.split(' ').map(Number));
}
function ouroffs(model, docs) {
  const o = run(BIN + '/tok-encode', ['-z', '--no-special', '--offsets', '-m', model],
    Buffer.from(docs.map(d => d + '\0').join(''), 'utf8'));
  const parts = o.toString('latin1').split('\0');
  parts.pop();
  return parts;
}
function ourdec(model, idss, opts) {
  const o = run(BIN + '/tok-decode', ['-z', '-m', model, ...opts],
    Buffer.from(idss.map(x => x.join(' ') + '\0').join('')));
  const res = [];
  let s = 0;
  for (let i = 0; i < o.length; i++)
    if (o[i] === 0) { res.push(o.subarray(s, i)); s = i + 1; }
  return res;
}
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

function tokenizers() {
  const T = [];
  const dir = D + '/tokenizers';
  for (const name of fs.readdirSync(dir).sort()) {
    if (fs.existsSync(`${dir}/${name}/tokenizer.json`))
      T.push({name, kind: 'hf', model: `${dir}/${name}/tokenizer.json`});
    if (fs.existsSync(`${dir}/${name}/tokenizer.model`))
      T.push({name: name + '.model', kind: 'spm', model: `${dir}/${name}/tokenizer.model`});
  }
  for (const f of fs.readdirSync(dir + '/tiktoken').sort())
    if (f.endsWith('.tiktoken'))
      T.push({name: f, kind: 'tt', model: `${dir}/tiktoken/${f}`});
  T.push({name: 'llama3/original_tokenizer.model', kind: 'tt3', model: `${dir}/llama3/original_tokenizer.model`});
  return T.filter(t => !only.length || only.includes(t.name));
}

// reference: [{text, ids, ids_with_special, decoded(Buffer of the reference's decode of ids_with_special)}]
async function refHF(t, docs) {
  const {Tokenizer} = require('tokenizers');
  const tk = Tokenizer.fromFile(t.model);
  tk.disablePadding(); tk.disableTruncation();
  const res = [];
  for (let i = 0; i < docs.length; i += 500) {
    const part = docs.slice(i, i + 500);
    const a = await tk.encodeBatch(part, {addSpecialTokens: false});
    const b = await tk.encodeBatch(part, {addSpecialTokens: true});
    const ws = b.map(e => Array.from(e.getIds()));
    const dec = await tk.decodeBatch(ws, true);
    for (let k = 0; k < part.length; k++)
      res.push({ids: Array.from(a[k].getIds()), ids_with_special: ws[k], decoded: Buffer.from(dec[k]),
        offsets: byteOffsets(part[k], a[k].getOffsets())});
  }
  return res;
}
// HF's offsets count characters (code points); ours bytes: "start:end ...".
function byteOffsets(text, offs) {
  const at = [0];
  for (const ch of text) at.push(at[at.length - 1] + Buffer.byteLength(ch));
  return offs.map(([a, b]) => at[a] + ':' + at[b]).join(' ');
}
function refTT(t, docs) {
  const {Tiktoken} = require('tiktoken/lite');
  let special = {}, pat;
  if (t.kind === 'tt3') {
    pat = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
  } else {
    const ttpath = require.resolve('tiktoken/lite').replace(/lite\.js$|lite\/.*$/, '');
    const m = JSON.parse(fs.readFileSync(ttpath + 'encoders/' + t.name.replace('.tiktoken', '.json'), 'utf8'));
    special = m.special_tokens; pat = m.pat_str;
  }
  const e = new Tiktoken(fs.readFileSync(t.model, 'utf8'), special, pat);
  // tiktoken's BPE is quadratic in a piece's length and long runs dominate:
  // encode with special tokens only where one can be found
  const names = Object.keys(special);
  const res = docs.map(d => {
    const ids = Array.from(e.encode_ordinary(d));
    const ws = names.some(x => d.includes(x)) ? Array.from(e.encode(d, 'all')) : ids;
    return {ids, ids_with_special: ws, decoded: Buffer.from(e.decode(new Uint32Array(ids)))};
  });
  e.free();
  return res;
}
function refSPM(t, docs) {
  const py = `import json, sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
for l in sys.stdin:
    d = json.loads(l)
    ids = sp.encode(d)
    print(json.dumps({'ids': ids, 'dec': list(sp.decode(ids).encode('utf-8', 'surrogatepass'))}))`;
  const o = run('/usr/bin/python3', ['-c', py, t.model], docs.map(d => JSON.stringify(d) + '\n').join(''));
  return o.toString().trim().split('\n').map(l => {
    const r = JSON.parse(l);
    return {ids: r.ids, ids_with_special: r.ids, decoded: Buffer.from(r.dec)};
  });
}

(async () => {
  const fd = fs.openSync(out, 'w');
  let allok = true;
  for (const t of tokenizers()) {
    R = rng(seed);  // the same documents for every tokenizer
    let docs = [];
    for (let i = 0; i < n; i++) docs.push(doc());
    docs = docs.slice(from);
    const t0 = Date.now();
    const ref = t.kind === 'hf' ? await refHF(t, docs) : t.kind === 'spm' ? refSPM(t, docs) : refTT(t, docs);
    const t1 = Date.now();
    let got, gotw, gotd, goto = null;
    if (t.kind === 'hf') {
      goto = ouroffs(t.model, docs);
      got = ours(t.model, docs, ['--no-special']);
      gotw = ours(t.model, docs, []);
      gotd = ourdec(t.model, ref.map(r => r.ids_with_special), ['--skip-special']);
    } else if (t.kind === 'spm') {
      got = gotw = ours(t.model, docs, []);
      gotd = ourdec(t.model, ref.map(r => r.ids), []);
    } else {
      got = ours(t.model, docs, []);
      gotw = t.kind === 'tt3' ? got : ours(t.model, docs, ['--allow-special']);
      gotd = ourdec(t.model, ref.map(r => r.ids), []);
    }
    const t2 = Date.now();
    let ok = 0;
    for (let i = 0; i < docs.length; i++) {
      const r = ref[i], bad = [];
      if (!same(got[i] || [], r.ids)) bad.push('ids');
      if (!same(gotw[i] || [], r.ids_with_special)) bad.push('ids_with_special');
      if (!gotd[i] || !gotd[i].equals(r.decoded)) bad.push('decode');
      if (goto && goto[i] !== r.offsets) bad.push('offsets');
      if (!bad.length) { ok++; continue; }
      fs.writeSync(fd, JSON.stringify({tokenizer: t.name, doc: from + i, bad, text: docs[i],
        want: r.ids, got: got[i], want_ws: r.ids_with_special, got_ws: gotw[i],
        want_dec: r.decoded.toString(), got_dec: gotd[i] ? gotd[i].toString() : null,
        want_offsets: r.offsets, got_offsets: goto ? goto[i] : undefined}) + '\n');
    }
    if (ok !== docs.length) allok = false;
    console.log(`${t.name.padEnd(32)} ${ok}/${docs.length} agree (${(100 * ok / docs.length).toFixed(2)}%)` +
      `${from ? ` (documents ${from} to ${n - 1})` : ''}  ` +
      `ref ${((t1 - t0) / 1000).toFixed(1)}s ours ${((t2 - t1) / 1000).toFixed(1)}s`);
  }
  fs.closeSync(fd);
  process.exit(allok ? 0 : 1);
})().catch(e => { console.error('tok-stress: ' + e.message); process.exit(1); });
