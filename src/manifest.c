/*
** manifest.c -- reading and publishing the generation manifest.
*/
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "file.h"
#include "format.h"
#include "manifest.h"

char *ns_seg_path(const char *dir, uint32_t seg_no, const char *ext)
{
	return ns_fmt("%s/" NS_SEG_FMT ".%s", dir, seg_no, ext);
}

char *ns_del_path(const char *dir, uint32_t seg_no, uint64_t gen)
{
	return ns_fmt("%s/" NS_DEL_FMT, dir, seg_no, (unsigned long long)gen);
}

void ns_manifest_free(ns_manifest *m)
{
	ns_free(m->seg_no);
	ns_free(m->seg_docs);
	ns_free(m->seg_del);
	ns_free(m->del_gen);
	memset(m, 0, sizeof *m);
}

int ns_manifest_alloc(ns_manifest *m, uint32_t n)
{
	size_t k = n ? n : 1;
	m->n_segments = n;
	m->seg_no = ns_calloc(k, sizeof *m->seg_no);
	m->seg_docs = ns_calloc(k, sizeof *m->seg_docs);
	m->seg_del = ns_calloc(k, sizeof *m->seg_del);
	m->del_gen = ns_calloc(k, sizeof *m->del_gen);
	if (!m->seg_no || !m->seg_docs || !m->seg_del || !m->del_gen) {
		ns_manifest_free(m);
		return NS_ENOMEM;
	}
	return NS_OK;
}

int ns_manifest_read(const char *dir, ns_manifest *m, char **err)
{
	memset(m, 0, sizeof *m);
	char *path = ns_fmt("%s/" NS_MANIFEST_NAME, dir);
	if (!path) return NS_ENOMEM;
	ns_fin f;
	int rc = ns_fin_open(&f, path, NS_MANIFEST_NAME, NS_MAGIC_MANIFEST, 0, 1,
	                     err);
	ns_free(path);
	if (rc) return rc;
	const uint8_t *p = f.body, *end = f.body_end;
	rc = NS_ECORRUPT;
	if (end - p < 16) goto bad;
	m->generation = ns_get_le64(p);
	m->n_segments = ns_get_le32(p + 8);
	uint32_t ll = ns_get_le32(p + 12);
	p += 16;
	if (ll > NS_LANG_MAX || (size_t)(end - p) < ll) goto bad;
	memcpy(m->lang, p, ll);
	m->lang[ll] = 0;
	p += ll;
	uint32_t n = m->n_segments;
	if (n > NS_MAX_SEGMENTS ||
	    (size_t)(end - p) != (size_t)n * NS_MANIFEST_ENTRY)
		goto bad;
	if (ns_manifest_alloc(m, n)) {
		rc = NS_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++, p += NS_MANIFEST_ENTRY) {
		m->seg_no[i] = ns_get_le32(p);
		m->seg_docs[i] = ns_get_le64(p + 8);
		m->seg_del[i] = ns_get_le64(p + 16);
		m->del_gen[i] = ns_get_le64(p + 24);
		/* segment numbers are unique; a deletion file is newer than
		** nothing and its count is within the segment */
		if (ns_get_le32(p + 4) != 0 || m->seg_del[i] > m->seg_docs[i] ||
		    (m->del_gen[i] == 0) != (m->seg_del[i] == 0) ||
		    m->del_gen[i] > m->generation)
			goto bad;
		for (uint32_t j = 0; j < i; j++)
			if (m->seg_no[j] == m->seg_no[i]) goto bad;
	}
	ns_fin_close(&f);
	return NS_OK;
bad:
	*err = ns_fmt("%s: malformed contents", NS_MANIFEST_NAME);
out:
	ns_fin_close(&f);
	ns_manifest_free(m);
	return rc;
}

int ns_manifest_publish(const char *dir, const ns_manifest *m)
{
	char *tmp = ns_fmt("%s/" NS_MANIFEST_NAME ".tmp", dir);
	char *dst = ns_fmt("%s/" NS_MANIFEST_NAME, dir);
	int rc = NS_ENOMEM;
	if (!tmp || !dst) goto out;
	ns_fout f;
	rc = ns_fout_open(&f, tmp, NS_MAGIC_MANIFEST);
	uint8_t b[16];
	size_t ll = strlen(m->lang);
	ns_put_le64(b, m->generation);
	ns_put_le32(b + 8, m->n_segments);
	ns_put_le32(b + 12, (uint32_t)ll);
	ns_fout_write(&f, b, 16);
	ns_fout_write(&f, m->lang, ll);
	for (uint32_t i = 0; i < m->n_segments; i++) {
		uint8_t s[NS_MANIFEST_ENTRY];
		ns_put_le32(s, m->seg_no[i]);
		ns_put_le32(s + 4, 0);
		ns_put_le64(s + 8, m->seg_docs[i]);
		ns_put_le64(s + 16, m->seg_del ? m->seg_del[i] : 0);
		ns_put_le64(s + 24, m->del_gen ? m->del_gen[i] : 0);
		ns_fout_write(&f, s, NS_MANIFEST_ENTRY);
	}
	rc = ns_fout_finish(&f, NULL, 0);
	if (rc) goto out;
	if (rename(tmp, dst) != 0) {
		unlink(tmp);
		rc = NS_EIO;
		goto out;
	}
	rc = ns_fsync_dir(dir);
out:
	ns_free(tmp);
	ns_free(dst);
	return rc;
}
