//! HDFS through the `hdfs-native` client: `hdfs://host:port/path` URLs.
//!
//! `hdfs-native` is asynchronous. Every [`HdfsFs`] hands its requests to one small tokio
//! runtime owned by this module (two I/O threads named `sluice-hdfs`, created on first use)
//! and waits for the answer on the calling thread, so the engine's worker threads never run
//! the reactor and calls are safe from any thread, including another runtime's workers.
//! Clients are created once per namenode authority and shared.
//!
//! Creating a client does not contact the namenode: an unreachable namenode makes each
//! operation fail with [`FsError::Remote`] (a single namenode is not retried for long: one
//! retry, then the error), and a later operation connects again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration as StdDuration;

use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};
use parking_lot::Mutex;

pub use super::{split_bounds, Split};
use super::{FileStatus, FileSystem, FsError, ReadBuf};
use crate::time::Time;

/// How long a namenode operation (listing, status, rename...) may take before it fails.
pub const DEFAULT_OP_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// The slowest transfer a write or a ranged read may make before it fails: on top of the
/// namenode time-out, one second per MiB. `hdfs-native` sets no deadline on namenode calls, so
/// without one a namenode that stopped answering would keep the caller (a batch, every process
/// of a cluster behind it) waiting for ever.
const SLOWEST_BYTES_PER_SEC: u64 = 1 << 20;

/// Why a request could not run on the I/O runtime.
#[derive(Debug, thiserror::Error)]
enum RuntimeError {
    /// The runtime's threads could not start (kept for every later request).
    #[error("cannot start the HDFS I/O runtime: {0}")]
    Start(#[source] Arc<std::io::Error>),
    /// The request's task ended without an answer.
    #[error("the HDFS request was dropped (the client panicked)")]
    Dropped,
}

impl RuntimeError {
    /// The error of a request on `path` that could not run.
    fn on(self, path: String) -> FsError {
        FsError::Remote { path, message: self.to_string(), source: Some(Box::new(self)) }
    }
}

/// The I/O runtime shared by every HDFS client.
fn runtime() -> Result<&'static tokio::runtime::Runtime, RuntimeError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, Arc<std::io::Error>>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sluice-hdfs")
                .enable_all()
                .build()
                .map_err(Arc::new)
        })
        .as_ref()
        .map_err(|e| RuntimeError::Start(Arc::clone(e)))
}

/// Starts `fut` on the I/O runtime; its output comes on the receiver.
fn spawn<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<std::sync::mpsc::Receiver<T>, RuntimeError> {
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    Ok(rx)
}

pub use super::split_hdfs_url as split_url;

/// An HDFS cluster reached through one namenode (or HA nameservice) authority.
///
/// Obtain one with [`HdfsFs::connect`] or [`fs::resolve`](super::resolve); both share one
/// client per authority.
///
/// ```no_run
/// use stream_runtime::fs::{hdfs::HdfsFs, FileSystem};
/// let fs = HdfsFs::connect("namenode:8020").unwrap();
/// fs.mkdirs("/user/me/in").unwrap();
/// fs.write("/user/me/in/a.txt", b"hello\n").unwrap();
/// assert_eq!(fs.read("/user/me/in/a.txt").unwrap(), b"hello\n");
/// ```
#[derive(Clone)]
pub struct HdfsFs {
    authority: String,
    client: Client,
    op_timeout: StdDuration,
}

impl std::fmt::Debug for HdfsFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdfsFs").field("authority", &self.authority).finish_non_exhaustive()
    }
}

impl HdfsFs {
    /// The shared client for `authority` (`host:port`, a nameservice configured in
    /// `HADOOP_CONF_DIR`, or empty for `fs.defaultFS`). Does not contact the namenode.
    pub fn connect(authority: &str) -> Result<Arc<HdfsFs>, FsError> {
        static CLIENTS: OnceLock<Mutex<HashMap<String, Arc<HdfsFs>>>> = OnceLock::new();
        let mut clients = CLIENTS.get_or_init(Default::default).lock();
        if let Some(fs) = clients.get(authority) {
            return Ok(Arc::clone(fs));
        }
        let fs = Arc::new(HdfsFs::new(authority, DEFAULT_OP_TIMEOUT)?);
        clients.insert(authority.to_string(), Arc::clone(&fs));
        Ok(fs)
    }

