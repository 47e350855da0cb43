/*
** test_eval.c -- suite "eval": the trec_eval-compatible evaluator in
** tools/eval.c, included directly so that no Makefile rule is needed (its
** external symbols are all nseval_*, so it sits next to libnsearch).
**
** Every expected number is worked out by hand in the comment above its
** check.  DCG uses gain rel and discount log2(rank + 1); handy values:
**   1/log2(2) = 1,  1/log2(3) = 0.6309297536,  1/log2(4) = 0.5,
**   1/log2(5) = 0.4306765581.
*/
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/eval.c"

#define SCIFACT_QRELS "/work/shared/data/scifact/qrels.txt"

/* ---- helpers ----------------------------------------------------------- */

/* Evaluate qrels and run given as text.  `metrics` is a space-separated
** list of -m arguments, or NULL for nseval's defaults. */
static nseval_result *eval_text(const char *qrels_text, const char *run_text,
                                const char *metrics, const nseval_opts *opts)
{
	nseval_qrels *qrels;
	nseval_run *run;
	nseval_measures ms = { 0 };
	nseval_result *res;
	char err[NSEVAL_ERRMAX] = "";
	int rc;

	rc = nseval_qrels_parse(qrels_text, strlen(qrels_text), "qrels", NULL,
	                        &qrels, err, sizeof(err));
	cr_assert_eq(rc, NSEVAL_OK, "qrels: %s", err);
	rc = nseval_run_parse(run_text, strlen(run_text), "run", NULL, &run,
	                      err, sizeof(err));
	cr_assert_eq(rc, NSEVAL_OK, "run: %s", err);
	if (metrics) {
		char buf[512], *tok;
		cr_assert_lt(strlen(metrics), sizeof(buf));
		strcpy(buf, metrics);
		for (tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
			rc = nseval_measures_add(&ms, tok, err, sizeof(err));
			cr_assert_eq(rc, NSEVAL_OK, "metric %s: %s", tok, err);
		}
	} else {
		cr_assert_eq(nseval_measures_add_defaults(&ms), NSEVAL_OK);
	}
	rc = nseval_evaluate(qrels, run, &ms, opts, &res);
	cr_assert_eq(rc, NSEVAL_OK);
	nseval_measures_free(&ms);
	nseval_run_free(run);
	nseval_qrels_free(qrels);
	return res;
}

/* The "all" value (qid NULL) or a query's value, compared to 1e-9. */
static void expect_value(const nseval_result *res, const char *qid,
                         const char *name, double want)
{
	double got = nseval_result_get(res, qid, name);

	cr_expect(fabs(got - want) < 1e-9, "%s[%s]: got %.10f, want %.10f",
	          name, qid ? qid : "all", got, want);
}

/* Everything written to fp so far, as a malloc'd string. */
static char *slurp(FILE *fp)
{
	long len;
	char *s;

	fflush(fp);
	cr_assert_eq(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	cr_assert_geq(len, 0);
	rewind(fp);
	s = malloc((size_t)len + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)len, fp), (size_t)len);
	s[len] = '\0';
	return s;
}

/* ---- rankings and measures --------------------------------------------- */

Test(eval, perfect_ranking_scores_one)
{
	/* Graded judgments retrieved in the ideal order, plus an unjudged
	** document at the end: every ranking measure is 1. */
	nseval_result *res = eval_text("q1 0 d1 2\n"
	                               "q1 0 d2 1\n"
	                               "q1 0 d3 1\n",
	                               "q1 Q0 d1 1 3.0 t\n"
	                               "q1 Q0 d2 2 2.0 t\n"
	                               "q1 Q0 d3 3 1.0 t\n"
	                               "q1 Q0 d4 4 0.5 t\n",
	                               NULL, NULL);

	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	expect_value(res, NULL, "map", 1.0);
	expect_value(res, NULL, "recall_100", 1.0);
	expect_value(res, NULL, "recall_1000", 1.0);
	expect_value(res, NULL, "recip_rank_cut_10", 1.0);
	expect_value(res, NULL, "num_q", 1);
	expect_value(res, NULL, "num_ret", 4);
	expect_value(res, NULL, "num_rel", 3);
	expect_value(res, NULL, "num_rel_ret", 3);
	nseval_result_free(res);
}

