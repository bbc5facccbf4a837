/* fuzz-ids: the input as a line of token ids (te_ids_parse), written back. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	te_ids a = {0};
	te_diag d = {0};
	char *line = malloc(size + 1);	/* as te_reader_next gives it: NUL-terminated */

	if (!line || (!null && !(null = fopen("/dev/null", "w"))))
		abort();
	memcpy(line, data, size);
	line[size] = 0;
	if (te_ids_parse(line, size, &a, &d) == 0)
		te_ids_write(null, a.v, a.n);
	te_ids_release(&a);
	free(line);
	return 0;
}
