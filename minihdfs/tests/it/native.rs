//! Round trips through the Rust `hdfs-native` client.

use hdfs_native::HdfsError;

use crate::common::{client, data, now_ms, read, run, start, start_with_page, write, BLOCK};

#[test]
fn small_and_multi_block_files_round_trip() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        write(&fs, "/small.txt", b"hello minihdfs\n", false).await;
        assert_eq!(read(&fs, "/small.txt").await, b"hello minihdfs\n");

        let big = data(3 * BLOCK as usize + BLOCK as usize / 2, 1);
        write(&fs, "/big.bin", &big, false).await;
        let status = fs.get_file_info("/big.bin").await.unwrap();
        assert_eq!(status.length, big.len());
        assert_eq!(status.blocksize, Some(BLOCK));
        assert!(!status.isdir);
        assert_eq!(read(&fs, "/big.bin").await, big);

        // Ranged reads crossing block boundaries.
        let r = fs.read("/big.bin").await.unwrap();
        let at = BLOCK as usize - 1000;
        assert_eq!(r.read_range(at, 5000).await.unwrap(), &big[at..at + 5000]);

        write(&fs, "/empty", b"", false).await;
        assert_eq!(fs.get_file_info("/empty").await.unwrap().length, 0);
        assert!(read(&fs, "/empty").await.is_empty());
    });
}

#[test]
fn exact_block_multiple_and_overwrite() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        let two_blocks = data(2 * BLOCK as usize, 2);
        write(&fs, "/f", &two_blocks, false).await;
        assert_eq!(read(&fs, "/f").await, two_blocks);
        let err = fs.create("/f", hdfs_native::WriteOptions::default()).await.err();
        assert!(matches!(err, Some(HdfsError::AlreadyExists(_))), "{err:?}");
        write(&fs, "/f", b"short", true).await;
        assert_eq!(read(&fs, "/f").await, b"short");
    });
}

#[test]
fn mkdirs_and_paged_listing() {
    let c = start_with_page(7);
    run(120, async {
        let fs = client(&c);
        fs.mkdirs("/a/b/c", 0o755, true).await.unwrap();
        assert!(fs.get_file_info("/a/b/c").await.unwrap().isdir);
        assert!(fs.mkdirs("/x/y", 0o755, false).await.is_err(), "missing parent without create_parent");
        for i in 0..23 {
            if i % 3 == 0 {
                fs.mkdirs(&format!("/a/d{i:02}"), 0o755, false).await.unwrap();
            } else {
                write(&fs, &format!("/a/f{i:02}"), &data(i, i as u64), false).await;
            }
        }
        let listing = fs.list_status("/a", false).await.unwrap();
        let names: Vec<&str> = listing.iter().map(|s| s.path.rsplit('/').next().unwrap()).collect();
        let mut expected: Vec<String> =
            (0..23).map(|i| if i % 3 == 0 { format!("d{i:02}") } else { format!("f{i:02}") }).collect();
        expected.push("b".into());
        expected.sort();
        assert_eq!(names, expected, "24 entries over 4 pages of 7");
        let f05 = listing.iter().find(|s| s.path == "/a/f05").unwrap();
        assert_eq!(f05.length, 5);
        assert_eq!(f05.owner, "sluice");
        let all = fs.list_status("/a", true).await.unwrap();
        assert_eq!(all.len(), 25, "recursive listing also holds /a/b/c");
    });
}

