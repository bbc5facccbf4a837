/* tok_vocab.c: vocabulary accessors for the other areas (the embedding
 * loader looks its models' special ids up here). */
#include "tok_int.h"

int32_t
te_tok_added_id(const te_tok *t, const char *content, size_t len)
{
	int32_t a = ut_strmap_get(&t->added_map, content, len);

	return a >= 0 ? t->added[a].id : -1;
}