Test(eval, graded_two_queries_ndcg_arithmetic)
{
	/* q1: qrels a=2 b=1 c=0, ranked c, b, a.
	**   DCG  = 0/log2(2) + 1/log2(3) + 2/log2(4) = 0.6309297536 + 1
	**        = 1.6309297536
	**   IDCG = 2/log2(2) + 1/log2(3) = 2.6309297536
	**   nDCG = 1.6309297536 / 2.6309297536 = 0.6199062333
	**   AP: relevant b at rank 2 (1/2), a at rank 3 (2/3), num_rel 2:
	**       (0.5 + 0.6666666667) / 2 = 0.5833333333
	** q2: qrels x=1 y=1 z=2, ranked z, w (unjudged), x.
	**   DCG  = 2/log2(2) + 0 + 1/log2(4) = 2.5
	**   IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 3.1309297536
	**   nDCG = 2.5 / 3.1309297536 = 0.7984848581
	**   AP: z at 1 (1/1), x at 3 (2/3), num_rel 3: 1.6666666667/3
	**       = 0.5555555556
	** all: nDCG (0.6199062333 + 0.7984848581) / 2 = 0.7091955457
	**      MAP  (0.5833333333 + 0.5555555556) / 2 = 0.5694444444 */
	nseval_result *res = eval_text("q1 0 a 2\nq1 0 b 1\nq1 0 c 0\n"
	                               "q2 0 x 1\nq2 0 y 1\nq2 0 z 2\n",
	                               "q1 Q0 c 1 3.0 t\n"
	                               "q1 Q0 b 2 2.0 t\n"
	                               "q1 Q0 a 3 1.0 t\n"
	                               "q2 Q0 z 1 0.9 t\n"
	                               "q2 Q0 w 2 0.8 t\n"
	                               "q2 Q0 x 3 0.7 t\n",
	                               "ndcg_cut.10 map num_rel", NULL);
	double q1 = (1.0 / log2(3.0) + 2.0 / log2(4.0)) / (2.0 + 1.0 / log2(3.0));
	double q2 = 2.5 / (2.0 + 1.0 / log2(3.0) + 0.5);

	expect_value(res, "q1", "ndcg_cut_10", q1);
	expect_value(res, "q2", "ndcg_cut_10", q2);
	cr_expect(fabs(q1 - 0.6199062333) < 1e-9);
	cr_expect(fabs(q2 - 0.7984848581) < 1e-9);
	expect_value(res, NULL, "ndcg_cut_10", (q1 + q2) / 2);
	expect_value(res, "q1", "map", (0.5 + 2.0 / 3.0) / 2);
	expect_value(res, "q2", "map", (1.0 + 2.0 / 3.0) / 3);
	expect_value(res, NULL, "map", 0.5694444444444444);
	/* num_rel counts rel >= 1 only: 2 + 3 */
	expect_value(res, NULL, "num_rel", 5);
	nseval_result_free(res);
}

Test(eval, equal_scores_break_ties_by_descending_docid)
{
	/* Equal scores: trec_eval ranks the larger docid (strcmp) first.
	** q1: docA relevant, docB ties with it -> docB, docA: RR 1/2,
	**     nDCG 1/log2(3) = 0.6309297536 (ascending order would give 1).
	** q2: docZ relevant, ties with docA -> docZ, docA: RR 1.
	** Neither the file order nor the rank column matters. */
	nseval_result *res = eval_text("q1 0 docA 1\nq2 0 docZ 1\n",
	                               "q1 Q0 docA 1 1.0 t\n"
	                               "q1 Q0 docB 2 1.0 t\n"
	                               "q2 Q0 docA 1 1.00 t\n"
	                               "q2 Q0 docZ 2 1.0 t\n",
	                               NULL, NULL);

	expect_value(res, "q1", "recip_rank_cut_10", 0.5);
	expect_value(res, "q1", "ndcg_cut_10", 1.0 / log2(3.0));
	expect_value(res, "q2", "recip_rank_cut_10", 1.0);
	expect_value(res, NULL, "recip_rank_cut_10", 0.75);
	expect_value(res, NULL, "map", 0.75);
	nseval_result_free(res);
}

Test(eval, tie_break_is_strcmp_not_numeric)
{
	/* "d9" > "d10" under strcmp, so with equal scores d9 comes first and
	** the relevant d10 is at rank 2: RR 1/2 (numeric order would give 1). */
	nseval_result *res = eval_text("q1 0 d10 1\n",
	                               "q1 Q0 d10 1 5 t\n"
	                               "q1 Q0 d9 2 5 t\n",
	                               "recip_rank", NULL);

	expect_value(res, NULL, "recip_rank", 0.5);
	nseval_result_free(res);
}

Test(eval, rank_column_is_ignored)
{
	/* The rank column claims d1 first, but scores order d2 (0.9),
	** d3 (0.5), d1 (0.1), d4 (-2e0): relevant d1 is at rank 3.
	** RR 1/3, AP 1/3, nDCG (1/log2(4)) / 1 = 0.5. */
	nseval_result *res = eval_text("q1 0 d1 1\n",
	                               "q1 Q0 d1 1 0.1 t\n"
	                               "q1 Q0 d2 2 0.9 t\n"
	                               "q1 Q0 d4 3 -2e0 t\n"
	                               "q1 Q0 d3 4 5e-1 t\n",
	                               NULL, NULL);

	expect_value(res, NULL, "recip_rank_cut_10", 1.0 / 3);
	expect_value(res, NULL, "map", 1.0 / 3);
	expect_value(res, NULL, "ndcg_cut_10", 0.5);
	nseval_result_free(res);
}

