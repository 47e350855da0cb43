#!/usr/bin/env python3
"""run.py -- nsearch's speed, size and memory benchmark against Lucene,
Xapian and SQLite FTS5, all measured in the same run on the same data.

    make bench          # full run (about 20-30 minutes on 2 cores)
    make bench-quick    # the same code on Reuters, a few hundred queries

`make bench` builds build-bench/ (-O2 -DNDEBUG) and then runs this script;
run by hand it expects build-bench/nsearch, build-bench/nsearch-peer and
build-bench/bench_postings to exist.

    python3 bench/run.py [--quick] [--engines LIST] [--out DIR] [--work DIR]
                         [--keep] [--no-install] [--skip STEP,...]
    python3 bench/run.py --only updates [--quick]     # that step alone

Steps (each engine through its driver, bench/peers/README.md):
  setup     installs what is missing (bench/peers/install.sh, gnuplot-nox,
            time) and builds the peer drivers; an engine whose install or
            build fails is left out, and the report says so
  export    writes the document streams once into a temporary directory
            (tools/export_docs.py): Reuters, enwiki, enwiki --passages 100
  index     every engine's driver on the same stream, plus the nsearch CLI
            on the original files; /usr/bin/time -v gives peak memory;
            several runs, medians kept
  updates   nsearch alone (the peers' drivers only build from scratch): on
            a private copy of Reuters' files, full build, update with
            nothing changed, with 1% of the files edited, 1% new, 1%
            deleted, optimize; segments after each; then the query results
            must equal a rebuilt index's (else the run fails)
  codec     build-bench/bench_postings on the nsearch index of the largest
            collection: real doc-id gaps, tfs and positions
  query     the benchmark-game queries in TOP_10 and COUNT modes, one
            thread, warm cache, the same warm-up and repeats for every
            engine; per class mean, p50, p99 and queries a second
  growth    the same on enwiki cut into ~100-word passages (~650k docs)
Results: OUT/latest.json, OUT/latest.md, OUT/latency.png (OUT =
bench/results, or build-bench/results with --quick, so that a quick run
never replaces the committed figures).  Temporary indexes and streams go
to a directory under /tmp (removed at the end unless --keep).

Only the Python 3 standard library is used.
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BB = os.path.join(ROOT, "build-bench")
PEERS = os.path.join(ROOT, "bench", "peers")
ENGINES = ["nsearch", "lucene", "xapian", "fts5"]
NAMES = {"nsearch": "nsearch", "lucene": "Lucene", "xapian": "Xapian", "fts5": "FTS5"}
CLASSES = ["term", "union", "intersection", "phrase", "intersection_union",
           "negated", "two-phase-critic"]
PLOT_CLASSES = ["union", "intersection", "phrase", "intersection_union", "negated"]
MODES = ["top", "count"]
MODE_NAMES = {"top": "TOP_10", "count": "COUNT"}
# Lucene's EnglishAnalyzer stop set (StopAnalyzer.ENGLISH_STOP_WORDS_SET).
LUCENE_STOP = set("a an and are as at be but by for if in into is it no not of on "
                  "or such that the their then there these they this to was will "
                  "with".split())

T0 = time.monotonic()
LOAD_MAX = [0.0]  # the highest 1-minute load average seen at a log line


def log(msg):
    t = time.monotonic() - T0
    LOAD_MAX[0] = max(LOAD_MAX[0], loadavg() or 0.0)
    print("[bench %2d:%02d] %s" % (t // 60, t % 60, msg), file=sys.stderr, flush=True)


def find_shared(required=True):
    for d in (os.environ.get("SHARED"), os.path.join(ROOT, "..", "shared"), "/work/shared"):
        if d and os.path.isdir(os.path.join(d, "data")):
            return os.path.abspath(d)
    if required:
        sys.exit("run.py: cannot find shared/data (set SHARED=/path/to/shared)")
    return None


def median(xs):
    return statistics.median(xs) if xs else None


def pct(xs, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


# ---- setup -------------------------------------------------------------------

def dpkg_missing(pkgs):
    miss = []
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                           capture_output=True, text=True)
        if not r.stdout.endswith(" installed"):
            miss.append(p)
    return miss


def apt_install(pkgs, notes):
    miss = dpkg_missing(pkgs)
    if not miss:
        return True
    log("installing " + " ".join(miss))
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        ok = subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env).returncode == 0
        ok = ok and subprocess.run(sudo + ["apt-get", "install", "-y", "-qq",
                                           "--no-install-recommends"] + miss,
                                   env=env, stdout=subprocess.DEVNULL).returncode == 0
    except OSError:
        ok = False
    if not ok:
        notes.append("could not install %s" % " ".join(miss))
    return ok


def setup(args, notes):
    """Installs and builds what is missing; returns the usable engines."""
    engines = [e for e in args.engines if e in ENGINES]
    if not args.no_install:
        apt_install(["time"], notes)
        apt_install(["gnuplot-nox"], notes)
        peers = [e for e in engines if e != "nsearch"]
        try:
            rc = subprocess.run([os.path.join(PEERS, "install.sh")]).returncode if peers else 0
        except OSError:
            rc = 1
        if rc != 0:
            notes.append("bench/peers/install.sh failed: peers whose build fails "
                         "below are left out")
    usable = []
    for e in engines:
        if e == "nsearch":
            for b in ("nsearch", "nsearch-peer", "bench_postings"):
                if not os.access(os.path.join(BB, b), os.X_OK):
                    sys.exit("run.py: build-bench/%s is missing (run `make bench`)" % b)
            usable.append(e)
            continue
        r = subprocess.run([os.path.join(PEERS, "build.sh"), e],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            notes.append("%s left out: its driver did not build (%s)"
                         % (NAMES[e], r.stderr.strip().splitlines()[-1:] or "?"))
            log("WARNING: %s left out (build failed)" % e)
            continue
        usable.append(e)
    return usable


def driver(e):
    return os.path.join(BB, "nsearch-peer") if e == "nsearch" else os.path.join(PEERS, "bin", e)


def engine_version(e):
    r = subprocess.run([driver(e), "version"], capture_output=True, text=True)
    v = (r.stdout + r.stderr).strip().splitlines()
    return v[0] if v else "?"


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split()
                    flags = ",".join(x for x in ("sse2", "avx2", "avx512f") if x in fl)
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "--no-optional-locks", "-C", ROOT, "status", "--porcelain",
                            "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "cpu_flags": flags,
            "mem_gib": round(mem / 2**30, 1), "kernel": os.uname().release,
            "commit": commit + ("+local changes" if dirty else ""),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return None


# ---- running things ----------------------------------------------------------

HAVE_TIME = None


def run_timed(cmd, stdin_path=None, stdout_path=None, env=None):
    """Runs cmd with stdin from stdin_path and stdout into stdout_path (or
    captured); returns (stdout text or None, measures, stderr text).
    measures: wall, user, sys (s) and rss_mb (peak resident memory) from
    /usr/bin/time -v when it is there, else from wait4()."""
    global HAVE_TIME
    if HAVE_TIME is None:
        HAVE_TIME = os.access("/usr/bin/time", os.X_OK)
    fd, tfile = tempfile.mkstemp(prefix="nsbench-time.")
    os.close(fd)
    full = ["/usr/bin/time", "-v", "-o", tfile] + cmd if HAVE_TIME else cmd
    fin = open(stdin_path, "rb") if stdin_path else open(os.devnull, "rb")
    fout = open(stdout_path, "wb") if stdout_path else tempfile.TemporaryFile()
    ferr = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdin=fin, stdout=fout, stderr=ferr, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    fin.close()
    out = None
    if not stdout_path:
        fout.seek(0)
        out = fout.read().decode(errors="replace")
    fout.close()
    ferr.seek(0)
    err = ferr.read().decode(errors="replace")
    ferr.close()
    m = {"wall": wall, "user": ru.ru_utime, "sys": ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024.0}
    with open(tfile) as f:
        tv = f.read()
    os.unlink(tfile)
    for key, pat in (("user", r"User time \(seconds\): ([\d.]+)"),
                     ("sys", r"System time \(seconds\): ([\d.]+)"),
                     ("rss_mb", r"Maximum resident set size \(kbytes\): (\d+)")):
        mm = re.search(pat, tv)
        if mm:
            m[key] = float(mm.group(1)) / (1024.0 if key == "rss_mb" else 1.0)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd), p.returncode, err[-2000:]))
    return out, m, err


def export_streams(work, specs):
    """Writes the document streams named in specs, [(name, src, passages)],
    into work/NAME.tsv with tools/export_docs.py, all at once (before any
    measurement starts: they would disturb it).  Returns {name: path}."""
    procs, paths = [], {}
    t = time.monotonic()
    for name, src, passages in specs:
        path = os.path.join(work, name + ".tsv")
        paths[name] = path
        if os.path.exists(path):
            continue
        cmd = [sys.executable, os.path.join(ROOT, "tools", "export_docs.py")]
        if passages:
            cmd += ["--passages", str(passages)]
        cmd.append(src)
        f = open(path + ".part", "wb")
        procs.append((name, path, f, subprocess.Popen(cmd, stdout=f)))
    for name, path, f, p in procs:
        rc = p.wait()
        f.close()
        if rc != 0:
            sys.exit("run.py: tools/export_docs.py failed for %s" % name)
        os.rename(path + ".part", path)
        log("exported %s: %.0f MB, %d docs (%.0f s)" % (name, os.path.getsize(path) / 1e6,
                                                       count_lines(path), time.monotonic() - t))
    return paths


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return n


def nsearch_stats(idx):
    out = subprocess.run([os.path.join(BB, "nsearch"), "--index", idx, "stats"],
                         capture_output=True, text=True, check=True).stdout
    st = {}
    for line in out.splitlines():
        m = re.search(r"\(generation (\d+), (\d+) segments?\)", line)
        if m:
            st["generation"], st["segments"] = int(m.group(1)), int(m.group(2))
            continue
        m = re.match(r"^deleted:\s+(\d+)", line)
        if m:
            st["deleted"] = int(m.group(1))
            continue
        m = re.match(r"^([a-z ]+):\s+(\d+) bytes", line)
        if m:
            st["bytes_" + m.group(1).strip().replace(" ", "_")] = int(m.group(2))
            continue
        m = re.match(r"^(documents|terms|postings|positions):\s+(\d+)\s*$", line)
        if m:
            st[m.group(1)] = int(m.group(2))
    return st


# ---- indexing ----------------------------------------------------------------

def index_collection(name, stream, src_dir, engines, runs, work, res):
    """Indexes the stream with every engine (and the CLI on src_dir when it is
    given) `runs` times; keeps the last index of each engine in work/."""
    docs = count_lines(stream)
    in_bytes = os.path.getsize(stream)
    out = {"docs": docs, "input_bytes": in_bytes, "runs": runs, "engines": {}}
    raw = {e: [] for e in engines}
    cli = []
    for r in range(runs):
        for e in engines:
            idx = os.path.join(work, "%s.%s.idx" % (name, e))
            if os.path.exists(idx):
                shutil.rmtree(idx)
            try:
                o, m, _ = run_timed([driver(e), "index", idx], stdin_path=stream)
            except RuntimeError as ex:
                log("ERROR: %s" % ex)
                res["notes"].append("%s: %s indexing failed: %s" % (name, NAMES[e], str(ex)[:300]))
                continue
            j = json.loads(o.strip().splitlines()[-1])
            j.update(m)
            raw[e].append(j)
            log("%s index %s run %d: %.1f s (process %.1f s, %.0f MB peak), %.1f MB"
                % (name, e, r + 1, j["seconds"], m["wall"], m.get("rss_mb", 0),
                   j["index_bytes"] / 1e6))
        if src_dir and "nsearch" in engines:
            idx = os.path.join(work, "%s.cli.idx" % name)
            if os.path.exists(idx):
                shutil.rmtree(idx)
            o, m, err = run_timed([os.path.join(BB, "nsearch"), "--index", idx, "index", src_dir])
            mm = re.search(r"([\d.]+) MB input", o + err)
            m["input_bytes"] = float(mm.group(1)) * 1e6 if mm else in_bytes
            mm = re.search(r"indexed (\d+) documents", o + err)
            m["docs"] = int(mm.group(1)) if mm else docs
            cli.append(m)
            log("%s index nsearch CLI run %d: %.1f s, %.0f MB peak" % (name, r + 1, m["wall"],
                                                                      m.get("rss_mb", 0)))
    ns_postings = None
    for e in engines:
        if not raw[e]:
            continue
        sec = median([j["seconds"] for j in raw[e]])
        d = {"runs": len(raw[e]), "seconds": sec,
             "seconds_all": [round(j["seconds"], 2) for j in raw[e]],
             "merge_seconds": median([j.get("merge_seconds", 0) for j in raw[e]]),
             "process_wall": median([j["wall"] for j in raw[e]]),
             "cpu_seconds": median([j.get("user", 0) + j.get("sys", 0) for j in raw[e]]),
             "peak_rss_mb": median([j.get("rss_mb", 0) for j in raw[e]]) or None,
             "index_bytes": raw[e][-1]["index_bytes"], "docs": raw[e][-1]["docs"]}
        d["mb_s"] = in_bytes / 1e6 / sec if sec else None
        d["docs_s"] = d["docs"] / sec if sec else None
        d["share"] = d["index_bytes"] / in_bytes
        if e == "nsearch":
            st = nsearch_stats(os.path.join(work, "%s.nsearch.idx" % name))
            d["stats"] = st
            ns_postings = st.get("postings")
        out["engines"][e] = d
    if cli:
        st = nsearch_stats(os.path.join(work, "%s.cli.idx" % name))
        c = {"runs": len(cli), "seconds": median([m["wall"] for m in cli]),
             "seconds_all": [round(m["wall"], 2) for m in cli],
             "cpu_seconds": median([m.get("user", 0) + m.get("sys", 0) for m in cli]),
             "peak_rss_mb": median([m.get("rss_mb", 0) for m in cli]) or None,
             "input_bytes": cli[-1]["input_bytes"], "docs": cli[-1]["docs"], "stats": st}
        c["mb_s"] = c["input_bytes"] / 1e6 / c["seconds"]
        c["docs_s"] = c["docs"] / c["seconds"]
        c["index_bytes"] = st.get("bytes_total")
        c["share"] = c["index_bytes"] / c["input_bytes"] if c["index_bytes"] else None
        out["nsearch_cli"] = c
    if ns_postings:
        out["postings"] = ns_postings
        for e, d in out["engines"].items():
            d["bits_per_posting"] = d["index_bytes"] * 8.0 / ns_postings
        st = out["engines"]["nsearch"]["stats"]
        tot = st.get("bytes_total", out["engines"]["nsearch"]["index_bytes"])
        store = st.get("bytes_document_store", 0)
        pos = st.get("bytes_positions", 0)
        out["nsearch_breakdown"] = {
            "total": tot, "store": store, "positions": pos,
            "postings": st.get("bytes_postings"), "dictionary": st.get("bytes_dictionary"),
            "doc_table": st.get("bytes_document_table"),
            "bits_total": tot * 8.0 / ns_postings,
            "bits_no_store": (tot - store) * 8.0 / ns_postings,
            "bits_no_store_no_positions": (tot - store - pos) * 8.0 / ns_postings,
            "bits_postings_only": (st.get("bytes_postings") or 0) * 8.0 / ns_postings,
            "share_no_store": (tot - store) / in_bytes,
        }
    res["indexing"][name] = out


# ---- incremental updates -------------------------------------------------------

# Queries compared between the updated index and a rebuilt one: the usual
# operators, and "nsbench", the word of the lines the steps append (it
# matches exactly the edited and added documents).
UPDATE_QUERIES = ["oil prices", '"interest rates"', "+bank -japan",
                  "wheat AND (corn OR soybeans)", "dollar yen trade deficit", "nsbench"]
UPDATE_K = 100


def list_files(src):
    """(relative paths of the regular files under src, sorted; their bytes)."""
    rel, size = [], 0
    for d, dirs, names in os.walk(src):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                rel.append(os.path.relpath(p, src))
                size += os.path.getsize(p)
    rel.sort()
    return rel, size


def private_dir(work, need):
    """A new directory for a copy of `need` bytes of small files: on tmpfs
    (/dev/shm) when it has room, since creating some 20,000 files on this
    kind of disk takes 5-13 s; else under work.  Returns (path, where)."""
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize > 4 * need + (1 << 28):
            return tempfile.mkdtemp(prefix="nsbench-updates.", dir="/dev/shm"), "tmpfs"
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="updates-docs.", dir=work), "work directory"


def copy_tree(src, dst, rel):
    """Copies the files rel (relative to src) into dst: contents only (new
    files, new mtimes, never links)."""
    for r in rel:
        q = os.path.join(dst, r)
        os.makedirs(os.path.dirname(q), exist_ok=True)
        shutil.copyfile(os.path.join(src, r), q)


def append_line(path, line):
    """Appends a line to path and moves its mtime forward by at least 1 s."""
    old = os.stat(path).st_mtime_ns
    with open(path, "ab") as f:
        f.write(b"\n" + line.encode() + b"\n")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, max(st.st_mtime_ns, old + 10**9)))


def query_sets(idx, queries):
    """{query: [(id, score rounded to 4 decimals)...]} of `nsearch query
    --json -k UPDATE_K` on idx."""
    out = {}
    for q in queries:
        r = subprocess.run([os.path.join(BB, "nsearch"), "--index", idx, "query", "--json",
                            "-k", str(UPDATE_K), q], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("nsearch query %r failed (exit %d): %s"
                               % (q, r.returncode, r.stderr.strip()[-300:]))
        hits = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        out[q] = [(h["id"], round(h["score"], 4)) for h in hits]
    return out


def compare_sets(got, want):
    """Compares two query_sets() answers as sets of (id, rounded score).
    When a list holds UPDATE_K hits, the documents tied with the last score
    may be others (equal scores are ordered by document number, which
    differs between the two indexes): there the scores are compared, not
    the ids.  Returns (differences, queries where that rule was needed)."""
    diffs, ties = [], 0
    for q, w in want.items():
        g = got.get(q, [])
        a, b = set(g), set(w)
        if a == b:
            continue
        cut = min(s for _, s in w) if len(w) == UPDATE_K and w else None
        if (cut is not None and len(g) == len(w)
                and sorted(s for _, s in g) == sorted(s for _, s in w)
                and {x for x in a if x[1] > cut} == {x for x in b if x[1] > cut}):
            ties += 1
            continue
        diffs.append("%s: %d hits only in the updated index (e.g. %s), %d only in the rebuilt "
                     "one (e.g. %s)" % (q, len(a - b), sorted(a - b)[:2], len(b - a),
                                        sorted(b - a)[:2]))
    return diffs, ties


def update_bench(src, work, runs, res, keep=False):
    """nsearch's incremental updates on a private copy of src (Reuters'
    docs/): `runs` repetitions of full build, update with nothing changed,
    with 1% of the files edited, 1% new files, 1% deleted, then optimize;
    the copy is restored to src's contents before each repetition.  Then
    the queries of UPDATE_QUERIES must give the same results as a rebuilt
    index of the same files (res["updates"]["check"]["result"])."""
    ns = os.path.join(BB, "nsearch")
    if not os.path.isdir(src):
        msg = "incremental updates skipped: %s not found" % src
        log(msg)
        res["notes"].append(msg)
        return
    if subprocess.run([ns, "help", "optimize"], capture_output=True).returncode != 0:
        sys.exit("run.py: build-bench/nsearch has no incremental updates (built before "
                 "them?): run `make bench-quick`, or `make BUILD=build-bench "
                 "OPT=\"-O2 -DNDEBUG\" build-bench/nsearch`")
    src = os.path.realpath(src)
    files, size = list_files(src)
    # the documents on tmpfs when possible (fast to copy), the indexes on disk
    ddir, where = private_dir(work, size)
    tmp = tempfile.mkdtemp(prefix="updates.", dir=work)
    for d in (ddir, tmp):
        d = os.path.realpath(d)
        if d.startswith(src + os.sep) or src.startswith(d + os.sep) or d == src:
            sys.exit("run.py: the private copy %s would overlap %s" % (d, src))
    docs = os.path.join(ddir, "docs")
    idx, ref = os.path.join(tmp, "idx"), os.path.join(tmp, "ref.idx")
    try:
        t = time.monotonic()
        copy_tree(src, docs, files)
        log("updates: copied %d files (%.0f MB) of %s to %s (%.1f s)"
            % (len(files), size / 1e6, src, docs, time.monotonic() - t))
        if len(files) < 3:
            res["notes"].append("incremental updates skipped: %d files in %s" % (len(files), src))
            return
        nf = len(files)
        n = max(1, int(round(nf / 100.0)))
        pick = lambda off: [files[i * nf // n + off] for i in range(n)]
        edited, sources, deleted = pick(0), pick(1), pick(2)
        added = ["nsbench-new-%05d.txt" % i for i in range(n)]

        def edit():
            for i, f in enumerate(edited):
                append_line(os.path.join(docs, f), "nsbench edit %d" % i)

        def add():
            for i, (f, new) in enumerate(zip(sources, added)):
                with open(os.path.join(src, f), "rb") as a, open(os.path.join(docs, new), "wb") as b:
                    b.write(a.read() + b"\nnsbench new %d\n" % i)

        def delete():
            for f in deleted:
                os.unlink(os.path.join(docs, f))

        def restore():
            for f in edited + deleted:
                shutil.copyfile(os.path.join(src, f), os.path.join(docs, f))
            for f in added:
                if os.path.exists(os.path.join(docs, f)):
                    os.unlink(os.path.join(docs, f))

        upd = [ns, "--index", idx, "index", docs]
        # (key, label, command shown, what to do to the files first, command)
        steps = [
            ("full", "full build", "index --rebuild DIR", None,
             [ns, "--index", idx, "index", "--rebuild", docs]),
            ("unchanged", "update, nothing changed", "index DIR", None, upd),
            ("edited", "update, %d files edited (1%%)" % n, "index DIR", edit, upd),
            ("added", "update, %d new files (1%%)" % n, "index DIR", add, upd),
            ("deleted", "update, %d files deleted (1%%)" % n, "index DIR", delete, upd),
            ("optimize", "optimize", "optimize", None, [ns, "--index", idx, "optimize"]),
        ]
        raw = {k: [] for k, *_ in steps}
        after = {}
        answers = []  # (repetition, state, query_sets)
        for r in range(runs):
            if r:
                restore()
            for key, label, _, prep, cmd in steps:
                if prep:
                    prep()
                o, m, err = run_timed(cmd)
                st = nsearch_stats(idx)
                said = [x for x in (o + err).splitlines()
                        if re.match(r"(indexed|updated index|optimized)\b", x)]
                m["summary"] = said[-1] if said else ""
                raw[key].append(m)
                after[key] = st
                log("updates run %d: %s: %.2f s, %s segment(s), %s documents, %s deleted"
                    % (r + 1, label, m["wall"], st.get("segments"), st.get("documents"),
                       st.get("deleted", 0)))
                if key in ("deleted", "optimize"):
                    answers.append((r + 1, "after %s" % key, query_sets(idx, UPDATE_QUERIES)))
        _, refm, _ = run_timed([ns, "--index", ref, "index", "--rebuild", docs])
        refst = nsearch_stats(ref)
        want = query_sets(ref, UPDATE_QUERIES)
        diffs, ties = [], 0
        for r, state, got in answers:
            d, t_ = compare_sets(got, want)
            ties += t_
            diffs += ["run %d, %s: %s" % (r, state, x) for x in d]
        for key in ("deleted", "optimize"):
            if after[key].get("documents") != refst.get("documents"):
                diffs.append("%s: %s documents, the rebuilt index %s" % (
                    key, after[key].get("documents"), refst.get("documents")))
        out = {"collection": "reuters", "files": nf, "files_changed": n, "runs": runs,
               "files_on": where,
               "steps": [], "check": {
                   "queries": UPDATE_QUERIES, "k": UPDATE_K,
                   "states": ["after deleted", "after optimize"],
                   "compared": len(answers) * len(UPDATE_QUERIES),
                   "hits": sum(len(v) for v in want.values()),
                   "tied_at_cut": ties, "reference_seconds": refm["wall"],
                   "result": "identical" if not diffs else "DIFFERENT",
                   "differences": diffs[:20]}}
        for key, label, shown, _, _ in steps:
            ms = raw[key]
            out["steps"].append({
                "step": key, "label": label, "command": "nsearch --index IDX " + shown,
                "seconds": median([m["wall"] for m in ms]),
                "seconds_all": [round(m["wall"], 3) for m in ms],
                "cpu_seconds": median([m.get("user", 0) + m.get("sys", 0) for m in ms]),
                "peak_rss_mb": median([m.get("rss_mb", 0) for m in ms]) or None,
                "segments": after[key].get("segments"),
                "documents": after[key].get("documents"),
                "deleted": after[key].get("deleted", 0),
                "index_bytes": after[key].get("bytes_total"),
                "summary": ms[-1]["summary"]})
        res["updates"] = out
        if diffs:
            msg = ("incremental updates: query results of the updated index DIFFER from a "
                   "rebuilt index's: " + "; ".join(diffs[:5]))
            log("ERROR: " + msg)
            res["notes"].insert(0, msg)
            res["failed"] = res.get("failed", []) + ["updates"]
        else:
            log("updates: %d query answers identical to a rebuilt index's"
                % (len(answers) * len(UPDATE_QUERIES)))
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(ddir, ignore_errors=True)
        else:
            log("updates: kept %s and %s" % (ddir, tmp))


def render_updates(u):
    L = ["## Incremental updates (nsearch only)", ""]
    L.append("nsearch alone: the peers' drivers only build an index from scratch (bench/peers/"
             "README.md), so they have nothing to compare here. A private copy of the %s "
             "collection's %s files (docs/) %s, the index on disk in the work directory; "
             "1%% = %s files, "
             "each step's changes "
             "made before it is timed: *edited* appends a line to files and moves their "
             "mtime forward, *new* adds files (the text of other documents plus a line), "
             "*deleted* removes yet other files. Each repetition restores the copy and runs "
             "the steps in order from a full build; *seconds* is the %s, "
             "*CPU s* user + system (medians too); segments, documents and deleted "
             "(still stored, marked deleted) are what `nsearch stats` shows after the step. "
             "IDX is the index, DIR the copy, and `nsearch` is build-bench/nsearch."
             % (u["collection"], "{:,}".format(u["files"]),
                "on tmpfs (/dev/shm: creating that many files on disk takes 5-13 s here)"
                if u.get("files_on") == "tmpfs" else "in the work directory",
                "{:,}".format(u["files_changed"]),
                "median wall time of %d repetitions" % u["runs"] if u["runs"] > 1
                else "wall time of one repetition"))
    L.append("")
    L.append("| step | command | seconds | CPU s | peak MB | segments | documents | deleted "
             "| index MB | nsearch's summary |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for s in u["steps"]:
        L.append("| %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s["label"], s["command"], fmt(s["seconds"], 2), fmt(s["cpu_seconds"], 2),
            fmt(s["peak_rss_mb"], 0), s["segments"], "{:,}".format(s["documents"] or 0),
            "{:,}".format(s["deleted"] or 0), fmt((s["index_bytes"] or 0) / 1e6, 1),
            s["summary"].replace("|", "\\|")))
    L.append("")
    c = u["check"]
    L.append("Check: after the deletions (several segments) and after optimize, in every "
             "repetition, `nsearch --index IDX query --json -k %d QUERY` for %d queries (%s) against "
             "`nsearch --index REF index --rebuild DIR` on the same files, compared as sets of "
             "(id, score rounded to 4 decimals)%s: **%s**%s." % (
                 c["k"], len(c["queries"]), ", ".join("`%s`" % q for q in c["queries"]),
                 "; when %d hits come back, the documents tied with the %dth score may differ "
                 "(equal scores are ordered by document number) and only their scores are "
                 "compared, which %d of the %d answers needed" % (
                     c["k"], c["k"], c["tied_at_cut"], c["compared"]),
                 c["result"], "" if c["result"] == "identical" else
                 " — " + "; ".join(c["differences"][:5])))
    L.append("")
    return L


# ---- queries -----------------------------------------------------------------

def load_queries(shared, quick):
    qs = []
    with open(os.path.join(shared, "data", "queries", "benchgame.jsonl")) as f:
        for i, line in enumerate(f, 1):
            o = json.loads(line)
            tag = (o.get("tags") or ["?"])[0]
            qs.append((str(i), o["query"].replace("\t", " ").replace("\n", " "), tag))
    if quick:  # every third query of each class (the file interleaves them)
        seen = {}
        keep = []
        for q in qs:
            seen[q[2]] = seen.get(q[2], -1) + 1
            if seen[q[2]] % 3 == 0:
                keep.append(q)
        qs = keep
    return qs


def run_queries(coll, e, idx, mode, qfile, qs, warmup, repeat, work):
    outp = os.path.join(work, "%s.%s.%s.tsv" % (coll, e, mode))
    _, m, err = run_timed([driver(e), "query", idx, "--mode", mode, "--warmup", str(warmup),
                           "--repeat", str(repeat)], stdin_path=qfile, stdout_path=outp)
    tags = {q[0]: q[2] for q in qs}
    per = {}
    with open(outp) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            per[parts[0]] = (float(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else "")
    classes = {}
    for cls in CLASSES + ["all"]:
        us = [v[0] for q, v in per.items() if v[1] >= 0 and (cls == "all" or tags.get(q) == cls)]
        n_err = sum(1 for q, v in per.items() if v[1] < 0 and (cls == "all" or tags.get(q) == cls))
        if not us and not n_err:
            continue
        c = {"n": len(us), "errors": n_err}
        if us:
            mean = statistics.mean(us)
            c.update(mean=mean, p50=pct(us, 50), p99=pct(us, 99),
                     qps=1e6 / mean if mean > 0 else None)
        classes[cls] = c
    ids = "\n".join("%s\t%s" % (q, per[q][2]) for q in sorted(per, key=lambda x: (len(x), x)))
    checksum = {"sum_counts": sum(v[1] for v in per.values() if v[1] >= 0),
                "crc32_top_ids": "%08x" % (zlib.crc32(ids.encode()) & 0xffffffff)}
    return {"warmup": warmup, "repeat": repeat, "classes": classes, "checksum": checksum,
            "process_wall": m["wall"],
            "per_query": {q: [v[0], v[1]] for q, v in per.items()}}


def query_collection(coll, engines, qs, qfile, work, res, args, skip_slow=None, budget=None):
    """Runs both modes for every engine with an index of coll.  skip_slow:
    {(engine, mode): why} pairs not to run; budget: (seconds for the whole
    run, {(engine, mode): seconds of one pass on the base collection}): a
    SLOW pair is skipped when its estimated time would not fit."""
    out = res["queries"].setdefault(coll, {})
    for mode in MODES:
        for e in engines:
            idx = os.path.join(work, "%s.%s.idx" % (coll, e))
            if not os.path.isdir(idx):
                continue
            warmup, repeat = args.warmup, args.repeat
            if (e, mode) in SLOW:
                warmup, repeat = SLOW[(e, mode)]
            if budget and (e, mode) in SLOW and (e, mode) in budget[1]:
                est = budget[1][(e, mode)] * (warmup + repeat) * 8
                left = budget[0] - (time.monotonic() - T0)
                if est + 60 > left:
                    skip_slow = dict(skip_slow or {})
                    skip_slow[(e, mode)] = ("about %.0f s estimated, %.0f s left of the "
                                            "%.0f s budget" % (est, left, budget[0]))
            if skip_slow and (e, mode) in skip_slow:
                res["notes"].append("%s: %s %s mode skipped: %s" % (coll, NAMES[e],
                                    MODE_NAMES[mode], skip_slow[(e, mode)]))
                log("%s: skipping %s %s (%s)" % (coll, e, mode, skip_slow[(e, mode)]))
                continue
            try:
                r = run_queries(coll, e, idx, mode, qfile, qs, warmup, repeat, work)
            except RuntimeError as ex:
                res["notes"].append("%s: %s %s queries failed: %s" % (coll, NAMES[e], mode,
                                                                      str(ex)[:300]))
                log("ERROR: %s" % ex)
                continue
            out.setdefault(mode, {})[e] = r
            a = r["classes"].get("all", {})
            log("%s %s %s: mean %.1f us, p50 %.1f, p99 %.1f (%d queries, %d errors; "
                "process %.0f s)" % (coll, e, mode, a.get("mean", 0), a.get("p50", 0),
                                     a.get("p99", 0), a.get("n", 0), a.get("errors", 0),
                                     r["process_wall"]))


# Engine/mode pairs too slow for the common settings: FTS5 ranks every
# matching document (no dynamic pruning), so one pass of its TOP_10 over
# the 962 queries on enwiki takes about 30 s.  It gets one warm-up pass
# and the median of 3 runs; warm-up only matters for Lucene's JIT.
SLOW = {("fts5", "top"): (1, 3)}


def query_words(query):
    """The words of a benchmark-game query, without + - and quotes."""
    return [w.lstrip("+-") for w in re.findall(r'[^\s"]+', query) if w.lstrip("+-")]


def count_diffs(coll, res, qs, work):
    """Compares every peer's COUNT results with nsearch's, query by query.
    For the queries that differ, each word is counted alone in both engines
    (COUNT mode, no warm-up, one run), which tells a word that the engines
    analyse differently (stemming, tokenization, stopwords) from a
    difference in phrase matching."""
    q = res["queries"].get(coll, {}).get("count", {})
    if "nsearch" not in q:
        return
    text = {x[0]: x[1] for x in qs}
    tags = {x[0]: x[2] for x in qs}
    ns = q["nsearch"]["per_query"]
    differing = {}
    for e, r in q.items():
        if e != "nsearch":
            differing[e] = [qid for qid, (_, cnt) in r["per_query"].items()
                            if qid in ns and ns[qid][1] >= 0 and cnt >= 0 and cnt != ns[qid][1]]
    words = sorted({w for ids in differing.values() for qid in ids for w in query_words(text[qid])})
    wcount = {}
    if words:
        wfile = os.path.join(work, "%s.words.tsv" % coll)
        wqs = [("w%d" % i, w, "word") for i, w in enumerate(words)]
        with open(wfile, "w") as f:
            for qid, w, _ in wqs:
                f.write("%s\t%s\n" % (qid, w))
        for e in ["nsearch"] + [e for e in differing if differing[e]]:
            try:
                r = run_queries(coll + "-words", e, os.path.join(work, "%s.%s.idx" % (coll, e)),
                                "count", wfile, wqs, 0, 1, work)
                wcount[e] = {w: r["per_query"].get(qid, [0, -1])[1] for qid, w, _ in wqs}
            except RuntimeError as ex:
                log("WARNING: word counts for %s: %s" % (e, ex))
    out = {}
    for e, ids in differing.items():
        more = sum(1 for qid in ids if ns[qid][1] > q[e]["per_query"][qid][1])
        reasons, ex = {}, []
        for qid in ids:
            why, detail = diff_reason(e, text[qid], tags[qid], wcount)
            reasons[why] = reasons.get(why, 0) + 1
            ex.append({"qid": qid, "query": text[qid], "class": tags[qid],
                       "nsearch": ns[qid][1], e: q[e]["per_query"][qid][1], "reason": why,
                       "detail": detail})
        # examples: the largest relative differences first, one per reason
        ex.sort(key=lambda x: -abs(x["nsearch"] - x[e]) / max(x["nsearch"], x[e], 1))
        picked, seen = [], set()
        for x in ex:
            if x["reason"] not in seen:
                picked.append(x)
                seen.add(x["reason"])
        for x in ex:
            if len(picked) >= 6:
                break
            if x not in picked:
                picked.append(x)
        out[e] = {"compared": sum(1 for k in q[e]["per_query"] if k in ns), "differ": len(ids),
                  "nsearch_more": more, "nsearch_fewer": len(ids) - more, "reasons": reasons,
                  "examples": picked[:6]}
    res["count_diffs"][coll] = out


def diff_reason(e, query, tag, wcount):
    """(category, detail) of one COUNT difference between nsearch and e."""
    words = query_words(query)
    nw, ew = wcount.get("nsearch", {}), wcount.get(e, {})
    if e == "lucene":
        stop = [w for w in words if w.lower() in LUCENE_STOP]
        if stop:
            return ("stopword removed by Lucene's EnglishAnalyzer",
                    "'%s' matches %s documents in nsearch, none in Lucene"
                    % (stop[0], "{:,}".format(nw.get(stop[0], 0))) if nw else stop[0])
    if not nw or not ew:
        return ("not analysed (word counts missing)", "")
    dw = [w for w in words if nw.get(w) != ew.get(w)]
    if dw:
        return ("a word matches different documents (stemming or tokenization)",
                "; ".join("'%s' alone: nsearch %s, %s %s" % (
                    w, "{:,}".format(nw.get(w, 0)), NAMES[e], "{:,}".format(ew.get(w, 0)))
                    for w in dw[:2]))
    if '"' in query:
        known = {"xapian": "Xapian searches phrases on unstemmed words (STEM_SOME)",
                 "fts5": "FTS5's unicode61 splits words at apostrophes (york's → york + s), "
                         "which breaks phrases",
                 "lucene": "Lucene's StandardTokenizer keeps some punctuated words whole"}
        return ("same word counts, different phrase matches", known.get(e, ""))
    return ("same word counts, different query semantics", "")


# ---- codec -------------------------------------------------------------------

def codec_bench(idx, quick, res):
    cmd = [os.path.join(BB, "bench_postings")] + (["-q"] if quick else ["-r", "5"]) + [idx]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        res["notes"].append("bench_postings failed: " + r.stderr.strip()[-300:])
        log("ERROR: bench_postings: " + r.stderr.strip())
        return
    rows, summary, head = [], {}, ""
    for line in r.stdout.splitlines():
        if line.startswith("# nsearch"):
            head = line[2:]
        elif line.startswith("# "):
            k, v = line[2:].split()
            summary[k] = float(v)
        elif line.startswith("stream\t") or not line.strip():
            continue
        else:
            f = line.split("\t")
            rows.append({"stream": f[0], "codec": f[1], "kernel": f[2], "lists": int(f[3]),
                         "ints": int(f[4]), "bytes": int(f[5]), "bits_per_int": float(f[6]),
                         "decode_mis": float(f[7]), "checksum": f[8]})
    res["codec"] = {"source": head, "index": os.path.basename(idx), "rows": rows,
                    "summary": summary, "stderr": r.stderr.strip()}
    log("codec: doc-id gaps %.2f bits/posting" % summary.get("docs_gap_bits_per_posting", 0))


# ---- output ------------------------------------------------------------------

def fmt(x, d=1):
    if x is None:
        return "–"
    if isinstance(x, float) and x >= 1000 and d <= 1:
        return "{:,.0f}".format(x)
    return "{:,.{d}f}".format(x, d=d)


def ratio(a, b):
    if not a or not b:
        return "–"
    return "%.2f×" % (a / b)


def render_summary(res):
    """The short table (README's): per engine, the headline figures of the
    largest collection and of its passages, with nsearch's ratio."""
    idx = res["indexing"]
    q = res["queries"]
    if not q:
        return []
    big = next(iter(q))
    grow = next((c for c in q if c != big), None)
    engines = [e for e in ENGINES if e in idx.get(big, {}).get("engines", {})]
    L = ["## Summary", "",
         "%s (%s documents)%s. Speeds and latencies are medians; ×: nsearch's advantage "
         "over the peer in this run (peer's time ÷ nsearch's, or peer's size ÷ nsearch's; "
         "> 1: nsearch better). Latencies: mean over the queries of a class of each query's "
         "median, µs, one thread, warm cache." % (
             big, "{:,}".format(idx[big]["docs"]),
             ", and %s (%s documents)" % (grow, "{:,}".format(idx[grow]["docs"])) if grow else ""),
         "", "| | " + " | ".join(NAMES[e] for e in engines) + " |",
         "|---|" + "---|" * len(engines)]

    def row(label, get, better_low=True, digits=1):
        vals = {e: get(e) for e in engines}
        cells = []
        for e in engines:
            v = vals[e]
            if v is None:
                cells.append("–")
                continue
            c = fmt(v, digits)
            if e != "nsearch" and vals.get("nsearch"):
                r = v / vals["nsearch"] if better_low else vals["nsearch"] / v
                c += " (×%.2f)" % r if r < 10 else " (×%.0f)" % r
            cells.append(c)
        L.append("| %s | %s |" % (label, " | ".join(cells)))

    def ix(coll, key):
        return lambda e: idx.get(coll, {}).get("engines", {}).get(e, {}).get(key)
    for coll in [c for c in (big, grow) if c]:
        row("%s: indexing MB/s" % coll, ix(coll, "mb_s"), better_low=False)
        row("%s: indexing CPU s" % coll, ix(coll, "cpu_seconds"))
        row("%s: indexing peak RSS MB" % coll, ix(coll, "peak_rss_mb"), digits=0)
        row("%s: index MB" % coll, lambda e, c=coll: (
            idx[c]["engines"][e]["index_bytes"] / 1e6 if e in idx[c]["engines"] else None))
        b = idx.get(coll, {}).get("nsearch_breakdown")
        if b:
            L.append("| %s: index MB without nsearch's document store | %.1f | %s |" % (
                coll, (b["total"] - b["store"]) / 1e6, " | ".join(
                    "%s (×%.2f)" % (fmt(idx[coll]["engines"][e]["index_bytes"] / 1e6),
                                   idx[coll]["engines"][e]["index_bytes"] /
                                   (b["total"] - b["store"]))
                    if e in idx[coll]["engines"] else "–" for e in engines[1:])))
        for mode in MODES:
            classes = PLOT_CLASSES + ["all"] if coll == big else ["all"]
            for cls in classes:
                def get(e, mode=mode, cls=cls, coll=coll):
                    c = q.get(coll, {}).get(mode, {}).get(e, {}).get("classes", {}).get(cls)
                    return c.get("mean") if c else None
                row("%s %s µs: %s" % (coll, MODE_NAMES[mode],
                                      "**all**" if cls == "all" else cls), get)
    cd = res.get("codec")
    if cd:
        s = cd["summary"]
        L.append("")
        L.append("Postings on disk (%s): doc-id gaps %.2f bits/posting, tf %.2f, skip data %.2f; "
                 "positions %.2f bits each." % (cd["index"].split(".")[0],
                                               s.get("docs_gap_bits_per_posting", 0),
                                               s.get("tf_bits_per_posting", 0),
                                               s.get("skip_bits_per_posting", 0),
                                               s.get("positions_bits_per_position", 0)))
    L.append("")
    return L


def render_md(res):
    L = []
    m = res["meta"]
    L.append("# nsearch benchmark (%s)" % ("quick" if m["quick"] else "full"))
    L.append("")
    L.append("%s; %d cores, %s (%s), %.1f GiB RAM; Linux %s; nsearch %s. Load average "
             "%s at the start, %s at the end; run time %s. Command: `%s`."
             % (m["date"], m["nproc"], m["cpu"], m["cpu_flags"], m["mem_gib"], m["kernel"],
                m["commit"], m["load_start"], m["load_end"],
                "%d min %02d s" % divmod(int(m["seconds"]), 60), m["command"]))
    L.append("")
    L.append("Engines: " + "; ".join("%s (%s)" % (NAMES[e], v) for e, v in res["engines"].items())
             + ". BM25 k1 = 0.9, b = 0.4 for nsearch, Lucene and Xapian; FTS5 has "
             "k1 = 1.2, b = 0.75 compiled in. Every figure is a median over repeated runs "
             "and every ratio compares engines measured in this run on the same data.")
    L.append("")
    notes = list(res["notes"])
    # busy: load before the run, or load during it beyond what the harness
    # itself makes (one process, two threads while nsearch indexes)
    ncpu = m.get("nproc") or 1
    busy = max(m.get("load_start") or 0, m.get("load_end") or 0, m.get("load_max") or 0)
    if (m.get("load_start") or 0) > 0.5 * ncpu or busy > 1.5 + 0.5 * ncpu:
        notes.insert(0, "the machine was busy with other work during the run (1-minute load "
                     "average up to %.1f on %d cores; this harness itself keeps about one "
                     "core busy): wall times are noisy" % (busy, m.get("nproc") or 0))
    if notes:
        L.append("Notes:")
        L.append("")
        for n in notes:
            L.append("- " + n)
        L.append("")

    L += render_summary(res)

    # -- indexing
    L.append("## Indexing")
    L.append("")
    L.append("Every engine's driver reads the same document stream "
             "(tools/export_docs.py); *input* is the stream's bytes. `nsearch CLI` is "
             "`build-bench/nsearch index DIR` on the original files (input: what it read). "
             "Time is the wall time of the build including commit and merge to one segment, "
             "*CPU s* the process's user + system time: nsearch analyses documents on one "
             "thread per CPU (its default), the peers index on one thread; "
             "peak memory is the process's maximum RSS (/usr/bin/time -v). Bits per "
             "posting divide the whole index by nsearch's number of postings "
             "(document-term pairs), for every engine. ×: nsearch's speed ÷ the peer's, "
             "and the peer's size ÷ nsearch's (> 1: nsearch better).")
    L.append("")
    L.append("| collection | engine | docs | runs | seconds | CPU s | MB/s | docs/s | peak MB "
             "| index MB | % of input | bits/posting | speed × | size × |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for coll, c in res["indexing"].items():
        ns = c["engines"].get("nsearch")
        for e, d in c["engines"].items():
            sp = ratio(ns["mb_s"], d["mb_s"]) if ns and e != "nsearch" else ""
            sz = ratio(d["index_bytes"], ns["index_bytes"]) if ns and e != "nsearch" else ""
            if ns and e != "nsearch" and "nsearch_breakdown" in c:
                nb = c["nsearch_breakdown"]
                sz += " (%s w/o store)" % ratio(d["index_bytes"], nb["total"] - nb["store"])
            L.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                coll, NAMES[e], "{:,}".format(d["docs"]), d["runs"], fmt(d["seconds"], 2),
                fmt(d.get("cpu_seconds"), 2), fmt(d["mb_s"], 2), fmt(d["docs_s"], 0), fmt(d["peak_rss_mb"], 0),
                fmt(d["index_bytes"] / 1e6, 1), fmt(100 * d["share"], 1),
                fmt(d.get("bits_per_posting"), 1), sp, sz))
        if "nsearch_cli" in c:
            d = c["nsearch_cli"]
            L.append("| %s | nsearch CLI | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | | |" % (
                coll, "{:,}".format(d["docs"]), d["runs"], fmt(d["seconds"], 2),
                fmt(d.get("cpu_seconds"), 2), fmt(d["mb_s"], 2), fmt(d["docs_s"], 0), fmt(d["peak_rss_mb"], 0),
                fmt((d["index_bytes"] or 0) / 1e6, 1), fmt(100 * (d["share"] or 0), 1),
                fmt((d["index_bytes"] or 0) * 8.0 / c["postings"], 1) if c.get("postings") else "–"))
    L.append("")
    L.append("nsearch's index (driver build) by part: peers store only document ids, "
             "nsearch also keeps the compressed text for snippets (*store*).")
    L.append("")
    L.append("| collection | postings | bits/posting: postings only | + positions "
             "| + dictionary, doc table | + store (total) | % of input w/o store |")
    L.append("|---|---|---|---|---|---|---|")
    for coll, c in res["indexing"].items():
        b = c.get("nsearch_breakdown")
        if b:
            L.append("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.1f |" % (
                coll, "{:,}".format(c["postings"]), b["bits_postings_only"],
                b["bits_postings_only"] + b["positions"] * 8.0 / c["postings"],
                b["bits_no_store"], b["bits_total"], 100 * b["share_no_store"]))
    L.append("")

    if res.get("updates"):
        L += render_updates(res["updates"])

    # -- codec
    cd = res.get("codec")
    if cd:
        s = cd["summary"]
        L.append("## Codec on real postings")
        L.append("")
        L.append("`build-bench/bench_postings` on the nsearch index of %s: every term's "
                 "doc-id gaps, tf − 1 and positions, decoded list by list into a 128-value "
                 "buffer (median of the timed runs). *pfor* is nsearch's codec as the index "
                 "stores lists (patched blocks of 128 + packed tail), *bp128* its plain "
                 "bit-packed blocks + varint tail (the format before patched blocks), each "
                 "per kernel; *varint* is LEB128 (`ns_varint_get`), *zlib* raw u32 deflated "
                 "per list (level 6)."
                 % cd["index"].split(".")[0])
        L.append("")
        L.append("| stream | ints | codec | kernel | bits/int | M ints/s |")
        L.append("|---|---|---|---|---|---|")
        for r in cd["rows"]:
            L.append("| %s | %s | %s | %s | %.2f | %s |" % (
                r["stream"], "{:,}".format(r["ints"]), r["codec"], r["kernel"],
                r["bits_per_int"], fmt(r["decode_mis"], 0)))
        L.append("")
        L.append("Bits per posting in the posting file: doc-id gaps **%.2f** (target ≤ 5), "
                 "tf %.2f, skip entries %.2f, total %.2f; positions %.2f bits each."
                 % (s.get("docs_gap_bits_per_posting", 0), s.get("tf_bits_per_posting", 0),
                    s.get("skip_bits_per_posting", 0), s.get("postings_bits_per_posting", 0),
                    s.get("positions_bits_per_position", 0)))
        L.append("")

    # -- queries
    for coll, q in res["queries"].items():
        L.append("## Queries: %s (%s docs)" % (coll, "{:,}".format(
            res["indexing"].get(coll, {}).get("docs", 0))))
        L.append("")
        any_mode = next(iter(q.values()), {})
        any_r = next(iter(any_mode.values()), None)
        if any_r:
            L.append("One thread, warm cache; each query run `--repeat` times after `--warmup` "
                     "passes over the whole set, its median kept; then mean, p50 and p99 over "
                     "the queries of a class, in µs, and queries a second (1 / mean). ×: the "
                     "peer's mean ÷ nsearch's (> 1: nsearch faster).")
            L.append("")
        for mode in MODES:
            if mode not in q:
                continue
            r = q[mode]
            engines = [e for e in ENGINES if e in r]
            L.append("### %s" % MODE_NAMES[mode])
            L.append("")
            L.append("| class | n | " + " | ".join(
                "%s mean / p50 / p99 | %s q/s" % (NAMES[e], NAMES[e]) + ("" if e == "nsearch" else " | ×")
                for e in engines) + " |")
            L.append("|---|---|" + "|".join("---|---" + ("" if e == "nsearch" else "|---")
                                           for e in engines) + "|")
            for cls in CLASSES + ["all"]:
                cells = []
                n = None
                for e in engines:
                    c = r[e]["classes"].get(cls)
                    if not c or "mean" not in c:
                        cells += ["–", "–"] + ([] if e == "nsearch" else ["–"])
                        continue
                    n = c["n"] + c["errors"]
                    cells.append("%s / %s / %s" % (fmt(c["mean"]), fmt(c["p50"]), fmt(c["p99"])))
                    cells.append(fmt(c["qps"], 0))
                    if e != "nsearch":
                        nc = r.get("nsearch", {}).get("classes", {}).get(cls, {})
                        cells.append(ratio(c["mean"], nc.get("mean")))
                if n is None:
                    continue
                L.append("| %s | %d | %s |" % ("**all**" if cls == "all" else cls, n,
                                               " | ".join(cells)))
            L.append("")
            if mode == "top":
                ck = lambda e: "%s hits, crc32 of the top ids %s" % (
                    "{:,}".format(r[e]["checksum"]["sum_counts"]),
                    r[e]["checksum"]["crc32_top_ids"])
            else:
                ck = lambda e: "sum of counts %s" % "{:,}".format(r[e]["checksum"]["sum_counts"])
            L.append("Warm-up passes, repeats and checksums: " + "; ".join(
                "%s %d, %d, %s" % (NAMES[e], r[e]["warmup"], r[e]["repeat"], ck(e))
                for e in engines) + ".")
            for e in engines:
                if (e, mode) in SLOW:
                    pass_s = sum(v[0] for v in r[e]["per_query"].values()) / 1e6
                    L.append("%s's %s runs with %d warm-up pass and %d repeats: it ranks every "
                             "matching document (no dynamic pruning), so one pass over the "
                             "queries takes %.1f s here; warm-up matters only for Lucene's JIT."
                             % (NAMES[e], MODE_NAMES[mode], r[e]["warmup"], r[e]["repeat"], pass_s))
            if mode == "count":
                single = []
                for cls, (qid, qtext) in res.get("single_queries", {}).items():
                    if all(qid in r[e]["per_query"] for e in engines):
                        single.append("*%s* is `%s` (matches: %s)" % (cls, qtext, ", ".join(
                            "%s %s" % (NAMES[e], "{:,}".format(r[e]["per_query"][qid][1]))
                            for e in engines)))
                if single:
                    L.append("")
                    L.append("One-query classes: " + "; ".join(single) + ". Lucene drops the "
                             "stopword *the*, so it answers `the` with nothing and searches "
                             "`\"the who\"` as `who` after a gap.")
            L.append("")
        cdf = res["count_diffs"].get(coll)
        if cdf:
            L.append("**COUNT results against nsearch's**, query by query:")
            L.append("")
            for e, d in cdf.items():
                L.append("- %s: %d of %d queries differ (nsearch more in %d, fewer in %d). "
                         "Why (each word of those queries counted alone in both engines): %s." % (
                             NAMES[e], d["differ"], d["compared"], d["nsearch_more"],
                             d["nsearch_fewer"],
                             ", ".join("%s %d" % (k, v) for k, v in
                                       sorted(d["reasons"].items(), key=lambda kv: -kv[1]))
                             or "none"))
                for x in d["examples"]:
                    L.append("  - `%s` (%s): nsearch %s, %s %s — %s%s" % (
                        x["query"], x["class"], "{:,}".format(x["nsearch"]), NAMES[e],
                        "{:,}".format(x[e]), x["reason"],
                        ": " + x["detail"] if x.get("detail") else ""))
            L.append("")

    # -- growth
    g = res.get("growth")
    if g:
        L.append("## Growth: %s → %s" % (g["from"], g["to"]))
        L.append("")
        L.append("The same text cut into ~%d-word passages: %s → %s documents (×%.1f). "
                 "Each cell: %s figure, then ×: its growth factor."
                 % (g["passages"], "{:,}".format(g["docs_from"]), "{:,}".format(g["docs_to"]),
                    g["docs_to"] / max(g["docs_from"], 1), g["to"]))
        L.append("")
        L.append("| engine | index s | index MB | TOP_10 mean µs | COUNT mean µs |")
        L.append("|---|---|---|---|---|")
        for e, row in g["engines"].items():
            def cell(k):
                a, b = row.get(k + "_from"), row.get(k + "_to")
                if b is None:
                    return "–"
                return "%s (×%.1f)" % (fmt(b, 1), b / a) if a else fmt(b, 1)
            L.append("| %s | %s | %s | %s | %s |" % (NAMES[e], cell("index_s"), cell("index_mb"),
                                                     cell("top"), cell("count")))
        L.append("")
    return "\n".join(L) + "\n"


