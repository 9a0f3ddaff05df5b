//! Spark's `HdfsWordCount`: counts the words of new files in an HDFS directory every batch.
//!
//! ```scala
//! val lines = ssc.textFileStream(args(0))   // hdfs://namenode:8020/user/me/booksStream
//! val words = lines.flatMap(_.split(" "))
//! val wordCounts = words.map(x => (x, 1)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```
//!
//! Without a cluster, [`Embedded`] starts one in-process (`minihdfs`) and [`Demo`] feeds the
//! watched directory with [`SAMPLE`] the way Spark's walkthroughs do
//! (`hdfs dfs -put loremipsum.txt booksStream/`).

use std::path::PathBuf;
use std::sync::Arc;

use minihdfs::{Config, MiniHdfs};
use stream_runtime::fs::hdfs::HdfsFs;
use stream_runtime::fs::{self, FileSystem, FsError};
use stream_runtime::prelude::*;

/// The sample text the demo feeds: a few paragraphs of lorem ipsum.
pub const SAMPLE: &str = include_str!("../assets/loremipsum.txt");

/// Builds the word count over new files in `dir` (an `hdfs://` URL, or any directory
/// `text_file_stream` accepts), printing each batch's counts.
pub fn hdfs_wordcount(ssc: &StreamingContext, dir: &str) {
    ssc.text_file_stream(dir)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();
}

/// The HDFS user the examples' directories belong to: `HADOOP_USER_NAME`, else `USER`, else
/// `sluice`.
pub fn hdfs_user() -> String {
    std::env::var("HADOOP_USER_NAME").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "sluice".to_string())
}

/// Why the embedded cluster could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbeddedError {
    /// The cluster could not start (ports taken, data directory not writable...).
    #[error("cannot start the embedded HDFS cluster in {}: {source}", .data_dir.display())]
    Start {
        /// Where the cluster keeps its data.
        data_dir: PathBuf,
        /// The cluster's error.
        #[source]
        source: minihdfs::Error,
    },
    /// The watched directory could not be created in it.
    #[error("cannot create the watched directory: {0}")]
    WatchedDir(#[source] FsError),
}

/// An in-process HDFS cluster with a watched directory created in it.
#[derive(Debug)]
pub struct Embedded {
    hdfs: MiniHdfs,
    data_dir: PathBuf,
    owned_dir: bool,
    /// The watched directory's path in the cluster, e.g. `/user/me/booksStream`.
    pub dir: String,
}

impl Embedded {
    /// Starts a cluster keeping its data in `data_dir` (a new temporary directory, removed by
    /// [`shutdown`](Self::shutdown), when `None`), with its namenode on `port` (0: any free
    /// port), and creates `/user/<user>/booksStream`.
    pub fn start(data_dir: Option<PathBuf>, port: u16) -> Result<Embedded, EmbeddedError> {
        let (data_dir, owned_dir) = match data_dir {
            Some(d) => (d, false),
            None => (std::env::temp_dir().join(format!("sluice-hdfs-wordcount-{}", std::process::id())), true),
        };
        let mut config = Config::new(&data_dir);
        config.namenode_port = port;
        config.user = hdfs_user();
        let hdfs = match MiniHdfs::start(config) {
            Ok(hdfs) => hdfs,
            Err(source) => return Err(EmbeddedError::Start { data_dir, source }),
        };
        let dir = format!("/user/{}/booksStream", hdfs_user());
        let embedded = Embedded { hdfs, data_dir, owned_dir, dir };
        embedded.fs().and_then(|fs| fs.mkdirs(&embedded.dir)).map_err(EmbeddedError::WatchedDir)?;
        Ok(embedded)
    }

    /// `host:port` of the namenode.
    pub fn namenode(&self) -> String {
        self.hdfs.namenode_addr().to_string()
    }

    /// The watched directory's URL, `hdfs://host:port/user/<user>/booksStream`.
    pub fn url(&self) -> String {
        format!("{}{}", self.hdfs.url(), self.dir)
    }

    /// Where the cluster keeps its data.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The engine's filesystem for this cluster.
    pub fn fs(&self) -> Result<Arc<HdfsFs>, FsError> {
        HdfsFs::connect(&self.namenode())
    }

    /// Stops the cluster and removes its data if it was in a temporary directory.
    pub fn shutdown(self) {
        self.hdfs.shutdown();
        if self.owned_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// Puts `text` into `dir` as `name` the way `hdfs dfs -put` does: written as `name._COPYING_`
/// (which file streams skip), then renamed, so it appears whole. Returns the file's path.
pub fn put_text(fs: &dyn FileSystem, dir: &str, name: &str, text: &str) -> Result<String, FsError> {
    let path = fs::join(dir, name);
    let tmp = format!("{path}._COPYING_");
    fs.write(&tmp, text.as_bytes())?;
    fs.rename(&tmp, &path)?;
    Ok(path)
}

/// A thread putting [`SAMPLE`] into a directory at once and then every `every`, as
/// `loremipsum-1.txt`, `loremipsum-2.txt`... until dropped.
#[derive(Debug)]
pub struct Demo {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Demo {
    /// Starts feeding `dir` of `fs`.
    pub fn start(fs: Arc<dyn FileSystem>, dir: String, every: std::time::Duration) -> Demo {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // Files must be newer than the stream, created just before.
            std::thread::sleep(std::time::Duration::from_millis(20));
            for n in 1.. {
                match put_text(fs.as_ref(), &dir, &format!("loremipsum-{n}.txt"), SAMPLE) {
                    Ok(path) => eprintln!("demo: put {path}"),
                    Err(e) => eprintln!("demo: cannot put a sample file: {e}"),
                }
                if !matches!(stopped.recv_timeout(every), Err(std::sync::mpsc::RecvTimeoutError::Timeout)) {
                    return;
                }
            }
        });
        Demo { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
