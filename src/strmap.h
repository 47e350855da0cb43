/*
** strmap.h -- an open-addressing hash map from byte strings to uint32_t,
** with the keys kept in one growable arena.  Used by the index writer for
** its vocabularies (token -> term id, term -> term id) and its set of
** document ids.  Not thread-safe.
*/
#ifndef NS_STRMAP_H
#define NS_STRMAP_H

#include "common.h"

typedef struct ns_strmap_entry {
	uint64_t hash;
	uint32_t key_off, key_len;
	uint32_t val;
} ns_strmap_entry;

typedef struct ns_strmap {
	uint64_t *slots;       /* entry index + 1 (low 32 bits, 0 = empty) and
	                          the high 32 bits of the key's hash: a probe
	                          touches an entry only when they match */
	size_t n_slots;        /* power of two */
	ns_strmap_entry *ents;
	size_t n, cap;
	ns_buf keys;           /* key bytes, each followed by a NUL */
} ns_strmap;

uint64_t ns_hash_bytes(const void *p, size_t n);

/* a[0..n) == b[0..n): inline for n <= 16 (two overlapping loads), where a
** memcmp() call costs more than the comparison. */
static inline int ns_bytes_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	if (n > 16) return memcmp(x, y, n) == 0;
	if (n >= 8) {
		uint64_t p, q, r, s;
		memcpy(&p, x, 8);
		memcpy(&q, y, 8);
		memcpy(&r, x + n - 8, 8);
		memcpy(&s, y + n - 8, 8);
		return ((p ^ q) | (r ^ s)) == 0;
	}
	if (n >= 4) {
		uint32_t p, q, r, s;
		memcpy(&p, x, 4);
		memcpy(&q, y, 4);
		memcpy(&r, x + n - 4, 4);
		memcpy(&s, y + n - 4, 4);
		return ((p ^ q) | (r ^ s)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i]) return 0;
	return 1;
}

void ns_strmap_init(ns_strmap *m);
void ns_strmap_free(ns_strmap *m);
/* Empties the map, keeping its memory for reuse. */
void ns_strmap_clear(ns_strmap *m);
/* Finds key; returns a pointer to its value or NULL. */
uint32_t *ns_strmap_get(const ns_strmap *m, const char *key, size_t len,
                        uint64_t hash);
/* Inserts key (absent) with val; NS_OK or NS_ENOMEM. */
int ns_strmap_put(ns_strmap *m, const char *key, size_t len, uint64_t hash,
                  uint32_t val);
static inline const char *ns_strmap_key(const ns_strmap *m, size_t i)
{
	return (const char *)m->keys.p + m->ents[i].key_off;
}
size_t ns_strmap_bytes(const ns_strmap *m); /* memory in use */
/* qsort_r comparator of entry indexes (uint32_t) by their keys, bytewise
** (a prefix before its extensions); ctx is the map. */
int ns_strmap_cmp_keys(const void *a, const void *b, void *ctx);

#endif
