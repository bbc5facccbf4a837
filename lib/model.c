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
		free(hub);
		if (p)
			return p;
	}
	te_diag_set(d, name, 0, "model not found: not a file or directory, not under "
	            "$TOKEMB_MODELS, not in the Hugging Face cache (tokemb never downloads; "
	            "see tokemb-fetch in README)");
	return NULL;
}