Test(eval, unjudged_documents_count_as_nonrelevant)
{
	/* u1, u2 are not in the qrels; they stay in the ranking (trec_eval
	** without -J), pushing r1 to rank 3: RR 1/3, nDCG 1/log2(4) = 0.5,
	** P_5 = 1/5, num_ret 4 (unjudged included). */
	nseval_result *res = eval_text("q1 0 r1 1\nq1 0 n1 0\n",
	                               "q1 Q0 u1 1 0.9 t\n"
	                               "q1 Q0 u2 2 0.8 t\n"
	                               "q1 Q0 r1 3 0.7 t\n"
	                               "q1 Q0 n1 4 0.6 t\n",
	                               "num_ret num_rel num_rel_ret P.5 "
	                               "recip_rank_cut.10 ndcg_cut.10",
	                               NULL);

	expect_value(res, NULL, "recip_rank_cut_10", 1.0 / 3);
	expect_value(res, NULL, "ndcg_cut_10", 0.5);
	expect_value(res, NULL, "P_5", 0.2);
	expect_value(res, NULL, "num_ret", 4);
	expect_value(res, NULL, "num_rel", 1);
	expect_value(res, NULL, "num_rel_ret", 1);
	nseval_result_free(res);
}

/* ---- which queries count ----------------------------------------------- */

Test(eval, query_missing_from_run_scores_zero)
{
	/* q2 is judged but not retrieved: as trec_eval -c it scores 0 and
	** still counts.  nDCG (1 + 0) / 2 = 0.5, MAP 0.5, num_q 2,
	** num_rel 1 + 2 = 3, num_ret 1. */
	nseval_result *res = eval_text("q1 0 d1 1\nq2 0 d2 1\nq2 0 d3 2\n",
	                               "q1 Q0 d1 1 1.0 t\n", NULL, NULL);

	expect_value(res, NULL, "ndcg_cut_10", 0.5);
	expect_value(res, NULL, "map", 0.5);
	expect_value(res, NULL, "recall_100", 0.5);
	expect_value(res, NULL, "num_q", 2);
	expect_value(res, NULL, "num_rel", 3);
	expect_value(res, NULL, "num_ret", 1);
	expect_value(res, NULL, "num_rel_ret", 1);
	expect_value(res, "q2", "ndcg_cut_10", 0.0);
	expect_value(res, "q2", "num_rel", 2);
	cr_expect_eq(res->n_queries, 2);
	cr_expect_eq(res->n_run_matched, 1);
	nseval_result_free(res);
}

Test(eval, query_missing_from_qrels_is_ignored)
{
	/* q9 has no judgments: it is neither averaged nor counted in num_ret. */
	nseval_result *res = eval_text("q1 0 d1 1\n",
	                               "q1 Q0 d1 1 1.0 t\n"
	                               "q9 Q0 d1 1 5.0 t\n"
	                               "q9 Q0 d2 2 4.0 t\n",
	                               NULL, NULL);

	expect_value(res, NULL, "num_q", 1);
	expect_value(res, NULL, "num_ret", 1);
	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	expect_value(res, NULL, "map", 1.0);
	cr_expect(isnan(nseval_result_get(res, "q9", "map")));
	cr_expect_eq(res->n_run_ignored, 1);
	nseval_result_free(res);
}

Test(eval, zero_relevant_queries_count_as_zero_like_trec_eval)
{
	/* q2's judgments are all 0.  trec_eval 9 (and 8) evaluates such a
	** query: it scores 0 and counts in num_q and in every mean (only very
	** old versions skipped it, says trec_eval's CHANGELOG).  MAP (1 + 0) / 2 = 0.5, etc. */
	nseval_result *res = eval_text("q1 0 d1 1\nq2 0 d2 0\nq2 0 d3 0\n",
	                               "q1 Q0 d1 1 1.0 t\n"
	                               "q2 Q0 d2 1 1.0 t\n",
	                               NULL, NULL);

	expect_value(res, NULL, "num_q", 2);
	expect_value(res, NULL, "num_ret", 2);
	expect_value(res, NULL, "num_rel", 1);
	expect_value(res, NULL, "map", 0.5);
	expect_value(res, NULL, "ndcg_cut_10", 0.5);
	expect_value(res, NULL, "recall_100", 0.5);
	expect_value(res, NULL, "recip_rank_cut_10", 0.5);
	expect_value(res, "q2", "map", 0.0);
	nseval_result_free(res);
}

Test(eval, skip_norel_excludes_zero_relevant_queries)
{
	/* The same data with skip_norel: q2 is left out entirely. */
	nseval_opts opts = { 0, 1 };
	nseval_result *res = eval_text("q1 0 d1 1\nq2 0 d2 0\nq2 0 d3 0\n",
	                               "q1 Q0 d1 1 1.0 t\n"
	                               "q2 Q0 d2 1 1.0 t\n",
	                               NULL, &opts);

	expect_value(res, NULL, "num_q", 1);
	expect_value(res, NULL, "num_ret", 1);
	expect_value(res, NULL, "map", 1.0);
	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	cr_expect(isnan(nseval_result_get(res, "q2", "map")));
	nseval_result_free(res);
}

/* ---- cutoffs ------------------------------------------------------------ */

