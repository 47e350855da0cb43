/*
 * LucenePeer.java -- Lucene driver for the nsearch peer protocol
 * (bench/peers/README.md), against Debian's liblucene8-java.
 *
 * Index: one TextField "body" (docs, freqs, positions; not stored) holding
 * the stream's text (title included), analysed by EnglishAnalyzer (standard
 * tokenizer, possessive filter, lower case, English stopwords, Porter
 * stemmer), plus a StoredField "id".  One indexing thread, a 256 MB RAM
 * buffer (JAVA_OPTS=-Dpeer.ramBufferMB=N changes it, for tests),
 * SerialMergeScheduler (merges run on that thread too), BM25
 * similarity with --k1/--b (0.9/0.4).  After the commit, forceMerge(1)
 * and a second commit make one segment, the shape of nsearch's index
 * (--no-merge skips it; merge_seconds reports its cost).
 *
 * Queries: classic QueryParser on "body", default operator OR, for
 * top/count; IndexSearcher.count() for count; for trec, a BooleanQuery of
 * SHOULD TermQuerys built from the analyser's tokens, a token that occurs
 * n times boosted by n.  The query cache is off, so that repeats of a
 * query measure the search and not a cache hit.  A warm-up pass over the
 * whole query set (--warmup N passes, default 1) lets the JIT compile the
 * search path before anything is timed.
 *
 * This mirrors bench/peers/common/peer.c (the C drivers' shared half):
 * keep the command line, stream parsing and output in step with it.
 */

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.Term;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Version;

public final class LucenePeer {
    static final String ENGINE = "lucene";
    static final String FIELD = "body";
    static final String ID = "id";

    enum Mode { TOP, COUNT, TREC }

    /* ---- command line (same rules as peer_parse_args) ------------------ */

    String cmd;
    Path dir;
    Mode mode = Mode.TOP;
    int k = 10;
    int repeat = 1;
    int warmup = 1;
    float k1 = 0.9f;
    float b = 0.4f;
    boolean merge = true;

    static void usage() {
        System.err.print(
            "usage: lucene index INDEX_DIR [--k1 X] [--b Y] [--no-merge]  < docs.tsv\n"
            + "       lucene query INDEX_DIR --mode top|count|trec [--k K] [--repeat R]\n"
            + "                [--warmup N] [--k1 X] [--b Y]  < queries.tsv\n"
            + "       lucene version\n"
            + "see bench/peers/README.md for the protocol\n");
        System.exit(2);
    }

    static double number(String opt, String s, double lo, double hi) {
        double v;
        try {
            v = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            v = Double.NaN;
        }
        if (!(v >= lo && v <= hi)) {
            System.err.println(ENGINE + ": bad value '" + s + "' for " + opt);
            usage();
        }
        return v;
    }

    void parseArgs(String[] argv) {
        boolean kSet = false;
        if (argv.length < 1) usage();
        cmd = argv[0];
        if (cmd.equals("version")) return;
        if (!cmd.equals("index") && !cmd.equals("query")) usage();
        if (argv.length < 2 || argv[1].startsWith("-")) usage();
        dir = Paths.get(argv[1]);
        for (int i = 2; i < argv.length; i++) {
            String opt = argv[i];
            String val = null;
            if (!opt.startsWith("--")) {
                System.err.println(ENGINE + ": unexpected argument '" + opt + "'");
                usage();
            }
            int eq = opt.indexOf('=');
            if (eq >= 0) {
                val = opt.substring(eq + 1);
                opt = opt.substring(0, eq);
            }
            if (opt.equals("--no-merge")) {
                merge = false;
                continue;
            }
            if (val == null) {
                if (i + 1 >= argv.length) {
                    System.err.println(ENGINE + ": " + opt + " needs a value");
                    usage();
                }
                val = argv[++i];
            }
            switch (opt) {
            case "--mode":
                switch (val) {
                case "top": mode = Mode.TOP; break;
                case "count": mode = Mode.COUNT; break;
                case "trec": mode = Mode.TREC; break;
                default:
                    System.err.println(ENGINE + ": unknown mode '" + val + "'");
                    usage();
                }
                break;
            case "--k": k = (int) number(opt, val, 1, 1e7); kSet = true; break;
            case "--repeat": repeat = (int) number(opt, val, 1, 1e6); break;
            case "--warmup": warmup = (int) number(opt, val, 0, 1e6); break;
            case "--k1": k1 = (float) number(opt, val, 0, 1e6); break;
            case "--b": b = (float) number(opt, val, 0, 1); break;
            default:
                System.err.println(ENGINE + ": unknown option '" + opt + "'");
                usage();
            }
        }
        if (mode == Mode.TREC && !kSet) k = 1000;
    }

