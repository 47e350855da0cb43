#!/usr/bin/env python3
"""eval.py -- relevance of nsearch beside Lucene, Xapian and SQLite FTS5.

    tools/eval.py [options] [COLLECTION...]      (make eval [COLLECTIONS=...])

For each collection of the shared/data layout (DIR/docs/<id>.txt with the
title on line 1, DIR/queries.tsv "qid<TAB>text", DIR/qrels.txt), default
"scifact cranfield":

  nsearch  the CLI, as a user runs it:
             nsearch --index TMP index -q DIR/docs
             nsearch --index TMP query --plain --batch DIR/queries.tsv -k 1000
           The walker's ids are the file names (1234.txt); the ".txt" is
           stripped from the run so that ids match the qrels.  Rows for the
           opt-in settings (--stopwords, --prf, --prf --prf-weight 0.95)
           follow, from the same index.
  peers    bench/peers/bin/{lucene,xapian,fts5} (installed and built here
           with bench/peers/install.sh and build.sh unless --no-install)
           index the tools/export_docs.py stream of DIR (its text field is
           the whole file, exactly the bytes nsearch's walker indexes) and
           answer the same queries in trec mode, k1 0.9, b 0.4, 1000 hits.
           FTS5's bm25() has k1 1.2, b 0.75 built in: its row says so.

Every run is scored with build/nseval (trec_eval -c conventions):
nDCG@10, Recall@100, Recall@1000, MAP and MRR@10.  The table goes to
stdout and, in Markdown with the commands and versions, to --out
(default bench/results/eval.md).  Runs are kept in BUILD/eval/.

Exit status: 0 (also when shared/data is absent: then it says so and
skips), 1 when a step fails, 2 on a usage error.  Python 3 standard
library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(ROOT, "bench", "peers")
MEASURES = [("ndcg_cut_10", "nDCG@10"), ("recall_100", "R@100"),
            ("recall_1000", "R@1000"), ("map", "MAP"),
            ("recip_rank_cut_10", "MRR@10")]
K1, B, DEPTH = "0.9", "0.4", "1000"

# nsearch rows: (label, extra query options).  The first is the default.
NSEARCH_ROWS = [("nsearch", []),
                ("nsearch --stopwords", ["--stopwords"]),
                ("nsearch --prf", ["--prf"]),
                ("nsearch --prf --prf-weight 0.95", ["--prf", "--prf-weight", "0.95"])]
PEER_ENGINES = ["lucene", "xapian", "fts5"]


def say(msg):
    print("eval: " + msg, file=sys.stderr, flush=True)


def run(cmd, stdin=None, stdout=None, what=None):
    """Runs cmd (a list); on failure says what failed and raises."""
    p = subprocess.run(cmd, stdin=stdin, stdout=stdout or subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError("%s failed (exit %d): %s" % (what or " ".join(cmd),
                                                        p.returncode, err))
    return p


def strip_txt(src, dst):
    """Copies a run, removing the walker's ".txt" from each docid."""
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as o:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2].endswith(".txt"):
                parts[2] = parts[2][:-4]
            o.write(" ".join(parts) + "\n")


def score(nseval, qrels, runfile):
    args = [nseval, "--json", "-m", "ndcg_cut.10", "-m", "recall.100,1000",
            "-m", "map", "-m", "recip_rank_cut.10", qrels, runfile]
    return json.loads(run(args, what="nseval").stdout)


def peers_ready(engines, install):
    """Installs and builds the peer drivers; returns those usable."""
    if not engines:
        return []
    try:
        if install:
            run([os.path.join(PEERS, "install.sh")], what="bench/peers/install.sh")
        run([os.path.join(PEERS, "build.sh")] + engines, what="bench/peers/build.sh")
    except (RuntimeError, OSError) as e:
        say("peers skipped: %s" % e)
        return []
    return engines


def version(cmd):
    try:
        return run(cmd).stdout.decode().strip()
    except (RuntimeError, OSError):
        return "?"


