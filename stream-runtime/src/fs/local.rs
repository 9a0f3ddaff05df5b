use std::path::Path;

use super::{FileStatus, FileSystem, FsError};
use crate::time::Time;

/// The local filesystem.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFs;

fn status_of(path: &Path, meta: &std::fs::Metadata) -> FileStatus {
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    FileStatus {
        path: path.to_string_lossy().into_owned(),
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        len: meta.len(),
        modified: Time::from_millis(modified),
        is_dir: meta.is_dir(),
    }
}

/// Opens `path` for reading if it is a regular file. Opened without blocking, so that a FIFO
/// (whose open waits for a writer) fails instead of hanging the caller.
fn open_regular(path: &str) -> Result<std::fs::File, FsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| FsError::io(path, e))?;
    let meta = file.metadata().map_err(|e| FsError::io(path, e))?;
    if !meta.is_file() {
        return Err(FsError::NotAFile { path: path.to_string() });
    }
    Ok(file)
}

impl FileSystem for LocalFs {
    fn list(&self, dir: &str) -> Result<Vec<FileStatus>, FsError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| FsError::io(dir, e))? {
            let entry = entry.map_err(|e| FsError::io(dir, e))?;
            // An entry deleted between listing and stat is skipped, not an error.
            if let Ok(meta) = entry.metadata() {
                out.push(status_of(&entry.path(), &meta));
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn status(&self, path: &str) -> Result<Option<FileStatus>, FsError> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(status_of(Path::new(path), &meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FsError::io(path, e)),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        use std::io::Read;
        let mut file = open_regular(path)?;
        let mut buf = Vec::with_capacity(file.metadata().map_or(0, |m| m.len() as usize));
        file.read_to_end(&mut buf).map_err(|e| FsError::io(path, e))?;
        Ok(buf)
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
        let (file, want) = open_range(path, offset, len)?;
        let mut buf = vec![0; want];
        let filled = read_fully_at(&file, path, offset, &mut buf)?;
        buf.truncate(filled);
        Ok(buf)
    }

    fn read_range_into(&self, path: &str, offset: u64, len: u64, into: &mut super::ReadBuf) -> Result<(), FsError> {
        let (file, want) = open_range(path, offset, len)?;
        let filled = read_fully_at(&file, path, offset, into.spare(want))?;
        into.advance(filled);
        Ok(())
    }

    fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        std::fs::write(path, data).map_err(|e| FsError::io(path, e))
    }

    fn write_pieces(&self, path: &str, pieces: &[&[u8]]) -> Result<(), FsError> {
        use std::io::Write;
        let mut file = std::fs::File::create(path).map_err(|e| FsError::io(path, e))?;
        pieces.iter().try_for_each(|p| file.write_all(p)).map_err(|e| FsError::io(path, e))
    }

    fn create_new(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        use std::io::Write;
        let mut file =
            std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| FsError::io(path, e))?;
        file.write_all(data).and_then(|()| file.sync_all()).map_err(|e| FsError::io(path, e))
    }

    fn mkdirs(&self, path: &str) -> Result<(), FsError> {
        std::fs::create_dir_all(path).map_err(|e| FsError::io(path, e))
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
        if Path::new(to).exists() {
            return Err(FsError::io(to, std::io::Error::new(std::io::ErrorKind::AlreadyExists, "destination exists")));
        }
        std::fs::rename(from, to).map_err(|e| FsError::io(from, e))
    }

    fn delete(&self, path: &str, recursive: bool) -> Result<(), FsError> {
        let p = Path::new(path);
        let res = match std::fs::symlink_metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => Err(e),
            Ok(m) if m.is_dir() && recursive => std::fs::remove_dir_all(p),
            Ok(m) if m.is_dir() => std::fs::remove_dir(p),
            Ok(_) => std::fs::remove_file(p),
        };
        res.map_err(|e| FsError::io(path, e))
    }
}

/// Regular file `path` opened, and how many of `len` bytes from `offset` it holds.
fn open_range(path: &str, offset: u64, len: u64) -> Result<(std::fs::File, usize), FsError> {
    let file = open_regular(path)?;
    let size = file.metadata().map_err(|e| FsError::io(path, e))?.len();
    Ok((file, usize::try_from(len.min(size.saturating_sub(offset))).unwrap_or(usize::MAX)))
}

/// Reads into all of `buf` from `offset`, or up to the end of the file: the bytes read.
fn read_fully_at(file: &std::fs::File, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FsError::io(path, e)),
        }
    }
    Ok(filled)
}
