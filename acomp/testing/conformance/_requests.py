"""Request-model properties: batches, chains and segmented requests (one request, several outcomes)."""

from __future__ import annotations

import errno
import functools
from collections.abc import Sequence

import acomp
from acomp.driver import Op
from acomp.errors import AcompError
from acomp.request import PAGE_SIZE, Request
from acomp.testing import strategies as acst
from acomp.testing.conformance._base import KitBase, _err_text, _errname, _names, sentinel_dst, untouched_past
from acomp.testing.conformance._contract import CORRUPT_INPUT_ERRNOS, DECOMPRESS_OVERFLOW_ERRNOS
from acomp.transform import Transform

#: Both directions, in the order the properties run them.
OPS: tuple[Op, ...] = ("compress", "decompress")


class RequestProperties(KitBase):
    """batch, chain, segmentation; and the planted-request checks the async property reuses."""

    def _make_reqs(self, planted: Sequence[acst.PlantedRequest]) -> list[Request]:
        return [Request(p.src, dst=sentinel_dst(p.capacity)) for p in planted]

    def _check_planted(
        self,
        P: str,
        tfm: Transform,
        op: Op,
        planted: Sequence[acst.PlantedRequest],
        reqs: Sequence[Request],
        how: str,
    ) -> None:
        n = len(reqs)
        for i, (p, r) in enumerate(zip(planted, reqs)):
            what = f"{how}: request {i} of {n} ({p.describe()})"
            if not r.done:
                self.fail(P, f"{what}: not completed")
            err = r.err
            if err is not None and not isinstance(err, AcompError):
                self.fail(P, f"{what}: req.err is {err!r}, not an AcompError")
            if p.expect == "ok":
                self._check_planted_ok(P, tfm, op, p, r, what)
                continue
            if p.expect == "nospace":
                allowed = self._overflow_errnos(tfm) if op == "compress" else DECOMPRESS_OVERFLOW_ERRNOS
                self._expect_err(P, err, allowed, what, r)
            elif err is not None or self.truncation_detected:
                self._expect_err(P, err, CORRUPT_INPUT_ERRNOS, what, r)
            elif r.dlen >= len(p.original):
                self.fail(P, f"{what}: a truncated stream decoded to {r.dlen} bytes without an error")
            if err is not None and r.dlen != 0:
                self.fail(P, f"{what}: failed with {err.errname} but dlen={r.dlen}")

    def _check_planted_ok(self, P: str, tfm: Transform, op: Op, p: acst.PlantedRequest, r: Request, what: str) -> None:
        if r.err is not None:
            self._report_err(P, r.err, what, None)
        out = r.output()
        if op == "compress":
            back, berr = self._op(P, tfm, "decompress", out, dst=bytearray(len(p.original)))
            if berr is not None or back.output() != p.original:
                self.fail(P, f"{what}: its output (dlen={r.dlen}) does not decompress to its own source")
        elif out != p.original:
            self.fail(P, f"{what}: gave {r.dlen} bytes that are not its own source's data")
        if not untouched_past(r.dst, r.dlen):
            self.fail(P, f"{what}: bytes past dlen={r.dlen} were written")

    def _run_batch(self, P: str, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
        reqs = self._make_reqs(planted)
        fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
        how = f"batch_{op} of {len(reqs)}"
        try:
            ok = fn(reqs)
        except AcompError as exc:
            self.fail(P, f"{how} raised {_err_text(exc)}; per-request errors belong in req.err")
        except Exception as exc:
            self.fail(P, f"{how} raised {_err_text(exc)}, not an AcompError")
        self._check_planted(P, tfm, op, planted, reqs, how)
        want = all(r.err is None for r in reqs)
        if ok is not want:
            self.fail(P, f"{how} returned {ok!r} but {sum(r.err is not None for r in reqs)} request(s) failed")

    def _p_batch(self, P: str) -> None:
        tfm = self.tfm(P)
        for op in OPS:
            self._given(
                acst.planted_batches(tfm, op, min_size=1, max_size=tfm.batch_size),
                functools.partial(self._run_batch, P, tfm, op),
            )
            self._check_batch_limits(P, tfm, op)

    def _check_batch_limits(self, P: str, tfm: Transform, op: Op) -> None:
        """batch_size + 1 requests raise EINVAL (nothing processed); 0 requests succeed."""
        size = tfm.batch_size
        fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
        page = acst.make_page("text", 4)
        src = page if op == "compress" else self._compress_ok(P, tfm, page)
        over = [Request(src, dst=bytearray(2 * PAGE_SIZE)) for _ in range(size + 1)]
        try:
            fn(over)
        except AcompError as exc:
            if exc.errno != errno.EINVAL:
                self.fail(P, f"batch_{op} of batch_size+1={size + 1} failed with {_err_text(exc)}, expected EINVAL")
        except Exception as exc:
            self.fail(P, f"batch_{op} of batch_size+1={size + 1} raised {_err_text(exc)}, expected EINVAL")
        else:
            self.fail(P, f"batch_{op} of batch_size+1={size + 1} requests was accepted (must raise EINVAL)")
        try:
            empty_ok = fn([])
        except Exception as exc:
            self.fail(P, f"batch_{op} of 0 requests raised {_err_text(exc)}")
        if empty_ok is not True:
            self.fail(P, f"batch_{op} of 0 requests returned {empty_ok!r}, expected True")

    def _run_chain(self, P: str, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
        reqs = self._make_reqs(planted)
        head = reqs[0]
        for r in reqs[1:]:
            acomp.request_chain(r, head)
        how = f"sync chain of {len(reqs)} ({op})"
        try:
            (tfm.compress if op == "compress" else tfm.decompress)(head)
        except AcompError as exc:
            self.fail(P, f"{how}: submitting the head raised {_err_text(exc)}; a chain sets each req.err")
        except Exception as exc:
            self.fail(P, f"{how}: submitting the head raised {_err_text(exc)}, not an AcompError")
        self._check_planted(P, tfm, op, planted, reqs, how)

    def _p_chain(self, P: str) -> None:
        tfm = self.tfm(P)
        top = max(3, 2 * tfm.batch_size + 1)
        for op in OPS:
            self._given(
                acst.planted_batches(tfm, op, min_size=2, max_size=top),
                functools.partial(self._run_chain, P, tfm, op),
            )

    def _p_segmentation(self, P: str) -> None:
        tfm = self.tfm(P)
        overflow = self._overflow_errnos(tfm)
        layouts = [
            ["text"],
            ["random"],
            ["zero", "random", "text", "binary"],
            ["mixed", "random"] * (tfm.batch_size // 2 + 1),
        ]
        for li, kinds in enumerate(layouts):
            pages = [acst.make_page(k, 20 + i + 10 * li) for i, k in enumerate(kinds)]
            caps = [PAGE_SIZE // 2 if k == "random" else tfm.driver.compress_bound(PAGE_SIZE) for k in kinds]
            dsts = [bytearray(c) for c in caps]
            req = Request(b"".join(pages), dst=dsts, unit_size=PAGE_SIZE)
            how = f"segmented compress of a {len(pages)}-page folio ({', '.join(kinds)})"
            try:
                tfm.compress(req)
            except Exception as exc:
                self.fail(P, f"{how} raised {_err_text(exc)}; units report errors in seg_dlens")
            dlens = req.seg_dlens
            if dlens is None or len(dlens) != len(pages):
                self.fail(P, f"{how}: seg_dlens={dlens!r}, expected {len(pages)} entries")
            for i, (kind, page, d, dst) in enumerate(zip(kinds, pages, dlens, dsts)):
                what = f"{how}: unit {i} ({kind} page, {len(dst)}-byte dst)"
                if kind == "random":
                    if d >= 0 or -d not in overflow:
                        self.fail(P, f"{what}: seg_dlen={d}, expected -errno with errno in {_names(overflow)}")
                    continue
                if d < 0:
                    self.fail(P, f"{what}: failed with -{_errname(-d)}")
                self._decompress_check(P, tfm, bytes(dst[:d]), page, PAGE_SIZE, what)