Test(eval, recall_with_fewer_docs_than_the_cutoff)
{
	/* 4 relevant (a b c d), 3 retrieved: a, x, b.
	** recall_100 = recall_1000 = 2/4; recall_1 = recall_2 = 1/4;
	** P_100 = 2/100 (missing ranks count as non-relevant). */
	nseval_result *res = eval_text("q1 0 a 1\nq1 0 b 1\nq1 0 c 1\n"
	                               "q1 0 d 1\n",
	                               "q1 Q0 a 1 3 t\n"
	                               "q1 Q0 x 2 2 t\n"
	                               "q1 Q0 b 3 1 t\n",
	                               "recall.1,2,100,1000 P.100", NULL);

	expect_value(res, NULL, "recall_100", 0.5);
	expect_value(res, NULL, "recall_1000", 0.5);
	expect_value(res, NULL, "recall_1", 0.25);
	expect_value(res, NULL, "recall_2", 0.25);
	expect_value(res, NULL, "P_100", 0.02);
	nseval_result_free(res);
}

/* Shared by the MAP and map_cut tests.
** q1: 4 relevant r1..r4; ranking r1 n1 r2 n2 n3 r3 (r4 never retrieved).
** q2: 1 relevant s1; ranking m1 s1. */
static const char map_qrels[] = "q1 0 r1 1\nq1 0 r2 1\nq1 0 r3 1\n"
                                "q1 0 r4 1\nq2 0 s1 1\n";
static const char map_run[] = "q1 Q0 r1 1 60 t\n"
                              "q1 Q0 n1 2 50 t\n"
                              "q1 Q0 r2 3 40 t\n"
                              "q1 Q0 n2 4 30 t\n"
                              "q1 Q0 n3 5 20 t\n"
                              "q1 Q0 r3 6 10 t\n"
                              "q2 Q0 m1 1 2 t\n"
                              "q2 Q0 s1 2 1 t\n";

Test(eval, map_worked_example)
{
	/* q1: precision at the relevant ranks 1, 3, 6 is 1/1, 2/3, 3/6;
	**     AP = (1 + 0.6666666667 + 0.5) / 4 = 0.5416666667 (divided by all
	**     4 relevant, not the 3 retrieved).
	** q2: AP = (1/2) / 1 = 0.5.   MAP = 0.5208333333. */
	nseval_result *res = eval_text(map_qrels, map_run, "map", NULL);

	expect_value(res, "q1", "map", (1.0 + 2.0 / 3 + 0.5) / 4);
	expect_value(res, "q2", "map", 0.5);
	expect_value(res, NULL, "map", 0.5208333333333333);
	nseval_result_free(res);
}

Test(eval, map_cut_divides_by_all_relevant)
{
	/* q1 map_cut_5 = (1 + 2/3) / 4 = 0.4166666667, map_cut_1 = 1/4;
	** q2 map_cut_1 = 0, map_cut_5 = 0.5. */
	nseval_result *res = eval_text(map_qrels, map_run, "map_cut.1,5", NULL);

	expect_value(res, "q1", "map_cut_5", (1.0 + 2.0 / 3) / 4);
	expect_value(res, "q1", "map_cut_1", 0.25);
	expect_value(res, "q2", "map_cut_1", 0.0);
	expect_value(res, "q2", "map_cut_5", 0.5);
	nseval_result_free(res);
}

/* Run text for one query: `n` documents n01, n02, ... with descending
** scores, except that rank `rel_rank` holds document "rel". */
static void ranked_run(char *buf, size_t len, const char *qid, int n,
                       int rel_rank)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 1; i <= n; i++) {
		int w;

		if (i == rel_rank)
			w = snprintf(buf + used, len - used, "%s Q0 rel %d %d t\n",
			             qid, i, 100 - i);
		else
			w = snprintf(buf + used, len - used,
			             "%s Q0 n%02d %d %d t\n", qid, i, i, 100 - i);
		cr_assert(w > 0 && (size_t)w < len - used);
		used += (size_t)w;
	}
}

Test(eval, mrr10_first_relevant_at_rank_11_is_zero)
{
	/* q1: the only relevant document is at rank 11: recip_rank_cut_10 is
	**     0, uncut recip_rank 1/11.
	** q2: relevant at rank 10: both 1/10.
	** means: recip_rank_cut_10 0.05, recip_rank (1/11 + 1/10) / 2. */
	char run[2048], part[1024];
	nseval_result *res;

	ranked_run(run, sizeof(run), "q1", 11, 11);
	ranked_run(part, sizeof(part), "q2", 10, 10);
	strcat(run, part);
	res = eval_text("q1 0 rel 1\nq2 0 rel 1\n", run,
	                "recip_rank_cut.10 recip_rank", NULL);
	expect_value(res, "q1", "recip_rank_cut_10", 0.0);
	expect_value(res, "q1", "recip_rank", 1.0 / 11);
	expect_value(res, "q2", "recip_rank_cut_10", 0.1);
	expect_value(res, NULL, "recip_rank_cut_10", 0.05);
	expect_value(res, NULL, "recip_rank", (1.0 / 11 + 0.1) / 2);
	nseval_result_free(res);
}

Test(eval, mrr_alias_names_recip_rank_cut)
{
	nseval_result *res = eval_text("q1 0 d2 1\n",
	                               "q1 Q0 d1 1 2 t\nq1 Q0 d2 2 1 t\n",
	                               "mrr.10", NULL);

	expect_value(res, NULL, "recip_rank_cut_10", 0.5);
	nseval_result_free(res);
}

