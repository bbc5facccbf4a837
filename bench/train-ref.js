// train-ref.js: train a tokenizer with Hugging Face tokenizers (npm binding)
// as the reference for tok-train.  The binding's Tokenizer.train(files) uses
// each model's default trainer: BPE and WordPiece 30000 tokens, min
// frequency 0, no special tokens; Unigram 8000 pieces.
// usage: NODE_PATH=/opt/tokemb-peers/npm/node_modules node train-ref.js
//        bpe-metaspace|bpe-bytelevel|wordpiece|unigram CORPUS OUT.json
const t = require("tokenizers");
const [kind, corpus, out] = process.argv.slice(2);
let tok;
if (kind === "bpe-metaspace" || kind === "bpe-bytelevel") {
	tok = new t.Tokenizer(t.BPE.empty());
	tok.setPreTokenizer(kind === "bpe-bytelevel" ? t.byteLevelPreTokenizer(false)
		: t.metaspacePreTokenizer("\u2581", "always", true));
} else if (kind === "wordpiece") {
	tok = new t.Tokenizer(t.WordPiece.empty());
	tok.setNormalizer(t.bertNormalizer({ lowercase: true }));
	tok.setPreTokenizer(t.bertPreTokenizer());
} else if (kind === "unigram") {
	tok = new t.Tokenizer(t.Unigram.empty());
	tok.setNormalizer(t.nfkcNormalizer());
	tok.setPreTokenizer(t.metaspacePreTokenizer("\u2581", "always", true));
} else {
	console.error("unknown kind " + kind);
	process.exit(2);
}
const t0 = process.hrtime.bigint();
tok.train([corpus]);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
tok.save(out);
console.error(`hf-train ${kind}: ${ms.toFixed(0)} ms`);