    /// A new client for `authority`, not shared, whose namenode operations time out after
    /// `op_timeout`.
    pub fn new(authority: &str, op_timeout: StdDuration) -> Result<HdfsFs, FsError> {
        let url = format!("hdfs://{authority}");
        let rt = runtime().map_err(|e| e.on(url.clone()))?;
        let mut builder = ClientBuilder::new().with_io_runtime(rt.handle().clone());
        if !authority.is_empty() {
            builder = builder.with_url(url.clone());
        }
        if authority.contains(':') {
            // One namenode: failing over means trying it again; fail fast and let the caller
            // (e.g. the next batch) retry.
            builder = builder.with_config([
                ("dfs.client.failover.max.attempts", "1"),
                ("dfs.client.failover.sleep.base.millis", "50"),
                ("dfs.client.failover.sleep.max.millis", "500"),
            ]);
        }
        let client = builder.build().map_err(|e| FsError::Remote {
            path: url,
            message: e.to_string(),
            source: Some(Box::new(e)),
        })?;
        Ok(HdfsFs { authority: authority.to_string(), client, op_timeout })
    }

    /// `hdfs://authority`.
    pub fn url(&self) -> String {
        format!("hdfs://{}", self.authority)
    }

    fn url_of(&self, path: &str) -> String {
        format!("hdfs://{}{path}", self.authority)
    }

    /// Maps a client error on `path` to an [`FsError`].
    fn error(&self, path: &str, e: HdfsError) -> FsError {
        let path = self.url_of(path);
        match e {
            HdfsError::FileNotFound(_) => FsError::NotFound { path },
            HdfsError::RPCError(class, message) | HdfsError::FatalRPCError(class, message) => {
                if class.ends_with("FileNotFoundException") {
                    FsError::NotFound { path }
                } else if class.ends_with("AccessControlException") {
                    FsError::PermissionDenied { path }
                } else if class.ends_with("FileAlreadyExistsException") {
                    FsError::Io { path, source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, message) }
                } else {
                    let first = message.lines().next().unwrap_or_default();
                    FsError::Remote { path, message: format!("{class}: {first}"), source: None }
                }
            }
            HdfsError::AlreadyExists(message) => {
                FsError::Io { path, source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, message) }
            }
            HdfsError::IOError(io) => FsError::Remote {
                path,
                message: format!("cannot talk to HDFS at {}: {io}", self.authority),
                source: Some(Box::new(io)),
            },
            other => FsError::Remote { path, message: other.to_string(), source: Some(Box::new(other)) },
        }
    }

    /// Runs a client call on the I/O runtime, giving up after `timeout` (every call has a
    /// deadline), mapping errors to `path`.
    fn call<T, F>(&self, path: &str, timeout: StdDuration, f: impl FnOnce(Client) -> F) -> Result<T, FsError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, HdfsError>> + Send + 'static,
    {
        self.start(path, timeout, f).wait()
    }

    /// As [`call`](Self::call), without waiting: the call runs on the I/O runtime while the
    /// caller does something else, and [`Pending::wait`] gives its answer.
    fn start<T, F>(&self, path: &str, timeout: StdDuration, f: impl FnOnce(Client) -> F) -> Pending<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, HdfsError>> + Send + 'static,
    {
        let fut = f(self.client.clone());
        let answer = spawn(async move { tokio::time::timeout(timeout, fut).await.ok() });
        Pending { fs: self.clone(), path: path.to_string(), timeout, answer }
    }

    /// How long moving `len` bytes may take: the namenode time-out plus one second per MiB.
    fn transfer_timeout(&self, len: u64) -> StdDuration {
        self.op_timeout + StdDuration::from_secs(len / SLOWEST_BYTES_PER_SEC)
    }

    /// Writes file `path` with `pieces` one after another, replacing it if `overwrite`, else failing when it
    /// exists (the namenode decides atomically). Fails after [`transfer_timeout`]: a file
    /// left half-written is replaced by the next write (HDFS's `create` with overwrite deletes
    /// a file under construction, whoever writes it).
    ///
    /// [`transfer_timeout`]: Self::transfer_timeout
    fn create(&self, path: &str, pieces: &[&[u8]], overwrite: bool) -> Result<(), FsError> {
        let p = path.to_string();
        let timeout = self.transfer_timeout(pieces.iter().map(|d| d.len() as u64).sum());
        let pieces: Vec<bytes::Bytes> =
            pieces.iter().filter(|d| !d.is_empty()).map(|d| bytes::Bytes::copy_from_slice(d)).collect();
        self.call(path, timeout, move |c| async move {
            let mut w = c.create(&p, WriteOptions::default().overwrite(overwrite)).await?;
            for data in pieces {
                w.write_bytes(data).await?;
            }
            w.close().await
        })
    }

    /// Opens `path` for ranged reads (one namenode call for the block locations).
    pub fn open(&self, path: &str) -> Result<HdfsFile, FsError> {
        let p = path.to_string();
        let reader = self.call(path, self.op_timeout, move |c| async move { c.read(&p).await })?;
        Ok(HdfsFile {
            fs: self.clone(),
            path: path.to_string(),
            len: reader.file_length() as u64,
            reader: Arc::new(reader),
        })
    }
}