Test(eval, ndcg_cut_ideal_is_cut_at_k)
{
	/* 12 relevant documents r01..r12 (rel 1); the run retrieves r01..r10.
	** ndcg_cut_10: DCG and ideal DCG both sum 1/log2(i+1) for i = 1..10,
	** so 1.  ndcg_cut_20: ideal sums 12 terms, DCG only 10, so < 1.
	** recall_10 = 10/12. */
	char qrels[1024], run[1024];
	size_t qn = 0, rn = 0;
	double dcg10 = 0, idcg12 = 0;
	int i;
	nseval_result *res;

	for (i = 1; i <= 12; i++) {
		qn += (size_t)snprintf(qrels + qn, sizeof(qrels) - qn,
		                       "q1 0 r%02d 1\n", i);
		idcg12 += 1.0 / log2(i + 1.0);
		if (i <= 10) {
			rn += (size_t)snprintf(run + rn, sizeof(run) - rn,
			                       "q1 Q0 r%02d %d %d t\n", i, i, 50 - i);
			dcg10 += 1.0 / log2(i + 1.0);
		}
	}
	res = eval_text(qrels, run, "ndcg_cut.10,20 recall.10", NULL);
	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	expect_value(res, NULL, "ndcg_cut_20", dcg10 / idcg12);
	expect_value(res, NULL, "recall_10", 10.0 / 12);
	nseval_result_free(res);
}

Test(eval, negative_relevance_is_gain_zero)
{
	/* d1 judged -1: not relevant, gain 0.  Ranking d1, d2:
	** DCG 1/log2(3), IDCG 1 (only d2) -> 0.6309297536; num_rel 1. */
	nseval_result *res = eval_text("q1 0 d1 -1\nq1 0 d2 1\n",
	                               "q1 Q0 d1 1 2 t\nq1 Q0 d2 2 1 t\n",
	                               NULL, NULL);

	expect_value(res, NULL, "ndcg_cut_10", 1.0 / log2(3.0));
	expect_value(res, NULL, "num_rel", 1);
	expect_value(res, NULL, "recip_rank_cut_10", 0.5);
	nseval_result_free(res);
}

Test(eval, rprec_and_uncut_ndcg)
{
	/* qrels a=2 b=1 c=1 (R = 3); ranking a, n, b, c.
	** Rprec = relevant in top 3 / 3 = 2/3.
	** ndcg: DCG  = 2/1 + 0 + 1/log2(4) + 1/log2(5) = 2.9306765581
	**       IDCG = 2/1 + 1/log2(3) + 1/log2(4)     = 3.1309297536
	**       -> 0.9360403422 */
	nseval_result *res = eval_text("q1 0 a 2\nq1 0 b 1\nq1 0 c 1\n",
	                               "q1 Q0 a 1 4 t\nq1 Q0 n 2 3 t\n"
	                               "q1 Q0 b 3 2 t\nq1 Q0 c 4 1 t\n",
	                               "Rprec ndcg", NULL);
	double want = (2.0 + 0.5 + 1.0 / log2(5.0)) /
	              (2.0 + 1.0 / log2(3.0) + 0.5);

	expect_value(res, NULL, "Rprec", 2.0 / 3);
	expect_value(res, NULL, "ndcg", want);
	cr_expect(fabs(want - 0.9360403422) < 1e-9);
	nseval_result_free(res);
}

Test(eval, max_ret_keeps_top_n_after_sorting)
{
	/* Scores rank a, n, b (file order b, n, a).  With max_ret 2 only a, n
	** count: num_ret 2, recall_100 1/2, AP (1/1) / 2 = 0.5.  Without the
	** limit AP = (1 + 2/3) / 2. */
	const char *qrels = "q1 0 a 1\nq1 0 b 1\n";
	const char *run = "q1 Q0 b 1 1.0 t\nq1 Q0 n 2 2.0 t\n"
	                  "q1 Q0 a 3 3.0 t\n";
	nseval_opts opts = { 2, 0 };
	nseval_result *res = eval_text(qrels, run, "num_ret recall.100 map",
	                               &opts);

	expect_value(res, NULL, "num_ret", 2);
	expect_value(res, NULL, "recall_100", 0.5);
	expect_value(res, NULL, "map", 0.5);
	nseval_result_free(res);

	res = eval_text(qrels, run, "num_ret map", NULL);
	expect_value(res, NULL, "num_ret", 3);
	expect_value(res, NULL, "map", (1.0 + 2.0 / 3) / 2);
	nseval_result_free(res);
}

/* ---- duplicates -------------------------------------------------------- */

