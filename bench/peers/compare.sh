#!/bin/sh
# compare.sh -- index one collection with each peer engine and time the
# benchmark-game queries on it, in top and count mode.
#
# Usage: bench/peers/compare.sh [options] COLLECTION...
#   COLLECTION      what tools/export_docs.py takes (docs/ dirs, .jsonl[.gz])
#   --engines LIST  space-separated (default "fts5 xapian lucene")
#   --queries FILE  benchgame-style .jsonl {"query","tags"} (default
#                   shared/data/queries/benchgame.jsonl)
#   --nq N          use the first N queries (default all)
#   --repeat R      runs per query, median kept (default 5)
#   --warmup W      untimed passes over the query set first (default: enough
#                   passes for 10,000 query runs, the same for every engine;
#                   Lucene's JIT needs that many to settle)
#   --passages N    passed to export_docs.py
#   --out DIR       keep the stream, indexes and result files in DIR
# Prints each engine's index line and query summaries, then a table:
# mean and median of the per-query median latency, by query class.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${SHARED:-$root/../shared}
[ -d "$shared/data" ] || shared=/work/shared
engines="fts5 xapian lucene"
queries=$shared/data/queries/benchgame.jsonl
nq=0
repeat=5
warmup=auto
passages=
out=
while [ $# -gt 0 ]; do
    case $1 in
    --engines) engines=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --nq) nq=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --passages) passages="--passages $2"; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -gt 0 ] || { sed -n '2,20p' "$0" >&2; exit 2; }

if [ -n "$out" ]; then
    mkdir -p "$out"
    work=$(cd "$out" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/peers-compare.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi

"$here/build.sh" $engines >/dev/null
# shellcheck disable=SC2086
python3 "$root/tools/export_docs.py" $passages "$@" >"$work/docs.tsv"
python3 - "$queries" "$nq" "$work/queries.tsv" "$work/tags.tsv" <<'PY'
import json, sys
src, nq, qout, tout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(src) as f, open(qout, "w") as q, open(tout, "w") as t:
    for i, line in enumerate(f, 1):
        if nq and i > nq:
            break
        o = json.loads(line)
        q.write("%d\t%s\n" % (i, o["query"].replace("\t", " ")))
        t.write("%d\t%s\n" % (i, (o.get("tags") or ["?"])[0]))
PY

if [ "$warmup" = auto ]; then
    n=$(wc -l <"$work/queries.tsv")
    warmup=$(( (10000 + n - 1) / (n > 0 ? n : 1) ))
fi
echo "compare.sh: $(wc -l <"$work/docs.tsv") docs, $(wc -l <"$work/queries.tsv") queries, warmup $warmup, repeat $repeat" >&2

for e in $engines; do
    drv=$here/bin/$e
    "$drv" index "$work/$e.idx" <"$work/docs.tsv" | tee "$work/$e.index.json"
    for mode in top count; do
        "$drv" query "$work/$e.idx" --mode $mode --repeat "$repeat" --warmup "$warmup" \
            <"$work/queries.tsv" >"$work/$e.$mode.tsv"
    done
done

python3 - "$work" $engines <<'PY'
import json, statistics, sys
work, engines = sys.argv[1], sys.argv[2:]
tags = dict(l.rstrip("\n").split("\t") for l in open(work + "/tags.tsv"))
classes = sorted(set(tags.values()), key=lambda c: -list(tags.values()).count(c))
print()
print("%-7s %7s %8s %8s %9s" % ("engine", "docs", "index_s", "merge_s", "index_MB"))
for e in engines:
    d = json.load(open("%s/%s.index.json" % (work, e)))
    print("%-7s %7d %8.2f %8.2f %9.1f" % (e, d["docs"], d["seconds"], d["merge_seconds"],
                                          d["index_bytes"] / 1e6))
for mode in ("top", "count"):
    print()
    print("%s mode: mean / median of per-query median latency (us); errors" % mode)
    print("%-7s %-22s" % ("engine", "all") + "".join("%-22s" % c for c in classes))
    for e in engines:
        rows = [l.rstrip("\n").split("\t") for l in open("%s/%s.%s.tsv" % (work, e, mode))]
        def cell(sel):
            us = [float(r[1]) for r in sel if r[2] != "-1"]
            err = sum(1 for r in sel if r[2] == "-1")
            if not us:
                return "%-22s" % ("- err %d" % err)
            return "%-22s" % ("%.0f / %.0f%s" % (statistics.mean(us), statistics.median(us),
                                                  " err %d" % err if err else ""))
        print("%-7s " % e + cell(rows) + "".join(cell([r for r in rows if tags[r[0]] == c])
                                                 for c in classes))
PY
