#!/usr/bin/env bash
# Sluice beside Spark Streaming, side by side, in one command:
#
#   bash benches/spark/compare.sh
#
# Installs PySpark 3.5.x from PyPI into a virtual environment under the target directory (its
# wheel carries the Spark jars), compiles benches/spark/SparkBench.java against those jars,
# builds the Sluice side (`sluice-compare`, benches/src/compare.rs) in release, generates the
# corpora with our generator (sluice-gen-corpus, benches/src/corpus.rs), and runs every workload on Spark (local[2]) and on
# Sluice (2 threads): the same program over the same files, one file moved in per batch, batches
# driven by a manual clock on both sides. Per-batch times are each engine's own: Spark's
# StreamingListener processing delay, Sluice's BatchInfo::processing_time. Prints the table of
# medians, ratios and peak RSS (also written to $WORK/results.md), and fails when the final
# counts of the word count, the running counts or the window differ.
#
# Opt-in only: scripts/test.sh never runs it. Settings (environment):
#   SLUICE_SPARK_WC_MB       MiB per word-count batch (default 32)
#   SLUICE_SPARK_WC_BATCHES  word-count batches (default 8; the first 2 are warm-up)
#   SLUICE_SPARK_STATE_BATCHES  batches of the state and window workloads (default 40)
#   SLUICE_SPARK_EMPTY_BATCHES  empty batches (default 40; the first 10 are warm-up)
#   SLUICE_SPARK_JAVA_OPTS   extra JVM options (default -Xmx4g)
#   SLUICE_SPARK_ONLY        run only these workloads (e.g. "wordcount empty")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$TARGET/spark-bench
VENV=$WORK/venv
WC_MB=${SLUICE_SPARK_WC_MB:-32}
WC_BATCHES=${SLUICE_SPARK_WC_BATCHES:-8}
WC_WARMUP=2
STATE_BATCHES=${SLUICE_SPARK_STATE_BATCHES:-40}
STATE_MB=1.2
EMPTY_BATCHES=${SLUICE_SPARK_EMPTY_BATCHES:-40}
EMPTY_WARMUP=10
JAVA_OPTS=${SLUICE_SPARK_JAVA_OPTS:--Xmx4g}
ONLY=${SLUICE_SPARK_ONLY:-wordcount state window empty}
mkdir -p "$WORK"

say() { printf '== %s\n' "$*" >&2; }

# 1. PySpark 3.5.x (the jars) in a virtual environment.
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
    say "installing PySpark 3.5.x into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet 'pyspark>=3.5,<3.6'
