//! Per-batch overhead, two ways.
//!
//! - `engine/{empty_batch,one_record}/{threads}`: empty and one-record batches through a
//!   three-operator job (map → filter → reduce_by_key), stepped back to back on a worker thread
//!   by the test kit's `Stepper` (the graph's run of one batch alone). The floor beside them,
//!   `hand_loop/one_record`, is a plain function call doing the same three steps on a
//!   one-record `Vec`.
//! - `batch_loop/{pipelined,one_at_a_time}/{threads}`: empty batches through the real batch
//!   loop of a started `StreamingContext` (a queue stream that is never fed, then the same
//!   three operators and a `foreach_batch` output), on a `ManualClock`: the generator thread
//!   waits on the clock, allocates the batch's input and sends the batch over the channel, the
//!   processor thread receives it, runs it on the pool, builds its `BatchInfo` and calls the
//!   batch listeners. `pipelined` moves the clock forward by all the batches of a sample at
//!   once, so the generator and the processor run them back to back (the loop's cost per
//!   batch, as in a job that has fallen behind); `one_at_a_time` moves it one batch and waits
//!   for that batch to complete before the next (the cost of a batch on a job that is idle
//!   between batches: it adds the wake-ups of the generator, the processor and the bench's
//!   own thread).
//!
//! The bench waits on a condition variable the batch listener signals once the sample's last
//! batch has completed, never on sleeps. Criterion reports per-batch means per sample; read
//! the median of those (its report) with the range of the samples.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use parking_lot::{Condvar, Mutex};
use stream_runtime::testing::Stepper;
use stream_runtime::{Batch, BatchQueue, Duration, ManualClock, RunningContext, StreamingContext, Time};

/// Batches completed, and the count the bench waits for.
#[derive(Default)]
struct Completed {
    count: AtomicU64,
    target: AtomicU64,
    lock: Mutex<()>,
    reached: Condvar,
}

/// A started job on a manual clock, empty batches only.
struct BatchLoop {
    clock: ManualClock,
    zero: Time,
    batch: Duration,
    done: Arc<Completed>,
    /// Batches asked for so far.
    asked: u64,
    running: Option<RunningContext>,
}

impl BatchLoop {
    fn start(threads: usize) -> BatchLoop {
        let clock = ManualClock::new(Time::from_millis(0));
        let batch = Duration::seconds(1);
        let ssc = StreamingContext::new(batch)
            .with_threads(threads)
            .with_name("overhead-bench")
            .with_clock(Arc::new(clock.clone()));
        let done = Arc::new(Completed::default());
        let signal = Arc::clone(&done);
        ssc.on_batch_completed(move |_| {
            let n = signal.count.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= signal.target.load(Ordering::SeqCst) {
                let _held = signal.lock.lock();
                signal.reached.notify_all();
            }
        });
        ssc.queue_stream(BatchQueue::<u64>::new(), false, None)
            .map(|x| (x % 7, x))
            .filter(|(_, v)| *v != 3)
            .reduce_by_key(|a, b| a + b)
            .foreach_batch(|b, _| {
                std::hint::black_box(b.len());
            });
        let running = ssc.start().expect("the job starts");
        BatchLoop { clock, zero: running.zero_time(), batch, done, asked: 0, running: Some(running) }
    }

    /// Runs `n` more batches, moving the clock by `step` batches at a time and waiting for
    /// each step's batches to complete.
    fn run(&mut self, n: u64, step: u64) -> StdDuration {
        let began = Instant::now();
        let end = self.asked + n;
        while self.asked < end {
            self.asked = (self.asked + step).min(end);
            self.done.target.store(self.asked, Ordering::SeqCst);
            self.clock.set(self.zero + self.batch * self.asked as i64);
            let mut held = self.done.lock.lock();
            while self.done.count.load(Ordering::SeqCst) < self.asked {
                self.done.reached.wait(&mut held);
            }
        }
        began.elapsed()
    }
}

impl Drop for BatchLoop {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop(false);
        }
    }
}

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_overhead");
    // Sub-microsecond cases: two seconds hold millions of iterations.
    group.warm_up_time(StdDuration::from_millis(500)).measurement_time(StdDuration::from_secs(2));
    group.bench_function("hand_loop/one_record", |b| {
        b.iter(|| {
            let mut m = hashbrown::HashMap::<u64, u64>::new();
            for x in std::hint::black_box(vec![42u64]) {
                if x != 3 {
                    *m.entry(x % 7).or_default() += x;
                }
            }
            m.len()
        })
    });
    for threads in [1usize, 2] {
        let mut step =
            Stepper::new(threads, |s| s.map(|x: u64| (x % 7, x)).filter(|(_, v)| *v != 3).reduce_by_key(|a, b| a + b));
        for (name, records) in [("empty_batch", 0usize), ("one_record", 1)] {
            group.bench_function(format!("engine/{name}/{threads}"), |b| {
                b.iter_custom(|iters| {
                    let began = Instant::now();
                    step.step_many(iters as usize, |_| Batch::from(vec![42u64; records]));
                    began.elapsed().max(StdDuration::from_nanos(1))
                })
            });
        }
    }
    for threads in [1usize, 2] {
        let mut job = BatchLoop::start(threads);
        group.bench_function(format!("batch_loop/pipelined/{threads}"), |b| {
            b.iter_custom(|iters| job.run(iters, iters))
        });
        group.bench_function(format!("batch_loop/one_at_a_time/{threads}"), |b| {
            b.iter_custom(|iters| job.run(iters, 1))
        });
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
