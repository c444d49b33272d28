"""Write an MDS dataset of many small shards until stopped: the subject of test_interrupted.py.

Usage: ``python _interrupted_writer.py OUT_DIR [--slow]``. It writes up to 200,000 samples of
1 KiB into shards of 7 samples, so a test can interrupt it once a few shard files have
appeared. With ``--slow`` it sleeps 1 ms before each sample, so that the caller's code, not the
writer waiting on its background thread, is what a Ctrl-C usually interrupts.
"""

from __future__ import annotations

import signal
import sys
import time

from streaming.format import MDSWriter


def main(out: str, slow: bool) -> None:
    # A shell that starts us in the background may have set SIGINT to be ignored; undo that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with MDSWriter(
        out=out, columns={"id": "int", "payload": "bytes"}, size_limit=8 << 10, max_workers=2
    ) as writer:
        for i in range(200_000):
            if slow:
                time.sleep(0.001)
            writer.write({"id": i, "payload": bytes([i % 251]) * 1000})


if __name__ == "__main__":
    main(sys.argv[1], "--slow" in sys.argv[2:])
