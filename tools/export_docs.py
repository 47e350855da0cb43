#!/usr/bin/env python3
"""export_docs.py -- write collections as one common document stream.

Reads the collection layouts of shared/data and writes to stdout one
document per line:

    id <TAB> title <TAB> text

In every field backslash, tab, newline and carriage return are escaped as
the two-character sequences \\\\ \\t \\n \\r, so a line holds exactly three
fields.  The stream is what the peer drivers in bench/peers/ (and nsearch's
own driver) read on stdin; see bench/peers/README.md.

The text field always contains the title, so a driver indexes the text
field alone as one "body" field (title + text, as nsearch and the
Anserini "flat" SciFact baseline do):

  * a directory of *.txt files (docs/<id>.txt: relevance collections,
    Reuters, corpus/): id = file name without .txt, title = line 1,
    text = the whole file;
  * .jsonl / .jsonl.gz files, or a directory of them, one JSON object a
    line {"id","title","text"}: text = title + "\\n" + text when the title
    is not empty, else text.

Arguments may be files or directories, in any number, processed in the
order given; the files of a directory are processed in sorted name order.
A directory with a docs/ subdirectory (a collection root such as
shared/data/scifact, whose qrels.txt is not a document) is read from
docs/.

--passages N splits each document into passages of about N words
(whitespace-separated; runs of whitespace become one space): ids
docid-p0, docid-p1, ...; each passage keeps the title, and its text is
title + "\\n" + the passage.  The words come from the body (for *.txt the
file after line 1, for JSON the "text" field).  A final piece shorter than
N/2 words joins the passage before it.

--limit N stops after N output documents (handy for quick runs).

Only the Python 3 standard library is used.
"""

import argparse
import gzip
import io
import json
import os
import sys

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(field):
    """Escape one field so that it holds no tab, newline or CR."""
    return field.translate(_ESCAPES)


def is_txt(name):
    return name.endswith(".txt")


def is_jsonl(name):
    return name.endswith(".jsonl") or name.endswith(".jsonl.gz")


def expand(paths):
    """Yield the input files named by paths (files or directories)."""
    for path in paths:
        if os.path.isdir(path):
            if os.path.isdir(os.path.join(path, "docs")):
                yield from expand([os.path.join(path, "docs")])
                continue
            names = sorted(n for n in os.listdir(path) if is_txt(n) or is_jsonl(n))
            if not names:
                sys.exit("export_docs: no .txt or .jsonl files in '%s'" % path)
            for name in names:
                yield os.path.join(path, name)
        elif os.path.isfile(path):
            if not (is_txt(path) or is_jsonl(path)):
                sys.exit("export_docs: '%s' is neither .txt nor .jsonl[.gz]" % path)
            yield path
        else:
            sys.exit("export_docs: cannot open '%s'" % path)


def read_txt(path):
    """Yield (id, title, body, text) for one docs/<id>.txt file."""
    with open(path, "r", encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    first, sep, rest = text.partition("\n")
    title = first.rstrip("\r")
    yield os.path.basename(path)[: -len(".txt")], title, rest if sep else "", text


def read_jsonl(path):
    """Yield (id, title, body, text) for each object of a .jsonl[.gz] file."""
    if path.endswith(".gz"):
        raw = gzip.open(path, "rb")
    else:
        raw = open(path, "rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                sys.exit("export_docs: %s:%d: bad JSON: %s" % (path, lineno, e))
            docid = str(obj.get("id", ""))
            if not docid:
                sys.exit("export_docs: %s:%d: document without an id" % (path, lineno))
            title = str(obj.get("title") or "")
            body = str(obj.get("text") or "")
            text = title + "\n" + body if title else body
            yield docid, title, body, text


def passages(docid, title, body, n):
    """Split body into passages of about n words."""
    words = body.split()
    pieces = [words[i : i + n] for i in range(0, len(words), n)] or [[]]
    if len(pieces) > 1 and len(pieces[-1]) < n / 2:
        pieces[-2].extend(pieces.pop())
    for i, piece in enumerate(pieces):
        part = " ".join(piece)
        text = title + "\n" + part if title else part
        yield "%s-p%d" % (docid, i), title, text


def main():
    ap = argparse.ArgumentParser(
        description="Write collections as one id<TAB>title<TAB>text stream.")
    ap.add_argument("inputs", nargs="+", metavar="PATH",
                    help="directory of *.txt or *.jsonl[.gz] files, or such files")
    ap.add_argument("--passages", type=int, default=0, metavar="N",
                    help="split documents into passages of about N words")
    ap.add_argument("--limit", type=int, default=0, metavar="N",
                    help="stop after N output documents")
    args = ap.parse_args()
    if args.passages < 0 or args.limit < 0:
        ap.error("--passages and --limit take a positive number")

    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n",
                           write_through=False)
    count = 0
    try:
        for path in expand(args.inputs):
            reader = read_jsonl if is_jsonl(path) else read_txt
            for docid, title, body, text in reader(path):
                if args.passages:
                    docs = passages(docid, title, body, args.passages)
                else:
                    docs = ((docid, title, text),)
                for pid, ptitle, ptext in docs:
                    out.write("%s\t%s\t%s\n" % (escape(pid), escape(ptitle), escape(ptext)))
                    count += 1
                    if args.limit and count >= args.limit:
                        out.flush()
                        return 0
        out.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
