#!/bin/sh
# smoke.sh -- build the peer drivers and check that each one indexes the
# shared test collections and answers queries in every mode.
#   corpus/ (5 files):        index, top "Storm Shadow", count
#   SciFact (5,183 docs):     index, trec on all 300 claims, scored with
#                             nDCG@10 and recall@100 (binary qrels)
# Usage: bench/peers/smoke.sh [ENGINE...]   (default: fts5 xapian lucene)
# SHARED (default: ../shared beside the work tree, else /work/shared).
# Exit status 0 only if every check passes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED:-$root/../shared}
[ -d "$shared/data" ] || shared=/work/shared
engines=${*:-fts5 xapian lucene}
export_docs="python3 $root/tools/export_docs.py"

"$here/install.sh"
"$here/build.sh" $engines >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/peers-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
$export_docs "$shared/corpus" >"$work/corpus.tsv"
$export_docs "$shared/data/scifact/docs" >"$work/scifact.tsv"
head -n 300 "$shared/data/scifact/queries.tsv" >"$work/scifact-q.tsv"

pass=0
fail=0
check() {  # check NAME COMMAND...: run, count as passed or failed
    name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name"
    fi
}

docs_are() {  # docs_are FILE N: the index line says N docs
    python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); sys.exit(d["docs"]!=int(sys.argv[2]))' "$1" "$2"
}

for e in $engines; do
    drv=$here/bin/$e
    echo "== $e: $("$drv" version)"
    "$drv" index "$work/$e-corpus" <"$work/corpus.tsv" >"$work/$e-corpus.json"
    cat "$work/$e-corpus.json"
    check "$e corpus: index 5 docs" docs_are "$work/$e-corpus.json" 5

    printf 'q1\tStorm Shadow\n' | "$drv" query "$work/$e-corpus" --mode top >"$work/$e-top.txt" 2>/dev/null
    cat "$work/$e-top.txt"
    check "$e corpus: top 'Storm Shadow' has hits" \
        awk -F'\t' '$1=="q1" && $3>0 && $4!="" {ok=1} END {exit !ok}' "$work/$e-top.txt"
    printf 'q1\tStorm Shadow\nq2\t+storm +shadow\nq3\t"storm shadow"\n' |
        "$drv" query "$work/$e-corpus" --mode count >"$work/$e-count.txt" 2>/dev/null
    cat "$work/$e-count.txt"
    check "$e corpus: count union >= intersection >= phrase > 0" \
        awk -F'\t' '{c[$1]=$3} END {exit !(c["q1"]>=c["q2"] && c["q2"]>=c["q3"] && c["q3"]>0)}' "$work/$e-count.txt"

    "$drv" index "$work/$e-scifact" <"$work/scifact.tsv" >"$work/$e-scifact.json"
    cat "$work/$e-scifact.json"
    check "$e scifact: index 5183 docs" docs_are "$work/$e-scifact.json" 5183
    "$drv" query "$work/$e-scifact" --mode trec --k 1000 <"$work/scifact-q.tsv" >"$work/$e-scifact.run"
    head -n 3 "$work/$e-scifact.run"
    rc=0
    python3 - "$work/$e-scifact.run" "$shared/data/scifact/qrels.txt" "$e" >"$work/$e-eval.txt" <<'PY' || rc=$?
import math, sys
run, qrels, engine = sys.argv[1:4]
rel = {}
for line in open(qrels):
    q, _, d, g = line.split()
    if int(g) > 0:
        rel.setdefault(q, {})[d] = int(g)
hits = {}
for line in open(run):
    q, _, d, rank, score, tag = line.split()
    hits.setdefault(q, []).append(d)
ndcg = rec = 0.0
for q, r in rel.items():
    h = hits.get(q, [])
    dcg = sum(r.get(d, 0) / math.log2(i + 2) for i, d in enumerate(h[:10]))
    ideal = sorted(r.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    ndcg += dcg / idcg
    rec += len(set(h[:100]) & set(r)) / len(r)
n = len(rel)
print("%s scifact: %d queries, nDCG@10 %.4f, recall@100 %.4f" % (engine, n, ndcg / n, rec / n))
sys.exit(0 if ndcg / n > 0.5 else 1)
PY
    cat "$work/$e-eval.txt"
    check "$e scifact: trec run scores nDCG@10 > 0.5" test $rc -eq 0
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
