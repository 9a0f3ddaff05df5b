//! Joins, unions, extension methods and helpers: compiles, and `stream-lang`'s snapshot
//! `joins_unions_and_opaque_code_plan` is its plan.
use stream_runtime::chain::Chain;
use stream_runtime::prelude::*;

trait Extension<'a> {
    fn my_extension(self) -> DStream<'a, (Str, i32)>;
}

impl<'a, C: Chain<Out = (Str, i32)>> Extension<'a> for DStream<'a, (Str, i32), C> {
    fn my_extension(self) -> DStream<'a, (Str, i32)> {
        self.filter(|(_, n)| *n > 1).boxed()
    }
}

fn register_more(ssc: &StreamingContext, dir: &str) {
    ssc.text_file_stream(dir).print();
}

#[stream_job]
fn joined(ssc: &mut StreamingContext, a: String, b: String) {
    ssc.checkpoint("/tmp/c");
    let left = ssc.text_file_stream(&a).map(|l| (l, 1));
    let right = ssc.text_file_stream(&b).map(|l| (l, 2)).reduce_by_key(|x, y| x + y);
    left.clone().join(right.clone()).map_values(|(x, y)| x + y).save_as_text_files("out/joined", "txt");
    left.union(ssc.text_file_stream(&b).map(|l| (l, 3))).repartition(4).group_by_key().print();
    right.my_extension().print();
    register_more(ssc, &a);
    for i in 0..2 {
        ssc.text_file_stream(&format!("{a}/{i}")).count().print();
    }
}

fn main() {
    assert_eq!(JOINED.name(), "joined");
}
