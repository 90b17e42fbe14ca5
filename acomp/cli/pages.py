"""Page sources: where the CLI's pages come from, streamed and memory bounded.

============================  ================================================================
source                        pages
============================  ================================================================
``--pid PID``                 the process's anonymous memory: private anonymous mappings
                              (heap, stacks, ``mmap(MAP_PRIVATE|MAP_ANONYMOUS)``) and shared
                              anonymous ones (``/dev/zero (deleted)``, ``[anon_shmem:...]``,
                              System V segments) from ``/proc/PID/maps``, read through
                              ``/proc/PID/mem``; only pages that exist (present or swapped in
                              ``/proc/PID/pagemap``): a page never touched is no memory
``--core FILE``               an ELF core dump's ``PT_LOAD`` segments (what the kernel's
                              ``coredump_filter`` let in; ``p_filesz`` bytes of each)
``--dump FILE``               raw pages (a zram device image, ``/dev/zero``, a pipe, ``-``);
                              the last page zero-padded
(none)                        the built-in corpus (:mod:`acomp.cli.corpus`)
============================  ================================================================

Every source is read in chunks of :data:`CHUNK_PAGES` pages and yields one
page at a time, so memory stays bounded whatever the source's size; the CLI
keeps pages only where it must (``acomp bench`` and ``acomp zswap`` replay
them: at most ``--max-pages`` of them, :func:`collect`).  A range that cannot
be read (``EIO`` from ``/proc/PID/mem``, a truncated core) is skipped page by
page and counted (:attr:`PageSource.skipped`).  A source that is not a regular
file or block device (``/dev/zero``, a FIFO, standard input) has no size: it
stops after ``--max-pages`` pages (default :data:`STREAM_MAX_PAGES`).
``--sample N`` reads N pages spread evenly over the source: one page at a
random position (``random.Random(seed)``) in each of N equal strata.
"""

from __future__ import annotations

import argparse
import array
import os
import random
import stat
import struct
import sys
from collections.abc import Iterator

import attrs

from acomp.cli.corpus import Corpus, build_corpus
from acomp.cli.output import CliError
from acomp.request import PAGE_SIZE

__all__ = [
    "CHUNK_PAGES",
    "KEPT_MAX_PAGES",
    "STREAM_MAX_PAGES",
    "PageSource",
    "add_source_arguments",
    "collect",
    "core_source",
    "corpus_source",
    "dump_source",
    "load_corpus",
    "pid_source",
    "source_from_args",
]

#: Pages read per system call.
CHUNK_PAGES = 64
#: The bound on a source with no size (``/dev/zero``, a pipe) when ``--max-pages`` is not given: 1 GiB.
STREAM_MAX_PAGES = 1 << 18
#: The bound on pages kept in memory by commands that replay them (``bench``, ``zswap``): 64 MiB.
KEPT_MAX_PAGES = 1 << 14

_PM_PRESENT = 1 << 63
_PM_SWAPPED = 1 << 62
#: Pseudo-mappings that are not process memory zswap could see.
_SPECIAL = ("[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]", "[uprobes]")
_PERMISSION_HINT = (
    "needs ptrace access to it: run as its user (with kernel.yama.ptrace_scope allowing it) "
    "or as root / with CAP_SYS_PTRACE"
)


