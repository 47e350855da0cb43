# nsearch -- build, test and benchmark.  See README.md.
#
#   make            build/libnsearch.a, build/libnsearch.so (+ soname links),
#                   build/nsearch, build/nseval and build/examples/embed
#   make demo       index corpus/ and search it for "Storm Shadow"
#   make test       Criterion suites + CLI tests (plain build)
#   make asan       the same suites under AddressSanitizer + UBSan
#   make check      test + asan (what .ci/run runs)
#   make fuzz       libFuzzer targets of tests/fuzz/ built with clang into
#                   build-fuzz/, each run FUZZ_SECONDS (60) [FUZZ_TARGETS=]
#   make bench      speed, size and memory against Lucene, Xapian and FTS5
#                   (bench/results/latest.md); bench-quick: Reuters only
#   make eval       relevance of nsearch, Lucene, Xapian and FTS5 on the
#                   shared/data collections [COLLECTIONS="scifact cranfield"]
#   make install    PREFIX=/usr/local (default) [DESTDIR=staging dir]: the
#                   tool, both libraries, the header, nsearch.pc, the man
#                   page and the bash completion; `make uninstall` removes
#                   exactly those files

CC      ?= cc
BUILD   ?= build
CSTD    := -std=c11
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wundef -Wformat=2 -Wvla
OPT     ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -DNS_BUILDING_LIBRARY
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) -fPIC $(CFLAGS) $(if $(WERROR),-Werror)
LDLIBS  += -lstemmer -lutf8proc -ldeflate -lz -lm -lpthread

CLI_SRC  := $(wildcard src/cli*.c src/cmd_*.c)
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

LIB := $(BUILD)/libnsearch.a
BIN := $(BUILD)/nsearch

# The shared library: libnsearch.so.$(VERSION), soname libnsearch.so.$(SOMAJOR).
# It exports only the NS_API functions of include/nsearch.h, listed in the
# version script src/libnsearch.map (tests/test_install.c checks the two
# agree); its objects are the static library's, all built with -fPIC.
VERSION := $(shell sed -n 's/^\#define NSEARCH_VERSION_STRING "\(.*\)"/\1/p' \
             include/nsearch.h)
SOMAJOR := 0
SONAME  := libnsearch.so.$(SOMAJOR)
SOREAL  := libnsearch.so.$(VERSION)
SO      := $(BUILD)/$(SOREAL)
SOLINKS := $(BUILD)/$(SONAME) $(BUILD)/libnsearch.so
LIBMAP  := src/libnsearch.map
EXAMPLE := $(BUILD)/examples/embed

.PHONY: all test asan check check-all clean demo bench bench-quick eval \
        install uninstall fuzz fuzz-build
all: $(LIB) $(SO) $(SOLINKS) $(BIN) $(BUILD)/nseval $(EXAMPLE)

$(BUILD)/nseval: tools/nseval.c tools/eval.c tools/eval.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ tools/nseval.c tools/eval.c -lm

demo: $(BIN)
	$(BIN) --index $(BUILD)/demo-index index corpus
	$(BIN) --index $(BUILD)/demo-index query "Storm Shadow"

# -fvisibility=hidden: only NS_API functions get default visibility, so
# calls between library functions bind locally (no PLT, and inlining is
# allowed under -fPIC).  Linking the static library is unaffected.
$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) include/nsearch.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fvisibility=hidden -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# -z defs: every symbol the library uses must come from LDLIBS.
$(SO): $(LIB_OBJ) $(LIBMAP)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=$(LIBMAP) -Wl,-z,defs -o $@ $(LIB_OBJ) $(LDLIBS)

$(BUILD)/$(SONAME): $(SO)
	ln -sf $(SOREAL) $@
$(BUILD)/libnsearch.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# The embedding example, built only against the public header.
$(EXAMPLE): examples/embed.c include/nsearch.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) \
	  -o $@ $< $(LIB) -lcriterion $(LDLIBS)

# The fuzz targets of tests/fuzz/ replayed without libFuzzer: each
# fuzz_<name>.c linked with tests/fuzz/replay.c (a main() that feeds it
# every file of tests/fuzz/corpus/<name>/), built like the suites (so
# `make asan` replays the corpora under ASan + UBSan).
FUZZ_TARGETS ?= query codec source open
REPLAY_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c \
                        tests/fuzz/fuzz.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/fuzz $(ALL_CFLAGS) $(LDFLAGS) -o $@ \
	  $< tests/fuzz/replay.c $(LIB) $(LDLIBS)

