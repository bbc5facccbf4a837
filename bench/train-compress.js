// train-compress.js: compression of tokenizers on held-out text: tokens
// per byte, with Hugging Face tokenizers (npm) doing the encoding.  Lines
// that some tokenizer cannot encode (a Unigram without <unk> meeting an
// unseen character) are left out for all of them, and counted.
// usage: NODE_PATH=/opt/tokemb-peers/npm/node_modules node train-compress.js
//        HELDOUT.txt tokenizer.json...
// prints: "file tokens bytes tokens_per_byte" for each tokenizer
const t = require("tokenizers");
const fs = require("fs");
const [held, ...toks] = process.argv.slice(2);
const lines = fs.readFileSync(held, "utf8").split("\n").filter((l) => l.length);
(async () => {
	const counts = [];
	for (const f of toks) {
		const tok = t.Tokenizer.fromFile(f);
		const c = [];
		for (const l of lines) {
			try {
				const e = await tok.encode(l, null, { addSpecialTokens: false });
				c.push(e.getIds().length);
			} catch (err) {
				c.push(null);
			}
		}
		counts.push(c);
	}
	const ok = lines.map((_, i) => counts.every((c) => c[i] !== null));
	const bytes = lines.reduce((a, l, i) => a + (ok[i] ? Buffer.byteLength(l) : 0), 0);
	const skipped = ok.filter((x) => !x).length;
	if (skipped) console.error(`${skipped} of ${lines.length} lines left out`);
	toks.forEach((f, k) => {
		const n = counts[k].reduce((a, x, i) => a + (ok[i] ? x : 0), 0);
		console.log(`${f} ${n} ${bytes} ${(n / bytes).toFixed(5)}`);
	});
})();
