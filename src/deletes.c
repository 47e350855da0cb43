/*
** deletes.c -- a segment's deletions: parsing, updating and writing the
** deletion file.  See deletes.h and docs/FORMAT.md#deletions.
*/
#include <stdlib.h>

#include "codec.h"
#include "deletes.h"
#include "file.h"
#include "format.h"

void ns_dels_free(ns_dels *d)
{
	ns_free(d->own);
	ns_free(d->df);
	ns_free(d->cf);
	ns_strmap_free(&d->terms);
	memset(d, 0, sizeof *d);
}

static size_t words_for(uint32_t n_docs)
{
	return ((size_t)n_docs + 63) / 64;
}

static int add_entry(ns_dels *d, const char *term, size_t len, uint64_t h,
                     uint32_t df, uint64_t cf)
{
	size_t i = d->terms.n;
	if (i == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		uint32_t *a = ns_realloc(d->df, cap * sizeof *a);
		if (a) d->df = a;
		uint64_t *b = ns_realloc(d->cf, cap * sizeof *b);
		if (b) d->cf = b;
		if (!a || !b) return NS_ENOMEM;
		d->cap = cap;
	}
	NS_TRY(ns_strmap_put(&d->terms, term, len, h, (uint32_t)i));
	d->df[i] = df;
	d->cf[i] = cf;
	return NS_OK;
}

int ns_dels_load(ns_dels *d, const uint8_t *body, size_t len,
                 const uint8_t *meta, uint32_t n_docs, const char **why)
{
	memset(d, 0, sizeof *d);
	ns_strmap_init(&d->terms);
	d->n_docs = n_docs;
	size_t words = words_for(n_docs);
	uint64_t nd = ns_get_le64(meta), ndel = ns_get_le64(meta + 8);
	uint64_t nterms = ns_get_le64(meta + 24), toff = ns_get_le64(meta + 32);
	d->tokens = ns_get_le64(meta + 16);
	*why = "inconsistent meta";
	if (nd != n_docs || toff != words * 8 || toff > len || ndel == 0 ||
	    ndel > n_docs || nterms > len)
		return NS_ECORRUPT;
	d->bits = (const uint64_t *)(const void *)body;
	uint64_t count = 0;
	for (size_t i = 0; i < words; i++) count += (uint64_t)__builtin_popcountll(d->bits[i]);
	if (n_docs % 64 && d->bits[words - 1] >> (n_docs % 64)) {
		*why = "bit set past the last document";
		return NS_ECORRUPT;
	}
	if (count != ndel) {
		*why = "bitmap does not match the deleted count";
		return NS_ECORRUPT;
	}
	d->n_deleted = ndel;
	const uint8_t *p = body + toff, *end = body + len;
	const uint8_t *prev = NULL;
	uint64_t prev_len = 0;
	for (uint64_t i = 0; i < nterms; i++) {
		uint64_t tl, df, cf;
		if (ns_varint_get(&p, end, &tl) || tl == 0 ||
		    tl > (uint64_t)(end - p)) {
			*why = "truncated term";
			return NS_ECORRUPT;
		}
		const uint8_t *t = p;
		p += tl;
		if (ns_varint_get(&p, end, &df) || ns_varint_get(&p, end, &cf) ||
		    df == 0 || df > ndel || cf < df) {
			*why = "bad term counts";
			return NS_ECORRUPT;
		}
		if (prev) {
			size_t m = prev_len < tl ? (size_t)prev_len : (size_t)tl;
			int c = memcmp(prev, t, m);
			if (c > 0 || (c == 0 && prev_len >= tl)) {
				*why = "terms out of order";
				return NS_ECORRUPT;
			}
		}
		prev = t;
		prev_len = tl;
		int rc = add_entry(d, (const char *)t, (size_t)tl,
		                   ns_hash_bytes(t, (size_t)tl), (uint32_t)df, cf);
		if (rc) return rc;
	}
	if (p != end) {
		*why = "trailing bytes";
		return NS_ECORRUPT;
	}
	return NS_OK;
}

int ns_dels_make_mutable(ns_dels *d, uint32_t n_docs)
{
	if (!d->bits) {
		memset(d, 0, sizeof *d);
		ns_strmap_init(&d->terms);
		d->n_docs = n_docs;
	}
	if (d->own) return NS_OK;
	size_t words = words_for(d->n_docs);
	d->own = ns_calloc(words ? words : 1, sizeof *d->own);
	if (!d->own) return NS_ENOMEM;
	if (d->bits) memcpy(d->own, d->bits, words * 8);
	d->bits = d->own;
	return NS_OK;
}

void ns_dels_mark(ns_dels *d, uint32_t doc, uint32_t len)
{
	d->own[doc >> 6] |= 1ull << (doc & 63);
	d->n_deleted++;
	d->tokens += len;
}

int ns_dels_count(ns_dels *d, const char *term, size_t len, uint64_t tf)
{
	uint64_t h = ns_hash_bytes(term, len);
	uint32_t *v = ns_strmap_get(&d->terms, term, len, h);
	if (v) {
		d->df[*v]++;
		d->cf[*v] += tf;
		return NS_OK;
	}
	return add_entry(d, term, len, h, 1, tf);
}

void ns_dels_term(const ns_dels *d, const char *term, size_t len,
                  uint32_t *df, uint64_t *cf)
{
	*df = 0;
	*cf = 0;
	if (!d->terms.n) return;
	uint32_t *v = ns_strmap_get(&d->terms, term, len, ns_hash_bytes(term, len));
	if (v) {
		*df = d->df[*v];
		*cf = d->cf[*v];
	}
}

int ns_dels_write(const ns_dels *d, const char *path)
{
	size_t n = d->terms.n;
	uint32_t *order = ns_malloc((n ? n : 1) * sizeof *order);
	if (!order) return NS_ENOMEM;
	for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof *order, ns_strmap_cmp_keys, (void *)&d->terms);
	ns_fout f;
	int rc = ns_fout_open(&f, path, NS_MAGIC_DEL);
	size_t words = words_for(d->n_docs);
	for (size_t i = 0; i < words; i++) {
		uint8_t w[8];
		ns_put_le64(w, d->bits ? d->bits[i] : 0);
		ns_fout_write(&f, w, 8);
	}
	uint8_t e[24];
	for (size_t i = 0; i < n; i++) {
		const ns_strmap_entry *x = &d->terms.ents[order[i]];
		size_t k = ns_varint_put(e, x->key_len);
		ns_fout_write(&f, e, k);
		ns_fout_write(&f, d->terms.keys.p + x->key_off, x->key_len);
		k = ns_varint_put(e, d->df[order[i]]);
		k += ns_varint_put(e + k, d->cf[order[i]]);
		ns_fout_write(&f, e, k);
	}
	ns_free(order);
	uint8_t meta[NS_META_DEL];
	ns_put_le64(meta, d->n_docs);
	ns_put_le64(meta + 8, d->n_deleted);
	ns_put_le64(meta + 16, d->tokens);
	ns_put_le64(meta + 24, n);
	ns_put_le64(meta + 32, (uint64_t)words * 8);
	if (rc) {
		ns_fout_abort(&f);
		return rc;
	}
	return ns_fout_finish(&f, meta, NS_META_DEL);
}
