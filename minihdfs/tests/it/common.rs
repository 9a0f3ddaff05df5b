//! Shared helpers: cluster setup, deterministic data, an `hdfs-native` client and bounded waits.

use std::future::Future;
use std::time::Duration;

use minihdfs::{Config, MiniHdfs};

/// Block size used by tests so that a few MiB already span several blocks.
pub const BLOCK: u64 = 1 << 20;
/// Upper bound for any single client operation.
pub const OP_TIMEOUT: Duration = Duration::from_secs(60);

/// A cluster with its own temporary data directory.
pub struct TestCluster {
    pub hdfs: MiniHdfs,
    pub dir: tempfile::TempDir,
}

/// Starts a cluster with 1 MiB blocks and listing pages of `page` entries.
pub fn start_with_page(page: usize) -> TestCluster {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(dir.path());
    config.block_size = BLOCK;
    config.listing_page_size = page;
    config.user = "sluice".into();
    let hdfs = MiniHdfs::start(config).expect("start minihdfs");
    TestCluster { hdfs, dir }
}

/// Starts a cluster with 1 MiB blocks and the default listing page size.
pub fn start() -> TestCluster {
    start_with_page(1000)
}

/// `len` deterministic pseudo-random bytes (xorshift seeded with `seed`).
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Runs `f` on a fresh two-thread tokio runtime, failing the test if it takes longer than `secs`.
pub fn run<F: Future>(secs: u64, f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(secs), f).await.expect("test timed out") })
}

/// An `hdfs-native` client for the cluster (must be called inside [`run`]).
pub fn client(c: &TestCluster) -> hdfs_native::Client {
    hdfs_native::ClientBuilder::new().with_url(c.hdfs.url()).with_user("sluice").build().expect("client")
}

/// Writes `bytes` to `path` with `hdfs-native`, in several `write` calls.
pub async fn write(client: &hdfs_native::Client, path: &str, bytes: &[u8], overwrite: bool) {
    let opts = hdfs_native::WriteOptions::default().overwrite(overwrite);
    let mut w = client.create(path, opts).await.expect("create");
    for chunk in bytes.chunks(300_000) {
        w.write_bytes(bytes::Bytes::copy_from_slice(chunk)).await.expect("write");
    }
    w.close().await.expect("close");
}

/// Reads all of `path` with `hdfs-native`.
pub async fn read(client: &hdfs_native::Client, path: &str) -> Vec<u8> {
    let mut r = client.read(path).await.expect("open for read");
    let len = r.file_length();
    r.read_bytes(len).await.expect("read").to_vec()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}
