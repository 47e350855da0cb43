# nsearch -- build, test and benchmark.  See README.md.
#
#   make            build/libnsearch.a, build/nsearch and build/nseval
#   make demo       index corpus/ and search it for "Storm Shadow"
#   make test       Criterion suites + CLI tests (plain build)
#   make asan       the same suites under AddressSanitizer + UBSan
#   make check      test + asan (what .ci/run runs)

CC      ?= cc
BUILD   ?= build
CSTD    := -std=c11
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wundef -Wformat=2 -Wvla
OPT     ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -DNS_BUILDING_LIBRARY
ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) -fPIC $(CFLAGS) $(if $(WERROR),-Werror)
LDLIBS  += -lstemmer -lutf8proc -lz -lm -lpthread

CLI_SRC  := $(wildcard src/cli*.c src/cmd_*.c)
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard src/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

LIB := $(BUILD)/libnsearch.a
BIN := $(BUILD)/nsearch

.PHONY: all test asan check check-all clean demo bench bench-quick eval
all: $(LIB) $(BIN) $(BUILD)/nseval

$(BUILD)/nseval: tools/nseval.c tools/eval.c tools/eval.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ tools/nseval.c tools/eval.c -lm

demo: $(BIN)
	$(BIN) --index $(BUILD)/demo-index index corpus
	$(BIN) --index $(BUILD)/demo-index query "Storm Shadow"

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) include/nsearch.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(ALL_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) \
	  -o $@ $< $(LIB) -lcriterion $(LDLIBS)

# Each suite runs in turn; a failing suite or a LeakSanitizer report fails
# the target.  NSEARCH_BIN lets the CLI suite find the binary of this build.
test: $(TEST_BIN) $(BIN)
	@fail=0; for t in $(TEST_BIN); do log=$$t.log; \
	  NSEARCH_BIN=$(CURDIR)/$(BIN) $$t >$$log 2>&1; rc=$$?; cat $$log; \
	  if [ $$rc -ne 0 ]; then echo "FAILED: $$t"; fail=1; fi; \
	  if grep -q 'ERROR: LeakSanitizer' $$log; then echo "LEAK: $$t"; fail=1; fi; \
	done; exit $$fail

SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g" CFLAGS="$(SAN) -DNS_NO_MMAP" \
	  LDFLAGS="$(SAN)" test \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp

check: test asan
check-all: check

clean:
	rm -rf build build-asan build-bench
