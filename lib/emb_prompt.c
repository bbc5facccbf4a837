/* emb_prompt.c: the sentence-transformers prompts of a model directory
 * (config_sentence_transformers.json), as SentenceTransformer.encode picks
 * and applies them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "emb_int.h"
#include "util_int.h"

/* The directory of a model given as a directory, a file in one (its
 * tokenizer.json) or a name; malloc'd, or NULL with d filled. */
static char *
model_dir(const char *model, te_diag *d)
{
	char *path = te_model_resolve(model, d), *slash;
	struct stat st;

	if (!path || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return path;
	slash = strrchr(path, '/');
	if (!slash) {
		free(path);
		return strdup(".");
	}
	*slash = '\0';
	if (!path[0])
		strcpy(path, "/");
	return path;
}

/* The Pooling module's config.json under dir, from modules.json; NULL when
 * there is none. */
static char *
pooling_config(const char *dir)
{
	char *mpath = te_model_file(dir, "modules.json"), *text, *out = NULL;
	te_diag ignore = {0};
	size_t len;
	cJSON *j, *e;

	if (!mpath)
		return NULL;
	text = ut_read_file(mpath, 1u << 20, &len, &ignore);
	free(mpath);
	if (!text)
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	free(text);
	if (!cJSON_IsArray(j))
		e = NULL;
	else
		e = j->child;
	for (; e; e = e->next) {
		const cJSON *ty = cJSON_GetObjectItemCaseSensitive(e, "type"),
		            *pa = cJSON_GetObjectItemCaseSensitive(e, "path");
		const char *t = cJSON_IsString(ty) ? ty->valuestring : "";
		size_t n = strlen(t);

		if (n >= 7 && strcmp(t + n - 7, "Pooling") == 0 && cJSON_IsString(pa)) {
			if (asprintf(&out, "%s/%s/config.json", dir, pa->valuestring) < 0)
				out = NULL;
			break;
		}
	}
	cJSON_Delete(j);
	return out;
}

/* sentence-transformers leaves the prompt's tokens out of pooling when the
 * Pooling config says include_prompt false; emb-pool pools every token it
 * is given, so such a model with a prompt is refused. */
static int
check_include_prompt(const char *dir, te_diag *d)
{
	char *path = pooling_config(dir);
	cJSON *j;
	int rc = 0;

	if (!path || access(path, R_OK) != 0) {
		free(path);
		return 0;
	}
	if (!(j = emb_json_load(path, d))) {
		free(path);
		return -1;
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "include_prompt")))
		rc = te_diag_set(d, path, 0, "include_prompt false: the model pools without "
		                 "the prompt's tokens, which emb-pool cannot leave out");
	cJSON_Delete(j);
	free(path);
	return rc;
}

/* Pick the prompt: name's, else the default_prompt_name's. */
static int
pick_prompt(const cJSON *j, const char *path, const char *name, const char **text,
            te_diag *d)
{
	const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(j, "prompts"), *p;

	*text = NULL;
	if (prompts && !cJSON_IsObject(prompts))
		return te_diag_set(d, path, 0, "\"prompts\" is not an object");
	if (!name) {
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "default_prompt_name");

		if (!cJSON_IsString(def))
			return 0;
		name = def->valuestring;
		p = cJSON_GetObjectItemCaseSensitive(prompts, name);
		*text = cJSON_IsString(p) ? p->valuestring : NULL;
		return 0;
	}
	p = cJSON_GetObjectItemCaseSensitive(prompts, name);
	if (!cJSON_IsString(p)) {
		ut_buf names = {0};
		const cJSON *e;

		cJSON_ArrayForEach(e, prompts) {
			if (names.n)
				ut_buf_put(&names, ", ", 2);
			ut_buf_put(&names, e->string, strlen(e->string));
		}
		te_diag_set(d, path, 0, "no prompt '%s' (the model's prompts: %.*s)", name,
		            names.n ? (int)names.n : 4, names.n ? names.s : "none");
		ut_buf_release(&names);
		return -1;
	}
	*text = p->valuestring;
	return 0;
}

int
te_prompt_load(const char *model, const char *name, char **prompt, te_diag *d)
{
	char *dir, *path;
	const char *text;
	cJSON *j;
	int rc;

	*prompt = NULL;
	if (!(dir = model_dir(model, d))) {
		/* a tokenizer known by name (cl100k_base) has no prompts */
		if (!name)
			memset(d, 0, sizeof *d);
		return name ? -1 : 0;
	}
	path = te_model_file(dir, "config_sentence_transformers.json");
	if (!path) {
		free(dir);
		if (name)
			return te_diag_set(d, model, 0, "no config_sentence_transformers.json: the "
			                   "model has no prompt '%s'", name);
		return 0;
	}
	j = emb_json_load(path, d);
	rc = j ? pick_prompt(j, path, name, &text, d) : -1;
	if (rc == 0 && text && text[0]) {
		rc = check_include_prompt(dir, d);
		if (rc == 0 && !(*prompt = strdup(text)))
			rc = te_diag_set(d, path, 0, "out of memory");
	}
	cJSON_Delete(j);
	free(path);
	free(dir);
	return rc;
}
