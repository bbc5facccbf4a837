/* model.c: find a model by path or by name (TOKEMB_MODELS, Hugging Face cache). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokemb.h"

static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

char *
te_model_file(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	if (!exists(p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* The newest snapshot directory of a hub cache entry, or NULL. */
static char *
hf_snapshot(const char *hub, const char *name)
{
	char *base, *best = NULL, *slash;
	char repo[1024];
	DIR *dir;
	struct dirent *e;
	time_t best_t = 0;

	snprintf(repo, sizeof repo, "models--%s", name);
	while ((slash = strchr(repo, '/')))
		memmove(slash + 2, slash + 1, strlen(slash + 1) + 1), slash[0] = '-',
		    slash[1] = '-';
	if (asprintf(&base, "%s/%s/snapshots", hub, repo) < 0)
		return NULL;
	dir = opendir(base);
	if (!dir) {
		free(base);
		return NULL;
	}
	while ((e = readdir(dir))) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", base, e->d_name) < 0)
			break;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (!best || st.st_mtime > best_t)) {
			free(best);
			best = p;
			best_t = st.st_mtime;
		} else {
			free(p);
		}
	}
	closedir(dir);
	free(base);
	return best;
}

/* OpenAI's encodings and the model names that use them, as tiktoken's
 * model.py maps them; sha1 is tiktoken's cache name for the file, the SHA-1
 * of its URL (load.py: read_file_cached). */
static const struct {
	const char *enc, *sha1;
} encodings[] = {
	{"r50k_base", "0ea1e91bbb3a60f729a8dc8f777fd2fc07cd8df4"},
	{"p50k_base", "ec7223a39ce59f226a68acc30dc1af2788490e15"},
	{"cl100k_base", "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"},
	{"o200k_base", "fb374d419588a4632f3f557e76b4b70aebbca790"},
};
static const struct {
	const char *model, *enc;
	int prefix;
} model_enc[] = {
	{"gpt-4o", "o200k_base", 1}, {"gpt-4.1", "o200k_base", 1}, {"gpt-4.5", "o200k_base", 1},
	{"o1", "o200k_base", 1}, {"o3", "o200k_base", 1}, {"o4-mini", "o200k_base", 1},
	{"gpt-4", "cl100k_base", 1}, {"gpt-3.5-turbo", "cl100k_base", 1},
	{"gpt-35-turbo", "cl100k_base", 1}, {"text-embedding-ada-002", "cl100k_base", 0},
	{"text-embedding-3-small", "cl100k_base", 0}, {"text-embedding-3-large", "cl100k_base", 0},
	{"text-davinci-003", "p50k_base", 0}, {"text-davinci-002", "p50k_base", 0},
	{"code-davinci-002", "p50k_base", 0}, {"davinci", "r50k_base", 0},
	{"gpt2", "r50k_base", 0}, {"gpt-2", "r50k_base", 0},
};

/* The encoding a name means ("cl100k_base", "gpt-4o"), or -1. */
static int
encoding_of(const char *name)
{
	const char *enc = NULL;
	size_t i;

	for (i = 0; i < sizeof model_enc / sizeof model_enc[0] && !enc; i++) {
		size_t n = strlen(model_enc[i].model);

		if (strcmp(name, model_enc[i].model) == 0 ||
		    (model_enc[i].prefix && strncmp(name, model_enc[i].model, n) == 0 &&
		     name[n] == '-'))
			enc = model_enc[i].enc;
	}
	for (i = 0; i < sizeof encodings / sizeof encodings[0]; i++)
		if (strcmp(enc ? enc : name, encodings[i].enc) == 0)
			return (int)i;
	return -1;
}

/* dir/file if it exists; the place is added to the list of places tried. */
static char *
try_place(const char *dir, const char *file, char *tried, size_t cap)
{
	size_t n = strlen(tried);
	char *p;

	snprintf(tried + n, cap - n, "%s%s", n ? ", " : "", dir);
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	if (exists(p))
		return p;
	free(p);
	return NULL;
}

