/*
** fuzz.h -- shared by the fuzz targets of tests/fuzz/: the libFuzzer entry
** point's prototype and a check that aborts (so that both libFuzzer and the
** replay driver report it) with the failed condition and its place.
**
** Each target is built twice: with clang and -fsanitize=fuzzer (`make
** fuzz`, build-fuzz/fuzz_<name>), and with the project's compiler and
** tests/fuzz/replay.c as main() (`make test` replays the seed corpora).
*/
#ifndef NS_FUZZ_H
#define NS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
			        __LINE__, #cond);                                      \
			abort();                                                       \
		}                                                                  \
	} while (0)

#endif
