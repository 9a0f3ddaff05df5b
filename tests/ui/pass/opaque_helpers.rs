//! Code the macro cannot analyse (helpers, loops, extension methods) compiles and runs as
//! written.
use stream_runtime::prelude::*;

trait Twice<'a> {
    fn twice(self) -> DStream<'a, i32>;
}

impl<'a, C: stream_runtime::chain::Chain<Out = i32>> Twice<'a> for DStream<'a, i32, C> {
    fn twice(self) -> DStream<'a, i32> {
        self.map(|x| x * 2).boxed()
    }
}

fn numbers(ssc: &StreamingContext, n: i32) -> DStream<'_, i32> {
    let queue = BatchQueue::new();
    queue.push((0..n).collect::<Vec<_>>());
    ssc.queue_stream(queue, true, None)
}

fn register(ssc: &StreamingContext) {
    numbers(ssc, 3).count().print();
}

#[stream_job(batch = "500ms", threads = 1, checkpoint = "/tmp/sluice-ui")]
fn opaque(ssc: &mut StreamingContext, n: i32) {
    register(ssc);
    for i in 0..n {
        numbers(ssc, i).twice().print();
    }
    let evens = numbers(ssc, n).filter(|x| x % 2 == 0);
    evens.twice().print_n(3);
}

fn main() {
    assert_eq!(OPAQUE.name(), "opaque");
    let mut ssc = StreamingContext::new(Duration::millis(100));
    OPAQUE.build(&mut ssc, ["2"]).unwrap();
}