def eval_collection(name, cdir, a, engines, work, results):
    docs = os.path.join(cdir, "docs")
    queries = os.path.join(cdir, "queries.tsv")
    qrels = os.path.join(cdir, "qrels.txt")
    for p in (docs, queries, qrels):
        if not os.path.exists(p):
            say("%s: no %s; skipped" % (name, p))
            return
    outdir = os.path.join(a.build, "eval", name)
    os.makedirs(outdir, exist_ok=True)
    rows = results.setdefault(name, [])

    # nsearch, through the CLI
    ix = os.path.join(work, name + ".nsearch")
    say("%s: nsearch index" % name)
    run([a.nsearch, "--index", ix, "index", "-q", docs], what="nsearch index")
    for label, opts in NSEARCH_ROWS:
        raw = os.path.join(work, "raw.run")
        with open(raw, "wb") as out:
            run([a.nsearch, "--index", ix, "query", "--plain", "--batch", queries,
                 "-k", DEPTH] + opts, stdout=out, what="nsearch query")
        runfile = os.path.join(outdir, re.sub(r"[^A-Za-z0-9.]+", "-", label) + ".run")
        strip_txt(raw, runfile)
        rows.append((label, score(a.nseval, qrels, runfile), ""))

    if not engines:
        return
    stream = os.path.join(work, name + ".tsv")
    with open(stream, "wb") as out:
        run([sys.executable, os.path.join(ROOT, "tools", "export_docs.py"), cdir],
            stdout=out, what="export_docs.py")
    for e in engines:
        drv = os.path.join(PEERS, "bin", e)
        idx = os.path.join(work, "%s.%s" % (name, e))
        say("%s: %s index" % (name, e))
        with open(stream, "rb") as inp:
            run([drv, "index", idx, "--k1", K1, "--b", B], stdin=inp,
                what="%s index" % e)
        runfile = os.path.join(outdir, e + ".run")
        with open(queries, "rb") as inp, open(runfile, "wb") as out:
            run([drv, "query", idx, "--mode", "trec", "--k", DEPTH, "--k1", K1,
                 "--b", B], stdin=inp, stdout=out, what="%s query" % e)
        note = "k1 1.2, b 0.75 (fixed in FTS5)" if e == "fts5" else ""
        rows.append((e, score(a.nseval, qrels, runfile), note))
        shutil.rmtree(idx, ignore_errors=True)


def table(results):
    head = "| collection | engine | " + " | ".join(m[1] for m in MEASURES) + " | note |"
    lines = [head, "|" + "---|" * (len(MEASURES) + 3)]
    for name, rows in results.items():
        for label, vals, note in rows:
            cells = " | ".join("%.4f" % vals[m[0]] for m in MEASURES)
            lines.append("| %s | %s | %s | %s |" % (name, label, cells, note))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(
        description="nDCG@10, recall and MAP of nsearch and the peer engines.")
    ap.add_argument("collections", nargs="*", metavar="COLLECTION",
                    help="collection names under the data directory "
                         "(default: scifact cranfield)")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"),
                    help="the shared data directory (default ../shared/data)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory with nsearch and nseval (default build)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "eval.md"),
                    help="Markdown report ('' for none)")
    ap.add_argument("--engines", default=",".join(PEER_ENGINES),
                    help="peer engines, comma-separated, '' for none "
                         "(default lucene,xapian,fts5)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not run bench/peers/install.sh")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.nsearch = os.path.join(a.build, "nsearch")
    a.nseval = os.path.join(a.build, "nseval")
    names = a.collections or ["scifact", "cranfield"]
    engines = [e for e in a.engines.split(",") if e]
    for e in engines:
        if e not in PEER_ENGINES:
            ap.error("unknown engine '%s' (lucene, xapian, fts5)" % e)

    if not os.path.isdir(a.data):
        say("no data directory %s: skipping the relevance evaluation"
            % os.path.normpath(a.data))
        return 0
    for exe in (a.nsearch, a.nseval):
        if not os.access(exe, os.X_OK):
            say("%s is missing: run make first" % exe)
            return 1
    engines = peers_ready(engines, not a.no_install)

    results = {}
    work = tempfile.mkdtemp(prefix="nsearch-eval.")
    try:
        for name in names:
            eval_collection(name, os.path.join(a.data, name), a, engines, work,
                            results)
    except (RuntimeError, OSError) as e:
        say(str(e))
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not results:
        say("no collection evaluated")
        return 0
    t = table(results)
    print(t)
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        vers = [version([a.nsearch, "--version"])]
        for e in engines:
            vers.append(version([os.path.join(PEERS, "bin", e), "version"]))
        with open(a.out, "w", encoding="utf-8") as f:
            f.write("# Relevance: nsearch and its peers\n\n")
            f.write("Written by `tools/eval.py %s` (`make eval`) on %s, %s.\n"
                    "Engines: %s.\n\n" % (
                        " ".join(names), datetime.date.today().isoformat(),
                        platform.platform(), "; ".join(vers)))
            f.write(t + "\n\n")
            f.write("nsearch: `nsearch index -q DIR/docs`, then `nsearch query "
                    "--plain --batch DIR/queries.tsv -k 1000 [OPTION]`, ids "
                    "without `.txt`.  Peers: `bench/peers/bin/ENGINE index` on "
                    "`tools/export_docs.py DIR`, then `query --mode trec --k 1000 "
                    "--k1 0.9 --b 0.4`.  Scores: `build/nseval -m ndcg_cut.10 -m "
                    "recall.100,1000 -m map -m recip_rank_cut.10`.  Runs: "
                    "`%s/eval/`.  Analysis: docs/RELEVANCE.md.\n"
                    % os.path.relpath(a.build, ROOT))
        say("wrote %s" % os.path.relpath(a.out, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