/* An OpenAI encoding's .tiktoken file: tiktoken's own cache
 * ($TIKTOKEN_CACHE_DIR, $DATA_GYM_CACHE_DIR, else $TMPDIR/data-gym-cache),
 * then enc.tiktoken in $TOKEMB_MODELS's directories, in
 * $TOKEMB_DATA/tokenizers/tiktoken and in $TOKEMB_CACHE_DIR. */
static char *
tiktoken_file(int e, char *tried, size_t cap)
{
	const char *env, *tmp = getenv("TMPDIR");
	char *p = NULL, *dir, file[64];

	snprintf(file, sizeof file, "%s.tiktoken", encodings[e].enc);
	if ((env = getenv("TIKTOKEN_CACHE_DIR")) || (env = getenv("DATA_GYM_CACHE_DIR"))) {
		if (*env && (p = try_place(env, encodings[e].sha1, tried, cap)))
			return p;
	} else if (asprintf(&dir, "%s/data-gym-cache", tmp && *tmp ? tmp : "/tmp") >= 0) {
		p = try_place(dir, encodings[e].sha1, tried, cap);
		free(dir);
		if (p)
			return p;
	}
	if ((env = getenv("TOKEMB_MODELS")) && *env) {
		char *list = strdup(env), *save = NULL;

		for (char *s = list ? strtok_r(list, ":", &save) : NULL; s && !p;
		     s = strtok_r(NULL, ":", &save))
			p = try_place(s, file, tried, cap);
		free(list);
		if (p)
			return p;
	}
	if ((env = getenv("TOKEMB_DATA")) && *env &&
	    asprintf(&dir, "%s/tokenizers/tiktoken", env) >= 0) {
		p = try_place(dir, file, tried, cap);
		free(dir);
		if (p)
			return p;
	}
	if ((env = getenv("TOKEMB_CACHE_DIR")) && *env)
		p = try_place(env, file, tried, cap);
	return p;
}

char *
te_model_resolve(const char *name, te_diag *d)
{
	const char *env;
	char *p, *hub = NULL;

	if (!name || !*name) {
		te_diag_set(d, NULL, 0, "no model given");
		return NULL;
	}
	if (exists(name))
		return strdup(name);
	if (name[0] == '/' || strncmp(name, "./", 2) == 0 || strncmp(name, "../", 3) == 0) {
		te_diag_set(d, name, 0, "%s", strerror(errno));
		return NULL;
	}
	if ((env = getenv("TOKEMB_MODELS")) && *env) {
		char *list = strdup(env), *save = NULL;

		for (char *dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			if (asprintf(&p, "%s/%s", dir, name) >= 0) {
				if (exists(p)) {
					free(list);
					return p;
				}
				free(p);
			}
		}
		free(list);
	}
	if ((env = getenv("HF_HUB_CACHE")) && *env)
		hub = strdup(env);
	else if ((env = getenv("HF_HOME")) && *env)
		(void)!asprintf(&hub, "%s/hub", env);
	else if ((env = getenv("HOME")) && *env)
		(void)!asprintf(&hub, "%s/.cache/huggingface/hub", env);
	if (hub) {
		p = hf_snapshot(hub, name);
		if (p) {
			free(hub);
			return p;
		}
	}
	{
		char tried[2048] = "";
		int e = encoding_of(name);

		if (e >= 0 && (p = tiktoken_file(e, tried, sizeof tried))) {
			free(hub);
			return p;
		}
		te_diag_set(d, name, 0, "model not found: not a file or directory, not in "
		            "$TOKEMB_MODELS (%s), not in the Hugging Face cache (%s)%s%s%s%s; "
		            "tokemb never downloads: share/tokemb-fetch %s does",
		            (env = getenv("TOKEMB_MODELS")) && *env ? env : "unset",
		            hub ? hub : "no $HOME", e >= 0 ? ", no " : "",
		            e >= 0 ? encodings[e].enc : "", e >= 0 ? ".tiktoken in " : "",
		            e >= 0 ? tried : "", name);
	}
	free(hub);
	return NULL;
}
