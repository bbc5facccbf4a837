#!/usr/bin/env bash
# Next-item recommendation quality on MovieLens ml-latest-small: vectors from
# tokemb's w2v-train against gensim 4.2 Word2Vec (+ most_similar), on the same
# split and parameters, next to a popularity baseline.
#
#   bench/rec-movielens.sh            one run with the parameters below
#   bench/rec-movielens.sh --sweep    also vary one hyperparameter at a time
#   bench/rec-movielens.sh --no-pyeval  (with or without --sweep) skip the
#       first row's check of recommend's hit rate against a Python loop of
#       gensim most_similar calls, which takes minutes on a loaded machine;
#       the gensim(py) column then reads "-"
#
# Split: `recommend --sequences --csv ratings.csv` gives each of the 610
# users' ratings in time order; every 5th user (122, 20301 ratings) is test,
# the rest (488, 80535) train.  Each test position i >= 2 is a query: the
# (up to) CONTEXT items before it, target the item at i.  Parameters can be
# set in the environment: DIM WINDOW NEGATIVE NS_EXPONENT EPOCHS SG SAMPLE
# MIN_COUNT ALPHA N CONTEXT THREADS SEED, and W2V_ARGS (more w2v-train options).
# Needs /usr/bin/python3 with gensim; w2v-train from build/bin when it works.
#
# Measured 2026-11-28 (2 shared cores, load ~12; gensim 4.2, w2v-train from
# the w2v branch at a6a1a14), hit@10, tokemb / gensim, popularity 0.0246:
#   base, 3 seeds            0.0789 0.0807 0.0805 / 0.0801 0.0809 0.0793
#   w2v-train --batch 0      0.0804 0.0805 / 0.0788 0.0808
#   min_count 1 / 5 / 50     0.0443 / 0.0524 / 0.0694 (gensim 0.0453 / 0.0536 / 0.0694)
#   sg 0 (CBOW)              0.0402 / 0.0440    sample 1e-4  0.0424 / 0.0439
#   epochs 3 / 30            0.0441 / 0.0466, 0.0760 / 0.0809
#   window 2 / 20            0.0559 / 0.0588, 0.0773 / 0.0844
#   ns_exponent -0.5 / 1.0   0.0753 / 0.0757, 0.0791 / 0.0805
#   context 1 / 10           0.0626 / 0.0629, 0.0739 / 0.0739
#   with min_count 1: window 20 0.0232 / 0.0237, epochs 30 0.0087 / 0.0106
#   recommend --eval 3.67 s against gensim most_similar in a loop 26.89 s (7.3x)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${TOKEMB_DATA:-../shared/data}
BIN=${TOKEMB_BIN:-$PWD/build/bin}
export PATH="$BIN:$PATH"
: "${DIM:=64}" "${WINDOW:=5}" "${NEGATIVE:=5}" "${NS_EXPONENT:=0.75}" "${EPOCHS:=10}"
: "${SG:=1}" "${SAMPLE:=1e-3}" "${MIN_COUNT:=20}" "${ALPHA:=0.025}" "${N:=10}"
: "${CONTEXT:=5}" "${THREADS:=2}" "${SEED:=1}"

sweep=0 pyeval=pyeval
for arg; do
	case $arg in
	--sweep) sweep=1 ;;
	--no-pyeval) pyeval= ;;
	*) echo "usage: $0 [--sweep] [--no-pyeval]" >&2; exit 2 ;;
	esac
done

