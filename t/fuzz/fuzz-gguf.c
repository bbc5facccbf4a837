/* fuzz-gguf: the input as x.gguf, loaded by te_tok_load and used. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tok_file("x.gguf", data, size);
}
