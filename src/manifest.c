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

void ns_manifest_free(ns_manifest *m)
{
	ns_free(m->seg_no);
	ns_free(m->seg_docs);
	memset(m, 0, sizeof *m);
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
	if (m->n_segments > NS_MAX_SEGMENTS ||
	    (size_t)(end - p) != (size_t)m->n_segments * 12)
		goto bad;
	m->seg_no = ns_calloc(m->n_segments, sizeof *m->seg_no);
	m->seg_docs = ns_calloc(m->n_segments, sizeof *m->seg_docs);
	if (!m->seg_no || !m->seg_docs) {
		rc = NS_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < m->n_segments; i++, p += 12) {
		m->seg_no[i] = ns_get_le32(p);
		m->seg_docs[i] = ns_get_le64(p + 4);
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
		uint8_t s[12];
		ns_put_le32(s, m->seg_no[i]);
		ns_put_le64(s + 4, m->seg_docs[i]);
		ns_fout_write(&f, s, 12);
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