ratings=$D/movielens/ml-latest-small/ratings.csv
[ -r "$ratings" ] || { echo "needs $ratings (set TOKEMB_DATA)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

recommend --sequences --csv "$ratings" >"$tmp/all.seq"
awk 'NR % 5 != 0' "$tmp/all.seq" >"$tmp/train.seq"
awk 'NR % 5 == 0' "$tmp/all.seq" >"$tmp/test.seq"
echo "split: train $(wc -l <"$tmp/train.seq") users $(wc -w <"$tmp/train.seq") ratings," \
	"test $(wc -l <"$tmp/test.seq") users $(wc -w <"$tmp/test.seq") ratings"

have_w2v=0
if printf 'a b c\nb c a\n' | w2v-train --min-count 1 --epochs 1 --quiet >/dev/null 2>&1; then
	have_w2v=1
else
	echo "note: w2v-train does not work in $BIN; tokemb column left out" >&2
fi

metric() {	# metric NAME COLUMN < recommend --eval output
	awk -F'\t' -v m="$1" -v c="$2" '$1 == m { print $c }'
}

# run LABEL [overrides as VAR=value...]: train both, evaluate both, one table row
run() {
	local label=$1 dim=$DIM window=$WINDOW negative=$NEGATIVE ns=$NS_EXPONENT
	local epochs=$EPOCHS sg=$SG sample=$SAMPLE context=$CONTEXT seed=$SEED mc=$MIN_COUNT kv t0 t1 w2v_s g_s
	local -a extra
	local ghit gpy="-" pop py_out thit="-" ratio="-" out w2v_extra=${W2V_ARGS:-} py_eval=--no-eval
	shift
	for kv in "$@"; do
		case ${kv%%=*} in
		dim) dim=${kv#*=} ;; window) window=${kv#*=} ;; negative) negative=${kv#*=} ;;
		ns) ns=${kv#*=} ;; epochs) epochs=${kv#*=} ;; sg) sg=${kv#*=} ;;
		sample) sample=${kv#*=} ;; context) context=${kv#*=} ;;
		min_count) mc=${kv#*=} ;; seed) seed=${kv#*=} ;; w2v) w2v_extra=${kv#*=} ;; pyeval) py_eval= ;;
		esac
	done
	out=$(/usr/bin/python3 bench/rec-gensim.py "$tmp/train.seq" "$tmp/test.seq" "$tmp/g.vec" \
		--dim "$dim" --window "$window" --negative "$negative" --ns-exponent "$ns" \
		--epochs "$epochs" --sg "$sg" --sample "$sample" --min-count "$mc" \
		--alpha "$ALPHA" --n "$N" --context "$context" --threads "$THREADS" \
		--seed "$seed" $py_eval 2>/dev/null)
	py_out=$out
	g_s=$(awk '$1 == "train_s" { print $2 }' <<<"$out")
	[ -n "$py_eval" ] || gpy=$(awk -v m="hit@$N" '$1 == m { print $2 }' <<<"$out")
	t0=$(date +%s.%N)
	out=$(recommend -v "$tmp/g.vec" --eval "$tmp/test.seq" --train "$tmp/train.seq" \
		-n "$N" --context "$context")
	t1=$(date +%s.%N)
	if [ -z "$py_eval" ]; then
		# the same queries answered by recommend (C, BLAS) and by a loop of
		# gensim most_similar calls (rec-gensim.py's eval_s)
		awk -v a="$t0" -v b="$t1" -v g="$(awk '$1 == "eval_s" { print $2 }' <<<"$py_out")" \
			'BEGIN { printf "eval speed: recommend --eval %.2f s, gensim most_similar %.2f s, %.1fx\n", b - a, g, g / (b - a) }' >&2
	fi
	ghit=$(metric "hit@$N" 2 <<<"$out")
	pop=$(metric "hit@$N" 3 <<<"$out")
	if [ "$have_w2v" = 1 ]; then
		read -ra extra <<<"$w2v_extra"
		t0=$(date +%s.%N)
		w2v-train --quiet --vector-size "$dim" --window "$window" --negative "$negative" \
			--ns-exponent "$ns" --epochs "$epochs" --sg "$sg" --sample "$sample" \
			--min-count "$mc" --alpha "$ALPHA" --threads "$THREADS" \
			--seed "$seed" "${extra[@]}" -o "$tmp/t.vec" "$tmp/train.seq"
		t1=$(date +%s.%N)
		w2v_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		out=$(recommend -v "$tmp/t.vec" --eval "$tmp/test.seq" -n "$N" --context "$context")
		thit=$(metric "hit@$N" 2 <<<"$out")
		ratio=$(awk -v a="$thit" -v b="$ghit" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	else
		w2v_s="-"
	fi
	printf '%-22s %10s %10s %12s %10s %9s %9s %9s\n' "$label" "$thit" "$ghit" "$gpy" "$pop" \
		"$ratio" "$w2v_s" "$g_s"
}

echo "parameters: sg=$SG vector_size=$DIM window=$WINDOW negative=$NEGATIVE" \
	"ns_exponent=$NS_EXPONENT epochs=$EPOCHS sample=$SAMPLE min_count=$MIN_COUNT" \
	"alpha=$ALPHA threads=$THREADS seed=$SEED; hit@$N, context $CONTEXT, --combine mean"
printf '%-22s %10s %10s %12s %10s %9s %9s %9s\n' setting "tokemb" "gensim" "gensim(py)" \
	"popularity" "tok/gen" "w2v_s" "gensim_s"
# gensim(py): hit rate counted in Python with most_similar, to check recommend's
run base $pyeval
run "base seed=2" seed=2
run "base seed=3" seed=3
if w2v-train --help 2>/dev/null | grep -q -e '--batch'; then
	run "w2v --batch 0" "w2v=--batch 0"
	run "w2v --batch 0 seed=2" "w2v=--batch 0" seed=2
fi
if [ "$sweep" = 1 ]; then
	run "window=2" window=2
	run "window=20" window=20
	run "ns_exponent=-0.5" ns=-0.5
	run "ns_exponent=1.0" ns=1.0
	run "epochs=3" epochs=3
	run "epochs=30" epochs=30
	run "sg=0 (CBOW)" sg=0
	run "sample=1e-4" sample=1e-4
	run "min_count=1" min_count=1
	run "min_count=5" min_count=5
	run "min_count=50" min_count=50
	run "context=1" context=1
	run "context=10" context=10
fi
