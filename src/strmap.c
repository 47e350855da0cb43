/*
** strmap.c -- string hash map for the index writer; see strmap.h.
*/
#include "strmap.h"

uint64_t ns_hash_bytes(const void *p, size_t n)
{
	/* 64-bit multiply-xorshift over 8-byte words: fast for short keys. */
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

void ns_strmap_init(ns_strmap *m)
{
	memset(m, 0, sizeof *m);
	ns_buf_init(&m->keys);
}

void ns_strmap_free(ns_strmap *m)
{
	ns_free(m->slots);
	ns_free(m->ents);
	ns_buf_free(&m->keys);
	memset(m, 0, sizeof *m);
}

void ns_strmap_clear(ns_strmap *m)
{
	if (m->slots) memset(m->slots, 0, m->n_slots * sizeof *m->slots);
	m->n = 0;
	m->keys.len = 0;
	m->keys.rc = NS_OK;
}

uint32_t *ns_strmap_get(const ns_strmap *m, const char *key, size_t len,
                        uint64_t hash)
{
	if (!m->n_slots) return NULL;
	size_t mask = m->n_slots - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint32_t s = m->slots[i];
		if (!s) return NULL;
		ns_strmap_entry *e = &m->ents[s - 1];
		if (e->hash == hash && e->key_len == len &&
		    memcmp(m->keys.p + e->key_off, key, len) == 0)
			return &e->val;
	}
}

static int grow_slots(ns_strmap *m)
{
	size_t n = m->n_slots ? m->n_slots * 2 : 1024;
	uint32_t *slots = ns_calloc(n, sizeof *slots);
	if (!slots) return NS_ENOMEM;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = m->ents[k].hash & (n - 1);
		while (slots[i]) i = (i + 1) & (n - 1);
		slots[i] = (uint32_t)k + 1;
	}
	ns_free(m->slots);
	m->slots = slots;
	m->n_slots = n;
	return NS_OK;
}

int ns_strmap_put(ns_strmap *m, const char *key, size_t len, uint64_t hash,
                  uint32_t val)
{
	if ((m->n + 1) * 2 > m->n_slots) NS_TRY(grow_slots(m));
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		ns_strmap_entry *e = ns_realloc(m->ents, cap * sizeof *e);
		if (!e) return NS_ENOMEM;
		m->ents = e;
		m->cap = cap;
	}
	if (m->n >= UINT32_MAX - 1 || m->keys.len + len + 1 > UINT32_MAX)
		return NS_ENOMEM;
	ns_strmap_entry *e = &m->ents[m->n];
	e->hash = hash;
	e->key_off = (uint32_t)m->keys.len;
	e->key_len = (uint32_t)len;
	e->val = val;
	ns_buf_append(&m->keys, key, len);
	ns_buf_putc(&m->keys, 0);
	if (m->keys.rc) return m->keys.rc;
	size_t mask = m->n_slots - 1;
	size_t i = hash & mask;
	while (m->slots[i]) i = (i + 1) & mask;
	m->slots[i] = (uint32_t)++m->n;
	return NS_OK;
}

size_t ns_strmap_bytes(const ns_strmap *m)
{
	return m->n_slots * sizeof *m->slots + m->cap * sizeof *m->ents +
	       m->keys.cap;
}
