"""An IAA engine thread never dies of what it runs, and a dead one is replaced (issue 14 item 5)."""

from __future__ import annotations

import errno
import threading

import acomp_iaa
import pytest

import acomp


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt, RuntimeError])
def test_an_engine_survives_a_raising_completion_handler(real_pages: list[bytes], exc_type: type) -> None:
    dev = acomp_iaa.subsystem().devices[0]
    d = dev.wqs[0].alloc_desc()
    assert d is not None
    d.op, d.src, d.capacity = "compress", real_pages[0], 8192
    ran = threading.Event()

    def handler(_desc: object) -> None:
        ran.set()
        raise exc_type("a completion handler's bug")

    d.on_done = handler
    dev.submit([d])
    assert ran.wait(10)
    engines = [t for t in dev.threads if t.is_alive()] if hasattr(dev, "threads") else None
    # The same engines still serve: a POLL submission completes.
    tfm = acomp.alloc("deflate-iaa")
    req = acomp.Request(real_pages[1], bytearray(8192), flags=acomp.RequestFlags.POLL)
    assert tfm.submit(req) == errno.EINPROGRESS
    assert req.wait(10) and req.err is None and req.dlen > 0
    if engines is not None:
        assert all(t.is_alive() for t in engines)


def test_a_dead_engine_is_replaced(real_pages: list[bytes]) -> None:
    dev = acomp_iaa.subsystem().devices[0]
    tfm = acomp.alloc("deflate-iaa")
    warm = acomp.Request(real_pages[0], bytearray(8192), flags=acomp.RequestFlags.POLL)
    tfm.submit(warm)
    assert warm.wait(10)
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    with dev._lock:
        engines = dev._threads
        dev._threads = [dead] * len(engines)  # as if every engine had died
    try:
        for page in real_pages[1:9]:
            req = acomp.Request(page, bytearray(8192), flags=acomp.RequestFlags.POLL)
            assert tfm.submit(req) == errno.EINPROGRESS
            assert req.wait(10), "no engine ran the descriptor"
            assert req.err is None
        assert all(t.is_alive() for t in dev._threads)
    finally:
        with dev._lock:  # the hidden originals still run: give them back, so the reset stops them
            dev._threads.extend(engines)
