//! The Streaming page (feature `ui`): what Spark's Streaming tab shows of a running job, its
//! JSON API under `/api/v1/streaming/` and Prometheus `/metrics`, served by a small HTTP/1.1
//! server on a thread of its own.
//!
//! The batch processor hands each completed batch's [`BatchInfo`] to the [`Monitor`], which
//! copies it into a ring of the last [`UiConf::retained_batches`] (in place of the oldest,
//! allocating nothing once full) and updates the metrics (atomic adds, histogram
//! observations): nothing on the data path, nothing formatted. The server renders pages and
//! JSON from that ring when asked; what the stateful operations hold (keys, bytes, a window's
//! batches) is read from them only then, never per batch.
//!
//! ```
//! use stream_runtime::prelude::*;
//! use stream_runtime::ui::UiConf;
//! use std::io::{Read, Write};
//!
//! let ssc = StreamingContext::new(Duration::millis(50)).with_ui(Some(UiConf::at("127.0.0.1:0".parse().unwrap())));
//! ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count().foreach_batch(|_, _| {});
//! let running = ssc.start().unwrap();
//! let mut http = std::net::TcpStream::connect(running.ui_addr().unwrap()).unwrap();
//! http.write_all(b"GET /api/v1/streaming/statistics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
//! let mut response = String::new();
//! http.read_to_string(&mut response).unwrap();
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains("\"batchDuration\":50"));
//! running.stop(false);
//! ```

mod api;
mod http;
mod page;
mod prom;
mod ring;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::checkpoint::Written;
use crate::context::{Conf, Graph, Input};
use crate::error::StreamingError;
use crate::metrics::{BatchInfo, ProcessReport, StateView};
use crate::report::Reporter;
use crate::time::{Duration, Time};

/// Spark's default port of the web UI.
pub const DEFAULT_PORT: u16 = 4040;

/// Ports tried after a taken default port (Spark's `spark.port.maxRetries`).
const PORT_RETRIES: u16 = 16;

/// Where the Streaming page listens and how much it keeps.
///
/// ```
/// use stream_runtime::ui::UiConf;
/// let ui = UiConf::default();
/// assert_eq!(ui.addr.to_string(), "127.0.0.1:4040");
/// assert!(ui.next_port_when_taken);
/// assert_eq!(ui.retained_batches, 1000);
/// assert!(!UiConf::at("0.0.0.0:8080".parse().unwrap()).next_port_when_taken);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConf {
    /// The address to listen on (port 0: any free port).
    pub addr: SocketAddr,
    /// Try the next ports (up to 16) when the port is taken, as Spark does for its default
    /// port; an address given explicitly that is taken is an error instead.
    pub next_port_when_taken: bool,
    /// Completed batches kept for the page and the API (Spark's
    /// `spark.streaming.ui.retainedBatches`, default 1000).
    pub retained_batches: usize,
}

impl Default for UiConf {
    fn default() -> Self {
        UiConf {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            next_port_when_taken: true,
            retained_batches: 1000,
        }
    }
}

impl UiConf {
    /// Listens on exactly `addr`.
    pub fn at(addr: SocketAddr) -> UiConf {
        UiConf { addr, next_port_when_taken: false, ..UiConf::default() }
    }
}

/// The value of the job option `--ui`: `off`, a port (`4050`, on 127.0.0.1) or an address
/// (`0.0.0.0:4050`), taken exactly (a taken port is an error).
///
/// ```
/// use stream_runtime::ui::UiOption;
/// assert_eq!("off".parse::<UiOption>().unwrap(), UiOption::Off);
/// assert_eq!("4050".parse::<UiOption>().unwrap(), UiOption::At("127.0.0.1:4050".parse().unwrap()));
/// assert_eq!("0.0.0.0:80".parse::<UiOption>().unwrap().conf().unwrap().addr.to_string(), "0.0.0.0:80");
/// assert!("localhost".parse::<UiOption>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiOption {
    /// No Streaming page.
    Off,
    /// Listen on exactly this address.
    At(SocketAddr),
}

