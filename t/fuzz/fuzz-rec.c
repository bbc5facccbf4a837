/* fuzz-rec: the input (after a first byte that picks the reader) as a
 * Cornell playlist file, a CSV or TSV event log, or recommend's --meta
 * table (TSV or CSV); read as recommend reads them, the result written or
 * looked up. */
#include "fuzz.h"

static void
warn(const te_diag *d, void *arg)
{
	(void)d, (void)arg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	te_diag d = {0};
	const char *path;
	unsigned pick;

	if (size < 1)
		return 0;
	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	pick = data[0] % 6;
	path = fz_write("rec.txt", data + 1, size - 1);
	if (pick >= 4) {
		te_rec_meta *m = te_rec_meta_load(path, pick == 5, warn, NULL, &d);

		if (m) {
			te_rec_meta_get(m, "1", 1);
			te_rec_meta_get(m, "", 0);
			te_rec_meta_get(m, (const char *)data + 1, size > 4 ? 3 : size - 1);
			te_rec_meta_fields(m);
		}
		te_rec_meta_free(m);
		return 0;
	}
	{
		te_reader *r = te_reader_open(path, '\n', &d);

		if (!r)
			return 0;
		if (pick == 0) {
			te_rec_cornell(r, null, &d);
		} else {
			te_rec_events *e = te_rec_events_new(0, 1, pick == 3 ? -1 : 2,
			                                     pick == 3 ? 2 : -1, 3.5);

			if (e && te_rec_events_read(e, r, pick == 2 ? '\t' : ',', warn, NULL, &d) == 0)
				te_rec_events_write(e, null, &d);
			te_rec_events_free(e);
		}
		te_reader_close(r);
	}
	return 0;
}
