//! The namespace: a directory tree of inodes plus the block map, persisted as HDFS's namenode does it:
//! a snapshot (`namespace.json`, HDFS's fsimage) and an edit log (`edits.jsonl`).
//!
//! Every mutation appends one line to the edit log before it answers (its arguments and its time), so a
//! new cluster started on the same data directory sees every completed operation: it loads the snapshot
//! and replays the edits after it through the same code. A mutation costs one small append, whatever the
//! size of the namespace (rewriting the whole snapshot on every mutation made each one cost as much as
//! the namespace is big: about 30 ms for a few thousand files in a debug build, which a streaming job
//! writing its outputs and checkpoints every 100 ms could not keep up with). The snapshot is rewritten
//! at start and every [`EDITS_PER_SNAPSHOT`] edits, and the edit log emptied after it; each edit carries
//! a sequence number and the snapshot the number of the last edit it holds, so an edit log that could
//! not be emptied (a crash in between) is not applied twice. A torn last line (a crash while appending)
//! is dropped. Block lengths reported by the datanode while a block is being written are kept in memory
//! only and reconciled with the block files on disk at load time.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, NsError};

type NsResult<T> = Result<T, NsError>;

/// HDFS gives the root directory this inode id; new inodes count up from it.
const ROOT_INODE_ID: u64 = 16385;
/// First block id handed out (HDFS starts sequential block ids at 2^30).
const FIRST_BLOCK_ID: u64 = 1 << 30;
const GENERATION_STAMP: u64 = 1001;
const DEFAULT_GROUP: &str = "supergroup";

/// The snapshot is rewritten (and the edit log emptied) after this many edits (fewer in unit tests).
pub(crate) const EDITS_PER_SNAPSHOT: u64 = if cfg!(test) { 50 } else { 20_000 };

thread_local! {
    /// The time of the mutation running on this thread: every timestamp it sets and the time its
    /// edit records are the same, so a replay sets the same ones.
    static CLOCK: Cell<Option<u64>> = const { Cell::new(None) };
    /// The edit log is being replayed on this thread: mutations record nothing.
    static REPLAYING: Cell<bool> = const { Cell::new(false) };
}

/// Milliseconds since the Unix epoch; within a mutation, the time it started.
pub(crate) fn now_millis() -> u64 {
    CLOCK.with(Cell::get).unwrap_or_else(wall_millis)
}

fn wall_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Fixes [`now_millis`] for the mutation that holds it (an outer one keeps its time).
struct ClockPin {
    outer: bool,
}

fn pin_clock() -> ClockPin {
    let outer = CLOCK.with(Cell::get).is_none();
    if outer {
        CLOCK.with(|c| c.set(Some(wall_millis())));
    }
    ClockPin { outer }
}

impl Drop for ClockPin {
    fn drop(&mut self) {
        if self.outer {
            CLOCK.with(|c| c.set(None));
        }
    }
}

/// One mutation, as the edit log records it: what was asked, replayed through the same method.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Edit {
    Mkdirs {
        path: String,
        perm: u32,
        create_parent: bool,
        user: String,
    },
    Create {
        path: String,
        perm: u32,
        overwrite: bool,
        create_parent: bool,
        replication: u32,
        block_size: u64,
        client: String,
        user: String,
    },
    Append {
        path: String,
        client: String,
    },
    AddBlock {
        path: String,
        file_id: Option<u64>,
        previous: Option<(u64, u64)>,
    },
    Complete {
        path: String,
        file_id: Option<u64>,
        last: Option<(u64, u64)>,
    },
    RecoverLease {
        path: String,
    },
    AbandonBlock {
        path: String,
        file_id: Option<u64>,
        block: u64,
    },
    Truncate {
        path: String,
        new_len: u64,
    },
    Fsync {
        path: String,
        file_id: Option<u64>,
        last_len: Option<u64>,
    },
    Rename2 {
        src: String,
        dst: String,
        overwrite: bool,
    },
    Rename {
        src: String,
        dst: String,
    },
    Delete {
        path: String,
        recursive: bool,
    },
    SetTimes {
        path: String,
        mtime: u64,
        atime: u64,
    },
    SetPermission {
        path: String,
        perm: u32,
    },
    SetOwner {
        path: String,
        owner: Option<String>,
        group: Option<String>,
    },
    UpdateBlock {
        id: u64,
        len: Option<u64>,
        gen: Option<u64>,
    },
    BlockReceived {
        id: u64,
        len: u64,
        finalized: bool,
    },
}

/// A line of the edit log.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// Edits are numbered from 1.
    seq: u64,
    /// The mutation's time.
    now: u64,
    edit: Edit,
}

/// The open edit log.
#[derive(Debug)]
struct Journal {
    file: std::fs::File,
    path: PathBuf,
    /// Edits appended since the snapshot was written.
    since_snapshot: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Inode {
    id: u64,
    mtime: u64,
    atime: u64,
    perm: u32,
    owner: String,
    group: String,
    body: Body,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Body {
    Dir(BTreeMap<String, Inode>),
    File(FileBody),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileBody {
    replication: u32,
    block_size: u64,
    blocks: Vec<u64>,
    /// Lease holder while the file is under construction.
    client: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct BlockInfo {
    gen: u64,
    len: u64,
    finalized: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The number of the last edit this state holds.
    #[serde(default)]
    seq: u64,
    root: Inode,
    next_inode_id: u64,
    next_block_id: u64,
    blocks: BTreeMap<u64, BlockInfo>,
}

/// A located block as the namenode reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLoc {
    pub id: u64,
    pub gen: u64,
    pub len: u64,
    /// Offset of the block's first byte in the file.
    pub offset: u64,
}

/// What `getFileInfo`/`getListing` report about one inode.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    /// Local name (empty for `getFileInfo`, like HDFS).
    pub name: Vec<u8>,
    pub is_dir: bool,
    pub length: u64,
    pub perm: u32,
    pub owner: String,
    pub group: String,
    pub mtime: u64,
    pub atime: u64,
    pub replication: u32,
    pub block_size: u64,
    pub file_id: u64,
    pub children: i32,
    pub blocks: Vec<BlockLoc>,
}

/// Totals for `getContentSummary`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub length: u64,
    pub files: u64,
    pub dirs: u64,
}

/// What a `truncate` leaves for the block store to do.
#[derive(Debug)]
pub(crate) struct Truncation {
    /// The block now ending mid-way: (id, new length).
    pub cut: Option<(u64, u64)>,
    /// Blocks past the new end.
    pub removed: Vec<u64>,
}

/// Arguments of `create`.
#[derive(Debug)]
pub(crate) struct CreateArgs<'a> {
    pub path: &'a str,
    pub perm: u32,
    pub overwrite: bool,
    pub create_parent: bool,
    pub replication: u32,
    pub block_size: u64,
    pub client: &'a str,
    pub user: &'a str,
}

