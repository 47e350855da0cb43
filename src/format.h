/*
** format.h -- constants of the on-disk format.  docs/FORMAT.md is the
** specification; this header only names its numbers.  Bump
** NS_FORMAT_VERSION on any incompatible change.
**
** Every file:  header (16 bytes)  body  meta (kind-specific, fixed size)
**              page table (u32 crc32 per 64 KiB page, u32 n_pages,
**              u32 table_crc)  footer (8 bytes: u32 crc32, u32
**              NS_FOOTER_MAGIC)
** see docs/FORMAT.md#files
*/
#ifndef NS_FORMAT_H
#define NS_FORMAT_H

#include <stdint.h>

#define NS_FORMAT_VERSION 4u
#define NS_HEADER_SIZE 16
#define NS_FOOTER_SIZE 8
#define NS_FOOTER_MAGIC 0x21444e45u /* "END!" */

/* ---- Page checksums (docs/FORMAT.md#files) --------------------------
** Between the meta and the footer every file carries a page table: the
** CRC32 of each NS_PAGE_SIZE page of the bytes before the table (header,
** body and meta; the last page may be shorter), then u32 n_pages and u32
** table_crc, the CRC32 of the entries and n_pages.  The footer's CRC32
** covers the table too, so the one pass at open is unchanged; the pages
** are only read when that CRC fails, to say where the damage is. */
#define NS_PAGE_SIZE (64 * 1024)
#define NS_PAGE_ENTRY 4 /* u32 crc32 of one page */
#define NS_PAGE_TAIL 8  /* u32 n_pages, u32 table_crc */
/* the smallest trailer: one page entry (a file has at least its header) */
#define NS_TRAILER_MIN (NS_PAGE_ENTRY + NS_PAGE_TAIL + NS_FOOTER_SIZE)
/* ---- end of page checksums ------------------------------------------ */

/* 8-byte magics, one per file kind: "nsearch" + kind letter. */
#define NS_MAGIC_LEN 8
#define NS_MAGIC_MANIFEST "nsearchM"
#define NS_MAGIC_DICT "nsearchD"
#define NS_MAGIC_POST "nsearchP"
#define NS_MAGIC_POS "nsearchQ"
#define NS_MAGIC_DOCS "nsearchT"
#define NS_MAGIC_STORE "nsearchS"
#define NS_MAGIC_DEL "nsearchX"

/* Meta sizes (bytes between body and footer).  docs/FORMAT.md#meta */
#define NS_META_DICT 24  /* u64 n_terms, u64 n_blocks, u64 index_off */
#define NS_META_POST 24  /* u64 n_postings, u64 body_len, u64 reserved */
#define NS_META_POS 24   /* u64 n_positions, u64 body_len, u64 reserved */
#define NS_META_DOCS 40  /* u64 n_docs, u64 total_tokens, u64 lens_off,
                            u64 recoff_off, u64 records_off */
#define NS_META_STORE 32 /* u64 n_blocks, u64 index_off, u64 raw_bytes,
                            u32 index_crc, u32 reserved */
#define NS_META_DEL 40   /* u64 n_docs, u64 n_deleted, u64 deleted_tokens,
                            u64 n_terms, u64 terms_off */

/* Dictionary: terms sorted bytewise, front-coded in blocks. */
#define NS_DICT_BLOCK 16

/* The posting region of a term with df >= NS_BLOCK ends with one skip
** entry per block, after the blocks.  docs/FORMAT.md#postings */
#define NS_SKIP_ENTRY 20 /* u32 last_doc, u32 doc_off, u32 pos_off,
                            u32 max_tf, u32 min_dl */

/* Document store: text grouped into blocks of at least this many bytes,
** each compressed with zlib.  docs/FORMAT.md#store */
#define NS_STORE_BLOCK (64 * 1024)
#define NS_STORE_INDEX_ENTRY 20 /* u64 offset, u32 zlen, u32 rawlen, u32 crc */

/* Zero bytes written after the last posting / position region.  Readers
** require them (the body length is checked against them); they leave room
** for decoders that read ahead (NS_DECODE_PADDING, 0 for the current
** codec) to stay inside the mapped file. */
#define NS_BODY_PADDING 64

#define NS_MANIFEST_NAME "manifest"
#define NS_LOCK_NAME "lock"
#define NS_SEG_FMT "seg_%06u"
/* Deletions of segment N written by generation G: "seg_N_G.del" */
#define NS_DEL_FMT "seg_%06u_%llu.del"
/* Manifest entry per segment: u32 seg_no, u32 reserved, u64 n_docs,
** u64 n_deleted, u64 del_gen (0: no deletion file) */
#define NS_MANIFEST_ENTRY 32

#endif
