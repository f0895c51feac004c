"""The run folder's lock, shared with the ``filterlens`` command line (docs/hdf5-layout.md): an exclusive flock(2) on
``<run>/.filterlens.lock``, whose text is the holder's pid, command and start time (ISO 8601 UTC), a line each.

While ``dissect`` writes a run directory it holds this lock, so a ``filterlens analyze`` (or a second ``dissect``) of
the same folder is refused instead of reading or writing half of it; the kernel releases the lock when the process
ends, however it ends, so no stale lock stays behind.
"""
from __future__ import annotations

import errno
import fcntl
import os
from types import TracebackType
from typing import Optional, Type

from .layout import timestamp

LOCK_FILE = ".filterlens.lock"
"""The lock file's name inside a run folder (the same as FilterLens's ``RunLayout.lockFile``)."""


class RunFolderInUse(RuntimeError):
    """Another process (``filterlens`` or ``dissect``) holds the run folder's lock."""


class RunFolderLock:
    """``with RunFolderLock(folder, "filterlens_torch.dissect"):`` holds ``folder``'s lock, or raises
    ``RunFolderInUse`` naming the holder (``acquire()`` and ``release()`` do the same by hand). The folder must
    exist."""

    def __init__(self, folder: str, command: str) -> None:
        self.folder = folder
        self.command = command
        self._descriptor: Optional[int] = None

    def __enter__(self) -> "RunFolderLock":
        return self.acquire()

    def __exit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.release()

    def acquire(self) -> "RunFolderLock":
        """Takes the lock, writing this process's pid, command and start into the lock file."""
        path = os.path.join(self.folder, LOCK_FILE)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                # A file system without flock: work unlocked, as the command line does.
                self._descriptor = descriptor
                return self
            holder = describe(os.pread(descriptor, 4096, 0).decode("utf-8", "replace"))
            os.close(descriptor)
            raise RunFolderInUse("%s: in use by %s, which is writing this run; wait for it to finish or stop it, "
                                 "then run this again" % (self.folder, holder)) from None
        record = "%d\n%s\n%s\n" % (os.getpid(), self.command, timestamp())
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, record.encode("utf-8"), 0)
        self._descriptor = descriptor
        return self

    def release(self) -> None:
        """Lets the lock go (the file stays, naming the last holder)."""
        if self._descriptor is not None:
            os.close(self._descriptor)   # closing releases the flock
            self._descriptor = None


def describe(contents: str) -> str:
    """``COMMAND (pid PID) since START`` from the lock file's three lines; "another process" if it holds fewer."""
    lines = contents.split("\n")
    if len(lines) < 3 or not lines[2]:
        return "another process"
    return "%s (pid %s) since %s" % (lines[1], lines[0], lines[2])
