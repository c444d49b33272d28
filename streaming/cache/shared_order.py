"""One epoch order per node: computed by the node's first process, mapped by all the others.

Every rank and DataLoader worker of a node needs its own slice of the node's part of the epoch
order. Instead of each computing the whole order, the first process that asks for a given order
takes an exclusive ``flock`` on ``<key>.lock``, creates ``<key>.order`` (`order_file`, renamed into
place) and fills it in a background thread, window by window where the algorithm allows
(`streaming.ordering.node_order`), raising the file's progress counter as it goes. Every other
process maps the same file read-only and reads its slice as soon as the progress covers it:
nothing is copied per process, and a worker can start before the order is complete.

* **Keys.** The file name is a digest of everything the order depends on: the batching method,
  every ordering setting, each stream's shard sample counts, the topology, the replication, the
  node, the epoch and the resume point (`order_key`). Two jobs with different settings never
  read each other's order.
* **Crashes.** A computing process killed (SIGKILL included) releases its lock with its file
  description. A process waiting for progress that stalls checks the lock: free with the order
  incomplete means its producer died, and the waiting processes race for the lock again; the
  winner computes the order afresh into a new file. A half-written order is never complete.
* **Clean-up.** When a process starts an epoch's order, the same job's orders of earlier epochs
  are deleted (mapped copies stay valid until unmapped), as are order files of any job untouched
  for `STALE_SECONDS`.
* **Fallback.** If the directory is read-only or full, the order is computed in this process
  alone, with a `SharedOrderWarning`.
"""

from __future__ import annotations

import ctypes
import fcntl
import glob
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import xxhash

from streaming.cache.order_file import OrderFile, create_order_file, open_order_file
from streaming.cache.safefs import open_nofollow
from streaming.ordering.node_order import node_work, worker_ready

__all__ = ["NodeOrder", "SharedOrderWarning", "open_node_order", "order_key", "share_work"]

#: Bump when the content of an order file for the same key changes.
FORMAT_VERSION = 1
#: Order files not modified for this long belong to no running job and are removed.
STALE_SECONDS = 24 * 3600
#: How often a process waiting for progress checks that the producer is alive.
LIVENESS_SECONDS = 0.25
#: The shortest and longest sleeps of a process polling another process's progress.
MIN_POLL_SECONDS = 0.001
MAX_POLL_SECONDS = 0.05
#: The first chunk a reader takes: small, so the first sample comes quickly; then doubling.
FIRST_CHUNK = 1 << 10


class SharedOrderWarning(UserWarning):
    """The order could not be shared through the cache directory: computed per process."""


def order_key(
    batching_method: str,
    settings: Any,
    topology: Any,
    epoch: int,
    sample_in_epoch: int,
    replication: int | None,
    node: int,
) -> tuple[str, str]:
    """``(job, name)``: a digest of the settings, topology and node (the same for every epoch
    of one job on one node), and the file name stem ``<job>-e<epoch>-<resume point>``."""
    h = xxhash.xxh3_128()
    fields = {
        name: getattr(settings, name)
        for name in settings.__dataclass_fields__
        if name != "shard_sizes"
    }
    h.update(repr((FORMAT_VERSION, batching_method, sorted(fields.items()))).encode())
    for sizes in settings.shard_sizes:
        h.update(np.asarray(sizes, np.int64).tobytes())
        h.update(b"|")
    h.update(repr((topology, replication, node)).encode())
    job = h.hexdigest()[:24]
    return job, f"{job}-e{int(epoch)}-{int(sample_in_epoch)}"


