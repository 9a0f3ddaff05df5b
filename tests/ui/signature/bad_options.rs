use stream_runtime::prelude::*;

/// Each `#[opt]` is wrong: a duration default that does not parse, a default that is not the
/// option's text, an unknown argument, and a name every job's command line already has.
#[stream_job]
fn windowed(
    ssc: &mut StreamingContext,
    dir: String,
    #[opt(default = "soon")] window: Duration,
    #[opt(default = 4)] slide: Duration,
    #[opt(help = "how many")] n: usize,
    #[opt] duration: Duration,
) {
    let _ = (n, duration);
    ssc.text_file_stream(&dir).window(window, slide).print();
}

fn main() {}
