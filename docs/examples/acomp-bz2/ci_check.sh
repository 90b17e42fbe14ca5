#!/usr/bin/env bash
# The sample plugin and a fresh `acomp new-plugin` skeleton, checked the way a third party uses them:
#   1. a fresh venv (no system site-packages), acomp installed from the repository root (not editable);
#   2. this sample (the skeleton's output for bz2) installed from a copy with its `testing` extra,
#      found through its entry point, its tests run (the conformance kit, its levels, zswap),
#      and `mypy --strict` on it against the installed acomp;
#   3. `acomp new-plugin` writes a new plugin into the work dir; it is installed and its own
#      tests run, unchanged.
#
# usage: ci_check.sh [ACOMP_ROOT]    (default: the repository this file lives in)
# env:   PYTHON (default python3), KEEP_VENV=1 keeps the work directory for inspection.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${1:-$here/../../..}" && pwd)"
python="${PYTHON:-python3}"

work="$(mktemp -d "${TMPDIR:-/tmp}/acomp-plugin-ci.XXXXXX")"
if [[ "${KEEP_VENV:-0}" != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
fi
echo "plugin ci_check: acomp from $root, work dir $work"

"$python" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$py" -m pip install -q "$root"

# Run from the work dir: nothing on sys.path may shadow the installed packages.
cd "$work"

# -- the sample ---------------------------------------------------------------------------
mkdir "$work/src"
cp -r "$here" "$work/src/acomp-bz2"
rm -rf "$work/src/acomp-bz2/build" "$work/src/acomp-bz2"/*.egg-info
"$py" -m pip install -q "$work/src/acomp-bz2[testing]" mypy
"$py" - <<'PY'
import acomp
import acomp_bz2

assert "site-packages" in acomp.__file__, acomp.__file__
assert "site-packages" in acomp_bz2.__file__, acomp_bz2.__file__
rec = next(r for r in acomp.algorithms() if r.driver_name == "bz2-generic")
assert rec.plugin == "bz2", rec
print(f"discovered: {rec.driver_name} (plugin {rec.plugin!r}, module {rec.module})")
PY
(cd "$work/src/acomp-bz2" && "$py" -m pytest -q)
(cd "$work/src/acomp-bz2" && "$work/venv/bin/mypy" --strict --cache-dir "$work/mypy-cache" acomp_bz2 tests)

# -- a new skeleton -----------------------------------------------------------------------
"$work/venv/bin/acomp" new-plugin ciskel --alg ciskel --codec lzma -o "$work/ciskel"
"$py" -m pip install -q "$work/ciskel[testing]"
"$work/venv/bin/acomp" list --driver ciskel-generic
(cd "$work/ciskel" && "$py" -m pytest -q)
echo "plugin ci_check: OK"
