#!/usr/bin/env python3
"""Make a large SYNTHETIC corpus for indexing tests outside CI.

The enwiki sample (../shared/data/enwiki, 408 MB of text) is cut into
passages of about 100 words, and the passages are replayed again and again
under new ids ("synthetic-r<replay>-<article id>-p<n>") until the output
reaches the requested size.  The text is real Wikipedia prose, but every
replay repeats it, so term statistics are not those of a real corpus: the
point is volume (memory budget, runs and merging), not realism.

Output: JSON Lines files of about 256 MB each in OUTDIR, which
`nsearch index OUTDIR` reads as one collection.

    tools/make_big_corpus.py --size 5G /tmp/big
    build/nsearch --index /tmp/big.idx index --memory 256M /tmp/big
"""
import argparse
import glob
import gzip
import json
import os
import sys


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper()
    if s and s[-1] in mult:
        return int(float(s[:-1]) * mult[s[-1]])
    return int(s)


def passages(enwiki, words):
    for path in sorted(glob.glob(os.path.join(enwiki, "*.jsonl.gz"))):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                toks = doc.get("text", "").split()
                title = doc.get("title", "")
                for n, i in enumerate(range(0, max(len(toks), 1), words)):
                    yield doc["id"], n, title, " ".join(toks[i:i + words])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--size", default="5G", help="total size (default 5G)")
    ap.add_argument("--words", type=int, default=100, help="words a passage")
    ap.add_argument("--enwiki", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
        "data", "enwiki"))
    a = ap.parse_args()
    if not glob.glob(os.path.join(a.enwiki, "*.jsonl.gz")):
        sys.exit("make_big_corpus: no enwiki shards in %s" % a.enwiki)
    target = parse_size(a.size)
    os.makedirs(a.outdir, exist_ok=True)
    # the passages of one replay, serialised once: replays only change ids
    cache = [(aid, n, json.dumps(title, ensure_ascii=False),
              json.dumps(text, ensure_ascii=False))
             for aid, n, title, text in passages(a.enwiki, a.words)]
    written, part, replay, out = 0, 0, 0, None
    part_bytes = 0
    while written < target:
        for aid, n, tj, xj in cache:
            if out is None or part_bytes >= (256 << 20):
                if out:
                    out.close()
                out = open(os.path.join(a.outdir, "part_%04d.jsonl" % part),
                           "w", encoding="utf-8")
                part += 1
                part_bytes = 0
            rec = '{"id": "synthetic-r%d-%s-p%d", "title": %s, "text": %s}\n' % (
                replay, aid, n, tj, xj)
            out.write(rec)
            size = len(rec)  # close enough to the bytes for mostly ASCII
            written += size
            part_bytes += size
            if written >= target:
                break
        replay += 1
    if out:
        out.close()
    print("make_big_corpus: %.2f GB in %d files, %d replays (synthetic)"
          % (written / 1e9, part, replay), file=sys.stderr)


if __name__ == "__main__":
    main()