impl UiOption {
    /// The configuration it asks for; `None` for [`Off`](Self::Off).
    pub fn conf(self) -> Option<UiConf> {
        match self {
            UiOption::Off => None,
            UiOption::At(addr) => Some(UiConf::at(addr)),
        }
    }
}

/// A `--ui` value that is neither `off`, a port nor an address.
///
/// ```
/// use stream_runtime::ui::UiOption;
/// assert!("off".parse::<UiOption>().is_ok());
/// assert_eq!("nowhere".parse::<UiOption>().unwrap_err().0, "nowhere");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected `off`, a port or an address such as 127.0.0.1:4040, got {0:?}")]
pub struct UiOptionError(pub String);

impl std::str::FromStr for UiOption {
    type Err = UiOptionError;
    fn from_str(s: &str) -> Result<UiOption, UiOptionError> {
        if s == "off" {
            return Ok(UiOption::Off);
        }
        if let Ok(port) = s.parse::<u16>() {
            return Ok(UiOption::At(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)));
        }
        s.parse::<SocketAddr>().map(UiOption::At).map_err(|_| UiOptionError(s.to_string()))
    }
}

/// Checkpoints kept for the page.
const RETAINED_CHECKPOINTS: usize = 20;

/// No batch is running.
const IDLE: i64 = i64::MIN;

/// Reads each stateful operation's state now (this process's): called when the page, the API
/// or `/metrics` asks, on the server's thread, never per batch (but in a cluster, for the
/// driver's own report of each batch).
pub(crate) type StateReader = Box<dyn Fn() -> Vec<StateView> + Send + Sync>;

/// The [`StateReader`] of the stateful operations of `executor`'s graph.
pub(crate) fn state_reader(executor: &Arc<crate::executor::Executor>) -> StateReader {
    let executor = Arc::clone(executor);
    Box::new(move || crate::report::state_views(executor.graph()))
}

/// What the page knows of the job: fixed at start, plus the ring of completed batches and the
/// metrics the processor updates.
pub(crate) struct Monitor {
    name: String,
    batch: Duration,
    /// Wall-clock milliseconds since the epoch when the job started.
    started_ms: i64,
    inputs: Vec<Arc<dyn Input>>,
    input_names: Vec<String>,
    outputs: Vec<String>,
    /// The stateful operations (windows, state), as the runtime's description names them.
    stateful: Vec<String>,
    /// The runtime's description of the graph (`StreamingContext::explain`, which `--explain`
    /// prints): the plan the page shows.
    graph_plan: String,
    /// Each fused stage of the plan, as it describes it (`<- input 1: map -> reduce_by_key`).
    stages: Vec<String>,
    ring: Mutex<ring::Ring>,
    metrics: prom::Metrics,
    /// The time (ms) of the batch being processed, [`IDLE`] when none is.
    running: AtomicI64,
    /// The last checkpoints written, oldest first.
    checkpoints: Mutex<VecDeque<Written>>,
    /// Each stateful operation's state now (this process's).
    state: StateReader,
    /// In a cluster: what every process reported.
    cluster: Mutex<Option<Cluster>>,
}

/// One stateful operation's state: in all, and in a cluster on each process.
#[derive(Debug)]
pub(crate) struct StateRow {
    pub(crate) total: StateView,
    /// Per process (cluster only), its last report's.
    pub(crate) processes: Vec<(usize, StateView)>,
}

impl StateView {
    /// Adds another process's share of the same operation (keys, bytes, each window batch's
    /// records and keys).
    fn add(&mut self, other: &StateView) {
        let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.keys = sum(self.keys, other.keys);
        self.bytes = sum(self.bytes, other.bytes);
        match (&mut self.window, &other.window) {
            (None, Some(w)) => self.window = Some(w.clone()),
            (Some(mine), Some(theirs)) => {
                for b in theirs {
                    match mine.iter_mut().find(|m| m.time == b.time) {
                        Some(m) => {
                            m.records = sum(m.records, b.records);
                            m.keys = sum(m.keys, b.keys);
                        }
                        None => mine.push(*b),
                    }
                }
                mine.sort_by_key(|b| b.time);
            }
            _ => {}
        }
    }
}

