//! The namespace: a directory tree of inodes plus the block map, persisted as a JSON snapshot.
//!
//! Every mutation rewrites `namespace.json` atomically (write to a temporary file, then rename), so a new
//! cluster started on the same data directory sees every completed operation. Block lengths reported by
//! the datanode while a block is being written are kept in memory only and reconciled with the block files
//! on disk at load time.

use std::collections::BTreeMap;
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

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
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

/// The namesystem: the tree behind a mutex, persisted to `meta_path`.
#[derive(Debug)]
pub(crate) struct Namesystem {
    state: Mutex<State>,
    meta_path: PathBuf,
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
    /// Loads the namespace from `data_dir/namespace.json`, or starts an empty one.
    pub(crate) fn open(data_dir: &Path, block_dir: &Path, user: &str) -> Result<Namesystem, Error> {
        let meta_path = data_dir.join("namespace.json");
        let mut state = match std::fs::read(&meta_path) {
            Ok(bytes) => serde_json::from_slice::<State>(&bytes)
                .map_err(|source| Error::Metadata { path: meta_path.clone(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::fresh(user),
            Err(e) => return Err(e.into()),
        };
        // Lengths of blocks that were being written when the last cluster stopped live on disk only.
        for (id, info) in state.blocks.iter_mut() {
            if let Ok(meta) = std::fs::metadata(block_dir.join(crate::datanode::block_file_name(*id))) {
                info.len = meta.len();
            }
        }
        let ns = Namesystem { state: Mutex::new(state), meta_path };
        ns.save(&ns.lock())?;
        Ok(ns)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn save(&self, state: &State) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(state).map_err(std::io::Error::other)?;
        let tmp = self.meta_path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.meta_path)
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
        self.save(&st)?;
        Ok(())
    }

    /// Creates a file under construction; returns its status and the blocks of a replaced file.
    pub(crate) fn create(&self, args: &CreateArgs<'_>) -> NsResult<(Status, Vec<u64>)> {
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
        self.save(&st)?;
        Ok((status, removed))
    }

    /// Reopens a closed file for append; returns its status and its last block if that is not full.
    pub(crate) fn append(&self, path: &str, client: &str) -> NsResult<(Status, Option<BlockLoc>)> {
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
        self.save(&st)?;
        Ok((status, last))
    }

    /// Allocates the next block of a file under construction.
    pub(crate) fn add_block(
        &self,
        path: &str,
        file_id: Option<u64>,
        previous: Option<(u64, u64)>,
    ) -> NsResult<BlockLoc> {
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
        self.save(&st)?;
        Ok(BlockLoc { id: block_id, gen: GENERATION_STAMP, len: 0, offset })
    }

    /// Closes a file; `false` while some block has not been finalized by the datanode yet.
    pub(crate) fn complete(&self, path: &str, file_id: Option<u64>, last: Option<(u64, u64)>) -> NsResult<bool> {
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
        self.save(&st)?;
        Ok(true)
    }

    /// Drops a block the client could not write (`abandonBlock`).
    pub(crate) fn abandon_block(&self, path: &str, file_id: Option<u64>, block: u64) -> NsResult<()> {
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        if let Body::File(f) = &mut node.body {
            if f.blocks.last() == Some(&block) {
                f.blocks.pop();
                blocks.remove(&block);
            }
        }
        self.save(&st)?;
        Ok(())
    }

    /// Shortens a closed file to `new_len` at once.
    pub(crate) fn truncate(&self, path: &str, new_len: u64) -> NsResult<Truncation> {
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
        self.save(&st)?;
        Ok(Truncation { cut, removed })
    }

    /// Records the length of the last block after an hsync.
    pub(crate) fn fsync(&self, path: &str, file_id: Option<u64>, last_len: Option<u64>) -> NsResult<()> {
        let mut st = self.lock();
        let comps = st.file_path(path, file_id)?;
        let (node, blocks) = st.file_mut(&comps, path)?;
        if let (Body::File(f), Some(len)) = (&node.body, last_len) {
            if let Some(b) = f.blocks.last().and_then(|id| blocks.get_mut(id)) {
                b.len = b.len.max(len);
            }
        }
        self.save(&st)?;
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
        let mut st = self.lock();
        let removed = st.rename2(src, dst, overwrite)?;
        self.save(&st)?;
        Ok(removed)
    }

    /// The old `rename`: moves into `dst` when it is a directory, answers `false` instead of most errors.
    pub(crate) fn rename(&self, src: &str, dst: &str) -> NsResult<bool> {
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
                self.save(&st)?;
                Ok(true)
            }
            Err(NsError::NotFound(_) | NsError::AlreadyExists(_) | NsError::ParentNotDirectory(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes `path`; returns whether something was deleted and the ids of the deleted blocks.
    pub(crate) fn delete(&self, path: &str, recursive: bool) -> NsResult<(bool, Vec<u64>)> {
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
        self.save(&st)?;
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
    fn update_attrs(&self, path: &str, f: impl FnOnce(&mut Inode)) -> NsResult<()> {
        let comps = components(path)?;
        let mut st = self.lock();
        let node = lookup_mut(&mut st.root, &comps).ok_or_else(|| NsError::NotFound(path.to_string()))?;
        f(node);
        self.save(&st)?;
        Ok(())
    }

    /// `setTimes`; a negative value (sent as `u64::MAX`-ish by Java's `-1`) leaves that time unchanged.
    pub(crate) fn set_times(&self, path: &str, mtime: u64, atime: u64) -> NsResult<()> {
        self.update_attrs(path, |n| {
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
        self.update_attrs(path, |n| n.perm = perm & 0o7777)
    }

    /// `setOwner`; `None` leaves that field unchanged.
    pub(crate) fn set_owner(&self, path: &str, owner: Option<String>, group: Option<String>) -> NsResult<()> {
        self.update_attrs(path, |n| {
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
        self.save(&st)?;
        Ok(loc)
    }

    /// Called by the datanode as bytes arrive; `finalized` once the last packet of the block was received.
    pub(crate) fn block_received(&self, id: u64, len: u64, finalized: bool) -> NsResult<()> {
        let mut st = self.lock();
        let Some(b) = st.blocks.get_mut(&id) else {
            return Err(NsError::Io(format!("block {id} does not belong to any file")));
        };
        b.len = len;
        b.finalized |= finalized;
        if finalized {
            self.save(&st)?;
        }
        Ok(())
    }
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

    #[test]
    fn invalid_paths_are_rejected() {
        let (_d, ns) = ns();
        assert!(matches!(ns.file_info("relative"), Err(NsError::InvalidPath(_))));
        assert!(matches!(ns.mkdirs("/a/../b", 0o755, true, "u"), Err(NsError::InvalidPath(_))));
    }
}