#[test]
fn rename_semantics_and_mtimes() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        let before = now_ms();
        write(&fs, "/src", b"one", false).await;
        write(&fs, "/other", b"two", false).await;
        fs.mkdirs("/dir", 0o755, false).await.unwrap();
        let mtime = fs.get_file_info("/src").await.unwrap().modification_time;
        assert!(mtime >= before.saturating_sub(2000) && mtime <= now_ms() + 2000, "plausible mtime {mtime}");

        let err = fs.rename("/src", "/other", false).await.err();
        assert!(matches!(&err, Some(HdfsError::AlreadyExists(_)) | Some(HdfsError::RPCError(..))), "{err:?}");
        assert_eq!(read(&fs, "/other").await, b"two");

        let dir_mtime = fs.get_file_info("/dir").await.unwrap().modification_time;
        // The rename below happens in a later millisecond than the directory's creation.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while now_ms() <= dir_mtime {
            assert!(std::time::Instant::now() < deadline, "the clock never passed {dir_mtime}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        fs.rename("/src", "/dir/src", false).await.unwrap();
        let moved = fs.get_file_info("/dir/src").await.unwrap();
        assert_eq!(moved.modification_time, mtime, "rename keeps the file's mtime");
        assert!(fs.get_file_info("/dir").await.unwrap().modification_time > dir_mtime, "parent mtime moves");
        assert!(matches!(fs.get_file_info("/src").await, Err(HdfsError::FileNotFound(_))));

        fs.rename("/dir/src", "/other", true).await.unwrap();
        assert_eq!(read(&fs, "/other").await, b"one");
        assert!(fs.rename("/missing", "/x", false).await.is_err());
        assert!(fs.rename("/dir", "/dir/sub", false).await.is_err(), "into its own subtree");
    });
}

#[test]
fn delete_recursive_and_not() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        fs.mkdirs("/d/e", 0o755, true).await.unwrap();
        write(&fs, "/d/e/f", &data(BLOCK as usize + 10, 3), false).await;
        assert!(fs.delete("/d", false).await.is_err(), "non-empty directory needs recursive");
        assert!(fs.delete("/d/e/f", false).await.unwrap());
        assert!(fs.delete("/d", true).await.unwrap());
        assert!(!fs.delete("/d", true).await.unwrap(), "already gone");
        assert!(matches!(fs.get_file_info("/d").await, Err(HdfsError::FileNotFound(_))));
        assert!(fs.list_status("/", false).await.unwrap().is_empty());
    });
}

#[test]
fn missing_paths_are_not_found() {
    let c = start();
    run(60, async {
        let fs = client(&c);
        assert!(matches!(fs.get_file_info("/nope").await, Err(HdfsError::FileNotFound(_))));
        assert!(fs.read("/nope").await.is_err());
        assert!(fs.list_status("/nope", false).await.is_err());
    });
}

#[test]
fn concurrent_writers() {
    let c = start();
    run(180, async {
        let fs = std::sync::Arc::new(client(&c));
        let tasks: Vec<_> = (0..6u64)
            .map(|i| {
                let fs = fs.clone();
                tokio::spawn(async move {
                    let bytes = data(BLOCK as usize + 1000 * i as usize, 10 + i);
                    write(&fs, &format!("/conc/f{i}"), &bytes, false).await;
                    bytes
                })
            })
            .collect();
        let mut written = Vec::new();
        for t in tasks {
            written.push(t.await.unwrap());
        }
        for (i, bytes) in written.iter().enumerate() {
            assert_eq!(&read(&fs, &format!("/conc/f{i}")).await, bytes);
        }
        let summary = fs.get_content_summary("/conc").await.unwrap();
        assert_eq!(summary.file_count, 6);
        assert_eq!(summary.directory_count, 1);
        assert_eq!(summary.length, written.iter().map(|b| b.len() as u64).sum::<u64>());
    });
}

#[test]
fn file_under_construction_is_listed_with_its_length() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        let bytes = data(BLOCK as usize + 4096, 5);
        let mut w = fs.create("/uc", hdfs_native::WriteOptions::default()).await.unwrap();
        w.write_bytes(bytes::Bytes::copy_from_slice(&bytes)).await.unwrap();
        w.hsync().await.unwrap();
        let listing = fs.list_status("/", false).await.unwrap();
        assert_eq!(listing.len(), 1);
        assert_eq!(listing[0].length, bytes.len());
        w.close().await.unwrap();
        assert_eq!(read(&fs, "/uc").await, bytes);
    });
}

#[test]
fn append_extends_a_file() {
    let c = start();
    run(120, async {
        let fs = client(&c);
        let first = data(BLOCK as usize - 100, 6);
        write(&fs, "/log", &first, false).await;
        let second = data(1000, 7);
        let mut w = fs.append("/log").await.unwrap();
        w.write_bytes(bytes::Bytes::copy_from_slice(&second)).await.unwrap();
        w.close().await.unwrap();
        let mut expected = first;
        expected.extend_from_slice(&second);
        assert_eq!(read(&fs, "/log").await, expected);
    });
}