class NodeOrder:
    """A node's part of an epoch order, mapped from the shared file (or held in memory).

    `worker_ids` gives one worker's sample IDs as they become final.
    """

    def __init__(
        self,
        order: OrderFile | None,
        reopen: Callable[[], NodeOrder] | None,
        lock_path: str | None,
        array: np.ndarray | None = None,
        thread: threading.Thread | None = None,
    ) -> None:
        self._order = order
        self._reopen = reopen
        self._lock_path = lock_path
        self._array = array
        self._thread = thread
        self._error: list[BaseException] = []
        self._published = threading.Condition()
        self._poll = MIN_POLL_SECONDS
        self._lock_fd: int | None = None

    def __del__(self) -> None:
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)  # type: ignore[arg-type]

    @property
    def array(self) -> np.ndarray:
        """The node's part, shape (ranks, workers, batches, batch), ``-1`` padding."""
        return self._order.array if self._order is not None else self._array  # type: ignore

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    def progress(self) -> int:
        """Node-list positions final so far."""
        if self._error:
            raise self._error[0]
        return self._order.progress if self._order is not None else self.array.size

    def _wait(self, progress: int) -> int:
        """Block until the progress passes `progress`; return it. A stalled producer that died
        is replaced (this process may become the one that computes the order).

        Another process's progress is polled, backing off from 1 ms to `MAX_POLL_SECONDS`;
        the pace found is kept for the next wait, so a reader that keeps up with the producer
        settles near the producer's publishing rate instead of spinning."""
        delay, checked = self._poll, time.monotonic()
        while True:
            now = self.progress()
            if now > progress or now >= self.array.size:
                self._poll = max(MIN_POLL_SECONDS, delay / 2)
                return now
            if self._thread is not None:  # computed here: woken by each publish
                with self._published:  # (a publish between the check and the wait is seen)
                    if self.progress() <= progress:
                        self._published.wait(LIVENESS_SECONDS)
            else:
                time.sleep(delay)
                delay = min(delay * 2, MAX_POLL_SECONDS)
            if time.monotonic() - checked >= LIVENESS_SECONDS:
                checked = time.monotonic()
                if not self._producer_alive():
                    self._adopt(self._reopen())  # type: ignore[misc]

    def _producer_alive(self) -> bool:
        if self._thread is not None:
            return self._thread.is_alive() or self.progress() >= self.array.size
        if self._order is None or self._lock_path is None:
            return True
        try:
            st = os.stat(self._order.path)
            if (st.st_dev, st.st_ino) != self._order.inode:
                return False  # replaced by a new producer's file: follow that one
        except FileNotFoundError:
            pass
        if self._lock_fd is None:
            self._lock_fd = open_nofollow(self._lock_path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # the producer holds it
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return self._order.complete

    def _adopt(self, other: NodeOrder) -> None:
        if other.shape != self.shape or other.array.dtype != self.array.dtype:
            raise RuntimeError(
                f"The recomputed shared order has shape {other.shape} of {other.array.dtype}, "
                f"not {self.shape} of {self.array.dtype}: the order files were tampered with"
            )
        if self._lock_fd is not None:
            os.close(self._lock_fd)
        self.__dict__.update(other.__dict__)
        other._lock_fd = None

    def wait_complete(self) -> None:
        """Block until the whole node part is final."""
        while self.progress() < self.array.size:
            self._wait(self.progress())

    def worker_ids(
        self,
        rank: int,
        worker: int,
        skip: int = 0,
        chunk: int = 1 << 16,
    ) -> Iterator[np.ndarray]:
        """Worker ``(rank, worker)``'s sample IDs (padding dropped), in order, in chunks of at
        most `chunk` entries, each yielded as soon as it is final; the first `skip` IDs are
        left out.

        A chunk without padding is a read-only view of the shared order (the node's processes
        share its pages instead of each holding a copy of its slice); one with padding is a
        copy without it."""
        flat = self.array[rank, worker].reshape(-1)
        position, progress, taken = 0, -1, 0
        while position < len(flat):
            ready = len(flat)
            if progress < self.array.size:
                progress = self.progress()
                ready = worker_ready(progress, self.shape, rank, worker)
                if ready <= position:
                    progress = self._wait(progress)
                    flat = self.array[rank, worker].reshape(-1)  # a new producer's file
                    continue
            end = min(ready, position + min(chunk, FIRST_CHUNK << taken))
            taken += 1
            ids = flat[position:end]
            position = end
            padding = ids == -1
            if padding.any():
                ids = ids[~padding]
            else:
                ids = ids.view()
                ids.flags.writeable = False  # the producer's own map is writable
            if skip:
                dropped = min(skip, len(ids))
                ids, skip = ids[dropped:], skip - dropped
            if len(ids):
                yield ids
        if self._thread is not None:  # the rest is little: finish it for the node's others
            self._thread.join()

    def worker_count(self, rank: int, worker: int) -> int:
        """How many sample IDs worker ``(rank, worker)`` has in all (waits for the order)."""
        self.wait_complete()
        return int(np.count_nonzero(self.array[rank, worker] != -1))


def open_node_order(
    directory: str | None,
    batching_method: str,
    settings: Any,
    topology: Any,
    epoch: int,
    sample_in_epoch: int,
    replication: int | None,
    node: int,
) -> NodeOrder:
    """This node's part of the epoch order, shared through `directory` (see the module
    docstring); computed in this process alone when `directory` is None or cannot be used.

    Raises:
        ValueError: The settings, topology or resume point are invalid (as ``generate_work``).
    """

    def make_work() -> Any:  # only the process that computes the order calls it
        return node_work(
            batching_method, settings, topology, epoch, sample_in_epoch, replication, node
        )

    if directory is not None:
        job, name = order_key(
            batching_method, settings, topology, epoch, sample_in_epoch, replication, node
        )
        try:
            return share_work(directory, job, name, make_work, epoch)
        except OSError as e:
            warnings.warn(
                f"Could not share the epoch order through {directory!r} ({e}): every process "
                "of this node computes it for itself, which costs more time and memory. Make "
                "the cache directory writable and give it room.",
                SharedOrderWarning,
                stacklevel=2,
            )
    work = make_work()
    array = np.empty(work.shape, work.dtype)
    work.fill(array, lambda k: None)
    return NodeOrder(None, None, None, array=array)


def share_work(directory: str, job: str, name: str, work: Any, epoch: int) -> NodeOrder:
    """The order `work` (a `NodeWork`: ``shape``, ``dtype``, ``fill``; or a function that
    returns one, called only if this process computes the order) of job `job`'s epoch
    `epoch`, shared as ``<directory>/<name>.order``: mapped if complete or being computed by
    another process, else computed here (in a thread) for everyone.

    Raises:
        OSError: `directory` cannot hold it (read-only, full...).
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, name + ".order")
    lock_path = os.path.join(directory, name + ".lock")

    def reopen() -> NodeOrder:
        return share_work(directory, job, name, work, epoch)

    while True:
        found = open_order_file(path)
        if found is not None and found.complete:
            return NodeOrder(found, reopen, lock_path)
        fd = open_nofollow(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            follower = _follow(path, lock_path, reopen)
            if follower is not None:
                return follower
            continue  # the producer died before creating its file: try again
        except BaseException:
            os.close(fd)
            raise
        return _produce(directory, job, name, path, fd, lock_path, work, epoch, reopen)


def _follow(path: str, lock_path: str, reopen: Callable[[], NodeOrder]) -> NodeOrder | None:
    """Map the file a producer is filling, once it exists; None if the producer is gone first."""
    delay = 0.0005
    while True:
        found = open_order_file(path)
        if found is not None:
            return NodeOrder(found, reopen, lock_path)
        fd = open_nofollow(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
        time.sleep(delay)
        delay = min(delay * 2, MAX_POLL_SECONDS)


def _produce(
    directory: str,
    job: str,
    name: str,
    path: str,
    fd: int,
    lock_path: str,
    work: Any,
    epoch: int,
    reopen: Callable[[], NodeOrder],
) -> NodeOrder:
    """Holding the lock `fd`: create the order file and fill it in a thread, which releases
    the lock when the order is complete (or fails)."""
    try:
        found = open_order_file(path)
        if found is not None and found.complete:  # finished while we waited for the lock
            os.close(fd)
            return NodeOrder(found, reopen, lock_path)
        if not hasattr(work, "fill"):
            work = work()  # errors in the settings are raised here, in every process
        _remove_old(directory, job, epoch)
        order = create_order_file(path, work.shape, work.dtype)
    except BaseException:
        os.close(fd)
        raise
    result = NodeOrder(order, reopen, lock_path)

    def publish(k: int) -> None:
        order.publish(k)
        with result._published:
            result._published.notify_all()

    def fill() -> None:
        try:
            work.fill(order.array, publish)
            publish(order.size)
            _trim_heap()
        except BaseException as e:  # handed to this process's reader
            result._error.append(e)
            with result._published:
                result._published.notify_all()
        finally:
            os.close(fd)

    thread = threading.Thread(target=fill, name="streaming-epoch-order", daemon=True)
    result._thread = thread
    thread.start()
    return result


def _trim_heap() -> None:
    """Give the order's freed working memory back to the system (glibc keeps a thread's freed
    heap for reuse: at 10^8 samples, about 100 MB that the process would hold to its end)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _remove_old(directory: str, job: str, epoch: int) -> None:
    """Delete this job's orders of earlier epochs, and any order file left for too long."""
    now = time.time()
    for entry in glob.glob(os.path.join(glob.escape(directory), "*-e*-*.*")):
        base = os.path.basename(entry)
        stem = base.split(".", 1)[0]
        owner, _, rest = stem.partition("-e")
        try:
            old = owner == job and int(rest.split("-", 1)[0]) < epoch
            if old or now - os.lstat(entry).st_mtime > STALE_SECONDS:
                os.unlink(entry)
        except (OSError, ValueError):
            continue