    static void die(String msg) {
        System.err.println(ENGINE + ": " + msg);
        System.exit(1);
    }

    /* ---- files ---------------------------------------------------------- */

    static void resetDir(Path d) throws IOException {
        if (Files.exists(d)) {
            if (!Files.isDirectory(d)) die("'" + d + "' exists and is not a directory");
            try (Stream<Path> s = Files.walk(d)) {
                List<Path> all = new ArrayList<>();
                s.forEach(all::add);
                all.sort(Comparator.reverseOrder());
                for (Path p : all)
                    if (!p.equals(d)) Files.delete(p);
            }
        } else {
            Files.createDirectories(d);
        }
    }

    static long dirBytes(Path d) throws IOException {
        try (Stream<Path> s = Files.walk(d)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        }
    }

    /* ---- document stream ------------------------------------------------ */

    /** Undo the stream's escapes: \\ \t \n \r. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(i + 1);
                char r = n == '\\' ? '\\' : n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : 0;
                if (r != 0) {
                    sb.append(r);
                    i++;
                    continue;
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }

    static BufferedReader stdin() {
        return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 20);
    }

    static PrintWriter stdout() {
        return new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16));
    }

    static void printIndex(long docs, double seconds, double mergeSeconds, long bytes) {
        System.out.println(String.format(Locale.ROOT,
            "{\"engine\":\"%s\",\"docs\":%d,\"seconds\":%.3f,\"index_bytes\":%d,\"merge_seconds\":%.3f}",
            ENGINE, docs, seconds, bytes, mergeSeconds));
        System.out.flush();
    }

    /* ---- index ---------------------------------------------------------- */

