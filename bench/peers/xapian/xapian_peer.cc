/*
** xapian_peer.cc -- Xapian driver for the nsearch peer protocol
** (bench/peers/README.md).
**
** Index: a glass database in INDEX_DIR.  Each document's data is its id;
** the stream's text (title included) goes through a TermGenerator with the
** English stemmer and positions, stemming strategy STEM_SOME (Xapian's
** default: unstemmed terms with positions for phrases, plus Z-prefixed
** stemmed terms).  One WritableDatabase, one commit.  The merge step is
** Database::compact(FULLER) into a fresh directory that then replaces the
** original: the read-only, fully packed form of the index (Xapian has no
** segments; this is its analogue of Lucene's forceMerge(1)).
**
** Queries: BM25Weight(k1, 0, 1, b, 0.5), k1/b from --k1/--b (0.9/0.4).
** top/count use QueryParser with the English stemmer, STEM_SOME, default
** operator OR and FLAG_PHRASE|FLAG_BOOLEAN|FLAG_LOVEHATE|FLAG_DEFAULT.
** count uses BoolWeight and asks for an exact count.  trec builds an OR of
** the terms that TermGenerator makes from the text (the indexer's own
** analysis), each weighted by how often it occurs.
*/
#include "../common/peer.h"

#include <xapian.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <dirent.h>

#define ENGINE "xapian"

namespace {

struct XapianPeer {
    Xapian::Database db;
    Xapian::Enquire ranked;
    Xapian::Enquire counted;
    Xapian::QueryParser qp;
    Xapian::TermGenerator tg;
    Xapian::doccount ndocs;

    explicit XapianPeer(const peer_args *a)
        : db(a->dir), ranked(db), counted(db), ndocs(db.get_doccount()) {
        ranked.set_weighting_scheme(Xapian::BM25Weight(a->k1, 0, 1, a->b, 0.5));
        counted.set_weighting_scheme(Xapian::BoolWeight());
        qp.set_database(db);
        qp.set_stemmer(Xapian::Stem("english"));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
        qp.set_default_op(Xapian::Query::OP_OR);
        tg.set_stemmer(Xapian::Stem("english"));
        tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    }
};

/* Does TermGenerator (STEM_SOME) also make a Z-stemmed term for this
** unprefixed term?  It does when the term starts with a letter. */
bool has_stemmed_form(const std::string &term) {
    Xapian::Utf8Iterator it(term);
    if (it == Xapian::Utf8Iterator()) return false;
    switch (Xapian::Unicode::get_category(*it)) {
    case Xapian::Unicode::LOWERCASE_LETTER:
    case Xapian::Unicode::UPPERCASE_LETTER:
    case Xapian::Unicode::TITLECASE_LETTER:
    case Xapian::Unicode::MODIFIER_LETTER:
    case Xapian::Unicode::OTHER_LETTER:
        return true;
    default:
        return false;
    }
}

/* The relevance runs' query: the OR of the text's terms as the indexer
** makes them (stemmed Z-terms, and the unstemmable ones such as numbers),
** each with its count as query frequency. */
Xapian::Query bag_of_words(XapianPeer &p, const char *text) {
    Xapian::Document scratch;
    p.tg.set_document(scratch);
    p.tg.index_text_without_positions(text);
    std::vector<Xapian::Query> terms;
    for (Xapian::TermIterator t = scratch.termlist_begin();
         t != scratch.termlist_end(); ++t) {
        const std::string &term = *t;
        if (term[0] != 'Z' && has_stemmed_form(term)) continue;
        terms.emplace_back(term, t.get_wdf());
    }
    return Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end());
}

const unsigned QP_FLAGS = Xapian::QueryParser::FLAG_PHRASE |
                          Xapian::QueryParser::FLAG_BOOLEAN |
                          Xapian::QueryParser::FLAG_LOVEHATE |
                          Xapian::QueryParser::FLAG_DEFAULT;