# Each suite runs in turn, then each corpus replay; a failing suite or a
# LeakSanitizer report fails the target.  NSEARCH_BIN lets the CLI suite find the binary of this build;
# NSEARCH_ROOT and NSEARCH_BUILD let the api and install suites find the
# repository and the rest of this build (the example, the shared library).
# test_hostile runs its tests one at a time: Criterion 2.4.1's parallel
# runner leaks 48 bytes in its own process when that suite's long tests
# overlap (LeakSanitizer reports it with only libcriterion frames).
test: $(TEST_BIN) $(BIN) $(SO) $(SOLINKS) $(EXAMPLE) $(REPLAY_BIN)
	@fail=0; for t in $(TEST_BIN); do log=$$t.log; \
	  case $$t in *test_hostile) jobs=-j1;; *) jobs=;; esac; \
	  NSEARCH_BIN=$(CURDIR)/$(BIN) NSEARCH_ROOT=$(CURDIR) \
	  NSEARCH_BUILD=$(BUILD) $$t $$jobs >$$log 2>&1; rc=$$?; cat $$log; \
	  if [ $$rc -ne 0 ]; then echo "FAILED: $$t"; fail=1; fi; \
	  if grep -q 'ERROR: LeakSanitizer' $$log; then echo "LEAK: $$t"; fail=1; fi; \
	done; \
	for f in $(FUZZ_TARGETS); do t=$(BUILD)/fuzz/replay_$$f; log=$$t.log; \
	  $$t tests/fuzz/corpus/$$f >$$log 2>&1; rc=$$?; cat $$log; \
	  if [ $$rc -ne 0 ]; then echo "FAILED: $$t"; fail=1; fi; \
	  if grep -q 'ERROR: LeakSanitizer' $$log; then echo "LEAK: $$t"; fail=1; fi; \
	done; exit $$fail

SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# NS_ASAN=1 tells the suites they run instrumented (the install suite
# skips `make install`, which would install instrumented binaries).
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" CFLAGS="$(SAN) -DNS_NO_MMAP" \
	  LDFLAGS="$(SAN)" test \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp NS_ASAN=1

check: test asan
check-all: check

clean:
	rm -rf build build-asan build-bench build-fuzz

# ---- fuzzing -----------------------------------------------------------
# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang (Debian's clang
# package brings libFuzzer in its runtime) against a copy of the library
# compiled with ASan, UBSan and fuzzer coverage in build-fuzz/.  Each runs
# FUZZ_SECONDS, starting from the seeds in tests/fuzz/corpus/<name>/; new
# inputs go to build-fuzz/corpus/<name>/ and crashes to
# build-fuzz/crash-*.  Add a crash to tests/fuzz/corpus/<name>/ once fixed:
# `make test` then replays it.  FUZZ_ARGS passes options to libFuzzer
# (e.g. FUZZ_ARGS=-jobs=2).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "make fuzz needs clang \
	  (apt-get install clang)"; exit 1; }
	$(MAKE) BUILD=build-fuzz CC=$(FUZZ_CC) OPT="-O1 -g" \
	  CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link -DNS_NO_MMAP \
	  -Wno-constant-conversion" \
	  build-fuzz/libnsearch.a
	for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(CSTD) -O1 -g $(FUZZ_SAN) \
	    -fsanitize=fuzzer -o build-fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c \
	    build-fuzz/libnsearch.a $(LDLIBS) || exit 1; \
	done

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do mkdir -p build-fuzz/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -rss_limit_mb=2048 -artifact_prefix=build-fuzz/ -print_final_stats=1 \
	    $(FUZZ_ARGS) build-fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- relevance ---------------------------------------------------------
# nsearch beside Lucene, Xapian and SQLite FTS5 on the shared/data test
# collections: nDCG@10, recall@100/1000, MAP, MRR@10 (tools/eval.py installs
# and builds the peer drivers; it skips when ../shared/data is absent).
# The table goes to stdout and bench/results/eval.md.
COLLECTIONS ?= scifact cranfield
eval: $(BIN) $(BUILD)/nseval
	tools/eval.py --build $(BUILD) $(COLLECTIONS)

