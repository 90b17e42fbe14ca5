"""The CPUs of the modelled machine and which one a thread runs on.

The kernel keeps one ``crypto_acomp_ctx`` per CPU in every pool and a task
uses the one of the CPU it runs on (``raw_cpu_ptr(pool->acomp_ctx)``), so
tasks on one CPU share that context's mutex.  Python has no ``sched_getcpu``
in the standard library, and the real CPU a thread runs on says nothing about
the machine being modelled (a 2-core laptop modelling a 64-CPU server), so
the model places threads itself: a thread is put on the next CPU (round
robin) the first time it asks, and stays there, as a task the scheduler never
migrates.  :meth:`Cpus.bind` pins the calling thread to a chosen CPU (as
``sched_setaffinity`` to one CPU would), which is how a workload or a test
makes threads share a CPU.

Why not ``sched_getcpu`` through ctypes with the kernel's get-then-lock-then-
recheck: it would tie the model to the host's CPUs, make contention between
threads of one CPU a matter of chance (so not testable), and cost a foreign
call per page; placement costs one thread-local read (see the commit message
for the measurement).
"""

from __future__ import annotations

import os
import threading

from acomp import InvalidArgument

__all__ = ["Cpus", "default_nr_cpus"]


def default_nr_cpus() -> int:
    """The CPUs this process may run on (``os.sched_getaffinity``; else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Cpus:
    """``nr`` modelled CPUs; threads are placed on them round robin at first use."""

    __slots__ = ("_lock", "_next", "local", "nr")

    def __init__(self, nr: int | None = None) -> None:
        if nr is None:
            nr = default_nr_cpus()
        if type(nr) is not int or nr < 1:
            raise InvalidArgument(f"nr_cpus must be a positive int, got {nr!r}")
        #: Number of CPUs (kernel: the online CPUs; no hotplug here).
        self.nr = nr
        #: Per thread: ``.cpu`` once the thread is placed (a hot path may read it
        #: directly and call :meth:`current` on ``AttributeError``).
        self.local = threading.local()
        self._lock = threading.Lock()
        self._next = 0

    def current(self) -> int:
        """The calling thread's CPU (kernel: ``smp_processor_id``); places it on first use."""
        try:
            cpu: int = self.local.cpu
        except AttributeError:
            with self._lock:
                cpu = self._next % self.nr
                self._next += 1
            self.local.cpu = cpu
        return cpu

    def bind(self, cpu: int) -> None:
        """Run the calling thread on ``cpu`` from now on."""
        if type(cpu) is not int or not 0 <= cpu < self.nr:
            raise InvalidArgument(f"cpu must be an int in 0..{self.nr - 1}, got {cpu!r}")
        self.local.cpu = cpu

    def __repr__(self) -> str:
        return f"<Cpus nr={self.nr}>"
