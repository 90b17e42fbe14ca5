"""The README's example runs as written, and its two commands stay the first thing it shows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs() -> None:
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README has no python example"
    namespace: dict[str, object] = {}
    try:
        exec(compile(blocks[0], str(README), "exec"), namespace)
    finally:
        try:
            import acomp_iaa

            acomp_iaa.reset()
        except ImportError:
            pass


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S)
    assert first_block is not None
    commands = [line for line in first_block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "acomp seed" in commands[0] and "pip install" in commands[0]
    assert commands[1].endswith("python -m pytest -q") and ".[test" in commands[1]
