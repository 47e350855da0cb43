/*
** writer.h -- what the command-line tool needs of an update writer beyond
** the public API: the published generation it started from, to find the
** documents that changed (cmd_index.c).  Not exported by the library.
*/
#ifndef NS_WRITER_H
#define NS_WRITER_H

#include "index.h"
#include "nsearch.h"

/* The published generation an NS_WRITE_UPDATE writer updates, or NULL (a
** replacing writer, or an update that became a full build because there
** was no readable index).  Owned by the writer. */
const ns_index *ns_writer_base(const ns_writer *w);

/* Whether published document (segment si, local d) is deleted, counting
** the deletions made by this writer. */
int ns_writer_base_deleted(const ns_writer *w, uint32_t si, uint32_t d);

/* Deletes published document (si, d) if it is live.  NS_OK, or a sticky
** error as ns_writer_delete(). */
int ns_writer_delete_at(ns_writer *w, uint32_t si, uint32_t d);

/* Finds the live published document with this id: NS_OK with *si and *d,
** NS_DONE when there is none, NS_ECORRUPT. */
int ns_writer_find(ns_writer *w, const char *id, uint32_t *si, uint32_t *d);

/* Why an update became a full build: NS_ECORRUPT (the index is damaged)
** or NS_EVERSION (written by another format version); 0 when it did not. */
int ns_writer_rebuilding(const ns_writer *w);

#endif
