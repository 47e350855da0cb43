/*
** strmap.c -- string hash map for the index writer; see strmap.h.
*/
#include "strmap.h"

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

uint64_t ns_hash_bytes(const void *p, size_t n)
{
	/* Multiply-xorshift over 8-byte words.  Inputs of up to 16 bytes (most
	** words) are read with two overlapping loads, whatever their length,
	** instead of a loop and a variable-length copy: tokenizing hashes every
	** token, and this is a tenth of the indexing time. */
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
	if (n <= 16) {
		uint64_t a, b;
		if (n >= 8) {
			a = rd64(s);
			b = rd64(s + n - 8);
		} else if (n >= 4) {
			a = rd32(s);
			b = rd32(s + n - 4);
		} else if (n > 0) {
			a = (uint64_t)s[0] << 16 | (uint64_t)s[n >> 1] << 8 | s[n - 1];
			b = 0;
		} else {
			a = b = 0;
		}
		h = (h ^ a) * 0xbf58476d1ce4e5b9ull;
		h = (h ^ (h >> 31) ^ b) * 0x94d049bb133111ebull;
		return mix(h);
	}
	while (n > 8) {
		h = (h ^ rd64(s)) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	h = (h ^ rd64(s + n - 8)) * 0x94d049bb133111ebull; /* the last 8 bytes */
	return mix(h);
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
	uint64_t tag = hash & 0xffffffff00000000ull;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint64_t s = m->slots[i];
		if (!s) return NULL;
		if ((s & 0xffffffff00000000ull) != tag) continue;
		ns_strmap_entry *e = &m->ents[(uint32_t)s - 1];
		if (e->hash == hash && e->key_len == len &&
		    ns_bytes_eq(m->keys.p + e->key_off, key, len))
			return &e->val;
	}
}

static inline uint64_t slot_of(uint64_t hash, size_t idx)
{
	return (hash & 0xffffffff00000000ull) | (uint64_t)(idx + 1);
}

static int grow_slots(ns_strmap *m)
{
	size_t n = m->n_slots ? m->n_slots * 2 : 1024;
	uint64_t *slots = ns_calloc(n, sizeof *slots);
	if (!slots) return NS_ENOMEM;
	for (size_t k = 0; k < m->n; k++) {
		size_t i = m->ents[k].hash & (n - 1);
		while (slots[i]) i = (i + 1) & (n - 1);
		slots[i] = slot_of(m->ents[k].hash, k);
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
	m->slots[i] = slot_of(hash, m->n++);
	return NS_OK;
}

size_t ns_strmap_bytes(const ns_strmap *m)
{
	return m->n_slots * sizeof *m->slots + m->cap * sizeof *m->ents +
	       m->keys.cap;
}

int ns_strmap_cmp_keys(const void *a, const void *b, void *ctx)
{
	const ns_strmap *m = ctx;
	const ns_strmap_entry *x = &m->ents[*(const uint32_t *)a];
	const ns_strmap_entry *y = &m->ents[*(const uint32_t *)b];
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(m->keys.p + x->key_off, m->keys.p + y->key_off, n);
	if (c) return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}
