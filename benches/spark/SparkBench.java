// The Spark Streaming side of the comparison (`benches/spark/compare.sh`); the Sluice side is
// `benches/src/compare.rs`, the same four programs. Compiled by the script with `javac` against
// the jars of the PySpark wheel and run on `local[2]`.
//
//   java SparkBench WORKLOAD STAGING WATCH BATCHES TIMES_OUT COUNTS_OUT CHECKPOINT_DIR
//
// WORKLOAD is one of:
//   wordcount  lines.flatMap(split " ").mapToPair((w, 1)).reduceByKey(+), each batch collected
//              and added to the driver's totals; COUNTS_OUT gets the totals.
//   state      the same pairs through updateStateByKey(sum); each batch counts the state;
//              COUNTS_OUT gets the state after the last batch.
//   window     the same pairs through reduceByKeyAndWindow(+, -, 30 batches, 1 batch); each
//              batch counts the window; COUNTS_OUT gets the last window.
//   empty      the word count over a directory that never receives a file.
//
// Batches are driven by Spark's ManualClock (`spark.streaming.clock`), one-second batches:
// before batch i (time i * 1000 ms) the driver moves the i-th file of STAGING (in name order)
// into WATCH, dates it half a batch earlier, advances the clock by one batch and waits for the
// StreamingListener to report the batch completed. TIMES_OUT gets one line per batch:
// `batch_time_ms <TAB> processing_delay_ms`, Spark's own BatchInfo.processingDelay.

import java.io.BufferedWriter;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.streaming.scheduler.BatchInfo;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import org.apache.spark.util.ManualClock;
import scala.Tuple2;

public final class SparkBench {
    private static final long BATCH_MS = 1000;
    private static final long WINDOW_BATCHES = 30;

    // Driver-side state, static so the output closures capture nothing (the DStream graph is
    // serialized when checkpointing).
    private static final Map<String, Long> TOTALS = new HashMap<>();
    private static volatile List<Tuple2<String, Long>> lastBatch = null;
    private static volatile long lastTime = -1;
    private static final LinkedBlockingQueue<long[]> DONE = new LinkedBlockingQueue<>();

    /** Reports every completed batch: its time and Spark's processing delay. */
    static final class Listener implements StreamingListener {
        @Override
        public void onBatchCompleted(StreamingListenerBatchCompleted completed) {
            BatchInfo info = completed.batchInfo();
            long delay = info.processingDelay().isDefined() ? (Long) info.processingDelay().get() : -1L;
            DONE.add(new long[] {info.batchTime().milliseconds(), delay});
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 7) {
            System.err.println("usage: SparkBench WORKLOAD STAGING WATCH BATCHES TIMES_OUT COUNTS_OUT CHECKPOINT_DIR");
            System.exit(2);
        }
        String workload = args[0];
        Path staging = Paths.get(args[1]);
        Path watch = Paths.get(args[2]);
        int batches = Integer.parseInt(args[3]);
        Path timesOut = Paths.get(args[4]);
        Path countsOut = Paths.get(args[5]);
        String checkpoint = args[6];
        lastTime = batches * BATCH_MS;

        List<Path> files = new ArrayList<>();
        if (!workload.equals("empty")) {
            try (var listing = Files.list(staging)) {
                listing.sorted().forEach(files::add);
            }
            if (files.size() < batches) {
                throw new IllegalArgumentException(files.size() + " input files for " + batches + " batches");
            }
        }
        Files.createDirectories(watch);

        SparkConf conf = new SparkConf()
                .setMaster("local[2]")
                .setAppName("sluice-compare-" + workload)
                .set("spark.streaming.clock", "org.apache.spark.util.ManualClock")
                .set("spark.ui.enabled", "false")
                .set("spark.ui.showConsoleProgress", "false");
        JavaStreamingContext jssc = new JavaStreamingContext(conf, Durations.milliseconds(BATCH_MS));
        jssc.sparkContext().setLogLevel("WARN");
        jssc.checkpoint(checkpoint);
        ManualClock clock = (ManualClock) jssc.ssc().scheduler().clock();

        JavaDStream<String> lines = jssc.textFileStream(watch.toString());
        JavaPairDStream<String, Long> pairs =
                lines.flatMap(line -> Arrays.asList(line.split(" ")).iterator()).mapToPair(w -> new Tuple2<>(w, 1L));
        switch (workload) {
            case "wordcount":
            case "empty":
                pairs.reduceByKey(Long::sum).foreachRDD(rdd -> {
                    for (Tuple2<String, Long> p : rdd.collect()) {
                        TOTALS.merge(p._1(), p._2(), Long::sum);
                    }
                });
                break;
            case "state":
                pairs.updateStateByKey((List<Long> values, Optional<Long> old) -> {
                    long sum = old.orElse(0L);
                    for (long v : values) {
                        sum += v;
                    }
                    return Optional.of(sum);
                }).foreachRDD((rdd, time) -> {
                    if (time.milliseconds() == lastTime) {
                        lastBatch = rdd.collect();
                    } else {
                        rdd.count();
                    }
                });
                break;
            case "window":
                pairs.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b,
                        Durations.milliseconds(WINDOW_BATCHES * BATCH_MS), Durations.milliseconds(BATCH_MS))
                        .foreachRDD((rdd, time) -> {
                            if (time.milliseconds() == lastTime) {
                                lastBatch = rdd.collect();
                            } else {
                                rdd.count();
                            }
                        });
                break;
            default:
                throw new IllegalArgumentException("unknown workload " + workload);
        }
        jssc.ssc().addStreamingListener(new Listener());
        jssc.start();

        List<long[]> times = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            long t = (i + 1) * BATCH_MS;
            if (!files.isEmpty()) {
                Path target = watch.resolve(files.get(i).getFileName());
                Files.move(files.get(i), target, StandardCopyOption.ATOMIC_MOVE);
                new File(target.toString()).setLastModified(t - BATCH_MS / 2);
            }
            clock.setTime(t);
            long[] done = DONE.poll(30, TimeUnit.MINUTES);
            if (done == null || done[0] != t) {
                throw new IllegalStateException("batch " + t + " did not complete (got " + Arrays.toString(done) + ")");
            }
            times.add(done);
            System.err.printf("spark %s batch %d: %d ms%n", workload, i + 1, done[1]);
        }

        try (BufferedWriter w = Files.newBufferedWriter(timesOut, StandardCharsets.UTF_8)) {
            for (long[] t : times) {
                w.write(t[0] + "\t" + t[1] + "\n");
            }
        }
        Map<String, Long> counts = new TreeMap<>();
        if (workload.equals("wordcount") || workload.equals("empty")) {
            counts.putAll(TOTALS);
        } else {
            for (Tuple2<String, Long> p : lastBatch) {
                counts.put(p._1(), p._2());
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(countsOut, StandardCharsets.UTF_8)) {
            for (Map.Entry<String, Long> e : counts.entrySet()) {
                w.write(e.getKey() + "\t" + e.getValue() + "\n");
            }
        }
        jssc.stop(true, false);
    }
}
