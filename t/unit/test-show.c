/* test-show.c: how tok-show writes display pieces (colours, separators,
 * glyphs, markers), without a tokenizer. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokemb.h"
#include "tap.h"

static te_show_piece P[16];
static te_show S;

static void
add(int kind, int32_t id, const char *s, size_t len)
{
	te_show_piece *p = &P[S.n++];

	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->id = id;
	p->s = s;
	p->len = len;
}

static void
reset(void)
{
	memset(&S, 0, sizeof S);
	S.p = P;
}

static char *
render(const te_show_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (!fp)
		return NULL;
	if (te_show_write(fp, &S, o) < 0) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	return buf;
}

static int
check(const te_show_opts *o, const char *want, const char *what)
{
	char *got = render(o);
	int good = got && strcmp(got, want) == 0;

	if (!good)
		printf("# %s\n#   got:  '%s'\n#   want: '%s'\n", what, got ? got : "(null)", want);
	free(got);
	return good;
}

/* tap.h's ok() evaluates its condition twice: evaluate once. */
#define OKC(c, ...) do { int c_ = (c); ok(c_, __VA_ARGS__); } while (0)

int
main(void)
{
	te_show_opts plain = { .sep = "|" };
	te_show_opts sp = { .sep = "|", .show_space = 1 };
	te_show_opts col = { .color = 1 };
	te_show_opts ids = { .sep = "|", .ids = 1 };
	te_show_opts ctl = { .sep = "|", .escape_ctl = 1 };
	const char *text = "Hello world\tx\n";
	int i;

	/* GPT-2 style: "Hello" " world" "\t" "x" "\n" */
	reset();
	add(TE_SHOW_TEXT, 15496, text, 5);
	add(TE_SHOW_TEXT, 995, text + 5, 6);
	add(TE_SHOW_TEXT, 197, text + 11, 1);
	add(TE_SHOW_TEXT, 87, text + 12, 1);
	add(TE_SHOW_TEXT, 198, text + 13, 1);
	OKC(check(&plain, "Hello| world|\t|x|\n\n", "plain"),
	   "without colour, touching tokens are separated, text kept as is");
	OKC(check(&sp, "Hello|\xC2\xB7world|\xE2\x86\x92|x|\xE2\x86\xB5\n\n", "show-space"),
	   "--show-space: space ·, tab →, newline ↵ then a real newline");
	OKC(check(&ids, "Hello\xE2\x80\xB9" "15496\xE2\x80\xBA| world\xE2\x80\xB9" "995\xE2\x80\xBA|"
	               "\t\xE2\x80\xB9" "197\xE2\x80\xBA|x\xE2\x80\xB9" "87\xE2\x80\xBA|"
	               "\n\xE2\x80\xB9" "198\xE2\x80\xBA\n", "ids"),
	   "--ids: ‹id› after each token");

	/* colours: the six-colour cycle, black text, reset before newlines */
	{
		char want[1024];
		snprintf(want, sizeof want,
		         "\033[0;30;48;2;102;194;165mHello\033[0m"
		         "\033[0;30;48;2;252;141;98m world\033[0m"
		         "\033[0;30;48;2;141;160;203m\t\033[0m"
		         "\033[0;30;48;2;231;138;195mx\033[0m"
		         "\n\n");
		OKC(check(&col, want, "colour"),
		   "colour: 24-bit backgrounds in palette order, no style around a bare newline");
	}
	reset();
	for (i = 0; i < 7; i++)
		add(TE_SHOW_TEXT, i, &"ab"[i % 2], 1);
	{
		char *got = render(&col);
		ok(got && strstr(got, "\033[0;30;48;2;255;217;47mb\033[0m"
		                      "\033[0;30;48;2;102;194;165ma\033[0m"),
		   "the seventh token takes the first colour again");
		free(got);
	}

	/* a token holding a newline: the style ends before it, resumes after */
	reset();
	add(TE_SHOW_TEXT, 1, "a\nb", 3);
	OKC(check(&col, "\033[0;30;48;2;102;194;165ma\033[0m\n"
	               "\033[0;30;48;2;102;194;165mb\033[0m\n", "colour newline"),
	   "colour never spans a newline");

	/* gaps: text no token covers stands between tokens, uncoloured */
	reset();
	add(TE_SHOW_SPECIAL, 101, "[CLS]", 5);
	add(TE_SHOW_TEXT, 2, "English", 7);
	add(TE_SHOW_GAP, -1, " ", 1);
	add(TE_SHOW_TEXT, 3, "and", 3);
	add(TE_SHOW_UNK, 100, "\xF0\x9F\x8E\xB5", 4);
	add(TE_SHOW_SPECIAL, 102, "[SEP]", 5);
	OKC(check(&plain, "\xE2\x9F\xA6[CLS]\xE2\x9F\xA7|English and|\xE2\x81\x87\xF0\x9F\x8E\xB5|"
	                 "\xE2\x9F\xA6[SEP]\xE2\x9F\xA7\n", "gap"),
	   "a gap replaces the separator; specials in ⟦⟧, unknown after ⁇");
	OKC(check(&col, "\033[0;1;30;48;2;102;194;165m\xE2\x9F\xA6[CLS]\xE2\x9F\xA7\033[0m"
	               "\033[0;30;48;2;252;141;98mEnglish\033[0m "
	               "\033[0;30;48;2;141;160;203mand\033[0m"
	               "\033[0;30;48;2;231;138;195m\xE2\x81\x87\xF0\x9F\x8E\xB5\033[0m"
	               "\033[0;1;30;48;2;166;216;84m\xE2\x9F\xA6[SEP]\xE2\x9F\xA7\033[0m\n", "colour gap"),
	   "colour: gaps uncoloured, special tokens bold");

	/* bytes: byte-fallback tokens and partial UTF-8 as <0xHH> */
	reset();
	add(TE_SHOW_BYTE, 236, "\xE9", 1);
	add(TE_SHOW_TEXT, 9468, "\xF0\x9F", 2);
	add(TE_SHOW_TEXT, 236, "\x8E\xB5", 2);
	add(TE_SHOW_BYTE, 12, "\t", 1);
	OKC(check(&plain, "<0xE9>|<0xF0><0x9F>|<0x8E><0xB5>|<0x09>\n", "bytes"),
	   "byte tokens and partial characters are <0xHH>");
	reset();
	add(TE_SHOW_BYTE, 13, "\n", 1);
	add(TE_SHOW_TEXT, 5, "x", 1);
	OKC(check(&ids, "<0x0A>\xE2\x80\xB9" "13\xE2\x80\xBA\n|x\xE2\x80\xB9" "5\xE2\x80\xBA\n", "newline byte"),
	   "a newline byte token is followed by a line break");

	/* control characters: raw to a pipe, pictured for a terminal */
	reset();
	add(TE_SHOW_TEXT, 1, "a\033[31mb\r\x7f", 9);
	add(TE_SHOW_TEXT, 2, "\xC2\x9B\xC2\xA0", 4);
	OKC(check(&plain, "a\033[31mb\r\x7f|\xC2\x9B\xC2\xA0\n", "raw controls"),
	   "to a pipe without --show-space, bytes pass unchanged");
	OKC(check(&ctl, "a\xE2\x90\x9B[31mb\xE2\x90\x8D\xE2\x90\xA1|<U+009B>\xC2\xA0\n", "escaped controls"),
	   "for a terminal, ESC CR DEL become ␛ ␍ ␡ and C1 controls <U+HHHH>");
	OKC(check(&sp, "a\xE2\x90\x9B[31mb\xE2\x90\x8D\xE2\x90\xA1|<U+009B>\xE2\x8D\xBD\n", "sp controls"),
	   "--show-space also pictures controls and shows NBSP as ⍽");

	/* bidi controls never reach a terminal raw; zero-width ones with -s */
	reset();
	add(TE_SHOW_TEXT, 1, "a\xE2\x80\xAE" "b\xE2\x80\x8B" "c", 9);
	OKC(check(&ctl, "a<U+202E>b\xE2\x80\x8B" "c\n", "bidi"),
	    "for a terminal, a bidi override is <U+202E>");
	OKC(check(&sp, "a<U+202E>b<U+200B>c\n", "zwsp"),
	    "--show-space shows a zero-width space as <U+200B>");
	OKC(check(&plain, "a\xE2\x80\xAE" "b\xE2\x80\x8B" "c\n", "bidi raw"),
	    "to a pipe, they pass unchanged");

	/* empty document */
	reset();
	OKC(check(&plain, "\n", "empty"), "an empty document is an empty line");

	ok(te_show_chars("a\xC3\xA9\xF0\x9F\x8E\xB5\xFF", 8) == 4,
	   "characters: code points, an invalid byte counts as one");
	ok(te_show_chars("\xF0\x9F\x8E", 3) == 3, "a truncated character counts byte by byte");
	return done_testing();
}
