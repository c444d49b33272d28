"""No DataLoader worker outlives its trainer.

A DataLoader worker that reads a :class:`~streaming.dataset.StreamingDataset` calls
:func:`guard_worker` when it starts an epoch. From then on the worker exits within about
:data:`POLL_S` seconds of its parent's death, whatever it is doing, SIGKILL of the parent
included:

- On Linux, when the parent's main thread forked the worker (Lightning and Composer iterate
  their loaders there), the kernel sends the worker SIGKILL when the parent dies
  (``prctl(PR_SET_PDEATHSIG)``). The signal fires on the death of the *thread* that forked, so
  a worker forked by any other thread does not ask for it.
- Everywhere, a daemon thread polls the parent's pid and calls ``os._exit`` once the worker has
  been handed to another parent. It runs while the main thread is stuck: the case this module
  exists for is a worker whose parent died with a batch of bytes in flight, so its queue's
  feeder thread blocks for ever writing to a pipe nobody reads (the worker itself holds the read
  end) and the process hangs in ``Queue._finalize_join`` on its way out. PyTorch's own watchdog
  notices the parent's death but then exits through that join.

The parent is the process that forked the worker (recorded just before the fork, so a parent
that died before the worker's first epoch is still noticed), or for a spawned worker the parent
it had when the guard started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: Seconds between two looks at the parent's pid.
POLL_S = 0.25

#: Exit status of a worker that exits because its parent died.
ORPHAN_EXIT = 1

_PR_SET_PDEATHSIG = 1

# (pid, forked by its main thread) of the process about to fork: set in the parent just before
# every os.fork, so a child's copy names its parent.
_forking: tuple[int, bool] | None = None
# This process's `_forking` as inherited at its fork: (parent pid, forked by its main thread).
_forked_by: tuple[int, bool] | None = None
# The pid whose watch is running (a forked child inherits the value, not the thread).
_guarded: int | None = None
_lock = threading.Lock()


def _before_fork() -> None:
    global _forking
    _forking = (os.getpid(), threading.current_thread() is threading.main_thread())


def _after_fork_in_child() -> None:
    global _forked_by
    _forked_by = _forking


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def parent_of_this_process() -> tuple[int, bool]:
    """``(pid, forked by its main thread)`` of the process that started this one.

    For a forked process, the pid recorded in the parent just before the fork; otherwise the
    current parent pid, and False (the creating thread is unknown)."""
    if _forked_by is not None and _forked_by[0] != os.getpid():
        return _forked_by
    return os.getppid(), False


def guard_worker() -> None:
    """Make this process (a DataLoader worker) exit within about :data:`POLL_S` seconds of its
    parent's death. Idempotent: later calls in the same process do nothing."""
    global _guarded
    pid = os.getpid()
    with _lock:
        if _guarded == pid:
            return
        _guarded = pid
    parent, by_main_thread = parent_of_this_process()
    if by_main_thread and sys.platform.startswith("linux"):
        _kill_on_parent_death()
    if os.getppid() != parent:  # died before the guard was up
        os._exit(ORPHAN_EXIT)
    watch = threading.Thread(
        target=_watch, args=(parent,), name="streaming-parent-watch", daemon=True
    )
    watch.start()


def _kill_on_parent_death() -> None:
    """Ask the kernel for SIGKILL when the thread that forked this process dies (best effort:
    the parent watch covers a failure)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent:
            os._exit(ORPHAN_EXIT)
