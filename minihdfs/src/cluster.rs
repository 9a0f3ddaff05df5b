//! Starting and stopping the cluster: configuration, listeners and the background runtime.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::datanode::{self, BlockStore};
use crate::error::Error;
use crate::namenode;
use crate::namespace::Namesystem;
use crate::proto::hdfs::{DatanodeIdProto, DatanodeInfoProto};

/// How to run a [`MiniHdfs`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the namespace snapshot (`namespace.json`), its edit log (`edits.jsonl`) and
    /// block files (`blocks/`).
    pub data_dir: PathBuf,
    /// Namenode (IPC) port; 0 picks a free one.
    pub namenode_port: u16,
    /// Datanode (data transfer) port; 0 picks a free one.
    pub datanode_port: u16,
    /// Default block size announced to clients (they may ask for another per file).
    pub block_size: u64,
    /// Address both servers listen on and the datanode advertises.
    pub bind: IpAddr,
    /// Maximum entries per `getListing` page (HDFS's `dfs.ls.limit`).
    pub listing_page_size: usize,
    /// Owner of the root directory and of files created by clients that send no user.
    pub user: String,
    /// Capacity reported by `getFsStats` (`hdfs df`).
    pub capacity: u64,
    /// Worker threads of the cluster's own tokio runtime.
    pub worker_threads: usize,
}

impl Config {
    /// Defaults with the given data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config { data_dir: data_dir.into(), ..Config::default() }
    }
}

impl Default for Config {
    /// Ephemeral ports on 127.0.0.1, 128 MiB blocks, 1000-entry listing pages, data in `./minihdfs-data`.
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("minihdfs-data"),
            namenode_port: 0,
            datanode_port: 0,
            block_size: 128 << 20,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            listing_page_size: 1000,
            user: std::env::var("HADOOP_USER_NAME")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "hdfs".to_string()),
            capacity: 1 << 40,
            worker_threads: 2,
        }
    }
}

/// State shared by the namenode and datanode tasks.
#[derive(Debug)]
pub(crate) struct Context {
    pub config: Config,
    pub ns: Namesystem,
    pub blocks: BlockStore,
    pub datanode_addr: SocketAddr,
}

impl Context {
    /// How clients should reach the datanode.
    pub(crate) fn datanode_info(&self) -> DatanodeInfoProto {
        let ip = self.datanode_addr.ip().to_string();
        DatanodeInfoProto {
            id: DatanodeIdProto {
                ip_addr: ip.clone(),
                host_name: ip,
                datanode_uuid: "minihdfs-datanode-1".to_string(),
                xfer_port: u32::from(self.datanode_addr.port()),
                info_port: 0,
                ipc_port: 0,
                info_secure_port: None,
            },
            capacity: Some(self.config.capacity),
            location: Some("/default-rack".to_string()),
            admin_state: Some(0),
            ..Default::default()
        }
    }
}

/// A running in-process HDFS cluster: one namenode and one datanode.
///
/// ```no_run
/// let hdfs = minihdfs::MiniHdfs::start(minihdfs::Config::new("/tmp/minihdfs-example")).unwrap();
/// println!("serving {}", hdfs.url());
/// hdfs.shutdown();
/// ```
#[derive(Debug)]
pub struct MiniHdfs {
    namenode_addr: SocketAddr,
    datanode_addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl MiniHdfs {
    /// Loads (or creates) the namespace in `config.data_dir`, binds both ports and starts serving on
    /// background threads. Returns once both listeners accept connections.
    pub fn start(config: Config) -> Result<MiniHdfs, Error> {
        let block_dir = config.data_dir.join("blocks");
        std::fs::create_dir_all(&block_dir)?;
        let ns = Namesystem::open(&config.data_dir, &block_dir, &config.user)?;
        let nn_std = std::net::TcpListener::bind((config.bind, config.namenode_port))?;
        let dn_std = std::net::TcpListener::bind((config.bind, config.datanode_port))?;
        nn_std.set_nonblocking(true)?;
        dn_std.set_nonblocking(true)?;
        let namenode_addr = nn_std.local_addr()?;
        let datanode_addr = dn_std.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("minihdfs")
            .enable_all()
            .build()?;
        let (nn, dn) = {
            let _guard = runtime.enter();
            (TcpListener::from_std(nn_std)?, TcpListener::from_std(dn_std)?)
        };
        let ctx = Arc::new(Context { config, ns, blocks: BlockStore::new(block_dir), datanode_addr });
        let (stop, stopped) = watch::channel(false);
        runtime.spawn(accept_loop(nn, Arc::clone(&ctx), stopped.clone(), Server::Namenode));
        runtime.spawn(accept_loop(dn, ctx, stopped, Server::Datanode));
        Ok(MiniHdfs { namenode_addr, datanode_addr, stop: Some(stop), runtime: Some(runtime) })
    }

    /// The namenode's address.
    pub fn namenode_addr(&self) -> SocketAddr {
        self.namenode_addr
    }

    /// The datanode's data transfer address.
    pub fn datanode_addr(&self) -> SocketAddr {
        self.datanode_addr
    }

    /// `hdfs://IP:PORT` of the namenode.
    pub fn url(&self) -> String {
        format!("hdfs://{}", self.namenode_addr)
    }

    /// Stops serving, closing listeners and connections. Dropping the cluster does the same.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(runtime) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Blocking inside another runtime is not allowed; tasks are dropped in the background.
                runtime.shutdown_background();
            } else {
                runtime.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

impl Drop for MiniHdfs {
    fn drop(&mut self) {
        self.stop_now();
    }
}

#[derive(Debug, Clone, Copy)]
enum Server {
    Namenode,
    Datanode,
}

async fn accept_loop(listener: TcpListener, ctx: Arc<Context>, mut stopped: watch::Receiver<bool>, server: Server) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Both servers answer at once, as Hadoop's do (`ipc.server.tcpnodelay` is
                    // true by default): with Nagle's algorithm an answer written while the one
                    // before it is not yet acknowledged waits for that acknowledgement, which
                    // the client delays by up to 40 ms when it has nothing to send (two calls in
                    // flight on one connection, as two threads asking a file's status at once).
                    let _ = stream.set_nodelay(true);
                    let ctx = Arc::clone(&ctx);
                    let mut stopped = stopped.clone();
                    tokio::spawn(async move {
                        let serve = async {
                            match server {
                                Server::Namenode => namenode::serve(stream, ctx).await,
                                Server::Datanode => datanode::serve(stream, ctx).await,
                            }
                        };
                        tokio::select! {
                            _ = stopped.changed() => {}
                            _ = serve => {}
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(?server, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}