@attrs.define(slots=True, eq=False)
class PageSource:
    """Pages from somewhere, read on demand: iterate :meth:`pages` (once)."""

    #: ``pid``, ``core``, ``dump`` or ``corpus``.
    kind: str
    #: One line saying what this is.
    description: str
    #: Pages the source holds (before sampling); ``None`` when unknown (a pipe).
    total: int | None
    #: Byte offset and page count of each readable extent (``fd`` sources).
    starts: array.array[int] = attrs.field(factory=lambda: array.array("Q"))
    counts: array.array[int] = attrs.field(factory=lambda: array.array("Q"))
    fd: int = -1
    #: Pages of an in-memory source (the corpus).
    memory: tuple[bytes, ...] = ()
    #: A stream's bound (sources with no size).
    limit: int | None = None
    #: Pages that could not be read, counted while reading.
    skipped: int = 0
    #: A regular file's length: its last page is zero-padded, not skipped.
    file_size: int | None = None
    #: Whether :meth:`close` closes ``fd`` (standard input stays open).
    owns_fd: bool = True

    def close(self) -> None:
        if self.owns_fd and self.fd >= 0:
            os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> PageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pages(self, sample: int | None = None, seed: int = 0) -> Iterator[bytes]:
        """Every page in order, or ``sample`` pages spread evenly (one per stratum, seeded)."""
        if self.memory:
            yield from _pick(self.memory, self.total or 0, sample, seed)
        elif self.total is None:
            yield from self._stream(sample, seed)
        elif sample is None or sample >= (self.total or 0):
            for start, count in zip(self.starts, self.counts):
                yield from self._extent(start, count)
        else:
            yield from self._sampled(sample, seed)

    def truncate(self, max_pages: int | None) -> None:
        """Keep only the first ``max_pages`` pages of an extent source (None: all)."""
        if max_pages is None or self.total is None or self.total <= max_pages or self.memory:
            return
        left = max_pages
        for i, count in enumerate(self.counts):
            if count >= left:
                self.counts[i] = left
                del self.starts[i + 1 :]
                del self.counts[i + 1 :]
                break
            left -= count
        self.total = max_pages
        self.description += f" (the first {max_pages}: --max-pages)"

    # -- reading -----------------------------------------------------------------------

    def _page(self, offset: int) -> bytes | None:
        """One page at ``offset``, or None (counted) when it cannot be read."""
        try:
            data = os.pread(self.fd, PAGE_SIZE, offset)
        except OSError:
            data = b""
        if len(data) == PAGE_SIZE:
            return data
        if data and self.file_size is not None and offset + len(data) == self.file_size:
            return data + bytes(PAGE_SIZE - len(data))
        self.skipped += 1
        return None

    def _extent(self, start: int, count: int) -> Iterator[bytes]:
        done = 0
        while done < count:
            n = min(CHUNK_PAGES, count - done)
            offset = start + done * PAGE_SIZE
            try:
                chunk = os.pread(self.fd, n * PAGE_SIZE, offset)
            except OSError:
                chunk = b""
            whole = len(chunk) // PAGE_SIZE
            view = memoryview(chunk)
            for i in range(whole):
                yield bytes(view[i * PAGE_SIZE : (i + 1) * PAGE_SIZE])
            for i in range(whole, n):  # a short read: find the unreadable pages one by one
                page = self._page(offset + i * PAGE_SIZE)
                if page is not None:
                    yield page
            done += n

    def _sampled(self, sample: int, seed: int) -> Iterator[bytes]:
        total = self.total or 0
        ext, base = 0, 0  # the extent holding the next index, and its first index
        for index in _strata(total, sample, seed):
            while index >= base + self.counts[ext]:
                base += self.counts[ext]
                ext += 1
            page = self._page(self.starts[ext] + (index - base) * PAGE_SIZE)
            if page is not None:
                yield page

    def _stream(self, sample: int | None, seed: int) -> Iterator[bytes]:
        limit = self.limit if self.limit is not None else STREAM_MAX_PAGES
        wanted = _strata(limit, sample, seed)
        want = next(wanted, None)
        for index, page in enumerate(self._stream_pages()):
            if want is None:
                break
            if index == want:
                yield page
                want = next(wanted, None)

    def _stream_pages(self) -> Iterator[bytes]:
        """Pages of a stream as they arrive (a pipe may give less than a page per read)."""
        buf = bytearray()
        while True:
            try:
                chunk = os.read(self.fd, CHUNK_PAGES * PAGE_SIZE)
            except InterruptedError:
                continue
            except OSError as exc:
                raise CliError(f"cannot read {self.description}: {exc.strerror or exc}") from None
            if not chunk:
                break
            buf += chunk
            whole = len(buf) // PAGE_SIZE
            for i in range(whole):
                yield bytes(buf[i * PAGE_SIZE : (i + 1) * PAGE_SIZE])
            del buf[: whole * PAGE_SIZE]
        if buf:
            yield bytes(buf) + bytes(PAGE_SIZE - len(buf))


def _strata(total: int, n: int | None, seed: int) -> Iterator[int]:
    """``n`` sorted indexes below ``total``: one at a seeded random spot in each of ``n`` equal strata."""
    if n is None or n >= total:
        yield from range(total)
        return
    rng = random.Random(f"{seed}:sample")
    for k in range(n):
        lo, hi = k * total // n, (k + 1) * total // n
        yield lo + rng.randrange(hi - lo)


def _pick(pages: tuple[bytes, ...], total: int, sample: int | None, seed: int) -> Iterator[bytes]:
    for index in _strata(total, sample, seed):
        yield pages[index]