Test(eval, duplicate_run_docid_keeps_first_and_warns)
{
	/* d1 appears on lines 1 (score 0.1) and 3 (score 0.9).  The first is
	** kept, so the ranking is d2, d1: RR 1/2 (keeping the second would
	** give 1), num_ret 2. */
	const char *run = "q1 Q0 d1 1 0.1 t\n"
	                  "q1 Q0 d2 2 0.5 t\n"
	                  "q1 Q0 d1 3 0.9 t\n";
	FILE *warn = tmpfile();
	nseval_run *r;
	nseval_result *res;
	char err[NSEVAL_ERRMAX], *msg;

	cr_assert_not_null(warn);
	cr_assert_eq(nseval_run_parse(run, strlen(run), "run", warn, &r, err,
	                              sizeof(err)),
	             NSEVAL_OK);
	cr_expect_eq(nseval_run_duplicates(r), 1);
	nseval_run_free(r);
	msg = slurp(warn);
	fclose(warn);
	cr_expect_str_eq(msg, "nseval: warning: run:3: document 'd1' repeated "
	                      "for query 'q1' (first on line 1); keeping the "
	                      "first\n");
	free(msg);

	res = eval_text("q1 0 d1 1\n", run, "recip_rank num_ret", NULL);
	expect_value(res, NULL, "recip_rank", 0.5);
	expect_value(res, NULL, "num_ret", 2);
	nseval_result_free(res);
}

Test(eval, duplicate_qrels_judgment_keeps_first)
{
	/* q1: d1 judged 1 then 0 -> relevant.  q2: e1 judged 0 then 1 -> not
	** relevant, so q2 has no relevant document (and scores 0). */
	nseval_result *res = eval_text("q1 0 d1 1\nq1 0 d1 0\n"
	                               "q2 0 e1 0\nq2 0 e1 1\n",
	                               "q1 Q0 d1 1 1 t\nq2 Q0 e1 1 1 t\n",
	                               "num_rel recip_rank", NULL);

	expect_value(res, "q1", "num_rel", 1);
	expect_value(res, "q2", "num_rel", 0);
	expect_value(res, "q1", "recip_rank", 1.0);
	expect_value(res, "q2", "recip_rank", 0.0);
	nseval_result_free(res);
}

/* ---- input errors and input leniency ----------------------------------- */

static int parse_qrels_error(const char *text, char *err, size_t errlen)
{
	nseval_qrels *q = NULL;
	int rc = nseval_qrels_parse(text, strlen(text), "qrels.txt", NULL, &q,
	                            err, errlen);

	cr_expect_null(q);
	nseval_qrels_free(q);
	return rc;
}

static int parse_run_error(const char *text, char *err, size_t errlen)
{
	nseval_run *r = NULL;
	int rc = nseval_run_parse(text, strlen(text), "run.txt", NULL, &r, err,
	                          errlen);

	cr_expect_null(r);
	nseval_run_free(r);
	return rc;
}

