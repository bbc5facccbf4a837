/* tok_uni.h: Unicode character classes for the tokenizer (a table for the
 * Basic Multilingual Plane, utf8proc beyond). */
#ifndef TOK_UNI_H
#define TOK_UNI_H

#include <stdint.h>

enum {
	TK_U_L = 1,      /* letter */
	TK_U_N = 2,      /* number */
	TK_U_M = 4,      /* mark */
	TK_U_WS = 8,     /* White_Space (Oniguruma's and Rust's \s) */
	TK_U_P = 16,     /* punctuation */
	TK_U_LUT = 32,   /* Lu or Lt */
	TK_U_LL = 64,    /* Ll */
	TK_U_LMO = 128   /* Lm or Lo */
};

extern uint8_t tk_uclass_bmp[0x10000];
extern int tk_uclass_ready;
void tk_uclass_init(void);
uint8_t tk_uclass_slow(int32_t cp);

static inline uint8_t
tk_uclass(int32_t cp)
{
	if (cp < 0)
		return 0;
	if (cp < 0x10000) {
		if (!__atomic_load_n(&tk_uclass_ready, __ATOMIC_ACQUIRE))
			tk_uclass_init();
		return tk_uclass_bmp[cp];
	}
	return tk_uclass_slow(cp);
}

static inline int tk_is_space(int32_t cp) { return tk_uclass(cp) & TK_U_WS; }
static inline int tk_is_mark(int32_t cp) { return tk_uclass(cp) & TK_U_M; }
static inline int tk_is_letter(int32_t cp) { return tk_uclass(cp) & TK_U_L; }
static inline int tk_is_number(int32_t cp) { return tk_uclass(cp) & TK_U_N; }
static inline int tk_is_punct(int32_t cp) { return tk_uclass(cp) & TK_U_P; }
/* General category C* (control, format, surrogate, private use, unassigned). */
int tk_is_other(int32_t cp);
/* BERT's punctuation: ASCII punctuation or P* (pretok.c). */
int tk_is_bert_punct(int32_t cp);
/* A CJK ideograph, as BERT's handle_chinese_chars (normalize.c). */
int tk_is_cjk(int32_t cp);

#endif
