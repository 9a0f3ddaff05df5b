//! Data survives a shutdown and a restart on the same data directory and port.

use minihdfs::{Config, MiniHdfs};

use crate::common::{client, data, read, run, write, BLOCK};

#[test]
fn restart_serves_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.block_size = BLOCK;
    let big = data(2 * BLOCK as usize + 123, 42);

    let hdfs = MiniHdfs::start(config.clone()).unwrap();
    let port = hdfs.namenode_addr().port();
    let c = crate::common::TestCluster { hdfs, dir };
    run(120, async {
        let fs = client(&c);
        fs.mkdirs("/keep/sub", 0o755, true).await.unwrap();
        write(&fs, "/keep/big", &big, false).await;
        write(&fs, "/keep/sub/small", b"small", false).await;
        write(&fs, "/gone", b"x", false).await;
        fs.delete("/gone", false).await.unwrap();
    });
    let mtime_before = run(30, async { client(&c).get_file_info("/keep/big").await.unwrap().modification_time });
    let crate::common::TestCluster { hdfs, dir } = c;
    hdfs.shutdown();

    config.namenode_port = port;
    let hdfs = MiniHdfs::start(config).expect("restart on the same port");
    assert_eq!(hdfs.namenode_addr().port(), port);
    let c = crate::common::TestCluster { hdfs, dir };
    run(120, async {
        let fs = client(&c);
        assert_eq!(read(&fs, "/keep/big").await, big);
        assert_eq!(read(&fs, "/keep/sub/small").await, b"small");
        assert!(fs.get_file_info("/gone").await.is_err());
        assert_eq!(fs.get_file_info("/keep/big").await.unwrap().modification_time, mtime_before);
        write(&fs, "/keep/new", b"after restart", false).await;
        assert_eq!(read(&fs, "/keep/new").await, b"after restart");
    });
}
