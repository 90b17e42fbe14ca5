#!/usr/bin/env bash
# The sample plugin, checked the way a third party would use it:
#   1. a fresh venv (no system site-packages),
#   2. acomp installed from the repository root (not editable),
#   3. this plugin installed from its own pyproject (a copy, so the tree stays clean),
#   4. found through its entry point, its tests (acomp's conformance kit) run,
#   5. used by name from zswap (when acomp.zswap is importable).
#
# usage: ci_check.sh [ACOMP_ROOT]    (default: the repository this file lives in)
# env:   PYTHON (default python3), KEEP_VENV=1 keeps the work directory for inspection.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${1:-$here/../../..}" && pwd)"
python="${PYTHON:-python3}"

work="$(mktemp -d "${TMPDIR:-/tmp}/acomp-bz2-ci.XXXXXX")"
if [[ "${KEEP_VENV:-0}" != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi
echo "acomp-bz2 ci_check: acomp from $root, work dir $work"

"$python" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip >/dev/null 2>&1 || true

# acomp from the repository root; then the example from a copy of its directory.
"$py" -m pip install -q "$root"
mkdir "$work/src"
cp -r "$here" "$work/src/acomp-bz2"
rm -rf "$work/src/acomp-bz2/build" "$work/src/acomp-bz2"/*.egg-info
"$py" -m pip install -q "$work/src/acomp-bz2[test]"

# Run from the work dir: nothing on sys.path may shadow the installed packages.
cd "$work"
"$py" - <<'PY'
import acomp
import acomp_bz2

assert "site-packages" in acomp.__file__, acomp.__file__
assert "site-packages" in acomp_bz2.__file__, acomp_bz2.__file__
rec = acomp.get_registry().lookup("bz2")
assert rec.driver_name == "bz2-generic" and rec.plugin == "bz2", rec
tfm = acomp.alloc("bz2")
req = acomp.Request(b"acomp-bz2 " * 400)
tfm.compress(req)
assert acomp.decompress(req.output(), "bz2", max_size=4000) == b"acomp-bz2 " * 400
print(f"discovered: {rec.driver_name} (plugin {rec.plugin!r}, module {rec.module}), "
      f"4000 bytes -> {req.dlen}")
PY

"$py" -m pytest -q "$work/src/acomp-bz2/tests"

"$py" - <<'PY'
import importlib.util

if importlib.util.find_spec("acomp.zswap") is None:
    print("zswap: acomp.zswap not importable here; skipped")
    raise SystemExit(0)
from acomp import PAGE_SIZE
from acomp.testing.strategies import make_page
from acomp.zswap import Zswap

zs = Zswap(compressor="bz2", total_ram=64 << 20)
folio = b"".join(make_page(kind, 7, PAGE_SIZE) for kind in ("text", "binary", "mixed", "text"))
assert zs.store(0, folio), "zswap refused a compressible folio"
for i in range(4):
    out = bytearray(PAGE_SIZE)
    assert zs.load(i, out), f"page {i} not in zswap"
    assert bytes(out) == folio[i * PAGE_SIZE : (i + 1) * PAGE_SIZE], f"page {i} differs"
stats = zs.stats()
print(f"zswap with bz2: stored and loaded a 4-page folio; "
      f"stored_pages={stats.get('stored_pages')}, zswpout={stats.get('zswpout')}, zswpin={stats.get('zswpin')}")
PY
echo "acomp-bz2 ci_check: OK"