# -- the sources ---------------------------------------------------------------------------


def corpus_source(n_pages: int, seed: int) -> PageSource:
    """The built-in corpus (:func:`acomp.cli.corpus.build_corpus`)."""
    corpus = build_corpus(n_pages, seed)
    return PageSource(
        kind="corpus",
        description=f"the built-in corpus, {corpus.description} [digest {corpus.digest}]",
        total=len(corpus),
        memory=corpus.pages,
    )


def _open_fd(path: str) -> int:
    if path == "-":
        return sys.stdin.buffer.fileno()
    if os.path.isdir(path):
        raise CliError(f"cannot read {path!r}: is a directory")
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CliError(f"cannot read {path!r}: no such file") from None
    except OSError as exc:
        raise CliError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def dump_source(path: str, max_pages: int | None = None) -> PageSource:
    """Raw pages of ``path`` (``-``: standard input): at most ``max_pages``.

    A regular file or block device is read by offset (so ``--sample`` reads
    only the pages it picks); anything else is a stream, bounded by
    ``max_pages`` or :data:`STREAM_MAX_PAGES`.
    """
    fd = _open_fd(path)
    name = "standard input" if path == "-" else path
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode):
        size = st.st_size if stat.S_ISREG(st.st_mode) else os.lseek(fd, 0, os.SEEK_END)
        npages = (size + PAGE_SIZE - 1) // PAGE_SIZE
        if max_pages is not None:
            npages = min(npages, max_pages)
        if npages == 0:
            os.close(fd)
            raise CliError(f"{name!r} is empty: no pages to use")
        src = PageSource(kind="dump", description=f"{npages} pages of {name}", total=npages, fd=fd, file_size=size)
        src.starts.append(0)
        src.counts.append(npages)
        return src
    bound = max_pages if max_pages is not None else STREAM_MAX_PAGES
    return PageSource(
        kind="dump",
        description=f"{name} (a stream: at most {bound} pages)",
        total=None,
        fd=fd,
        limit=bound,
        owns_fd=path != "-",
    )


# ELF: e_ident[EI_CLASS], e_ident[EI_DATA], e_type ET_CORE, p_type PT_LOAD, e_phnum PN_XNUM.
_ELFCLASS32, _ELFCLASS64 = 1, 2
_ET_CORE, _PT_LOAD, _PN_XNUM = 4, 1, 0xFFFF


def core_source(path: str, max_pages: int | None = None) -> PageSource:
    """The ``PT_LOAD`` segments of an ELF core file (``p_filesz`` bytes of each, page by page)."""
    fd = _open_fd(path)
    try:
        return _core(fd, path, max_pages)
    except BaseException:
        os.close(fd)
        raise


def _core(fd: int, path: str, max_pages: int | None) -> PageSource:
    size = os.fstat(fd).st_size
    ident = os.pread(fd, 64, 0)
    if len(ident) < 52 or ident[:4] != b"\x7fELF":
        raise CliError(f"{path!r} is not an ELF file")
    if ident[4] not in (_ELFCLASS32, _ELFCLASS64) or ident[5] not in (1, 2):
        raise CliError(f"{path!r}: unknown ELF class {ident[4]} or byte order {ident[5]}")
    end = "<" if ident[5] == 1 else ">"
    wide = ident[4] == _ELFCLASS64
    if wide and len(ident) < 64:
        raise CliError(f"{path!r}: truncated ELF header")
    # e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum
    header = struct.unpack_from(end + ("HHIQQQIHHH" if wide else "HHIIIIIHHH"), ident, 16)
    e_type, e_phoff, e_shoff, e_phentsize, e_phnum = header[0], header[4], header[5], header[8], header[9]
    if e_type != _ET_CORE:
        raise CliError(f"{path!r} is an ELF file but not a core dump (e_type {e_type}, ET_CORE is {_ET_CORE})")
    if e_phnum == _PN_XNUM:  # the real count is section header 0's sh_info
        sh = os.pread(fd, 64 if wide else 40, e_shoff)
        e_phnum = struct.unpack_from(end + "I", sh, 44 if wide else 28)[0]
    phfmt = end + ("IIQQQQQQ" if wide else "IIIIIIII")
    if e_phentsize < struct.calcsize(phfmt):
        raise CliError(f"{path!r}: program header entries of {e_phentsize} bytes are too small")
    table = os.pread(fd, e_phentsize * e_phnum, e_phoff)
    if len(table) < e_phentsize * e_phnum:
        raise CliError(f"{path!r}: truncated program header table")
    src = PageSource(kind="core", description="", total=0, fd=fd)
    total = 0
    segments = 0
    for i in range(e_phnum):
        fields = struct.unpack_from(phfmt, table, i * e_phentsize)
        if wide:
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, _vaddr, _paddr, p_filesz = fields[:5]
        if p_type != _PT_LOAD or p_filesz == 0:
            continue
        npages = (p_filesz + PAGE_SIZE - 1) // PAGE_SIZE
        if max_pages is not None:
            npages = min(npages, max_pages - total)
        if npages <= 0:
            break
        src.starts.append(p_offset)
        src.counts.append(npages)
        total += npages
        segments += 1
    if total == 0:
        raise CliError(f"{path!r}: the core dump has no PT_LOAD segment with data")
    src.total = total
    src.description = f"{total} pages in {segments} PT_LOAD segments of the core dump {path}"
    if size < max(s + c * PAGE_SIZE for s, c in zip(src.starts, src.counts)):
        src.description += " (truncated: missing pages are skipped)"
    return src