/// What the processes of a cluster reported, on the driver.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Processes in the cluster.
    pub(crate) processes: usize,
    /// The driver's own reports.
    reporter: Reporter,
    /// Each process's last report.
    pub(crate) latest: Vec<Option<ProcessReport>>,
    /// The reports of the retained batches, oldest first: per batch, one per process (the
    /// other processes' arrive with the next batch's plan).
    batches: VecDeque<(i64, Vec<Option<ProcessReport>>)>,
    capacity: usize,
}

impl Cluster {
    /// Keeps `r`.
    fn record(&mut self, r: ProcessReport) {
        let ms = r.time.as_millis();
        let i = match self.batches.binary_search_by_key(&ms, |(t, _)| *t) {
            Ok(i) => i,
            Err(i) => {
                if self.batches.len() == self.capacity {
                    if i == 0 {
                        return; // older than everything retained
                    }
                    self.batches.pop_front();
                    self.batches.insert(i - 1, (ms, vec![None; self.processes]));
                    i - 1
                } else {
                    self.batches.insert(i, (ms, vec![None; self.processes]));
                    i
                }
            }
        };
        if let Some(slot) = self.batches[i].1.get_mut(r.process) {
            *slot = Some(r.clone());
        }
        if let Some(latest) = self.latest.get_mut(r.process) {
            if latest.as_ref().is_none_or(|l| l.time <= r.time) {
                *latest = Some(r);
            }
        }
    }

