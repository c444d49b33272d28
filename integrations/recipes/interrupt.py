"""Ctrl-C during a recipe run: finish the step, save a checkpoint there, and stop.

`Interrupt` catches SIGINT and SIGTERM while a recipe trains. The first one only sets
`requested`; each runner's callback checks it after every step (all processes agree: the step
at which any of them was interrupted), saves a checkpoint at that step and stops the trainer.
``streaming train`` then prints the command that resumes and exits 130. A second SIGINT (Ctrl-C
pressed twice) stops at once, without a checkpoint; SIGTERM never does (a launcher that stops
its workers, such as Composer's, sends it after the user's Ctrl-C, and waits before SIGKILL).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

#: The signals that stop a run after its current step.
SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: The exit status of a run stopped by a signal (128 + SIGINT, as a shell reports Ctrl-C).
EXIT_INTERRUPTED = 130


class Interrupt:
    """Catches SIGINT and SIGTERM between `install` and `restore` (in the main thread).

    Attributes:
        requested: the name of the first signal received (``"SIGINT"``...), or None.
        stopping: set by a runner when all its processes stop at this step.
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        self.stopping = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Catch the signals (again: a trainer may have installed its own since). Does nothing
        outside the main thread, where Python cannot set signal handlers."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            current = signal.getsignal(signum)
            if current is not self._handle:
                self._previous.setdefault(signum, current)
                signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Put back the handlers found by the first `install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is None:
            self.requested = signal.Signals(signum).name
            return
        if signum == signal.SIGINT:  # Ctrl-C again: stop now, as without us
            self.restore()
            raise KeyboardInterrupt

    def __enter__(self) -> Interrupt:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