/// The namesystem: the tree behind a mutex, persisted to `meta_path` and its edit log.
#[derive(Debug)]
pub(crate) struct Namesystem {
    state: Mutex<State>,
    meta_path: PathBuf,
    /// Locked after `state`, by the mutation holding it.
    journal: Mutex<Journal>,
}

/// Splits an absolute path into its components, rejecting relative paths and `.`/`..`.
fn components(path: &str) -> NsResult<Vec<&str>> {
    if !path.starts_with('/') {
        return Err(NsError::InvalidPath(path.to_string()));
    }
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if comps.iter().any(|c| *c == "." || *c == ".." || c.contains(':')) {
        return Err(NsError::InvalidPath(path.to_string()));
    }
    Ok(comps)
}

fn join(comps: &[&str]) -> String {
    format!("/{}", comps.join("/"))
}

fn lookup<'a>(root: &'a Inode, comps: &[&str]) -> Option<&'a Inode> {
    let mut node = root;
    for c in comps {
        match &node.body {
            Body::Dir(children) => node = children.get(*c)?,
            Body::File(_) => return None,
        }
    }
    Some(node)
}

fn lookup_mut<'a>(root: &'a mut Inode, comps: &[&str]) -> Option<&'a mut Inode> {
    let mut node = root;
    for c in comps {
        match &mut node.body {
            Body::Dir(children) => node = children.get_mut(*c)?,
            Body::File(_) => return None,
        }
    }
    Some(node)
}

/// The directory at `comps`, with HDFS's errors for a missing or non-directory component.
fn dir_mut<'a>(root: &'a mut Inode, comps: &[&str]) -> NsResult<&'a mut Inode> {
    let mut node = root;
    for (i, c) in comps.iter().enumerate() {
        match &mut node.body {
            Body::Dir(children) => {
                node = children.get_mut(*c).ok_or_else(|| NsError::NotFound(join(&comps[..=i])))?;
            }
            Body::File(_) => return Err(NsError::ParentNotDirectory(join(&comps[..i]))),
        }
    }
    match node.body {
        Body::Dir(_) => Ok(node),
        Body::File(_) => Err(NsError::ParentNotDirectory(join(comps))),
    }
}

fn children_mut(dir: &mut Inode) -> &mut BTreeMap<String, Inode> {
    match &mut dir.body {
        Body::Dir(children) => children,
        // dir_mut only returns directories.
        Body::File(_) => unreachable!("children_mut called on a file"),
    }
}

fn collect_blocks(node: &Inode, out: &mut Vec<u64>) {
    match &node.body {
        Body::Dir(children) => children.values().for_each(|c| collect_blocks(c, out)),
        Body::File(f) => out.extend_from_slice(&f.blocks),
    }
}