Test(eval, malformed_qrels_line_is_reported)
{
	char err[NSEVAL_ERRMAX];

	cr_expect_eq(parse_qrels_error("q1 0 d1 1\nq1 0 d2\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_str_eq(err, "qrels.txt:2: malformed qrels line: expected 4 "
	                      "fields (qid iter docid rel), found 3");
	cr_expect_eq(parse_qrels_error("q1 0 d1 1 extra\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_str_eq(err, "qrels.txt:1: malformed qrels line: expected 4 "
	                      "fields (qid iter docid rel), found 5");
	cr_expect_eq(parse_qrels_error("q1 0 d1 1.5\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_str_eq(err, "qrels.txt:1: invalid relevance '1.5' for "
	                      "document 'd1' (expected an integer)");
	cr_expect_eq(parse_qrels_error("q1 0 d1 yes\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
}

Test(eval, malformed_run_line_is_reported)
{
	char err[NSEVAL_ERRMAX];

	cr_expect_eq(parse_run_error("q1 Q0 d1 1 0.5 t\nq1 Q0 d2 2 0.4\n", err,
	                             sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_str_eq(err, "run.txt:2: malformed run line: expected 6 fields "
	                      "(qid Q0 docid rank score tag), found 5");
	cr_expect_eq(parse_run_error("q1 Q0 d1 1 high t\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_str_eq(err, "run.txt:1: invalid score 'high' for document "
	                      "'d1' (expected a number)");
	cr_expect_eq(parse_run_error("q1 Q0 d1 1 nan t\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
	cr_expect_eq(parse_run_error("q1 Q0 d1 1 0.5x t\n", err, sizeof(err)),
	             NSEVAL_EPARSE);
}

Test(eval, missing_file_is_reported)
{
	char err[NSEVAL_ERRMAX];
	nseval_qrels *q;
	nseval_run *r;

	cr_expect_eq(nseval_qrels_load("/nonexistent/nseval/qrels.txt", NULL,
	                               &q, err, sizeof(err)),
	             NSEVAL_EIO);
	cr_expect_str_eq(err, "cannot open '/nonexistent/nseval/qrels.txt': "
	                      "No such file or directory");
	cr_expect_null(q);
	cr_expect_eq(nseval_run_load("/nonexistent/run", NULL, &r, err,
	                             sizeof(err)),
	             NSEVAL_EIO);
	cr_expect_null(r);
}

Test(eval, comments_blank_lines_crlf_and_extra_run_fields)
{
	/* '#' lines and blank lines are skipped, CRLF and tabs are fine, the
	** last line needs no newline, and run fields after the sixth are
	** ignored (as in trec_eval). */
	nseval_result *res = eval_text("# judged by hand\r\n"
	                               "\r\n"
	                               "q1 0 d1 1\r\n"
	                               "   \n"
	                               "q1\t0\td2\t1",
	                               "# run header\n"
	                               "q1 Q0 d1 1 2.0 tag extra fields\r\n"
	                               "\n"
	                               "q1\tQ0\td2\t2\t1.0\ttag",
	                               "num_rel num_ret ndcg_cut.10", NULL);

	expect_value(res, NULL, "num_rel", 2);
	expect_value(res, NULL, "num_ret", 2);
	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	nseval_result_free(res);
}

Test(eval, files_load_like_text)
{
	char qpath[] = "/tmp/nseval_qrels_XXXXXX";
	char rpath[] = "/tmp/nseval_run_XXXXXX";
	int qfd = mkstemp(qpath), rfd = mkstemp(rpath);
	FILE *qf, *rf;
	nseval_qrels *q;
	nseval_run *r;
	nseval_measures ms = { 0 };
	nseval_result *res;
	char err[NSEVAL_ERRMAX];

	cr_assert(qfd >= 0 && rfd >= 0);
	qf = fdopen(qfd, "w");
	rf = fdopen(rfd, "w");
	cr_assert(qf && rf);
	fputs("q1 0 d1 1\nq1 0 d2 2\n", qf);
	fputs("q1 Q0 d2 1 2 t\nq1 Q0 d1 2 1 t\n", rf);
	fclose(qf);
	fclose(rf);

	cr_assert_eq(nseval_qrels_load(qpath, NULL, &q, err, sizeof(err)),
	             NSEVAL_OK, "%s", err);
	cr_assert_eq(nseval_run_load(rpath, NULL, &r, err, sizeof(err)),
	             NSEVAL_OK, "%s", err);
	remove(qpath);
	remove(rpath);
	cr_expect_eq(nseval_qrels_num_queries(q), 1);
	cr_expect_eq(nseval_run_num_queries(r), 1);
	cr_assert_eq(nseval_measures_add(&ms, "ndcg_cut.10", err, sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(nseval_evaluate(q, r, &ms, NULL, &res), NSEVAL_OK);
	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	nseval_result_free(res);
	nseval_measures_free(&ms);
	nseval_run_free(r);
	nseval_qrels_free(q);
}

/* ---- measure names ----------------------------------------------------- */

Test(eval, metric_names_and_parameters)
{
	nseval_measures ms = { 0 };
	char err[NSEVAL_ERRMAX], name[64];
	static const char *const bad[] = { "map.5", "P.0",   "P.",  "P.5,",
		                           "P.x",   "P.-3",  "P.,5", "bogus",
		                           "ndcg_cut.10,a" };
	static const char *const want[] = { "num_q", "map", "ndcg_cut_5",
		                            "ndcg_cut_10", "recip_rank_cut_10" };
	size_t i;

	/* Kept in trec_eval's output order, cutoffs ascending, no repeats. */
	cr_assert_eq(nseval_measures_add(&ms, "recip_rank_cut.10", err,
	                                 sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(nseval_measures_add(&ms, "ndcg_cut.10,5", err, sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(nseval_measures_add(&ms, "map", err, sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(nseval_measures_add(&ms, "num_q", err, sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(nseval_measures_add(&ms, "mrr.10", err, sizeof(err)),
	             NSEVAL_OK);
	cr_assert_eq(ms.n, 5);
	for (i = 0; i < ms.n; i++) {
		nseval_measure_name(&ms.v[i], name, sizeof(name));
		cr_expect_str_eq(name, want[i]);
	}

	/* Bad specs fail and add nothing. */
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cr_expect_eq(nseval_measures_add(&ms, bad[i], err, sizeof(err)),
		             NSEVAL_EINVAL, "%s accepted", bad[i]);
		cr_expect_eq(ms.n, 5, "%s added something", bad[i]);
	}
	nseval_measures_add(&ms, "bogus.3", err, sizeof(err));
	cr_expect_eq(strncmp(err, "unknown metric 'bogus' (known: ", 31), 0,
	             "%s", err);
	nseval_measures_add(&ms, "map.5", err, sizeof(err));
	cr_expect_str_eq(err, "metric 'map' takes no parameters: 'map.5'");
	nseval_measures_free(&ms);

	/* No cutoff: trec_eval's defaults 5,10,15,20,30,100,200,500,1000. */
	cr_assert_eq(nseval_measures_add(&ms, "P", err, sizeof(err)),
	             NSEVAL_OK);
	cr_expect_eq(ms.n, 9);
	nseval_measure_name(&ms.v[8], name, sizeof(name));
	cr_expect_str_eq(name, "P_1000");
	nseval_measures_free(&ms);

	/* nseval's default set. */
	cr_assert_eq(nseval_measures_add_defaults(&ms), NSEVAL_OK);
	cr_expect_eq(ms.n, 9);
	nseval_measures_free(&ms);
}

/* ---- output ------------------------------------------------------------ */

Test(eval, text_output_matches_trec_eval_format)
{
	/* trec_eval prints "%-22s\t%s\t%6.4f" (counts "%ld"), per-query lines
	** first and num_q only for "all". */
	nseval_result *res = eval_text("q1 0 d1 1\nq2 0 d2 1\n",
	                               "q1 Q0 d1 1 1.0 t\n", "num_q num_ret map",
	                               NULL);
	FILE *fp = tmpfile();
	char *out;

	cr_assert_not_null(fp);
	cr_assert_eq(nseval_result_print(res, fp, 1), NSEVAL_OK);
	out = slurp(fp);
	cr_expect_str_eq(out, "num_ret               \tq1\t1\n"
	                      "map                   \tq1\t1.0000\n"
	                      "num_ret               \tq2\t0\n"
	                      "map                   \tq2\t0.0000\n"
	                      "num_q                 \tall\t2\n"
	                      "num_ret               \tall\t1\n"
	                      "map                   \tall\t0.5000\n");
	free(out);
	fclose(fp);
	nseval_result_free(res);
}

Test(eval, json_output)
{
	/* Keys follow the measure order; queries are in qid strcmp() order and
	** qids are escaped (q2" here). */
	nseval_result *res = eval_text("q1 0 d1 1\nq2\" 0 d2 1\n",
	                               "q1 Q0 d1 1 1.0 t\n",
	                               "num_q num_ret map ndcg_cut.10", NULL);
	FILE *fp = tmpfile();
	char *out;

	cr_assert_not_null(fp);
	cr_assert_eq(nseval_result_print_json(res, fp, 0), NSEVAL_OK);
	out = slurp(fp);
	cr_expect_str_eq(out, "{\"num_q\": 2, \"num_ret\": 1, \"map\": 0.5, "
	                      "\"ndcg_cut_10\": 0.5}\n");
	free(out);
	fclose(fp);

	fp = tmpfile();
	cr_assert_not_null(fp);
	cr_assert_eq(nseval_result_print_json(res, fp, 1), NSEVAL_OK);
	out = slurp(fp);
	cr_expect_str_eq(out, "{\"num_q\": 2, \"num_ret\": 1, \"map\": 0.5, "
	                      "\"ndcg_cut_10\": 0.5, \"per_query\": {"
	                      "\"q1\": {\"num_ret\": 1, \"map\": 1, "
	                      "\"ndcg_cut_10\": 1}, "
	                      "\"q2\\\"\": {\"num_ret\": 0, \"map\": 0, "
	                      "\"ndcg_cut_10\": 0}}}\n");
	free(out);
	fclose(fp);
	nseval_result_free(res);
}

Test(eval, unknown_names_give_nan)
{
	nseval_result *res = eval_text("q1 0 d1 1\n", "q1 Q0 d1 1 1 t\n",
	                               "map", NULL);

	cr_expect(isnan(nseval_result_get(res, NULL, "ndcg_cut_10")));
	cr_expect(isnan(nseval_result_get(res, "q2", "map")));
	nseval_result_free(res);
}

/* ---- real qrels -------------------------------------------------------- */

Test(eval, scifact_perfect_run)
{
	/* A run that retrieves exactly the judged documents of each query,
	** scored by their relevance, is ideal: nDCG@10 = recall@100 = 1. */
	FILE *fp = fopen(SCIFACT_QRELS, "r");
	FILE *runf;
	char line[512], qid[128], iter[64], docid[256], *run_text;
	long rel;
	nseval_qrels *q;
	nseval_run *r;
	nseval_measures ms = { 0 };
	nseval_result *res;
	char err[NSEVAL_ERRMAX];
	int n = 0;

	if (!fp)
		cr_skip_test("%s not found; no real-qrels check", SCIFACT_QRELS);
	runf = tmpfile();
	cr_assert_not_null(runf);
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%127s %63s %255s %ld", qid, iter, docid, &rel) !=
		    4)
			continue;
		if (rel > 0) {
			fprintf(runf, "%s Q0 %s 0 %ld perfect\n", qid, docid, rel);
			n++;
		}
	}
	fclose(fp);
	cr_assert_gt(n, 0, "no relevant judgments in %s", SCIFACT_QRELS);
	run_text = slurp(runf);
	fclose(runf);

	cr_assert_eq(nseval_qrels_load(SCIFACT_QRELS, NULL, &q, err,
	                               sizeof(err)),
	             NSEVAL_OK, "%s", err);
	cr_assert_eq(nseval_run_parse(run_text, strlen(run_text), "perfect",
	                              NULL, &r, err, sizeof(err)),
	             NSEVAL_OK, "%s", err);
	free(run_text);
	cr_assert_eq(nseval_measures_add_defaults(&ms), NSEVAL_OK);
	cr_assert_eq(nseval_evaluate(q, r, &ms, NULL, &res), NSEVAL_OK);

	expect_value(res, NULL, "ndcg_cut_10", 1.0);
	expect_value(res, NULL, "recall_100", 1.0);
	expect_value(res, NULL, "map", 1.0);
	expect_value(res, NULL, "recip_rank_cut_10", 1.0);
	expect_value(res, NULL, "num_rel_ret", (double)n);
	expect_value(res, NULL, "num_q", (double)nseval_qrels_num_queries(q));

	nseval_result_free(res);
	nseval_measures_free(&ms);
	nseval_run_free(r);
	nseval_qrels_free(q);
}
