/* fuzz-tiktoken: the input as cl100k_base.tiktoken, loaded by te_tok_load and used. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tok_file("cl100k_base.tiktoken", data, size);
}