fi
SPARK_VERSION=$("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)')
JARS=$("$VENV/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')

# 2. Our Spark Streaming program.
say "compiling SparkBench.java against Spark $SPARK_VERSION"
rm -rf "$WORK/classes" && mkdir -p "$WORK/classes"
javac -nowarn -d "$WORK/classes" -cp "$JARS/*" "$ROOT/benches/spark/SparkBench.java" 2>&1 | grep -v '^Note:' >&2 || true
[[ -f $WORK/classes/SparkBench.class ]] || { echo "javac failed" >&2; exit 1; }
# What spark-submit adds for Java 17 (Spark's JavaModuleOptions), and loopback-only networking.
JVM=(java $JAVA_OPTS -XX:+IgnoreUnrecognizedVMOptions
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
    --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
    -Djdk.reflect.useDirectMethodHandle=false -Dspark.driver.host=127.0.0.1 -Dspark.driver.bindAddress=127.0.0.1
    -cp "$WORK/classes:$JARS/*" SparkBench)

# 3. The Sluice side.
say "building sluice-compare and sluice-gen-corpus (release)"
(cd "$ROOT" && cargo build --release --quiet -p sluice-benches --bin sluice-compare --bin sluice-gen-corpus)
SLUICE=$TARGET/release/sluice-compare
GEN=$TARGET/release/sluice-gen-corpus

# 4. The corpora, generated once and kept: the word count's files are one corpus of
#    WC_MB * WC_BATCHES MiB cut into WC_BATCHES files; the state and window inputs are
#    STATE_BATCHES files of STATE_MB MiB, each from its own seed, so each brings a new
#    vocabulary and the key space grows to about a million words.
corpus() { # name, generator command...
    local dir=$WORK/corpus/$1; shift
    if [[ ! -d $dir ]]; then
        say "generating $dir"
        rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
        "$@" "$dir.tmp"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}
gen_wc() { "$GEN" --mb $((WC_MB * WC_BATCHES)) --files "$WC_BATCHES" --out "$1/batch"; }
gen_state() {
    for i in $(seq 1 "$STATE_BATCHES"); do
        "$GEN" --mb "$STATE_MB" --seed "$i" --out "$1/batch.$(printf %03d "$i")"
    done
}
WC_DIR=$(corpus "wordcount-${WC_MB}mb-x$WC_BATCHES" gen_wc)
STATE_DIR=$(corpus "state-${STATE_MB}mb-x$STATE_BATCHES" gen_state)

# 5. Each workload on each engine, in a fresh run directory.
RUNS=$WORK/runs
rm -rf "$RUNS" && mkdir -p "$RUNS"
run_one() { # engine, workload, input dir or "", batches
    local engine=$1 workload=$2 input=$3 batches=$4 dir=$RUNS/$1-$2
    mkdir -p "$dir/staging"
    [[ -n $input ]] && cp "$input"/* "$dir/staging/"
    say "$engine $workload: $batches batches"
    local cmd
    if [[ $engine == spark ]]; then cmd=("${JVM[@]}"); else cmd=("$SLUICE"); fi
    /usr/bin/time -f '%M' -o "$dir/rss_kb" "${cmd[@]}" "$workload" "$dir/staging" "$dir/watch" "$batches" \
        "$dir/times.tsv" "$dir/counts.tsv" "$dir/checkpoint" 2> "$dir/log" || {
        tail -30 "$dir/log" >&2
        echo "$engine $workload failed; the log is $dir/log" >&2
        exit 1
    }
    rm -rf "$dir/staging" "$dir/watch" "$dir/checkpoint"
}
for w in $ONLY; do
    case $w in
        wordcount) input=$WC_DIR batches=$WC_BATCHES ;;
        state | window) input=$STATE_DIR batches=$STATE_BATCHES ;;
        empty) input="" batches=$EMPTY_BATCHES ;;
        *) echo "unknown workload $w" >&2; exit 2 ;;
    esac
    run_one spark "$w" "$input" "$batches"
    run_one sluice "$w" "$input" "$batches"
done

# 6. Equal outputs.
status=0
for w in wordcount state window; do
    [[ -f $RUNS/spark-$w/counts.tsv && -f $RUNS/sluice-$w/counts.tsv ]] || continue
    if cmp -s "$RUNS/spark-$w/counts.tsv" "$RUNS/sluice-$w/counts.tsv"; then
        say "$w: final counts equal ($(wc -l < "$RUNS/sluice-$w/counts.tsv") keys)"
    else
        echo "MISMATCH: $w final counts differ between Spark and Sluice:" >&2
        diff "$RUNS/spark-$w/counts.tsv" "$RUNS/sluice-$w/counts.tsv" | head -20 >&2 || true
        status=1
    fi
done

# 7. The table.
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
RUSTC=$(rustc --version)
JAVA=$(java -version 2>&1 | head -1)
python3 - "$RUNS" "$WC_MB" "$WC_WARMUP" "$EMPTY_WARMUP" "$SPARK_VERSION" "$CPU" "$RUSTC" "$JAVA" "$JAVA_OPTS" "$ONLY" <<'EOF' | tee "$WORK/results.md"
import datetime, os, statistics, sys
runs, wc_mb, wc_warm, empty_warm, spark, cpu, rustc, java, jopts, only = sys.argv[1:]
wc_mb, wc_warm, empty_warm = float(wc_mb), int(wc_warm), int(empty_warm)

def times(engine, w):
    with open(os.path.join(runs, f"{engine}-{w}", "times.tsv")) as f:
        return [float(line.split("\t")[1]) for line in f if line.strip()]

def rss(engine, w):
    with open(os.path.join(runs, f"{engine}-{w}", "rss_kb")) as f:
        return int(f.read().split()[-1]) / 1024

def fmt(ms):
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms" if ms >= 1 else f"{ms * 1000:.1f} µs"

rows = []
for w in only.split():
    s, r = times("spark", w), times("sluice", w)
    if w == "wordcount":
        keep = slice(wc_warm, None)
        what = f"word count, {wc_mb:g} MiB per batch (batches {wc_warm + 1}–{len(s)})"
    elif w in ("state", "window"):
        # The state is near a million keys, the window full and sliding: the last batches,
        # less the very last, which also hands the whole result to the driver.
        keep = slice(len(s) - 9, len(s) - 1)
        label = "updateStateByKey running counts" if w == "state" else "reduceByKeyAndWindow with inverse, 30 × 1 batches"
        what = f"{label} (batches {len(s) - 8}–{len(s) - 1})"
    else:
        keep = slice(empty_warm, None)
        what = f"empty batches (batches {empty_warm + 1}–{len(s)})"
    ms, mr = statistics.median(s[keep]), statistics.median(r[keep])
    ratio = ms / mr if mr > 0 else float("inf")
    extra = ""
    if w == "wordcount":
        extra = f"; {wc_mb / (ms / 1000):.1f} vs {wc_mb / (mr / 1000):.0f} MiB/s"
    rows.append((what + extra, fmt(ms), fmt(mr), f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×",
                 f"{rss('spark', w):,.0f} MiB", f"{rss('sluice', w):,.0f} MiB"))

print(f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
      f"Spark {spark} (PySpark wheel jars, local[2], {java}, {jopts}) and Sluice on 2 threads ({rustc}).")
print()
print("| workload | Spark median per batch | Sluice median per batch | Spark / Sluice | Spark peak RSS | Sluice peak RSS |")
print("|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
EOF
if [[ $status != 0 ]]; then
    echo "FAILED: the engines' outputs differ" >&2
fi
exit $status
