"""Print the README's set-up commands: `install-run` (first) or `test` (second).

The README opens with one fenced ``bash`` block holding exactly two commands.
CI runs the second one word for word; tests/test_readme.py checks the block.
Standard library only: CI calls this before anything is installed.
"""

import pathlib
import sys


def setup_commands(readme: pathlib.Path) -> list[str]:
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "```bash")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
    return [
        line.strip()
        for line in lines[start + 1 : end]
        if line.strip() and not line.strip().startswith("#")
    ]


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parent.parent
    commands = setup_commands(root / "README.md")
    which = sys.argv[1] if len(sys.argv) > 1 else "test"
    print(commands[{"install-run": 0, "test": 1}[which]])