fn find_by_id<'a>(node: &'a Inode, id: u64, path: &mut Vec<&'a str>) -> bool {
    if node.id == id {
        return true;
    }
    if let Body::Dir(children) = &node.body {
        for (name, child) in children {
            path.push(name);
            if find_by_id(child, id, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

impl State {
    fn fresh(user: &str) -> State {
        let now = now_millis();
        State {
            seq: 0,
            root: Inode {
                id: ROOT_INODE_ID,
                mtime: now,
                atime: 0,
                perm: 0o755,
                owner: user.to_string(),
                group: DEFAULT_GROUP.to_string(),
                body: Body::Dir(BTreeMap::new()),
            },
            next_inode_id: ROOT_INODE_ID + 1,
            next_block_id: FIRST_BLOCK_ID,
            blocks: BTreeMap::new(),
        }
    }

    fn new_inode(&mut self, perm: u32, user: &str, body: Body) -> Inode {
        let now = now_millis();
        let id = self.next_inode_id;
        self.next_inode_id += 1;
        Inode {
            id,
            mtime: now,
            atime: if matches!(body, Body::File(_)) { now } else { 0 },
            perm,
            owner: user.to_string(),
            group: DEFAULT_GROUP.to_string(),
            body,
        }
    }

    fn file_len(&self, f: &FileBody) -> u64 {
        f.blocks.iter().filter_map(|b| self.blocks.get(b)).map(|b| b.len).sum()
    }

    fn block_locs(&self, f: &FileBody) -> Vec<BlockLoc> {
        let mut offset = 0;
        let mut out = Vec::with_capacity(f.blocks.len());
        for id in &f.blocks {
            let info =
                self.blocks.get(id).copied().unwrap_or(BlockInfo { gen: GENERATION_STAMP, len: 0, finalized: false });
            out.push(BlockLoc { id: *id, gen: info.gen, len: info.len, offset });
            offset += info.len;
        }
        out
    }

    fn status(&self, node: &Inode, name: &[u8]) -> Status {
        let (is_dir, length, replication, block_size, children, blocks) = match &node.body {
            Body::Dir(c) => (true, 0, 0, 0, c.len() as i32, Vec::new()),
            Body::File(f) => (false, self.file_len(f), f.replication, f.block_size, 0, self.block_locs(f)),
        };
        Status {
            name: name.to_vec(),
            is_dir,
            length,
            perm: node.perm,
            owner: node.owner.clone(),
            group: node.group.clone(),
            mtime: node.mtime,
            atime: node.atime,
            replication,
            block_size,
            file_id: node.id,
            children,
            blocks,
        }
    }

    /// Resolves a file by path, falling back to its inode id (the file may have been renamed while open).
    fn file_path(&self, path: &str, file_id: Option<u64>) -> NsResult<Vec<String>> {
        let comps = components(path)?;
        if let Some(node) = lookup(&self.root, &comps) {
            if file_id.is_none_or(|id| id == 0 || id == node.id) {
                return Ok(comps.iter().map(|s| s.to_string()).collect());
            }
        }
        if let Some(id) = file_id.filter(|id| *id != 0) {
            let mut found = Vec::new();
            if find_by_id(&self.root, id, &mut found) {
                return Ok(found.iter().map(|s| s.to_string()).collect());
            }
        }
        Err(NsError::NotFound(path.to_string()))
    }

    fn file_mut(&mut self, comps: &[String], path: &str) -> NsResult<(&mut Inode, &mut BTreeMap<u64, BlockInfo>)> {
        let comps: Vec<&str> = comps.iter().map(String::as_str).collect();
        let node = lookup_mut(&mut self.root, &comps).ok_or_else(|| NsError::NotFound(path.to_string()))?;
        match node.body {
            Body::File(_) => Ok((node, &mut self.blocks)),
            Body::Dir(_) => Err(NsError::Io(format!("{path} is a directory"))),
        }
    }

    fn remove_blocks(&mut self, ids: &[u64]) {
        for id in ids {
            self.blocks.remove(id);
        }
    }

    /// `rename2` semantics; returns the ids of blocks of an overwritten destination.
    fn rename2(&mut self, src: &str, dst: &str, overwrite: bool) -> NsResult<Vec<u64>> {
        let s = components(src)?;
        let d = components(dst)?;
        if s.is_empty() {
            return Err(NsError::Io("cannot rename the root directory".into()));
        }
        if d.is_empty() {
            return Err(NsError::AlreadyExists(dst.to_string()));
        }
        let src_node = lookup(&self.root, &s).ok_or_else(|| NsError::NotFound(src.to_string()))?;
        let src_is_dir = matches!(src_node.body, Body::Dir(_));
        if s == d {
            return Err(NsError::AlreadyExists(format!("The source {src} and destination {dst} are the same")));
        }
        if d.len() > s.len() && d[..s.len()] == s[..] {
            return Err(NsError::Io(format!("{dst} is a subdirectory of {src}")));
        }
        dir_mut(&mut self.root, &d[..d.len() - 1])?;
        let mut removed = Vec::new();
        if let Some(existing) = lookup(&self.root, &d) {
            if !overwrite {
                return Err(NsError::AlreadyExists(format!("rename destination {dst} already exists")));
            }
            match (&existing.body, src_is_dir) {
                (Body::Dir(c), true) if !c.is_empty() => {
                    return Err(NsError::Io(format!("rename destination directory is not empty: {dst}")))
                }
                (Body::Dir(_), false) => {
                    return Err(NsError::Io(format!("Source {src} is a file but destination {dst} is a directory")))
                }
                (Body::File(_), true) => {
                    return Err(NsError::Io(format!("Source {src} is a directory but destination {dst} is a file")))
                }
                _ => collect_blocks(existing, &mut removed),
            }
        }
        let now = now_millis();
        let src_parent = dir_mut(&mut self.root, &s[..s.len() - 1])?;
        src_parent.mtime = now;
        let node = children_mut(src_parent).remove(s[s.len() - 1]).ok_or_else(|| NsError::NotFound(src.to_string()))?;
        let dst_parent = dir_mut(&mut self.root, &d[..d.len() - 1])?;
        dst_parent.mtime = now;
        children_mut(dst_parent).insert(d[d.len() - 1].to_string(), node);
        self.remove_blocks(&removed);
        Ok(removed)
    }
}

impl Namesystem {
    /// Loads the namespace from `data_dir/namespace.json` and the edits after it in
    /// `data_dir/edits.jsonl`, or starts an empty one; then writes a new snapshot and empties the
    /// edit log.
    pub(crate) fn open(data_dir: &Path, block_dir: &Path, user: &str) -> Result<Namesystem, Error> {
        let meta_path = data_dir.join("namespace.json");
        let state = match std::fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice::<State>(&bytes)
                .map_err(|source| Error::Metadata { path: meta_path.clone(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::fresh(user),
            Err(e) => return Err(e.into()),
        };
        let journal_path = data_dir.join("edits.jsonl");
        let edits = read_edits(&journal_path, state.seq)?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&journal_path)?;
        let journal = Journal { file, path: journal_path, since_snapshot: 0 };
        let ns = Namesystem { state: Mutex::new(state), meta_path, journal: Mutex::new(journal) };
        let replayed = edits.len();
        REPLAYING.with(|r| r.set(true));
        for entry in edits {
            CLOCK.with(|c| c.set(Some(entry.now)));
            if let Err(e) = ns.apply(entry.edit) {
                tracing::warn!(seq = entry.seq, "edit log entry no longer applies: {e}");
            }
        }
        CLOCK.with(|c| c.set(None));
        REPLAYING.with(|r| r.set(false));
        if replayed > 0 {
            tracing::info!(replayed, "replayed the edit log");
        }
        let mut st = ns.lock();
        // Lengths of blocks that were being written when the last cluster stopped live on disk only.
        for (id, info) in st.blocks.iter_mut() {
            if let Ok(meta) = std::fs::metadata(block_dir.join(crate::datanode::block_file_name(*id))) {
                info.len = meta.len();
            }
        }
        ns.snapshot(&st, &mut ns.journal())?;
        drop(st);
        Ok(ns)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the snapshot of `state` (temporary file, then rename) and empties the edit log.
    fn snapshot(&self, state: &State, journal: &mut Journal) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        let tmp = self.meta_path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.meta_path)?;
        journal.file.set_len(0)?;
        journal.since_snapshot = 0;
        Ok(())
    }

    /// Records the mutation `edit` just made to `st` (under its lock): one line appended to the
    /// edit log, and now and then a new snapshot. Records nothing while the log is replayed.
    fn log(&self, st: &mut State, edit: Edit) -> std::io::Result<()> {
        st.seq += 1;
        if REPLAYING.with(Cell::get) {
            return Ok(());
        }
        let entry = Entry { seq: st.seq, now: now_millis(), edit };
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut journal = self.journal();
        journal.file.write_all(&line)?;
        journal.since_snapshot += 1;
        if journal.since_snapshot >= EDITS_PER_SNAPSHOT {
            tracing::debug!(path = %journal.path.display(), "writing a snapshot of the namespace");
            self.snapshot(st, &mut journal)?;
        }
        Ok(())
    }

    /// Runs the mutation `edit` records (replaying the edit log).
    fn apply(&self, edit: Edit) -> NsResult<()> {
        match edit {
            Edit::Mkdirs { path, perm, create_parent, user } => self.mkdirs(&path, perm, create_parent, &user),
            Edit::Create { path, perm, overwrite, create_parent, replication, block_size, client, user } => self
                .create(&CreateArgs {
                    path: &path,
                    perm,
                    overwrite,
                    create_parent,
                    replication,
                    block_size,
                    client: &client,
                    user: &user,
                })
                .map(drop),
            Edit::Append { path, client } => self.append(&path, &client).map(drop),
            Edit::AddBlock { path, file_id, previous } => self.add_block(&path, file_id, previous).map(drop),
            Edit::Complete { path, file_id, last } => self.complete(&path, file_id, last).map(drop),
            Edit::RecoverLease { path } => self.recover_lease(&path).map(drop),
            Edit::AbandonBlock { path, file_id, block } => self.abandon_block(&path, file_id, block),
            Edit::Truncate { path, new_len } => self.truncate(&path, new_len).map(drop),
            Edit::Fsync { path, file_id, last_len } => self.fsync(&path, file_id, last_len),
            Edit::Rename2 { src, dst, overwrite } => self.rename2(&src, &dst, overwrite).map(drop),
            Edit::Rename { src, dst } => self.rename(&src, &dst).map(drop),
            Edit::Delete { path, recursive } => self.delete(&path, recursive).map(drop),
            Edit::SetTimes { path, mtime, atime } => self.set_times(&path, mtime, atime),
            Edit::SetPermission { path, perm } => self.set_permission(&path, perm),
            Edit::SetOwner { path, owner, group } => self.set_owner(&path, owner, group),
            Edit::UpdateBlock { id, len, gen } => self.update_block(id, len, gen).map(drop),
            Edit::BlockReceived { id, len, finalized } => self.block_received(id, len, finalized),
        }
    }

    /// Status of `path`, `None` when it does not exist.
    pub(crate) fn file_info(&self, path: &str) -> NsResult<Option<Status>> {
        let comps = components(path)?;
        let st = self.lock();
        Ok(lookup(&st.root, &comps).map(|n| st.status(n, b"")))
    }

    /// One page of a directory listing: entries after `start_after` and how many remain after the page.
    pub(crate) fn list(&self, path: &str, start_after: &[u8], limit: usize) -> NsResult<Option<(Vec<Status>, u32)>> {
        let comps = components(path)?;
        let st = self.lock();
        let Some(node) = lookup(&st.root, &comps) else {
            return Ok(None);
        };
        match &node.body {
            Body::File(_) => Ok(Some((vec![st.status(node, b"")], 0))),
            Body::Dir(children) => {
                let mut rest = children.iter().filter(|(name, _)| name.as_bytes() > start_after);
                let page: Vec<Status> =
                    rest.by_ref().take(limit.max(1)).map(|(name, c)| st.status(c, name.as_bytes())).collect();
                Ok(Some((page, rest.count() as u32)))
            }
        }
    }

    /// Creates `path` and missing parents (when `create_parent`), like `mkdirs`.
    pub(crate) fn mkdirs(&self, path: &str, perm: u32, create_parent: bool, user: &str) -> NsResult<()> {
        let _clock = pin_clock();
        let comps = components(path)?;
        let mut st = self.lock();
        if let Some(node) = lookup(&st.root, &comps) {
            return match node.body {
                Body::Dir(_) => Ok(()),
                Body::File(_) => Err(NsError::AlreadyExists(format!("{path} is a file"))),
            };
        }
        let mut existing = 0;
        while existing < comps.len() && lookup(&st.root, &comps[..=existing]).is_some() {
            existing += 1;
        }
        if existing + 1 < comps.len() && !create_parent {
            return Err(NsError::NotFound(format!("Parent directory doesn't exist: {}", join(&comps[..existing + 1]))));
        }
        dir_mut(&mut st.root, &comps[..existing])?;
        let now = now_millis();
        for i in existing..comps.len() {
            let node = st.new_inode(perm, user, Body::Dir(BTreeMap::new()));
            let parent = dir_mut(&mut st.root, &comps[..i])?;
            parent.mtime = now;
            children_mut(parent).insert(comps[i].to_string(), node);
        }
        self.log(&mut st, Edit::Mkdirs { path: path.to_string(), perm, create_parent, user: user.to_string() })?;
        Ok(())
    }

    /// Creates a file under construction; returns its status and the blocks of a replaced file.
    pub(crate) fn create(&self, args: &CreateArgs<'_>) -> NsResult<(Status, Vec<u64>)> {
        let _clock = pin_clock();
        let comps = components(args.path)?;
        let Some((name, parent_comps)) = comps.split_last() else {
            return Err(NsError::AlreadyExists("/ is a directory".into()));
        };
        if args.create_parent && !parent_comps.is_empty() {
            drop_result(self.mkdirs(&join(parent_comps), 0o755, true, args.user))?;
        }
        let mut st = self.lock();
        let mut removed = Vec::new();
        if let Some(existing) = lookup(&st.root, &comps) {
            match existing.body {
                Body::Dir(_) => {
                    return Err(NsError::AlreadyExists(format!("{} already exists as a directory", args.path)))
                }
                Body::File(_) if !args.overwrite => return Err(NsError::AlreadyExists(args.path.to_string())),
                Body::File(_) => collect_blocks(existing, &mut removed),
            }
        }
        dir_mut(&mut st.root, parent_comps)?;
        let file = st.new_inode(
            args.perm,
            args.user,
            Body::File(FileBody {
                replication: args.replication.max(1),
                block_size: args.block_size,
                blocks: Vec::new(),
                client: Some(args.client.to_string()),
            }),
        );
        let status = st.status(&file, b"");
        let parent = dir_mut(&mut st.root, parent_comps)?;
        parent.mtime = file.mtime;
        children_mut(parent).insert(name.to_string(), file);
        st.remove_blocks(&removed);
        self.log(
            &mut st,
            Edit::Create {
                path: args.path.to_string(),
                perm: args.perm,
                overwrite: args.overwrite,
                create_parent: args.create_parent,
                replication: args.replication,
                block_size: args.block_size,
                client: args.client.to_string(),
                user: args.user.to_string(),
            },
        )?;
        Ok((status, removed))
    }

    /// Reopens a closed file for append; returns its status and its last block if that is not full.
    pub(crate) fn append(&self, path: &str, client: &str) -> NsResult<(Status, Option<BlockLoc>)> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, None)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        let Body::File(f) = &mut node.body else {
            return Err(NsError::Io(format!("{path} is a directory")));
        };
        if f.client.is_some() {
            return Err(NsError::Io(format!("Failed to append to {path}: file is already being written")));
        }
        f.client = Some(client.to_string());
        let block_size = f.block_size;
        let last = f.blocks.last().copied();
        if let Some(id) = last {
            if let Some(b) = blocks.get_mut(&id) {
                b.finalized = false;
            }
        }
        let node = node.clone();
        let status = st.status(&node, b"");
        let last = status.blocks.last().copied().filter(|b| b.len < block_size);
        self.log(&mut st, Edit::Append { path: path.to_string(), client: client.to_string() })?;
        Ok((status, last))
    }

    /// Allocates the next block of a file under construction.
    pub(crate) fn add_block(
        &self,
        path: &str,
        file_id: Option<u64>,
        previous: Option<(u64, u64)>,
    ) -> NsResult<BlockLoc> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let block_id = st.next_block_id;
        let (node, blocks) = st.file_mut(&comps, path)?;
        let Body::File(f) = &mut node.body else {
            return Err(NsError::Io(format!("{path} is a directory")));
        };
        if f.client.is_none() {
            return Err(NsError::Lease(path.to_string()));
        }
        if let Some((id, len)) = previous {
            if let Some(b) = blocks.get_mut(&id) {
                b.len = len;
            }
        }
        let offset = f.blocks.iter().filter_map(|b| blocks.get(b)).map(|b| b.len).sum();
        f.blocks.push(block_id);
        blocks.insert(block_id, BlockInfo { gen: GENERATION_STAMP, len: 0, finalized: false });
        st.next_block_id += 1;
        self.log(&mut st, Edit::AddBlock { path: path.to_string(), file_id, previous })?;
        Ok(BlockLoc { id: block_id, gen: GENERATION_STAMP, len: 0, offset })
    }

    /// Closes a file; `false` while some block has not been finalized by the datanode yet.
    pub(crate) fn complete(&self, path: &str, file_id: Option<u64>, last: Option<(u64, u64)>) -> NsResult<bool> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        let Body::File(f) = &mut node.body else {
            return Err(NsError::Io(format!("{path} is a directory")));
        };
        if f.client.is_none() {
            return Ok(true);
        }
        if let Some((id, len)) = last {
            if let Some(b) = blocks.get_mut(&id) {
                b.len = len;
            }
        }
        if !f.blocks.iter().all(|b| blocks.get(b).is_some_and(|b| b.finalized)) {
            return Ok(false);
        }
        f.client = None;
        node.mtime = now_millis();
        self.log(&mut st, Edit::Complete { path: path.to_string(), file_id, last })?;
        Ok(true)
    }

    /// Lease recovery (`recoverLease`), as HDFS does it for a file whose writer is gone (killed
    /// while writing): the blocks keep the bytes the datanode received, the last one is finalized
    /// at that length, and the file is closed, so it reads whole and can be appended to. `true`
    /// once the file is closed (at once: there is no datanode to wait for).
    pub(crate) fn recover_lease(&self, path: &str) -> NsResult<bool> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, None)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        let Body::File(f) = &mut node.body else {
            return Err(NsError::Io(format!("{path} is a directory")));
        };
        if f.client.is_none() {
            return Ok(true);
        }
        for id in &f.blocks {
            if let Some(b) = blocks.get_mut(id) {
                b.finalized = true;
            }
        }
        f.client = None;
        node.mtime = now_millis();
        self.log(&mut st, Edit::RecoverLease { path: path.to_string() })?;
        Ok(true)
    }

    /// Drops a block the client could not write (`abandonBlock`).
    pub(crate) fn abandon_block(&self, path: &str, file_id: Option<u64>, block: u64) -> NsResult<()> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        if let Body::File(f) = &mut node.body {
            if f.blocks.last() == Some(&block) {
                f.blocks.pop();
                blocks.remove(&block);
            }
        }
        self.log(&mut st, Edit::AbandonBlock { path: path.to_string(), file_id, block })?;
        Ok(())
    }

    /// Shortens a closed file to `new_len` at once.
    pub(crate) fn truncate(&self, path: &str, new_len: u64) -> NsResult<Truncation> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, None)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        let Body::File(f) = &mut node.body else {
            return Err(NsError::Io(format!("{path} is a directory")));
        };
        if f.client.is_some() {
            return Err(NsError::Io(format!("Failed to truncate {path}: file is open for writing")));
        }
        let len: u64 = f.blocks.iter().filter_map(|b| blocks.get(b)).map(|b| b.len).sum();
        if new_len > len {
            return Err(NsError::Io(format!(
                "Cannot truncate to a larger file size. Current size: {len}, truncate size: {new_len}."
            )));
        }
        let mut offset = 0;
        let mut keep = 0;
        let mut cut = None;
        for id in &f.blocks {
            if offset >= new_len {
                break;
            }
            keep += 1;
            if let Some(b) = blocks.get_mut(id) {
                if offset + b.len > new_len {
                    b.len = new_len - offset;
                    cut = Some((*id, b.len));
                }
                offset += b.len;
            }
        }
        let removed = f.blocks.split_off(keep);
        removed.iter().for_each(|id| {
            blocks.remove(id);
        });
        node.mtime = now_millis();
        self.log(&mut st, Edit::Truncate { path: path.to_string(), new_len })?;
        Ok(Truncation { cut, removed })
    }

    /// Records the length of the last block after an hsync.
    pub(crate) fn fsync(&self, path: &str, file_id: Option<u64>, last_len: Option<u64>) -> NsResult<()> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        if let (Body::File(f), Some(len)) = (&node.body, last_len) {
            if let Some(b) = f.blocks.last().and_then(|id| blocks.get_mut(id)) {
                b.len = b.len.max(len);
            }
        }
        self.log(&mut st, Edit::Fsync { path: path.to_string(), file_id, last_len })?;
        Ok(())
    }

    /// The file's length, the blocks overlapping `[offset, offset + len)` and whether it is under construction.
    pub(crate) fn block_locations(&self, path: &str, offset: u64, len: u64) -> NsResult<(u64, Vec<BlockLoc>, bool)> {
        let comps = components(path)?;
        let st = self.lock();
        let node = lookup(&st.root, &comps).ok_or_else(|| NsError::NotFound(path.to_string()))?;
        let Body::File(f) = &node.body else {
            return Err(NsError::NotFound(format!("Path is not a file: {path}")));
        };
        let end = offset.saturating_add(len);
        let all = st.block_locs(f);
        let blocks = all.into_iter().filter(|b| b.offset < end && b.offset + b.len > offset).collect();
        Ok((st.file_len(f), blocks, f.client.is_some()))
    }

    /// `rename2`: fails if `dst` exists unless `overwrite`; returns blocks of a replaced destination.
    pub(crate) fn rename2(&self, src: &str, dst: &str, overwrite: bool) -> NsResult<Vec<u64>> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let removed = st.rename2(src, dst, overwrite)?;
        self.log(&mut st, Edit::Rename2 { src: src.to_string(), dst: dst.to_string(), overwrite })?;
        Ok(removed)
    }

    /// The old `rename`: moves into `dst` when it is a directory, answers `false` instead of most errors.
    pub(crate) fn rename(&self, src: &str, dst: &str) -> NsResult<bool> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let mut target = dst.trim_end_matches('/').to_string();
        if let Some(node) = lookup(&st.root, &components(dst)?) {
            match node.body {
                Body::Dir(_) => {
                    let name = components(src)?.last().map(|s| s.to_string()).unwrap_or_default();
                    target = format!("{target}/{name}");
                }
                Body::File(_) => return Ok(false),
            }
        }
        match st.rename2(src, &target, false) {
            Ok(_) => {
                self.log(&mut st, Edit::Rename { src: src.to_string(), dst: dst.to_string() })?;
                Ok(true)
            }
            Err(NsError::NotFound(_) | NsError::AlreadyExists(_) | NsError::ParentNotDirectory(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `path`; returns whether something was deleted and the ids of the deleted blocks.
    pub(crate) fn delete(&self, path: &str, recursive: bool) -> NsResult<(bool, Vec<u64>)> {
        let _clock = pin_clock();
        let comps = components(path)?;
        let mut st = self.lock();
        let Some(node) = lookup(&st.root, &comps) else {
            return Ok((false, Vec::new()));
        };
        if let Body::Dir(children) = &node.body {
            if !children.is_empty() && !recursive {
                return Err(NsError::NotEmpty(path.to_string()));
            }
        }
        let Some((name, parent_comps)) = comps.split_last() else {
            return Err(NsError::Io("cannot delete the root directory".into()));
        };
        let mut removed = Vec::new();
        collect_blocks(node, &mut removed);
        let parent = dir_mut(&mut st.root, parent_comps)?;
        parent.mtime = now_millis();
        children_mut(parent).remove(*name);
        st.remove_blocks(&removed);
        self.log(&mut st, Edit::Delete { path: path.to_string(), recursive })?;
        Ok((true, removed))
    }

    /// Length, file count and directory count (including `path` itself) under `path`.
    pub(crate) fn content_summary(&self, path: &str) -> NsResult<Summary> {
        fn walk(st: &State, node: &Inode, acc: &mut Summary) {
            match &node.body {
                Body::Dir(children) => {
                    acc.dirs += 1;
                    children.values().for_each(|c| walk(st, c, acc));
                }
                Body::File(f) => {
                    acc.files += 1;
                    acc.length += st.file_len(f);
                }
            }
        }
        let comps = components(path)?;
        let st = self.lock();
        let node = lookup(&st.root, &comps).ok_or_else(|| NsError::NotFound(path.to_string()))?;
        let mut acc = Summary::default();
        walk(&st, node, &mut acc);
        Ok(acc)
    }

    /// Bytes stored in all blocks and the number of blocks.
    pub(crate) fn used(&self) -> (u64, u64) {
        let st = self.lock();
        (st.blocks.values().map(|b| b.len).sum(), st.blocks.len() as u64)
    }

    /// Applies `f` to an inode's attributes and persists (setTimes, setPermission, setOwner).
    fn update_attrs(&self, path: &str, edit: Edit, f: impl FnOnce(&mut Inode)) -> NsResult<()> {
        let _clock = pin_clock();
        let comps = components(path)?;
        let mut st = self.lock();
        let node = lookup_mut(&mut st.root, &comps).ok_or_else(|| NsError::NotFound(path.to_string()))?;
        f(node);
        self.log(&mut st, edit)?;
        Ok(())
    }

    /// `setTimes`; a negative value (sent as `u64::MAX`-ish by Java's `-1`) leaves that time unchanged.
    pub(crate) fn set_times(&self, path: &str, mtime: u64, atime: u64) -> NsResult<()> {
        self.update_attrs(path, Edit::SetTimes { path: path.to_string(), mtime, atime }, |n| {
            if (mtime as i64) >= 0 {
                n.mtime = mtime;
            }
            if (atime as i64) >= 0 {
                n.atime = atime;
            }
        })
    }

    /// `setPermission`.
    pub(crate) fn set_permission(&self, path: &str, perm: u32) -> NsResult<()> {
        self.update_attrs(path, Edit::SetPermission { path: path.to_string(), perm }, |n| n.perm = perm & 0o7777)
    }

    /// `setOwner`; `None` leaves that field unchanged.
    pub(crate) fn set_owner(&self, path: &str, owner: Option<String>, group: Option<String>) -> NsResult<()> {
        let edit = Edit::SetOwner { path: path.to_string(), owner: owner.clone(), group: group.clone() };
        self.update_attrs(path, edit, |n| {
            if let Some(o) = owner.filter(|o| !o.is_empty()) {
                n.owner = o;
            }
            if let Some(g) = group.filter(|g| !g.is_empty()) {
                n.group = g;
            }
        })
    }

    /// Generation stamp of a live block, `None` if the block is unknown (e.g. deleted).
    pub(crate) fn block_gen(&self, id: u64) -> Option<u64> {
        self.lock().blocks.get(&id).map(|b| b.gen)
    }

    /// `updateBlockForPipeline`/`updatePipeline`: records a client-reported length and generation stamp.
    /// The returned offset is 0: the block map does not index blocks by file and no client uses it here.
    pub(crate) fn update_block(&self, id: u64, len: Option<u64>, gen: Option<u64>) -> NsResult<BlockLoc> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let Some(b) = st.blocks.get_mut(&id) else {
            return Err(NsError::Io(format!("block {id} does not belong to any file")));
        };
        if let Some(len) = len {
            b.len = len;
        }
        if let Some(gen) = gen {
            b.gen = gen;
        }
        let loc = BlockLoc { id, gen: b.gen, len: b.len, offset: 0 };
        self.log(&mut st, Edit::UpdateBlock { id, len, gen })?;
        Ok(loc)
    }

    /// Called by the datanode as bytes arrive; `finalized` once the last packet of the block was received.
    pub(crate) fn block_received(&self, id: u64, len: u64, finalized: bool) -> NsResult<()> {
        let _clock = pin_clock();
        let mut st = self.lock();
        let Some(b) = st.blocks.get_mut(&id) else {
            return Err(NsError::Io(format!("block {id} does not belong to any file")));
        };
        b.len = len;
        b.finalized |= finalized;
        if finalized {
            self.log(&mut st, Edit::BlockReceived { id, len, finalized })?;
        }
        Ok(())
    }
}

/// The edits of the log at `path` after edit `after` (those before are in the snapshot); a torn
/// last line is dropped.
fn read_edits(path: &Path, after: u64) -> std::io::Result<Vec<Entry>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut edits = Vec::new();
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line?;
        match serde_json::from_slice::<Entry>(&line) {
            Ok(entry) if entry.seq > after => edits.push(entry),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), "dropping the torn end of the edit log: {e}");
                break;
            }
        }
    }
    Ok(edits)
}