    /// The reports of batch `ms`, one per process (`None`: not arrived yet).
    pub(crate) fn batch(&self, ms: i64) -> Option<&[Option<ProcessReport>]> {
        let i = self.batches.binary_search_by_key(&ms, |(t, _)| *t).ok()?;
        Some(&self.batches[i].1)
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Monitor {
    /// The monitor of `graph`, whose stateful operations `state` reads.
    pub(crate) fn new(conf: &Conf, ui: &UiConf, graph: &Graph, state: StateReader) -> Monitor {
        let input_names: Vec<String> = graph.inputs.iter().map(|i| i.name()).collect();
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Monitor {
            name: conf.name.clone(),
            batch: conf.batch,
            started_ms,
            inputs: graph.inputs.clone(),
            metrics: prom::Metrics::new(
                &input_names,
                &graph.stages.list().iter().map(|s| s.into.clone()).collect::<Vec<_>>(),
            ),
            ring: Mutex::new(ring::Ring::new(ui.retained_batches, input_names.len())),
            input_names,
            outputs: graph.outputs.iter().map(|o| o.name()).collect(),
            stateful: graph.ticks.iter().map(|t| t.name()).collect(),
            graph_plan: crate::context::explain_graph(conf, graph),
            stages: graph.stages.list().iter().map(ToString::to_string).collect(),
            running: AtomicI64::new(IDLE),
            checkpoints: Mutex::new(VecDeque::with_capacity(RETAINED_CHECKPOINTS)),
            state,
            cluster: Mutex::new(None),
        }
    }

    /// Batch `t` starts; `waiting` more are queued behind it.
    pub(crate) fn batch_started(&self, t: Time, waiting: usize) {
        self.running.store(t.as_millis(), Ordering::Relaxed);
        self.metrics.set_active(waiting, 1);
    }

    /// A batch completed; `waiting` are queued. In a cluster, this is the driver's report of
    /// it too.
    pub(crate) fn batch_completed(&self, info: &BatchInfo, waiting: usize) {
        self.metrics.observe(info);
        self.metrics.set_active(waiting, 0);
        self.running.store(IDLE, Ordering::Relaxed);
        self.ring.lock().push(info);
        let mut cluster = self.cluster.lock();
        match cluster.as_mut() {
            None => self.metrics.observe_stages(info.fused_stage_times.iter().copied(), None),
            // In a cluster, the stage times and states are observed by process, from the
            // reports: the driver's own, made here.
            Some(c) => {
                let report = c.reporter.report(&self.inputs, info, (self.state)());
                self.metrics.observe_process(&report, &self.input_names);
                c.record(report);
            }
        }
    }

    /// The job runs on `processes` processes, of which this is the driver.
    pub(crate) fn set_processes(&self, processes: usize) {
        let capacity = self.ring.lock().capacity();
        *self.cluster.lock() = Some(Cluster {
            processes,
            reporter: Reporter::new(0),
            latest: vec![None; processes],
            batches: VecDeque::new(),
            capacity,
        });
    }

    /// The other processes' reports (of the batch before the one being planned).
    pub(crate) fn process_reports(&self, reports: Vec<ProcessReport>) {
        let mut cluster = self.cluster.lock();
        if let Some(c) = cluster.as_mut() {
            for r in reports {
                self.metrics.observe_process(&r, &self.input_names);
                c.record(r);
            }
        }
    }

    /// Each stateful operation's state now: this process's, or in a cluster the sum over
    /// every process's last report, with each process's.
    pub(crate) fn state_rows(&self) -> Vec<StateRow> {
        let own = (self.state)();
        let cluster = self.cluster.lock();
        let Some(c) = cluster.as_ref() else {
            return own.into_iter().map(|total| StateRow { total, processes: Vec::new() }).collect();
        };
        own.into_iter()
            .enumerate()
            .map(|(i, mine)| {
                let processes: Vec<(usize, StateView)> =
                    c.latest.iter().flatten().filter_map(|r| r.state.get(i).map(|v| (r.process, v.clone()))).collect();
                if processes.is_empty() {
                    return StateRow { total: mine, processes };
                }
                let mut total = StateView { operation: mine.operation, ..StateView::default() };
                for (_, v) in &processes {
                    total.add(v);
                }
                StateRow { total, processes }
            })
            .collect()
    }

    /// The checkpoint writer wrote (or failed to write) a checkpoint.
    pub(crate) fn checkpoint_written(&self, w: &Written) {
        self.metrics.observe_checkpoint(w);
        let mut kept = self.checkpoints.lock();
        if kept.len() == RETAINED_CHECKPOINTS {
            kept.pop_front();
        }
        kept.push_back(w.clone());
    }

    /// The batches being processed or waiting: (time in ms, running), the running one first.
    /// Waiting batches follow the running one at the batch interval (the generator makes them
    /// in order).
    pub(crate) fn active(&self) -> Vec<(i64, bool)> {
        let running = self.running.load(Ordering::Relaxed);
        let waiting = usize::try_from(self.metrics.waiting()).unwrap_or(0);
        let base = if running == IDLE {
            self.ring.lock().iter().next_back().map_or(IDLE, |b| b.batch_time.as_millis())
        } else {
            running
        };
        let mut out = Vec::with_capacity(waiting + 1);
        if running != IDLE {
            out.push((running, true));
        }
        if base != IDLE {
            let step = self.batch.as_millis();
            out.extend((1..=waiting as i64).map(|k| (base + k * step, false)));
        }
        out
    }

    /// The text of `/metrics`, with what is read at scrape time: each input's status and (one
    /// process alone; a cluster's come with the reports) each stateful operation's state.
    pub(crate) fn metrics_text(&self) -> String {
        for (name, input) in self.input_names.iter().zip(&self.inputs) {
            self.metrics.set_input_status(name, &input.status());
        }
        if self.cluster.lock().is_none() {
            self.metrics.set_state(&(self.state)(), None);
        }
        self.metrics.encode()
    }
}

/// The running server of the Streaming page; stopped by [`stop`](Self::stop) or on drop.
#[derive(Debug)]
pub(crate) struct Ui {
    monitor: Arc<Monitor>,
    server: http::Server,
}

impl Ui {
    /// Binds the address of `ui` and starts serving; prints where to standard error. An
    /// address given exactly that cannot be bound is an error; the default address with every
    /// following port taken is a warning, and the job runs without the page (`Ok(None)`).
    pub(crate) fn start(
        ui: &UiConf,
        conf: &Conf,
        graph: &Graph,
        state: StateReader,
    ) -> Result<Option<Ui>, StreamingError> {
        let monitor = Arc::new(Monitor::new(conf, ui, graph, state));
        let listener = match http::bind(ui.addr, if ui.next_port_when_taken { PORT_RETRIES } else { 0 }) {
            Ok(l) => l,
            Err(e) if ui.next_port_when_taken => {
                tracing::warn!(addr = %ui.addr, "no Streaming UI: ports {} to {} are taken ({e})", ui.addr.port(), ui.addr.port().saturating_add(PORT_RETRIES));
                return Ok(None);
            }
            Err(e) => {
                return Err(StreamingError::refused(
                    format!("the Streaming UI cannot listen on {} (use --ui ADDR or --ui off)", ui.addr),
                    e,
                ))
            }
        };
        let handler = {
            let monitor = Arc::clone(&monitor);
            move |path: &str, query: &str| api::route(&monitor, path, query)
        };
        let server = http::Server::start(listener, handler)
            .map_err(|source| StreamingError::Spawn { what: "Streaming UI", source })?;
        eprintln!("Streaming UI at http://{}", server.addr());
        Ok(Some(Ui { monitor, server }))
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// What the batch processor reports to.
    pub(crate) fn monitor(&self) -> Arc<Monitor> {
        Arc::clone(&self.monitor)
    }

    /// Stops serving and waits for the server thread.
    pub(crate) fn stop(self) {
        self.server.stop();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::{InputDetail, WindowBatch};

    struct Named(String);

    impl Input for Named {
        fn name(&self) -> String {
            self.0.clone()
        }
        fn allocate(&self, _t: Time) -> u64 {
            0
        }
    }

    /// A monitor of a job with one-second batches, inputs named `inputs` and one output.
    pub(crate) fn monitor(inputs: &[&str]) -> Monitor {
        let graph = Graph {
            inputs: inputs.iter().map(|n| Arc::new(Named(n.to_string())) as Arc<dyn Input>).collect(),
            ..Graph::default()
        };
        let ssc = crate::StreamingContext::new(Duration::seconds(1)).with_name("test");
        let ui = UiConf { retained_batches: 100, ..UiConf::default() };
        let mut m = Monitor::new(ssc.conf(), &ui, &graph, Box::new(Vec::new));
        m.outputs = vec!["print(10)".to_string()];
        m
    }

    /// A reader of a state that is always `views`.
    fn holding(views: Vec<StateView>) -> StateReader {
        Box::new(move || views.clone())
    }

    fn view(operation: &str, keys: u64, bytes: u64) -> StateView {
        StateView { operation: operation.to_string(), keys: Some(keys), bytes: Some(bytes), window: None }
    }

    #[test]
    fn state_keys_and_bytes_show_on_the_page_and_in_the_metrics() {
        let mut m = monitor(&["a"]);
        assert!(!page::overview(&m, 1).contains("<h2>State</h2>"));
        m.state = holding(vec![view("update_state_by_key", 3, 100), view("map_with_state<x>", 0, 0)]);
        assert!(m.metrics_text().contains("sluice_state_keys{operation=\"update_state_by_key\"} 3"));
        // Read again when asked again: the state now.
        m.state = holding(vec![view("update_state_by_key", 5, 2048), view("map_with_state<x>", 2, 70)]);
        let page = page::overview(&m, 1);
        assert!(
            page.contains(
                "<td><code>update_state_by_key</code></td><td class=\"num\">5</td><td class=\"num\">2048</td>"
            ),
            "{page}"
        );
        assert!(page.contains("map_with_state&lt;x&gt;"), "{page}");
        let metrics = m.metrics_text();
        assert!(metrics.contains("sluice_state_keys{operation=\"update_state_by_key\"} 5"), "{metrics}");
        assert!(metrics.contains("sluice_state_keys{operation=\"map_with_state<x>\"} 2"), "{metrics}");
        assert!(metrics.contains("sluice_state_bytes{operation=\"update_state_by_key\"} 2048"), "{metrics}");
        let state: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/state", "").body).unwrap();
        assert_eq!(state[0]["operation"], "update_state_by_key");
        assert_eq!((state[0]["keys"].as_u64(), state[0]["bytes"].as_u64()), (Some(5), Some(2048)));
        assert!(state[0]["window"].is_null());
    }

    #[test]
    fn window_contents_show_on_the_page_and_in_the_api() {
        let mut m = monitor(&["a"]);
        let batches = [(1000, Some(3), None), (2000, Some(0), None), (3000, Some(4), None)]
            .map(|(t, records, keys)| WindowBatch { time: Time::from_millis(t), records, keys });
        let w = StateView {
            operation: "window(window 3000 ms, slide 1000 ms)".into(),
            keys: None,
            bytes: Some(7 * 24),
            window: Some(batches.to_vec()),
        };
        m.state = holding(vec![w]);
        let state: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/state", "").body).unwrap();
        let window = &state[0]["window"];
        assert_eq!(window["batches"].as_array().unwrap().len(), 3);
        assert_eq!(window["batches"][2]["batchId"], 3000);
        assert_eq!(window["batches"][2]["records"], 4);
        assert!(window["batches"][2]["keys"].is_null());
        assert_eq!(window["records"], 7);
        assert_eq!(window["from"], 1000);
        let page = page::overview(&m, 1);
        assert!(page.contains("<table id=\"window-1\""), "{page}");
        assert!(page.contains("<td class=\"num\">4</td>"), "{page}");
    }

    #[test]
    fn a_cluster_page_has_a_row_per_process_and_totals() {
        let mut m = monitor(&["a"]);
        m.set_processes(2);
        m.state = holding(vec![view("update_state_by_key", 5, 500)]);
        m.batch_completed(&crate::ui::ring::tests::info(1000, &[3]), 0);
        let follower = ProcessReport {
            process: 1,
            time: Time::from_millis(1000),
            processing_micros: 25_000,
            records_read: vec![4],
            records_read_total: vec![10],
            records_here_total: vec![4],
            inputs: vec![crate::metrics::InputStatus::default()],
            state: vec![view("update_state_by_key", 7, 700)],
            ..ProcessReport::default()
        };
        m.process_reports(vec![follower]);
        let p: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/processes", "").body).unwrap();
        assert_eq!(p["processes"], 2);
        assert_eq!(p["rows"][1]["process"], 1);
        assert_eq!(p["rows"][1]["recordsRead"], 4);
        assert_eq!(p["rows"][1]["processingTime"], 25);
        assert_eq!(p["totals"]["stateKeys"], 12);
        assert_eq!(p["totals"]["stateBytes"], 1200);
        let state: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/state", "").body).unwrap();
        assert_eq!((state[0]["keys"].as_u64(), state[0]["bytes"].as_u64()), (Some(12), Some(1200)));
        assert_eq!(state[0]["processes"][1]["keys"], 7);
        let batch: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/batches/1000", "").body).unwrap();
        assert_eq!(batch["processes"][1]["processingTime"], 25);
        let page = page::overview(&m, 1);
        assert!(page.contains("<table id=\"processes\">"), "{page}");
        assert!(page.contains("<tr class=\"total\"><td>all 2</td>"), "{page}");
        let metrics = m.metrics_text();
        assert!(
            metrics.contains("sluice_state_bytes{operation=\"update_state_by_key\",process=\"1\"} 700"),
            "{metrics}"
        );
        assert!(metrics.contains("sluice_process_processing_time_seconds{process=\"1\"} 0.025"), "{metrics}");
        assert!(metrics.contains("sluice_process_records_read_total{process=\"1\",input=\"a\"} 4"), "{metrics}");
    }

    #[test]
    fn the_plan_is_the_runtimes_with_each_fused_stages_time() {
        let mut graph =
            Graph { inputs: vec![Arc::new(Named("lines".to_string())) as Arc<dyn Input>], ..Graph::default() };
        let stage = crate::stage::Stage { from: "input 1".into(), ops: vec!["flat_map", "map"], into: "count".into() };
        graph.stages.register(stage);
        let ssc = crate::StreamingContext::new(Duration::seconds(1)).with_name("test");
        let m = Monitor::new(ssc.conf(), &UiConf::default(), &graph, Box::new(Vec::new));
        let mut b = crate::ui::ring::tests::info(1000, &[3]);
        b.fused_stage_times = vec![Some(std::time::Duration::from_micros(1500))];
        m.batch_completed(&b, 0);
        let page = page::overview(&m, 1);
        assert_eq!(page.matches("<pre").count(), 1, "one plan: {page}");
        let line = "stage 1 &lt;- input 1: flat_map -&gt; map -&gt; count   (fused)   <span class=\"stage-time\">last 1.500 ms";
        assert!(page.contains(line), "{page}");
        assert!(page.contains("<tr><td>stage 1</td>"), "{page}");
        let stages: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/stages", "").body).unwrap();
        assert_eq!((stages[0]["stage"].as_str(), stages[0]["lastMicros"].as_u64()), (Some("stage 1"), Some(1500)));
        let batch: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/batches/1000", "").body).unwrap();
        assert_eq!(batch["fusedStageTimesMicros"], serde_json::json!([1500]));
        let metrics = m.metrics_text();
        assert!(metrics.contains("sluice_stage_seconds_count{stage=\"1\",operator=\"count\"} 1\n"), "{metrics}");
    }

    #[test]
    fn a_cluster_batch_shows_each_process_share_of_its_inputs_and_stage_times() {
        let mut graph =
            Graph { inputs: vec![Arc::new(Named("files".to_string())) as Arc<dyn Input>], ..Graph::default() };
        graph.stages.register(crate::stage::Stage { from: "input 1".into(), ops: vec!["map"], into: "count".into() });
        let ssc = crate::StreamingContext::new(Duration::seconds(1)).with_name("test");
        let m = Monitor::new(ssc.conf(), &UiConf::default(), &graph, Box::new(Vec::new));
        m.set_processes(2);
        let mut b = crate::ui::ring::tests::info(1000, &[9]);
        let files = [("/in/a", 100), ("/in/b", 10), ("/in/c", 50)].map(|(p, n)| (p.to_string(), n));
        b.input_details = vec![InputDetail::Files(files.to_vec())];
        b.fused_stage_times = vec![Some(std::time::Duration::from_micros(700))];
        m.batch_completed(&b, 0);
        let follower = ProcessReport {
            process: 1,
            time: Time::from_millis(1000),
            records_read: vec![4],
            fused_micros: vec![Some(300)],
            ..ProcessReport::default()
        };
        m.process_reports(vec![follower]);
        // By size, the largest first to the least loaded: a to process 0, c then b to 1.
        let batch: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/batches/1000", "").body).unwrap();
        let shares = &batch["inputs"][0]["processes"];
        assert_eq!(shares[0]["files"], serde_json::json!([{ "path": "/in/a", "bytes": 100 }]));
        assert_eq!(shares[1]["files"][0]["path"], "/in/b");
        assert_eq!(shares[1]["files"][1]["path"], "/in/c");
        assert_eq!((shares[1]["process"].as_u64(), shares[1]["recordsRead"].as_u64()), (Some(1), Some(4)));
        let page = page::batch(&m, &m.ring.lock().get(1000).unwrap().clone());
        assert!(page.contains("<h2>Inputs per Process</h2>"), "{page}");
        assert!(page.contains("<tr><td class=\"num\">1</td><td>files</td><td class=\"num\">4</td>"), "{page}");
        let stages: serde_json::Value =
            serde_json::from_str(&api::route(&m, "/api/v1/streaming/stages", "").body).unwrap();
        assert_eq!(stages[0]["processes"][1], serde_json::json!({ "process": 1, "lastMicros": 300 }));
        assert_eq!(stages[0]["processes"][0]["lastMicros"], 700);
        assert!(page::overview(&m, 1).contains("<td class=\"per-process\">0: 0.700 ms, 1: 0.300 ms</td>"));
        let metrics = m.metrics_text();
        assert!(
            metrics.contains("sluice_stage_seconds_count{stage=\"1\",operator=\"count\",process=\"1\"} 1\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("sluice_stage_seconds_count{stage=\"1\",operator=\"count\",process=\"0\"} 1\n"),
            "{metrics}"
        );
    }

    #[test]
    fn every_recorded_batch_is_counted_past_the_ring() {
        let m = monitor(&["a", "b"]);
        let batch = crate::ui::ring::tests::info(1000, &[3, 4]);
        let n: u32 = 5_000;
        for _ in 0..n {
            m.batch_completed(&batch, 0);
        }
        let ring = m.ring.lock();
        assert_eq!(ring.completed, u64::from(n));
        assert_eq!(ring.records, u64::from(n) * 7);
        assert!(ring.iter().len() < n as usize, "the ring keeps a bounded number of batches");
    }
}