def _permission(pid: int) -> CliError:
    return CliError(f"cannot read the memory of process {pid}: permission denied ({_PERMISSION_HINT})")


def _anonymous(fields: list[str]) -> bool:
    """Whether a ``/proc/PID/maps`` line is anonymous memory (private or shared)."""
    perms, inode = fields[1], fields[4]
    path = " ".join(fields[5:])
    if path in _SPECIAL:
        return False
    if perms[3] == "p":
        return inode == "0" and (not path or path.startswith("[")) and not path.startswith("[anon_shmem")
    return path.startswith(("/dev/zero", "/SYSV", "[anon_shmem"))


def pid_source(pid: int, address_range: tuple[int, int] | None = None) -> PageSource:
    """The anonymous memory of process ``pid`` (optionally only within ``address_range``)."""
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/maps") as f:
            lines = f.read().splitlines()
        fd = os.open(f"{base}/mem", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CliError(f"no process {pid}") from None
    except PermissionError:
        raise _permission(pid) from None
    except OSError as exc:
        raise CliError(f"cannot read the memory of process {pid}: {exc.strerror or exc}") from None
    src = PageSource(kind="pid", description="", total=0, fd=fd)
    try:
        pagemap: int | None = os.open(f"{base}/pagemap", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        pagemap = None
    mappings = untouched = 0
    try:
        for line in lines:
            fields = line.split()
            if len(fields) < 5 or not _anonymous(fields):
                continue
            lo_text, _, hi_text = fields[0].partition("-")
            lo, hi = int(lo_text, 16), int(hi_text, 16)
            if address_range is not None:
                lo, hi = max(lo, address_range[0]), min(hi, address_range[1])
                lo -= lo % PAGE_SIZE
                if lo >= hi:
                    continue
            mappings += 1
            untouched += _add_resident(src, pagemap, lo, hi)
    finally:
        if pagemap is not None:
            os.close(pagemap)
    src.total = sum(src.counts)
    where = "" if address_range is None else f" in {address_range[0]:#x}-{address_range[1]:#x}"
    src.description = f"process {pid}: {src.total} pages in {mappings} anonymous mappings{where}" + (
        f" ({untouched} pages never touched, not counted)" if untouched else ""
    )
    # Without ptrace access, /proc/PID/mem opens but every read fails: say so now, not "0 pages".
    if src.total:
        try:
            os.pread(fd, 1, src.starts[0])
        except PermissionError:
            src.close()
            raise _permission(pid) from None
        except OSError:
            pass  # one unreadable page: skipped and counted later
    return src


def _add_resident(src: PageSource, pagemap: int | None, lo: int, hi: int) -> int:
    """Append the extents of ``lo..hi`` whose pages exist; return the pages that do not."""
    npages = (hi - lo + PAGE_SIZE - 1) // PAGE_SIZE
    if pagemap is None:
        src.starts.append(lo)
        src.counts.append(npages)
        return 0
    run_start, run_len, absent = lo, 0, 0
    done = 0
    while done < npages:
        n = min(1 << 16, npages - done)
        try:
            raw = os.pread(pagemap, 8 * n, 8 * ((lo // PAGE_SIZE) + done))
        except OSError:
            raw = b""
        entries = array.array("Q", raw[: len(raw) // 8 * 8])
        if len(entries) < n:  # unreadable pagemap: take the pages as they are
            entries.extend([_PM_PRESENT] * (n - len(entries)))
        for i, entry in enumerate(entries):
            addr = lo + (done + i) * PAGE_SIZE
            if entry & (_PM_PRESENT | _PM_SWAPPED):
                if run_len == 0:
                    run_start = addr
                run_len += 1
            else:
                absent += 1
                if run_len:
                    src.starts.append(run_start)
                    src.counts.append(run_len)
                    run_len = 0
        done += n
    if run_len:
        src.starts.append(run_start)
        src.counts.append(run_len)
    return absent


# -- the command line ----------------------------------------------------------------------


def _address_range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        start, end = int(lo, 16), int(hi, 16)
    except ValueError:
        start = end = -1
    if not sep or start < 0 or end <= start:
        raise argparse.ArgumentTypeError(f"expected START-END in hex as /proc/PID/maps prints it, got {text!r}")
    return start, end


def add_source_arguments(
    p: argparse.ArgumentParser, *, default_pages: int, what: str = "pages", seed: bool = True
) -> None:
    """``--pid``, ``--core``, ``--dump``, ``--range``, ``--max-pages``, ``--sample`` and (``seed``) ``--seed``."""
    from acomp.cli.common import positive_int

    g = p.add_argument_group("page source (default: the built-in corpus)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--pid", type=positive_int, help="a process's anonymous memory (needs ptrace access)")
    x.add_argument("--core", metavar="FILE", help="an ELF core dump's PT_LOAD segments")
    x.add_argument("--dump", metavar="FILE", help="raw pages: a memory or zram image, /dev/zero, - for stdin")
    g.add_argument("--range", type=_address_range, metavar="START-END", help="with --pid: only these addresses (hex)")
    g.add_argument(
        "--max-pages",
        type=positive_int,
        metavar="N",
        help=f"read at most N {what} (corpus: its size, default {default_pages}; a stream without a size: "
        f"default {STREAM_MAX_PAGES})",
    )
    g.add_argument("--sample", type=positive_int, metavar="N", help="N pages spread evenly over the source (seeded)")
    if seed:
        g.add_argument("--seed", type=int, default=0, help="corpus and sampling seed (default 0)")


def source_from_args(args: argparse.Namespace, default_pages: int) -> PageSource:
    """The source the arguments of :func:`add_source_arguments` name."""
    if args.range is not None and args.pid is None:
        raise CliError("--range needs --pid", code=2)
    if args.pid is not None:
        src = pid_source(args.pid, args.range)
        src.truncate(args.max_pages)
        return src
    if args.core is not None:
        return core_source(args.core, args.max_pages)
    if args.dump is not None:
        return dump_source(args.dump, args.max_pages)
    return corpus_source(args.max_pages or default_pages, args.seed)


def collect(source: PageSource, limit: int, sample: int | None = None, seed: int = 0) -> Corpus:
    """At most ``limit`` pages of ``source`` kept in memory, as a :class:`Corpus`."""
    pages: list[bytes] = []
    for page in source.pages(sample, seed):
        pages.append(page)
        if len(pages) >= limit:
            break
    if not pages:
        raise CliError(f"{source.description}: no pages to use")
    kept = source.description
    if source.total is None or len(pages) < source.total:
        kept = f"{len(pages)} pages of {kept}" + (f" (at most {limit} kept)" if len(pages) == limit else "")
    return Corpus(pages=tuple(pages), kinds=(source.kind,) * len(pages), description=kept, files_used={})


def load_corpus(pages: str | None, seed: int, default_pages: int, limit: int = KEPT_MAX_PAGES) -> Corpus:
    """``--pages N|FILE``: N corpus pages, or at most ``limit`` pages of FILE (None/empty: the default)."""
    text = (pages or "").strip()
    if not text:
        return build_corpus(default_pages, seed)
    if text.lstrip("+-").isdigit():
        n = int(text)
        if n < 1:
            raise CliError(f"--pages must be a positive count or a file, got {text!r}", code=2)
        return build_corpus(n, seed)
    if text != "-" and not os.path.exists(text):
        raise CliError(f"--pages: {text!r} is neither a page count nor an existing file")
    with dump_source(text, limit) as source:
        corpus = collect(source, limit)
    return attrs.evolve(corpus, kinds=("file",) * len(corpus), files_used={"file": 1})