fn drop_result(r: NsResult<()>) -> NsResult<()> {
    match r {
        Err(NsError::AlreadyExists(_)) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> (tempfile::TempDir, Namesystem) {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namesystem::open(dir.path(), dir.path(), "tester").unwrap();
        (dir, ns)
    }

    #[test]
    fn listing_pages_in_name_order() {
        let (_d, ns) = ns();
        for i in 0..25 {
            ns.mkdirs(&format!("/d/e{i:02}"), 0o755, true, "u").unwrap();
        }
        let (page, remaining) = ns.list("/d", b"", 10).unwrap().unwrap();
        assert_eq!(page.len(), 10);
        assert_eq!(remaining, 15);
        assert_eq!(page[9].name, b"e09");
        let (page, remaining) = ns.list("/d", b"e09", 10).unwrap().unwrap();
        assert_eq!(page[0].name, b"e10");
        assert_eq!(remaining, 5);
    }

    #[test]
    fn rename_into_own_subtree_fails() {
        let (_d, ns) = ns();
        ns.mkdirs("/a/b", 0o755, true, "u").unwrap();
        assert!(matches!(ns.rename2("/a", "/a/b/c", false), Err(NsError::Io(_))));
        assert!(!ns.rename("/a", "/a/b").unwrap_or(false));
    }

    fn create_file(ns: &Namesystem, path: &str, client: &str) -> u64 {
        let args = CreateArgs {
            path,
            perm: 0o644,
            overwrite: true,
            create_parent: true,
            replication: 1,
            block_size: 1 << 20,
            client,
            user: "u",
        };
        ns.create(&args).unwrap().0.file_id
    }

    /// What a listing and the file statuses say about the tree, for comparing namespaces.
    fn tree(ns: &Namesystem) -> String {
        let st = ns.lock();
        format!("{:?} {:?} {} {}", st.root, st.blocks, st.next_inode_id, st.next_block_id)
    }

    #[test]
    fn a_reopened_namespace_replays_the_edit_log_and_drops_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namesystem::open(dir.path(), dir.path(), "u").unwrap();
        ns.mkdirs("/a/b", 0o755, true, "u").unwrap();
        let id = create_file(&ns, "/a/b/f", "c1");
        let block = ns.add_block("/a/b/f", Some(id), None).unwrap();
        ns.block_received(block.id, 10, true).unwrap();
        assert!(ns.complete("/a/b/f", Some(id), Some((block.id, 10))).unwrap());
        ns.rename2("/a/b/f", "/a/g", false).unwrap();
        create_file(&ns, "/a/gone", "c1");
        ns.delete("/a/gone", false).unwrap();
        ns.set_owner("/a", Some("o".into()), None).unwrap();
        let before = tree(&ns);
        // The snapshot is only the empty namespace written at start: the rest is in the log.
        let snapshot: State =
            serde_json::from_slice(&std::fs::read(dir.path().join("namespace.json")).unwrap()).unwrap();
        assert_eq!(snapshot.seq, 0);
        drop(ns);
        let mut log = std::fs::OpenOptions::new().append(true).open(dir.path().join("edits.jsonl")).unwrap();
        log.write_all(b"{\"seq\":99,\"now\":1,\"ed").unwrap();
        drop(log);
        // The block file holds the length the datanode wrote.
        std::fs::write(dir.path().join(crate::datanode::block_file_name(block.id)), [0u8; 10]).unwrap();
        let ns = Namesystem::open(dir.path(), dir.path(), "u").unwrap();
        assert_eq!(tree(&ns), before);
        assert_eq!(ns.file_info("/a/g").unwrap().unwrap().length, 10);
        // Reopened again from the new snapshot alone (the log was emptied).
        assert_eq!(std::fs::metadata(dir.path().join("edits.jsonl")).unwrap().len(), 0);
        drop(ns);
        assert_eq!(tree(&Namesystem::open(dir.path(), dir.path(), "u").unwrap()), before);
    }

    #[test]
    fn edits_already_in_the_snapshot_are_not_applied_twice() {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namesystem::open(dir.path(), dir.path(), "u").unwrap();
        ns.mkdirs("/d", 0o755, true, "u").unwrap();
        create_file(&ns, "/d/f", "c");
        let log = std::fs::read(dir.path().join("edits.jsonl")).unwrap();
        let before = tree(&ns);
        drop(ns);
        // A snapshot written after these edits, with the log left as it was (a crash between
        // the snapshot and emptying the log).
        let ns = Namesystem::open(dir.path(), dir.path(), "u").unwrap();
        drop(ns);
        std::fs::write(dir.path().join("edits.jsonl"), log).unwrap();
        assert_eq!(tree(&Namesystem::open(dir.path(), dir.path(), "u").unwrap()), before);
    }

    #[test]
    fn the_snapshot_is_rewritten_every_so_many_edits() {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namesystem::open(dir.path(), dir.path(), "u").unwrap();
        for i in 0..EDITS_PER_SNAPSHOT * 2 + 7 {
            ns.mkdirs(&format!("/d{i}"), 0o755, false, "u").unwrap();
        }
        let snapshot: State =
            serde_json::from_slice(&std::fs::read(dir.path().join("namespace.json")).unwrap()).unwrap();
        assert_eq!(snapshot.seq, EDITS_PER_SNAPSHOT * 2);
        let lines = std::fs::read_to_string(dir.path().join("edits.jsonl")).unwrap().lines().count();
        assert_eq!(lines, 7);
        let before = tree(&ns);
        drop(ns);
        assert_eq!(tree(&Namesystem::open(dir.path(), dir.path(), "u").unwrap()), before);
    }

    #[test]
    fn the_lease_of_a_file_whose_writer_died_is_recovered_with_the_bytes_received() {
        let (_d, ns) = ns();
        let id = create_file(&ns, "/f", "dead-writer");
        let block = ns.add_block("/f", Some(id), None).unwrap();
        // The writer died with 7 bytes at the datanode, its block never finalized.
        ns.block_received(block.id, 7, false).unwrap();
        assert!(!ns.complete("/f", Some(id), None).unwrap(), "not closable by complete");
        assert!(matches!(ns.append("/f", "other"), Err(NsError::Io(_))), "still open");
        assert!(ns.recover_lease("/f").unwrap());
        let (len, blocks, under_construction) = ns.block_locations("/f", 0, 100).unwrap();
        assert_eq!((len, blocks.len(), under_construction), (7, 1, false));
        assert!(ns.append("/f", "other").is_ok(), "closed, so another client may append");
        // A restarted writer may also overwrite a file left open.
        let id = create_file(&ns, "/g", "dead-writer");
        ns.add_block("/g", Some(id), None).unwrap();
        create_file(&ns, "/g", "new-writer");
        assert_eq!(ns.file_info("/g").unwrap().unwrap().length, 0);
    }

    #[test]
    fn invalid_paths_are_rejected() {
        let (_d, ns) = ns();
        assert!(matches!(ns.file_info("relative"), Err(NsError::InvalidPath(_))));
        assert!(matches!(ns.mkdirs("/a/../b", 0o755, true, "u"), Err(NsError::InvalidPath(_))));
    }
}