# ---- speed benchmark ---------------------------------------------------
# nsearch beside Lucene, Xapian and SQLite FTS5, measured in the same run:
# codec on real postings, indexing (speed, peak memory, size), the
# benchmark-game queries in TOP_10 and COUNT modes, growth to ~650k
# passages.  Everything is built with -O2 -DNDEBUG in build-bench/;
# bench/run.py installs what is missing (peers, gnuplot, time), builds the
# peer drivers and writes bench/results/latest.{json,md} and latency.png.
# bench-quick runs the same code on Reuters (CI; results in
# build-bench/results/).  BENCH_ARGS passes options to bench/run.py.
BENCH_OPT  := -O2 -DNDEBUG
BENCH_CC    = $(CC) -std=c11 $(BENCH_OPT) -D_GNU_SOURCE -Iinclude -Isrc -Ibench
BENCH_ARGS ?=
define BENCH_BUILD
@command -v python3 >/dev/null 2>&1 || bench/peers/install.sh
$(MAKE) BUILD=build-bench OPT="$(BENCH_OPT)" build-bench/libnsearch.a build-bench/nsearch
$(BENCH_CC) -o build-bench/nsearch-peer bench/nsearch_peer.c bench/peers/common/peer.c build-bench/libnsearch.a $(LDLIBS)
$(BENCH_CC) -o build-bench/bench_postings bench/bench_postings.c build-bench/libnsearch.a $(LDLIBS)
$(BENCH_CC) -o build-bench/bench_codec bench/bench_codec.c build-bench/libnsearch.a $(LDLIBS)
endef
bench:
	$(BENCH_BUILD)
	python3 bench/run.py $(BENCH_ARGS)
bench-quick:
	$(BENCH_BUILD)
	python3 bench/run.py --quick $(BENCH_ARGS)

# ---- install -----------------------------------------------------------
# GNU-style directory variables; DESTDIR stages a package (it is not
# written into nsearch.pc, PREFIX is).  The tool is linked statically
# against libnsearch.a, so it runs without the shared library installed.
# (Plain '=': set them on the command line; a PREFIX left in the
# environment by another tool is not picked up.)
PREFIX      = /usr/local
BINDIR      = $(PREFIX)/bin
LIBDIR      = $(PREFIX)/lib
INCLUDEDIR  = $(PREFIX)/include
PKGCONFDIR  = $(LIBDIR)/pkgconfig
MANDIR      = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
INSTALL     = install

# nsearch.pc.  libstemmer ships no .pc file: -lstemmer goes to Libs.private
# with -lm and -lpthread; zlib, libdeflate and utf8proc are found through
# their own.
define NSEARCH_PC
prefix=$(PREFIX)
exec_prefix=$${prefix}
libdir=$(if $(filter $(PREFIX)/lib,$(LIBDIR)),$${exec_prefix}/lib,$(LIBDIR))
includedir=$(if $(filter $(PREFIX)/include,$(INCLUDEDIR)),$${prefix}/include,$(INCLUDEDIR))

Name: nsearch
Description: Full-text search engine: on-disk inverted index, BM25 ranking, Snowball stemming
Version: $(VERSION)
Requires.private: zlib libdeflate libutf8proc
Cflags: -I$${includedir}
Libs: -L$${libdir} -lnsearch
Libs.private: -lstemmer -lm -lpthread
endef
export NSEARCH_PC

install: $(BIN) $(LIB) $(SO) $(SOLINKS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(PKGCONFDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 755 $(BIN) $(DESTDIR)$(BINDIR)/nsearch
	$(INSTALL) -m 755 $(SO) $(DESTDIR)$(LIBDIR)/$(SOREAL)
	ln -sf $(SOREAL) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnsearch.so
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libnsearch.a
	$(INSTALL) -m 644 include/nsearch.h $(DESTDIR)$(INCLUDEDIR)/nsearch.h
	printf '%s\n' "$$NSEARCH_PC" > $(DESTDIR)$(PKGCONFDIR)/nsearch.pc
	chmod 644 $(DESTDIR)$(PKGCONFDIR)/nsearch.pc
	$(INSTALL) -m 644 docs/nsearch.1 $(DESTDIR)$(MANDIR)/man1/nsearch.1
	$(INSTALL) -m 644 tools/nsearch-completion.bash \
	  $(DESTDIR)$(BASHCOMPDIR)/nsearch
	@case "$(DESTDIR)$(LIBDIR)" in /usr/local/lib|/usr/lib|/lib) \
	  if [ -w /etc/ld.so.cache ] && command -v ldconfig >/dev/null; then \
	    echo ldconfig; ldconfig; fi;; esac

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nsearch \
	  $(DESTDIR)$(LIBDIR)/$(SOREAL) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libnsearch.so $(DESTDIR)$(LIBDIR)/libnsearch.a \
	  $(DESTDIR)$(INCLUDEDIR)/nsearch.h $(DESTDIR)$(PKGCONFDIR)/nsearch.pc \
	  $(DESTDIR)$(MANDIR)/man1/nsearch.1 $(DESTDIR)$(BASHCOMPDIR)/nsearch
