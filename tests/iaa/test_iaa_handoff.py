"""The polling CPU hands batch work to engine threads only when it measured faster (acomp only)."""

from __future__ import annotations

import acomp_iaa
from acomp_iaa import DeflateIaaDriver
from acomp_iaa.device import IaaWq
from acomp_iaa.handoff import PROBE_EVERY, HandoffPolicy


class _D:
    def __init__(self, wq: IaaWq, index: int) -> None:
        self.wq = wq
        self.index = index


def _batch(devices: list[int]) -> list[_D]:
    wqs = {d: IaaWq(d, 1, 4) for d in set(devices)}
    return [_D(wqs[d], i) for i, d in enumerate(devices)]


def test_small_batches_and_one_cpu_stay_inline() -> None:
    p = HandoffPolicy(cpus=2)
    assert p.plan("compress", _batch([0, 1, 2, 3] * 2)) is None  # 8 x 20 µs: not worth a wake-up
    one = HandoffPolicy(cpus=1)
    one.inline_s["compress"] = 1e-3
    assert one.plan("compress", _batch([0] * 8)) is None  # no CPU to spare


def test_long_batches_hand_off_until_it_stops_paying() -> None:
    p = HandoffPolicy(cpus=2)
    p.inline_s["compress"] = 1e-3
    assert p.plan("compress", _batch([0] * 8)) == {0, 1, 2, 3}  # a lone device: half of it
    assert p.plan("compress", _batch([0, 1, 0, 1, 0, 2, 0, 2])) == {0, 2, 4, 6}  # the biggest share
    p.observe("compress", 8, 8 * 1.5e-3, handed_off=True)  # slower than inline
    skipped = sum(p.plan("compress", _batch([0] * 8)) is None for _ in range(PROBE_EVERY))
    assert skipped == PROBE_EVERY - 1  # one probe per PROBE_EVERY eligible batches
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    p.observe("compress", 8, 8 * 0.3e-3, handed_off=True)
    assert p.plan("compress", _batch([0] * 8)) is not None  # paying again


def test_one_preempted_batch_does_not_make_hand_offs_look_worth_it() -> None:
    p = HandoffPolicy(cpus=2)
    p.observe("compress", 8, 8 * 13e-6, handed_off=False)
    p.observe("compress", 8, 8 * 50e-3, handed_off=False)  # descheduled for 400 ms
    assert p.inline_s["compress"] < 50e-6
    assert p.plan("compress", _batch([0] * 8)) is None


def test_a_handed_off_batch_is_correct_and_counted(real_pages: list[bytes]) -> None:
    d = DeflateIaaDriver(cpu=0)
    sub = acomp_iaa.subsystem()
    sub.handoff = HandoffPolicy(cpus=2)
    sub.handoff.inline_s["compress"] = sub.handoff.inline_s["decompress"] = 1e-3
    for _ in range(3):
        comp = d.batch_compress(real_pages[:8], [8192] * 8)
        assert d.batch_decompress(comp, [4096] * 8) == real_pages[:8]
    assert any(t.name.startswith("iaa0-engine") for t in sub.engine_threads())
    s = acomp_iaa.stats()
    assert s["total_comp_calls"] == s["total_decomp_calls"] == 24
    assert s["batch_records"]["async"] == {"do_async_req_chain": 6}
    d.close()