int run_query(void *ctx, const char *query, peer_mode mode, int k,
              peer_hits *out) {
    XapianPeer &p = *static_cast<XapianPeer *>(ctx);
    try {
        if (mode == PEER_MODE_TREC) {
            p.ranked.set_query(bag_of_words(p, query));
        } else {
            Xapian::Query q = p.qp.parse_query(query, QP_FLAGS);
            if (mode == PEER_MODE_COUNT) {
                p.counted.set_query(q);
                Xapian::MSet m = p.counted.get_mset(0, 0, p.ndocs);
                if (m.get_matches_lower_bound() != m.get_matches_upper_bound()) {
                    snprintf(out->err, sizeof out->err, "count is not exact");
                    return -1;
                }
                out->count = (long)m.get_matches_estimated();
                return 0;
            }
            p.ranked.set_query(q);
        }
        Xapian::MSet m = p.ranked.get_mset(0, (Xapian::doccount)k);
        for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it) {
            std::string id = it.get_document().get_data();
            peer_hits_add(out, id.data(), id.size(), it.get_weight());
        }
        out->count = (long)out->n;
        return 0;
    } catch (const Xapian::Error &e) {
        snprintf(out->err, sizeof out->err, "%s", e.get_description().c_str());
    } catch (const std::exception &e) {
        snprintf(out->err, sizeof out->err, "%s", e.what());
    }
    return -1;
}

/* Move every entry of directory `from` into directory `to`. */
void move_entries(const std::string &from, const std::string &to) {
    DIR *dir = opendir(from.c_str());
    if (!dir) peer_die(ENGINE, "cannot open '%s': %s", from.c_str(), strerror(errno));
    while (struct dirent *e = readdir(dir)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        std::string src = from + "/" + e->d_name, dst = to + "/" + e->d_name;
        if (rename(src.c_str(), dst.c_str()) != 0)
            peer_die(ENGINE, "cannot move '%s': %s", src.c_str(), strerror(errno));
    }
    closedir(dir);
}

int cmd_index(const peer_args *a) {
    if (peer_reset_dir(a->dir) != 0) return 1;
    peer_reader rd = {stdin, NULL, 0, 0};
    peer_doc d;
    long n = 0;
    double merge_s = 0;
    double t0 = peer_now_us();
    {
        Xapian::WritableDatabase db(a->dir, Xapian::DB_CREATE_OR_OVERWRITE);
        Xapian::TermGenerator tg;
        tg.set_stemmer(Xapian::Stem("english"));
        tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
        while (peer_read_doc(&rd, &d)) {
            Xapian::Document doc;
            doc.set_data(std::string(d.id, d.id_len));
            tg.set_document(doc);
            tg.index_text(std::string(d.text, d.text_len));
            db.add_document(doc);
            n++;
        }
        db.commit();
        db.close();
    }
    if (a->merge) {
        double t1 = peer_now_us();
        std::string tmp = std::string(a->dir) + ".compact";
        if (peer_remove_tree(tmp.c_str()) != 0)
            peer_die(ENGINE, "cannot remove '%s'", tmp.c_str());
        Xapian::Database(a->dir).compact(tmp, Xapian::Compactor::FULLER);
        /* Move the compacted files into INDEX_DIR, which stays in place. */
        if (peer_reset_dir(a->dir) != 0) return 1;
        move_entries(tmp, a->dir);
        if (peer_remove_tree(tmp.c_str()) != 0)
            peer_die(ENGINE, "cannot remove '%s'", tmp.c_str());
        merge_s = (peer_now_us() - t1) / 1e6;
    }
    peer_reader_free(&rd);
    peer_print_index(ENGINE, n, (peer_now_us() - t0) / 1e6, merge_s,
                     peer_dir_bytes(a->dir));
    return 0;
}

int cmd_query(const peer_args *a) {
    XapianPeer p(a);
    return peer_run_queries(a, ENGINE, run_query, &p);
}

}  // namespace

int main(int argc, char **argv) {
    peer_args a;
    peer_parse_args(argc, argv, ENGINE, &a);
    try {
        switch (a.cmd) {
        case PEER_CMD_INDEX: return cmd_index(&a);
        case PEER_CMD_QUERY: return cmd_query(&a);
        case PEER_CMD_VERSION:
            printf("%s: Xapian %s\n", ENGINE, Xapian::version_string());
            return 0;
        }
    } catch (const Xapian::Error &e) {
        peer_die(ENGINE, "%s", e.get_description().c_str());
    } catch (const std::exception &e) {
        peer_die(ENGINE, "%s", e.what());
    }
    return 2;
}