    int index() throws IOException {
        resetDir(dir);
        long t0 = System.nanoTime();
        long n = 0;
        double mergeSeconds = 0;
        Analyzer analyzer = new EnglishAnalyzer();
        IndexWriterConfig cfg = new IndexWriterConfig(analyzer)
            .setOpenMode(IndexWriterConfig.OpenMode.CREATE)
            .setSimilarity(new BM25Similarity(k1, b))
            .setRAMBufferSizeMB(Integer.getInteger("peer.ramBufferMB", 256))
            .setMergeScheduler(new SerialMergeScheduler());
        try (FSDirectory fsd = FSDirectory.open(dir);
             IndexWriter w = new IndexWriter(fsd, cfg);
             BufferedReader in = stdin()) {
            Document doc = new Document();
            StoredField idField = new StoredField(ID, "");
            Field body = new TextField(FIELD, "", Field.Store.NO);
            doc.add(idField);
            doc.add(body);
            String line;
            long lineno = 0;
            while ((line = in.readLine()) != null) {
                lineno++;
                if (line.isEmpty()) continue;
                int t1 = line.indexOf('\t');
                int t2 = t1 < 0 ? -1 : line.indexOf('\t', t1 + 1);
                if (t2 < 0 || line.indexOf('\t', t2 + 1) >= 0)
                    die("document stream line " + lineno + ": expected id<TAB>title<TAB>text");
                String id = unescape(line.substring(0, t1));
                if (id.isEmpty()) die("document stream line " + lineno + ": empty id");
                idField.setStringValue(id);
                body.setStringValue(unescape(line.substring(t2 + 1)));
                w.addDocument(doc);
                n++;
            }
            w.commit();
            if (merge) {
                long t1 = System.nanoTime();
                w.forceMerge(1);
                w.commit();
                mergeSeconds = (System.nanoTime() - t1) / 1e9;
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        printIndex(n, seconds, mergeSeconds, dirBytes(dir));
        return 0;
    }

    /* ---- query ---------------------------------------------------------- */

    static final class Hits {
        final List<String> ids = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        long count;
        String err;

        void clear() {
            ids.clear();
            scores.clear();
            count = 0;
            err = null;
        }
    }

    Analyzer analyzer;
    IndexSearcher searcher;
    QueryParser parser;
    final Set<String> idOnly = Collections.singleton(ID);

    /** Bag of words: the analyser's tokens, OR'ed, boosted by their counts. */
    Query bagOfWords(String text) throws IOException {
        Map<String, Integer> counts = new LinkedHashMap<>();
        try (TokenStream ts = analyzer.tokenStream(FIELD, text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) counts.merge(term.toString(), 1, Integer::sum);
            ts.end();
        }
        BooleanQuery.Builder bq = new BooleanQuery.Builder();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            Query tq = new TermQuery(new Term(FIELD, e.getKey()));
            if (e.getValue() > 1) tq = new BoostQuery(tq, e.getValue());
            bq.add(tq, BooleanClause.Occur.SHOULD);
        }
        return bq.build();
    }

    /** Run one query; false (with h.err set) on an error in this query. */
    boolean run(String text, Hits h) {
        try {
            Query q = mode == Mode.TREC ? bagOfWords(text) : parser.parse(text);
            if (mode == Mode.COUNT) {
                h.count = searcher.count(q);
                return true;
            }
            TopDocs td = searcher.search(q, k);
            for (ScoreDoc sd : td.scoreDocs) {
                h.ids.add(searcher.doc(sd.doc, idOnly).get(ID));
                h.scores.add(sd.score);
            }
            h.count = h.ids.size();
            return true;
        } catch (Exception | StackOverflowError e) {
            String msg = e.toString().replace('\n', ' ');
            h.err = msg.length() > 200 ? msg.substring(0, 200) + "..." : msg;
            return false;
        }
    }

    int query() throws IOException {
        /* FSDirectory.open would create a missing directory: refuse first. */
        if (!Files.isDirectory(dir)) die("no index at '" + dir + "'");
        List<String[]> queries = new ArrayList<>();
        try (BufferedReader in = stdin()) {
            String line;
            long lineno = 0;
            while ((line = in.readLine()) != null) {
                lineno++;
                if (line.isEmpty()) continue;
                int tab = line.indexOf('\t');
                if (tab >= 0) queries.add(new String[] {line.substring(0, tab), line.substring(tab + 1)});
                else queries.add(new String[] {Long.toString(lineno), line});
            }
        }
        boolean trec = mode == Mode.TREC;
        int reps = trec ? 1 : repeat;
        int passes = trec ? 0 : warmup;
        long tStart = System.nanoTime();
        long errors = 0;
        double sum = 0;
        double[] times = new double[reps];
        Hits h = new Hits();

        try (FSDirectory fsd = FSDirectory.open(dir);
             DirectoryReader reader = DirectoryReader.open(fsd);
             PrintWriter out = stdout()) {
            analyzer = new EnglishAnalyzer();
            searcher = new IndexSearcher(reader);
            searcher.setSimilarity(new BM25Similarity(k1, b));
            searcher.setQueryCache(null);
            parser = new QueryParser(FIELD, analyzer);
            parser.setDefaultOperator(QueryParser.Operator.OR);

            for (int p = 0; p < passes; p++)
                for (String[] q : queries) {
                    h.clear();
                    run(q[1], h);
                }

            for (String[] q : queries) {
                boolean ok = true;
                for (int r = 0; r < reps && ok; r++) {
                    h.clear();
                    long t0 = System.nanoTime();
                    ok = run(q[1], h);
                    times[r] = (System.nanoTime() - t0) / 1e3;
                }
                if (!ok) {
                    errors++;
                    System.err.println(ENGINE + ": query " + q[0] + ": " + h.err);
                    if (!trec) out.print(q[0] + "\t0\t-1\t\n");
                    continue;
                }
                Arrays.sort(times);
                double med = reps % 2 == 1 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
                sum += med;
                if (trec) {
                    for (int j = 0; j < h.ids.size(); j++)
                        out.print(q[0] + " Q0 " + h.ids.get(j) + " " + (j + 1) + " "
                                  + String.format(Locale.ROOT, "%.6f", h.scores.get(j)) + " " + ENGINE + "\n");
                } else {
                    StringBuilder sb = new StringBuilder();
                    sb.append(q[0]).append('\t').append(String.format(Locale.ROOT, "%.1f", med))
                      .append('\t').append(h.count).append('\t');
                    if (mode == Mode.TOP) sb.append(String.join(",", h.ids));
                    out.print(sb.append('\n'));
                }
            }
            out.flush();
        }
        long ok = queries.size() - errors;
        System.err.println(String.format(Locale.ROOT,
            "%s: %s: %d queries, %d errors, repeat %d, warmup %d: mean %.1f us/query, %.2f s wall",
            ENGINE, mode.name().toLowerCase(Locale.ROOT), queries.size(), errors, reps, passes,
            ok > 0 ? sum / ok : 0.0, (System.nanoTime() - tStart) / 1e9));
        return 0;
    }

    public static void main(String[] argv) throws Exception {
        LucenePeer p = new LucenePeer();
        p.parseArgs(argv);
        int rc;
        try {
            switch (p.cmd) {
            case "version":
                System.out.println(ENGINE + ": Lucene " + Version.LATEST + ", Java "
                                   + System.getProperty("java.version"));
                rc = 0;
                break;
            case "index": rc = p.index(); break;
            default: rc = p.query(); break;
            }
        } catch (IOException e) {
            die(e.toString());
            rc = 1;
        }
        System.exit(rc);
    }
}
