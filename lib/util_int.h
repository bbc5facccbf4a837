/* util_int.h: library-internal helpers shared by the modules (not public). */
#ifndef TOKEMB_UTIL_INT_H
#define TOKEMB_UTIL_INT_H

#include <stddef.h>

#include "tokemb.h"

/* Read the whole file at path into a malloc'd buffer, NUL-terminated at
 * buf[*len]; a file over max bytes is an error.  NULL with d filled. */
char *te_read_file(const char *path, size_t max, size_t *len, te_diag *d);

/* Commit without fsync: for files whose readers check them whole (the
 * tokenizer cache), where a crash may lose the file but never tear it
 * unnoticed. */
void te_atomic_nosync(te_atomic *a);

#endif
