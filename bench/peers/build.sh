#!/bin/sh
# build.sh -- compile the peer drivers into bench/peers/bin/:
#   bin/fts5    (C, Debian's libsqlite3-dev)
#   bin/xapian  (C++, Debian's libxapian-dev)
#   bin/lucene  (a wrapper script running bin/lucene-peer.jar with
#                Debian's liblucene8-java jars on the class path)
# Run install.sh first on a fresh machine.  Usage: build.sh [fts5|xapian|lucene]...
# CC, CXX, CFLAGS, CXXFLAGS and JAVAC are honoured.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=$here/bin
CC=${CC:-cc}
CXX=${CXX:-c++}
JAVAC=${JAVAC:-javac}
OPT="-O2 -DNDEBUG"
WARN="-Wall -Wextra -Wshadow"
mkdir -p "$bin"

build_fts5() {
    $CC -std=c11 -D_GNU_SOURCE $OPT $WARN -Wstrict-prototypes -Wmissing-prototypes \
        ${CFLAGS:-} -o "$bin/fts5" "$here/fts5/fts5_peer.c" "$here/common/peer.c" \
        -lsqlite3 -lm
    "$bin/fts5" version >/dev/null || {
        echo "build.sh: this SQLite has no FTS5 (see: $bin/fts5 version)" >&2; exit 1; }
}

build_xapian() {
    $CC -std=c11 -D_GNU_SOURCE $OPT $WARN ${CFLAGS:-} -c -o "$bin/peer.o" "$here/common/peer.c"
    $CXX -std=c++17 $OPT $WARN ${CXXFLAGS:-} -o "$bin/xapian" \
        "$here/xapian/xapian_peer.cc" "$bin/peer.o" -lxapian -lm
    rm -f "$bin/peer.o"
}

# The newest /usr/share/java/NAME[-VERSION].jar.
find_jar() {
    for f in $(ls /usr/share/java/"$1"-[0-9]*.jar 2>/dev/null | sort -V -r) \
             /usr/share/java/"$1".jar; do
        if [ -f "$f" ]; then echo "$f"; return 0; fi
    done
    echo "build.sh: no $1 jar in /usr/share/java (run install.sh)" >&2
    return 1
}

build_lucene() {
    cp=
    for name in lucene-core lucene-analyzers-common lucene-queryparser lucene-queries; do
        jar=$(find_jar $name) || exit 1
        cp=${cp:+$cp:}$jar
    done
    classes=$bin/lucene-classes
    rm -rf "$classes"
    mkdir -p "$classes"
    $JAVAC -nowarn -encoding UTF-8 -cp "$cp" -d "$classes" "$here/lucene/LucenePeer.java"
    (cd "$classes" && jar cf "$bin/lucene-peer.jar" .)
    rm -rf "$classes"
    cat >"$bin/lucene" <<WRAPPER
#!/bin/sh
# Written by bench/peers/build.sh: runs the Lucene peer driver.
# JAVA_OPTS is passed to the JVM (e.g. JAVA_OPTS=-Xmx8g).
here=\$(cd "\$(dirname "\$0")" && pwd)
exec java \${JAVA_OPTS:-} -cp "\$here/lucene-peer.jar:$cp" LucenePeer "\$@"
WRAPPER
    chmod +x "$bin/lucene"
}

engines=${*:-fts5 xapian lucene}
for e in $engines; do
    case $e in
    fts5) build_fts5 ;;
    xapian) build_xapian ;;
    lucene) build_lucene ;;
    *) echo "build.sh: unknown engine '$e' (fts5, xapian, lucene)" >&2; exit 2 ;;
    esac
    echo "built $bin/$e"
done
