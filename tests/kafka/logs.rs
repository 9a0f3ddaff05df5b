//! The engine's log lines, captured for tests that check what was reported.

use std::sync::Mutex;

/// Every log line of this test binary (info and up, without ANSI colours).
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the engine's logs (once per test binary).
pub fn capture() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("stream_runtime=info")
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// Captured lines holding both `a` and `b`.
pub fn lines_with(a: &str, b: &str) -> Vec<String> {
    let log = LOG.lock().unwrap();
    String::from_utf8_lossy(&log).lines().filter(|l| l.contains(a) && l.contains(b)).map(str::to_string).collect()
}
