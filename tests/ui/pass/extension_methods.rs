//! A user's own extension methods compile, whatever their names: `tap`, `max`, `min`, `log`,
//! `windowed` are not typos of Sluice's operators. Only Spark's camelCase names are flagged.
use stream_runtime::chain::Chain;
use stream_runtime::prelude::*;

trait Debugging<'a> {
    fn tap(self) -> DStream<'a, i32>;
    fn max(self) -> DStream<'a, i32>;
    fn min(self) -> DStream<'a, i32>;
    fn log(self) -> DStream<'a, i32>;
    fn windowed(self) -> DStream<'a, i32>;
}

impl<'a, C: Chain<Out = i32>> Debugging<'a> for DStream<'a, i32, C> {
    fn tap(self) -> DStream<'a, i32> {
        self.boxed()
    }
    fn max(self) -> DStream<'a, i32> {
        self.reduce(|a, b| a.max(b))
    }
    fn min(self) -> DStream<'a, i32> {
        self.reduce(|a, b| a.min(b))
    }
    fn log(self) -> DStream<'a, i32> {
        self.map(|x| x.max(1).ilog2() as i32).boxed()
    }
    fn windowed(self) -> DStream<'a, i32> {
        self.window(Duration::seconds(2), Duration::seconds(1)).boxed()
    }
}

#[stream_job(batch = "1s")]
fn extended(ssc: &mut StreamingContext, n: i32) {
    let queue = BatchQueue::new();
    queue.push((0..n).collect::<Vec<_>>());
    let numbers = ssc.queue_stream(queue, true, None);
    numbers.clone().tap().max().print();
    numbers.clone().min().log().print();
    numbers.windowed().count().print();
}

fn main() {
    let mut ssc = StreamingContext::new(Duration::seconds(1));
    EXTENDED.build(&mut ssc, ["4"]).unwrap();
    assert!(EXTENDED.plan().contains("tap [opaque]"), "{}", EXTENDED.plan());
}
