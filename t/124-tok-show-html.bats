#!/usr/bin/env bats
# tok-show --html: one self-contained page, rendered by headless Chromium;
# its text is the terminal's display, its ids and counts are tok-encode's.

load helper

S=$BATS_TEST_DIRNAME/data/show
BPE=$S/tiny-bytebpe
WP=$S/tiny-wordpiece

# The DOM of an HTML file as Chromium renders it.
render() {
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --no-first-run --dump-dom "$1" 2>/dev/null
}

# From a DOM on stdin, write into DIR: pre.N (the text of the Nth <pre>),
# ids.N (the title of each token <span> in it, one a line) and ntok.N (the
# tokens cell of its table row, if any).
dom_parts() {
	/usr/bin/python3 -c '
import sys, html.parser
out = sys.argv[1]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.n, self.pre, self.cell, self.text, self.ids, self.ntok = 0, False, False, "", [], ""
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "pre":
            self.pre, self.text, self.ids = True, "", []
        elif tag == "span" and self.pre:
            self.ids.append(a["title"])
        elif tag == "td" and a.get("class") == "ntok":
            self.cell, self.ntok = True, ""
    def handle_endtag(self, tag):
        if tag == "pre":
            self.pre = False
            for name, s in (("pre", self.text), ("ids", "".join(i + "\n" for i in self.ids)), ("ntok", self.ntok)):
                with open("%s/%s.%d" % (out, name, self.n), "w", encoding="utf-8", newline="") as f:
                    f.write(s)
            self.n += 1
        elif tag == "td":
            self.cell = False
    def handle_data(self, d):
        if self.pre:
            self.text += d
        if self.cell:
            self.ntok += d
p = P()
p.feed(sys.stdin.read())
print(p.n)
' "$1"
}

setup() {
	[ -x /usr/bin/chromium ] || skip "needs Debian's chromium (/usr/bin/chromium)"
	[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
}

@test "--html with one -m: the page's text is the terminal display, ids on hover are the ids" {
	local dir=$BATS_TEST_TMPDIR
	run -0 tok-show --html -m "$BPE" "$S/showcase.txt"
	printf '%s\n' "$output" >"$dir/page.html"
	[[ ${lines[0]} == "<!DOCTYPE html>" ]]
	# self-contained: nothing fetched from elsewhere
	[[ $output != *"src="* && $output != *"href="* && $output != *"<script"* ]]
	render "$dir/page.html" >"$dir/dom.html"
	run -0 dom_parts "$dir" <"$dir/dom.html"
	[ "$output" = 1 ]
	tok-show --color=never --sep '' -m "$BPE" "$S/showcase.txt" >"$dir/term"
	cmp "$dir/term" "$dir/pre.0"
	# each coloured token's title is its id, in order: tok-encode's ids
	# less the newline tokens, which colour nothing
	/usr/bin/python3 -c '
import sys
ids = open(sys.argv[1]).read().split()
shown = open(sys.argv[2]).read().split()
it = iter(ids)
assert shown and all(any(s == i for i in it) for s in shown), "titles are not the ids in order"
assert len(ids) - len(shown) <= open(sys.argv[3]).read().count("\n"), "too few titles"
' <(tok-encode -m "$BPE" -z <"$S/showcase.txt" | tr '\0' '\n') "$dir/ids.0" "$S/showcase.txt"
}

@test "--html with several -m: a comparison table, one row a model, as the terminal's blocks" {
	local dir=$BATS_TEST_TMPDIR m row=0 n
	run -0 tok-show --html -m "$WP" -m "$BPE" "$S/showcase.txt"
	printf '%s\n' "$output" >"$dir/page.html"
	[[ $output == *"<table>"* ]]
	render "$dir/page.html" >"$dir/dom.html"
	[[ $(cat "$dir/dom.html") == *'<th class="model">tiny-wordpiece</th>'* ]]
	[[ $(cat "$dir/dom.html") == *'<th class="model">tiny-bytebpe</th>'* ]]
	run -0 dom_parts "$dir" <"$dir/dom.html"
	[ "$output" = 2 ]
	for m in "$WP" "$BPE"; do
		tok-show --color=never --sep '' -m "$m" "$S/showcase.txt" >"$dir/term"
		cmp "$dir/term" "$dir/pre.$row"
		n=$(tok-encode -m "$m" --count "$S/showcase.txt" | awk '{ print $1 }')
		[ "$(cat "$dir/ntok.$row")" = "$n" ]
		row=$((row + 1))
	done
}

@test "--html escapes the text and pictures control characters; --html -z and --summary are usage errors" {
	printf 'a <b> & "c"\001\n' >"$BATS_TEST_TMPDIR/in"
	run -0 tok-show --html -m "$BPE" "$BATS_TEST_TMPDIR/in"
	[[ $output == *"&lt;"* && $output == *"&amp;"* && $output == *"&quot;"* ]]
	[[ $output != *$'\001'* ]]
	[[ $output == *"␁"* ]]
	run -2 --separate-stderr tok-show --html -z -m "$BPE" "$BATS_TEST_TMPDIR/in"
	[[ $stderr == *"--html goes with neither --summary nor -z"* ]]
	run -2 --separate-stderr tok-show --html --summary -m "$BPE" "$BATS_TEST_TMPDIR/in"
	[[ $stderr == *"--html goes with neither --summary nor -z"* ]]
}

@test "--html: Chromium's screenshot of the page shows every palette colour" {
	local dir=$BATS_TEST_TMPDIR
	tok-show --html -m "$BPE" "$S/showcase.txt" >"$dir/page.html"
	timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --no-first-run --hide-scrollbars \
		--window-size=1200,900 --screenshot="$dir/shot.png" "$dir/page.html" 2>/dev/null
	[ -s "$dir/shot.png" ]
	# decode the PNG (8-bit RGB or RGBA, not interlaced) and count the
	# pixels of each of the six token colours the page uses
	run -0 /usr/bin/python3 -c '
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(b):
    n, t = struct.unpack(">I4s", b[pos:pos + 8])
    d = b[pos + 8:pos + 8 + n]
    if t == b"IHDR":
        w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", d)
    elif t == b"IDAT":
        idat += d
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and lace == 0, "unexpected PNG layout"
bpp = 3 if ctype == 2 else 4
raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        c = prev[x - bpp] if x >= bpp else 0
        u = prev[x]
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + u) & 255
        elif f == 3: line[x] = (line[x] + (a + u) // 2) & 255
        elif f == 4:
            p = a + u - c
            pa, pb, pc = abs(p - a), abs(p - u), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else u if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
seen = {}
for r in rows:
    for x in range(0, stride, bpp):
        seen[r[x:x + 3]] = seen.get(r[x:x + 3], 0) + 1
cols = ["66c2a5", "fc8d62", "8da0cb", "e78ac3", "a6d854", "ffd92f"]
print(" ".join(str(seen.get(bytes.fromhex(c), 0) > 50) for c in cols))
' "$dir/shot.png"
	[ "$output" = "True True True True True True" ]
}
