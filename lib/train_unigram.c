/* train_unigram.c: Unigram training (sentencepiece's EM and pruning). */
#include "train_int.h"

int
te__train_unigram(te_trainer *t, te_diag *d)
{
	(void)t;
	return te_diag_set(d, "", 0, "unigram training is not implemented yet");
}
