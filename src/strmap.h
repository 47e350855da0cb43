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
	uint32_t *slots;       /* entry index + 1, 0 = empty */
	size_t n_slots;        /* power of two */
	ns_strmap_entry *ents;
	size_t n, cap;
	ns_buf keys;           /* key bytes, each followed by a NUL */
} ns_strmap;

uint64_t ns_hash_bytes(const void *p, size_t n);

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

#endif
