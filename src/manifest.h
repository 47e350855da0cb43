/*
** manifest.h -- the generation manifest: which segments make up the
** published index, and the analysis language.  A commit writes
** "manifest.tmp", fsyncs it and renames it over "manifest": that rename is
** the one atomic step that publishes a generation.  docs/FORMAT.md#manifest
*/
#ifndef NS_MANIFEST_H
#define NS_MANIFEST_H

#include "common.h"

#define NS_MAX_SEGMENTS 4096
#define NS_LANG_MAX 31

typedef struct ns_manifest {
	uint64_t generation;
	char lang[NS_LANG_MAX + 1];
	uint32_t n_segments;
	uint32_t *seg_no;   /* segment numbers, in document-number order */
	uint64_t *seg_docs; /* documents per segment (deleted ones included) */
	uint64_t *seg_del;  /* deleted documents per segment */
	uint64_t *del_gen;  /* generation that wrote the segment's deletion
	                       file (NS_DEL_FMT), 0 when it has none */
} ns_manifest;

/* NS_ENOTFOUND when there is no manifest (no index yet). */
int ns_manifest_read(const char *dir, ns_manifest *m, char **err);
/* Writes manifest.tmp, fsyncs, renames to manifest, fsyncs the directory. */
int ns_manifest_publish(const char *dir, const ns_manifest *m);
void ns_manifest_free(ns_manifest *m);
/* Allocates room for n segments (all fields zero); NS_ENOMEM. */
int ns_manifest_alloc(ns_manifest *m, uint32_t n);

/* "DIR/seg_000001.post" in a caller-owned string, NULL on ENOMEM. */
char *ns_seg_path(const char *dir, uint32_t seg_no, const char *ext);
/* "DIR/seg_000001_7.del" in a caller-owned string, NULL on ENOMEM. */
char *ns_del_path(const char *dir, uint32_t seg_no, uint64_t gen);

#endif