fn status_of(s: hdfs_native::client::FileStatus) -> FileStatus {
    let name = super::split_parent(&s.path).1.to_string();
    FileStatus {
        name,
        len: s.length as u64,
        modified: Time::from_millis(s.modification_time as i64),
        is_dir: s.isdir,
        path: s.path,
    }
}

impl FileSystem for HdfsFs {
    fn list(&self, dir: &str) -> Result<Vec<FileStatus>, FsError> {
        let d = dir.to_string();
        let listing = self.call(dir, self.op_timeout, move |c| async move { c.list_status(&d, false).await })?;
        let mut out: Vec<FileStatus> = listing.into_iter().map(status_of).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn status(&self, path: &str) -> Result<Option<FileStatus>, FsError> {
        let p = path.to_string();
        match self.call(path, self.op_timeout, move |c| async move { c.get_file_info(&p).await }) {
            Ok(mut s) => {
                // The namenode answers with the path relative to the one asked for.
                s.path = path.to_string();
                Ok(Some(status_of(s)))
            }
            Err(FsError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let file = self.open(path)?;
        file.read_range(0, file.len())
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
        self.open(path)?.read_range(offset, len)
    }

    fn read_range_into(&self, path: &str, offset: u64, len: u64, into: &mut ReadBuf) -> Result<(), FsError> {
        self.open(path)?.read_range_into(offset, len, into)
    }

    fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        self.create(path, &[data], true)
    }

    fn write_pieces(&self, path: &str, pieces: &[&[u8]]) -> Result<(), FsError> {
        self.create(path, pieces, true)
    }

    fn mkdirs(&self, path: &str) -> Result<(), FsError> {
        let p = path.to_string();
        self.call(path, self.op_timeout, move |c| async move { c.mkdirs(&p, 0o755, true).await })
    }

    fn create_new(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        self.create(path, &[data], false)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        let (f, t) = (from.to_string(), to.to_string());
        // HDFS's rename2 without overwrite fails when the destination exists, atomically.
        match self.call(from, self.op_timeout, move |c| async move { c.rename(&f, &t, false).await }) {
            Err(FsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(FsError::Io { path: self.url_of(to), source })
            }
            other => other,
        }
    }

    fn delete(&self, path: &str, recursive: bool) -> Result<(), FsError> {
        let p = path.to_string();
        match self.call(path, self.op_timeout, move |c| async move { c.delete(&p, recursive).await }) {
            Ok(_) | Err(FsError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A call of an [`HdfsFs`] running on the I/O runtime: [`wait`](Pending::wait) for its answer.
///
/// ```no_run
/// use stream_runtime::fs::hdfs::HdfsFs;
/// let file = HdfsFs::connect("127.0.0.1:9000").unwrap().open("/logs/day-1.txt").unwrap();
/// let (first, second) = (file.start_read(0, 1 << 20), file.start_read(1 << 20, 1 << 20));
/// let (first, second) = (first.wait().unwrap(), second.wait().unwrap());
/// assert_eq!((first.filled().len() + second.filled().len()) as u64, file.len().min(2 << 20));
/// ```
pub struct Pending<T> {
    fs: HdfsFs,
    path: String,
    timeout: StdDuration,
    answer: Result<std::sync::mpsc::Receiver<Option<Result<T, HdfsError>>>, RuntimeError>,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("path", &self.path).finish_non_exhaustive()
    }
}

impl<T> Pending<T> {
    /// Waits for the call's answer (at most its time-out, which runs from the call's start).
    pub fn wait(self) -> Result<T, FsError> {
        let Pending { fs, path, timeout, answer } = self;
        let answer = answer.and_then(|rx| rx.recv().map_err(|_| RuntimeError::Dropped));
        match answer.map_err(|e| e.on(fs.url_of(&path)))? {
            Some(r) => r.map_err(|e| fs.error(&path, e)),
            None => Err(FsError::Remote {
                path: fs.url_of(&path),
                message: format!("no answer from HDFS at {} within {timeout:?}", fs.authority),
                source: None,
            }),
        }
    }
}

/// An HDFS file opened for ranged reads; cheap to share between threads reading parts of it.
pub struct HdfsFile {
    fs: HdfsFs,
    path: String,
    len: u64,
    reader: Arc<hdfs_native::file::FileReader>,
}

impl std::fmt::Debug for HdfsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdfsFile").field("path", &self.path).field("len", &self.len).finish_non_exhaustive()
    }
}

impl HdfsFile {
    /// Length in bytes when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty when opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `len` bytes from `offset` (fewer at the end of the file).
    pub fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
        let offset = offset.min(self.len);
        let n = len.min(self.len - offset) as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        let reader = Arc::clone(&self.reader);
        self.fs.call(&self.path, self.fs.transfer_timeout(n as u64), move |_| async move {
            let mut buf = vec![0; n];
            reader.read_range_buf(&mut buf, offset as usize).await?;
            Ok(buf)
        })
    }

    /// As [`read_range`](Self::read_range), appending to `into`: the datanode's packets are
    /// copied straight into it, with no buffer in between.
    ///
    /// ```no_run
    /// use stream_runtime::fs::{hdfs::HdfsFs, ReadBuf};
    /// let fs = HdfsFs::connect("127.0.0.1:9000").unwrap();
    /// let file = fs.open("/logs/day-1.txt").unwrap();
    /// let mut buf = ReadBuf::with_capacity(file.len() as usize);
    /// file.read_range_into(0, file.len(), &mut buf).unwrap();
    /// assert_eq!(buf.filled().len() as u64, file.len());
    /// ```
    pub fn read_range_into(&self, offset: u64, len: u64, into: &mut ReadBuf) -> Result<(), FsError> {
        if offset >= self.len || len == 0 {
            return Ok(());
        }
        // The read runs on the client's runtime and needs the buffer there: it is lent by
        // value and handed back (a failed read fails the whole split, so its bytes do not matter).
        *into = self.start_read_into(offset, len, std::mem::take(into)).wait()?;
        Ok(())
    }

    /// As [`read_range_into`](Self::read_range_into) into a new buffer sized for the read,
    /// without waiting: the read runs on the I/O threads while the caller does something else
    /// (a file source decodes one piece of a file while the next is read).
    ///
    /// ```no_run
    /// use stream_runtime::fs::hdfs::HdfsFs;
    /// let fs = HdfsFs::connect("127.0.0.1:9000").unwrap();
    /// let file = fs.open("/logs/day-1.txt").unwrap();
    /// let next = file.start_read(0, 1 << 20);
    /// // ... work on something else ...
    /// let buf = next.wait().unwrap();
    /// assert_eq!(buf.filled().len() as u64, file.len().min(1 << 20));
    /// ```
    pub fn start_read(&self, offset: u64, len: u64) -> Pending<ReadBuf> {
        let n = len.min(self.len - offset.min(self.len));
        self.start_read_into(offset, len, ReadBuf::with_capacity(usize::try_from(n).unwrap_or(usize::MAX)))
    }

    /// Starts appending `len` bytes from `offset` (fewer at the end of the file) to `into`,
    /// which the answer hands back.
    fn start_read_into(&self, offset: u64, len: u64, mut into: ReadBuf) -> Pending<ReadBuf> {
        let offset = offset.min(self.len);
        let n = len.min(self.len - offset) as usize;
        let reader = Arc::clone(&self.reader);
        self.fs.start(&self.path, self.fs.transfer_timeout(n as u64), move |_| async move {
            if n > 0 {
                let mut packets = std::pin::pin!(reader.read_range_stream(offset as usize, n));
                while let Some(bytes) = futures_util::StreamExt::next(&mut packets).await {
                    into.extend_from_slice(&bytes?);
                }
            }
            Ok(into)
        })
    }

    /// The whole lines starting in bytes `start..end` of the file (Hadoop's line splits: a
    /// line belongs to the split holding its first byte, so splits that tile the file read
    /// every line exactly once, including lines crossing a split boundary). Reads one byte
    /// before `start` and past `end` as far as the last line goes.
    pub fn read_split(&self, start: u64, end: u64) -> Result<Split, FsError> {
        super::read_split(self.len, start, end, u64::MAX, |offset, len, into| self.read_range_into(offset, len, into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(split_url("hdfs://127.0.0.1:9000/a/b"), Some(("127.0.0.1:9000", "/a/b")));
        assert_eq!(split_url("hdfs:///a"), Some(("", "/a")));
        assert_eq!(split_url("/local"), None);
    }

    #[test]
    fn bounds_tile_the_file() {
        for len in [1u64, 2, 7, 100, 1 << 20] {
            for n in 1..9 {
                let b = split_bounds(len, n);
                assert_eq!(b[0].0, 0);
                assert_eq!(b.last().unwrap().1, len);
                assert!(b.len() <= n);
                assert!(b.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
            }
        }
    }

    #[test]
    fn errors_map_to_fs_errors() {
        let fs = HdfsFs::new("nn:8020", StdDuration::from_secs(1)).unwrap();
        let rpc = |class: &str| HdfsError::RPCError(class.into(), "details\n\tat java stack".into());
        let e = fs.error("/a", rpc("org.apache.hadoop.security.AccessControlException"));
        assert!(matches!(e, FsError::PermissionDenied { ref path } if path == "hdfs://nn:8020/a"), "{e:?}");
        let e = fs.error("/a", rpc("java.io.FileNotFoundException"));
        assert!(matches!(e, FsError::NotFound { .. }), "{e:?}");
        let e = fs.error("/a", HdfsError::FileNotFound("/a".into()));
        assert!(matches!(e, FsError::NotFound { .. }), "{e:?}");
        let e = fs.error("/a", rpc("org.apache.hadoop.ipc.StandbyException"));
        assert_eq!(e.to_string(), "hdfs://nn:8020/a: org.apache.hadoop.ipc.StandbyException: details");
        let e = fs.error("/a", HdfsError::AlreadyExists("/a".into()));
        assert!(matches!(e, FsError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists));
    }

    #[test]
    fn a_namenode_that_never_answers_fails_a_write_instead_of_hanging() {
        // Accepts connections and reads what comes, never answering.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                std::thread::spawn(move || std::io::copy(&mut conn, &mut std::io::sink()));
            }
        });
        let fs = HdfsFs::new(&authority, StdDuration::from_millis(300)).unwrap();
        let err = fs.write("/a", b"data").unwrap_err();
        assert!(err.to_string().contains("no answer from HDFS"), "{err}");
        let err = fs.create_new("/b", b"").unwrap_err();
        assert!(err.to_string().contains("no answer from HDFS"), "{err}");
    }

    #[test]
    fn unreachable_namenode_is_a_remote_error() {
        // Port 1 on loopback: nobody listens; the client is created but operations fail.
        let fs = HdfsFs::new("127.0.0.1:1", StdDuration::from_secs(10)).unwrap();
        let err = fs.list("/x").unwrap_err();
        assert!(matches!(&err, FsError::Remote { path, .. } if path == "hdfs://127.0.0.1:1/x"), "{err:?}");
        assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    }
}
