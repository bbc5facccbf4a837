/* emb_json.c: the JSON files of a model folder (config.json, modules.json,
 * the pooling and prompt configs), read whole.  Its own file so that a
 * program reading a prompt (tok-encode) does not link the encoders. */
#include <stdlib.h>

#include <cJSON.h>

#include "emb_int.h"
#include "util_int.h"

/* Parse a JSON file into an object; NULL with d filled. */
cJSON *
emb_json_load(const char *path, te_diag *d)
{
	size_t len;
	char *text = ut_read_file(path, 256u << 20, &len, d);
	cJSON *j;

	if (!text)
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	if (!j || !cJSON_IsObject(j)) {
		/* count the line the parser stopped at */
		const char *ep = cJSON_GetErrorPtr();
		long line = 1;

		if (ep && ep >= text && ep <= text + len)
			for (const char *p = text; p < ep; p++)
				line += *p == '\n';
		te_diag_set(d, path, j ? 0 : line, j ? "not a JSON object" : "invalid JSON");
		cJSON_Delete(j);
		j = NULL;
	}
	free(text);
	return j;
}