def growth_summary(res, base, big, passages):
    a, b = res["indexing"].get(base), res["indexing"].get(big)
    if not a or not b:
        return
    g = {"from": base, "to": big, "passages": passages, "docs_from": a["docs"],
         "docs_to": b["docs"], "engines": {}}
    for e in ENGINES:
        if e not in b["engines"]:
            continue
        row = {}
        for k, get in (("index_s", lambda c: c["engines"].get(e, {}).get("seconds")),
                       ("index_mb", lambda c: (c["engines"].get(e, {}).get("index_bytes") or 0) / 1e6
                        or None)):
            row[k + "_from"], row[k + "_to"] = get(a), get(b)
        for mode in MODES:
            for coll, key in ((base, "_from"), (big, "_to")):
                r = res["queries"].get(coll, {}).get(mode, {}).get(e)
                row[mode + key] = r["classes"]["all"]["mean"] if r and "all" in r["classes"] else None
        g["engines"][e] = row
    res["growth"] = g


def plot(res, outdir):
    if not shutil.which("gnuplot"):
        res["notes"].append("gnuplot missing: no plot")
        return None
    panels = []
    for coll in res["queries"]:
        for mode in MODES:
            r = res["queries"][coll].get(mode)
            if r:
                panels.append((coll, mode, r))
    if not panels:
        return None
    tmp = tempfile.mkdtemp(prefix="nsbench-plot.")
    engines = [e for e in ENGINES if any(e in p[2] for p in panels)]
    script = ["set terminal pngcairo size 1400,%d font 'sans,10'" % (380 * ((len(panels) + 1) // 2))
              if subprocess.run(["gnuplot", "-e", "set terminal pngcairo"],
                                capture_output=True).returncode == 0
              else "set terminal png size 1400,%d" % (380 * ((len(panels) + 1) // 2)),
              "set output '%s'" % os.path.join(outdir, "latency.png"),
              "set multiplot layout %d,2 title 'Mean query latency by class (µs, log scale; "
              "one thread, warm cache)'" % ((len(panels) + 1) // 2),
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.85 border -1", "set logscale y", "set grid ytics",
              "set yrange [1:*]", "set key top left", "set boxwidth 0.9",
              "set datafile missing '?'", "set xtics nomirror", "set termoption noenhanced"]
    for i, (coll, mode, r) in enumerate(panels):
        dat = os.path.join(tmp, "p%d.dat" % i)
        with open(dat, "w") as f:
            f.write("class " + " ".join(NAMES[e] for e in engines) + "\n")
            for cls in PLOT_CLASSES:
                vals = []
                for e in engines:
                    c = r.get(e, {}).get("classes", {}).get(cls, {})
                    vals.append("%.3f" % c["mean"] if c.get("mean") else "?")
                f.write(cls + " " + " ".join(vals) + "\n")
        script.append("set title '%s, %s (%s docs)'" % (
            coll, MODE_NAMES[mode], "{:,}".format(res["indexing"].get(coll, {}).get("docs", 0))))
        script.append("plot " + ", ".join(
            "'%s' using %d:xtic(1) title columnheader(%d)" % (dat, j + 2, j + 2)
            for j in range(len(engines))))
    script.append("unset multiplot")
    path = os.path.join(tmp, "plot.gp")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        res["notes"].append("gnuplot failed: " + r.stderr.strip()[-200:])
        return None
    return os.path.join(outdir, "latency.png")


# ---- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="Reuters, a few hundred queries")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--out", help="results directory (default bench/results, or "
                    "build-bench/results with --quick)")
    ap.add_argument("--work", help="directory for streams and indexes (default: a new "
                    "directory under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--no-install", action="store_true", help="install nothing")
    ap.add_argument("--warmup", type=int, default=10,
                    help="untimed passes over the query set (default 10: ~10,000 query runs, "
                    "what Lucene's JIT needs)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per query, median kept")
    ap.add_argument("--reuters-runs", type=int, default=3)
    ap.add_argument("--enwiki-runs", type=int, default=1)
    ap.add_argument("--growth-engines", default="nsearch,lucene,fts5",
                    help="engines for the passages run (Xapian needs ~10 min to index "
                    "enwiki: left out by default)")
    ap.add_argument("--passages", type=int, default=100)
    ap.add_argument("--budget", type=float, default=1680,
                    help="seconds the whole run may take (default 28 min): the slowest "
                    "growth runs (FTS5 TOP_10) are skipped when they would not fit")
    ap.add_argument("--render", metavar="JSON",
                    help="only print the Markdown of an earlier latest.json")
    ap.add_argument("--update-runs", type=int, default=3,
                    help="repetitions of the incremental-update steps (default 3; 1 with "
                    "--quick)")
    ap.add_argument("--skip", default="", help="steps to skip: updates,codec,growth,queries")
    ap.add_argument("--only", choices=["updates"],
                    help="run only this step and print its Markdown and JSON (nothing is "
                    "installed, built or written to the results directory)")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            print(render_md(json.load(f)))
        return
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    skip = set(s.strip() for s in args.skip.split(",") if s.strip())
    if args.quick:
        args.update_runs = 1
        args.reuters_runs = 1
        args.warmup = min(args.warmup, 5)
        args.repeat = min(args.repeat, 3)
        args.passages = 50
    if args.only:
        return only(args)
    outdir = args.out or os.path.join(ROOT, "build-bench/results" if args.quick else "bench/results")
    os.makedirs(outdir, exist_ok=True)
    shared = find_shared()
    notes = []
    res = {"meta": {}, "engines": {}, "notes": notes, "indexing": {}, "queries": {},
           "count_diffs": {}}
    meta = machine_info()
    meta.update(quick=args.quick, load_start=loadavg(),
                command="make bench-quick" if args.quick else "make bench",
                warmup=args.warmup, repeat=args.repeat)
    res["meta"] = meta

    engines = setup(args, notes)
    for e in engines:
        res["engines"][e] = engine_version(e)
    log("engines: " + ", ".join("%s (%s)" % (e, res["engines"][e]) for e in engines))
    if "nsearch" not in engines:
        sys.exit("run.py: nsearch is not among the engines")

    work = args.work or tempfile.mkdtemp(prefix="nsbench.", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    log("work directory %s" % work)
    data = os.path.join(shared, "data")
    try:
        qs = load_queries(shared, args.quick)
        meta["queries"] = len(qs)
        res["single_queries"] = {c: (q[0], q[1]) for c in ("term", "two-phase-critic")
                                 for q in qs if q[2] == c}
        qfile = os.path.join(work, "queries.tsv")
        with open(qfile, "w") as f:
            for qid, text, _ in qs:
                f.write("%s\t%s\n" % (qid, text))
        growth_engines = [e for e in args.growth_engines.split(",") if e in engines]
        if "nsearch" not in growth_engines:
            growth_engines.insert(0, "nsearch")

        reuters_root = os.path.join(data, "reuters21578")
        # the CLI reads docs/ only: the same 21,578 documents as the stream
        reuters_src = os.path.join(reuters_root, "docs")
        if args.quick:
            big, big_src = "reuters", reuters_src
        else:
            big, big_src = "enwiki", os.path.join(data, "enwiki")
        pname = "%s-passages" % big
        specs = [("reuters", reuters_root, None)]
        if big != "reuters":
            specs.append((big, big_src, None))
        if "growth" not in skip:
            specs.append((pname, big_src, args.passages))
        streams = export_streams(work, specs)
        index_collection("reuters", streams["reuters"], reuters_src, engines,
                         args.reuters_runs, work, res)
        if "updates" not in skip:
            try:
                update_bench(reuters_src, work, args.update_runs, res, args.keep)
            except RuntimeError as ex:
                log("ERROR: updates: %s" % ex)
                res["notes"].append("incremental updates failed: %s" % str(ex)[:300])
                res.setdefault("failed", []).append("updates")
        if big != "reuters":
            index_collection(big, streams[big], big_src, engines, args.enwiki_runs, work, res)
        if "codec" not in skip:
            codec_bench(os.path.join(work, "%s.cli.idx" % big), args.quick, res)
        if "queries" not in skip:
            query_collection(big, engines, qs, qfile, work, res, args)
            count_diffs(big, res, qs, work)
        if "growth" not in skip:
            index_collection(pname, streams[pname], None, growth_engines, 1, work, res)
            if "queries" not in skip:
                # engine/mode pairs whose pass over the queries took > 10 s on
                # the base collection would take minutes here: skipped
                slow, passes = {}, {}
                for mode, r in res["queries"].get(big, {}).items():
                    for e, x in r.items():
                        pass_s = sum(v[0] for v in x["per_query"].values()) / 1e6
                        passes[(e, mode)] = pass_s
                        if pass_s > 30:
                            slow[(e, mode)] = ("one pass over the queries took %.0f s on %s"
                                               % (pass_s, big))
                query_collection(pname, growth_engines, qs, qfile, work, res, args, slow,
                                 (args.budget, passes))
                count_diffs(pname, res, qs, work)
            growth_summary(res, big, pname, args.passages)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)

    meta["load_end"] = loadavg()
    meta["load_max"] = max(LOAD_MAX[0], meta["load_end"] or 0.0)
    meta["seconds"] = time.monotonic() - T0
    png = plot(res, outdir)
    md = render_md(res)
    if png:
        md += "\n![latency by class](latency.png)\n"
    # per-query medians one line per engine and mode, the rest indented
    compact = {}
    for coll in res["queries"].values():
        for mode in coll.values():
            for r in mode.values():
                key = "@@PQ%d@@" % len(compact)
                compact[key] = json.dumps(r["per_query"], separators=(",", ":"))
                r["per_query"] = key
    text = json.dumps(res, indent=1, ensure_ascii=False)
    for key, val in compact.items():
        text = text.replace('"%s"' % key, val)
    with open(os.path.join(outdir, "latest.json.tmp"), "w") as f:
        f.write(text + "\n")
    os.replace(os.path.join(outdir, "latest.json.tmp"), os.path.join(outdir, "latest.json"))
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    log("wrote %s/latest.json, latest.md%s" % (outdir, ", latency.png" if png else ""))
    if res.get("failed"):
        sys.exit("run.py: FAILED: %s (see the notes in latest.md)" % ", ".join(res["failed"]))


def only(args):
    """--only updates: that step alone, its Markdown and JSON on stdout."""
    shared = find_shared(required=False)
    if not shared:
        print("run.py: shared/data not found (set SHARED=/path/to/shared): incremental "
              "updates skipped", file=sys.stderr)
        return
    if not os.access(os.path.join(BB, "nsearch"), os.X_OK):
        sys.exit("run.py: build-bench/nsearch is missing (run `make bench-quick`)")
    res = {"notes": []}
    work = args.work or tempfile.mkdtemp(prefix="nsbench.", dir="/tmp")
    os.makedirs(work, exist_ok=True)
    try:
        update_bench(os.path.join(shared, "data", "reuters21578", "docs"), work,
                     args.update_runs, res, args.keep)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    for n in res["notes"]:
        print("Note: " + n)
    if res.get("updates"):
        print("\n".join(render_updates(res["updates"])))
        print(json.dumps(res["updates"], indent=1, ensure_ascii=False))
    if res.get("failed"):
        sys.exit("run.py: FAILED: incremental updates")


if __name__ == "__main__":
    main()
