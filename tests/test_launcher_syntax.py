"""The launcher is written for the oldest Node an agent may run it with: Node 10 (handler Node10).

Node 10 parses ECMAScript 2018: `?.`, `??`, `catch {}` without a binding and the like are syntax
errors there, and fail the step before the launcher can say anything. acorn (pinned in
package-lock.json) parses every launcher file as ES2018, so newer syntax fails CI here rather than
on an old agent; the scenarios in test_vsix.py and test_launcher.py run it under Node 10 itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests import vsix_harness as harness

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER_FILES = sorted((ROOT / "launcher").glob("*.js"))
NODE_10_MODULES = {"child_process", "fs", "os", "path"}  # what the launcher may need of them

pytestmark = pytest.mark.skipif(harness.missing_tools() is not None, reason="node or npm missing")

PARSE = """
const acorn = require(process.argv[1]);
const fs = require('fs');
for (const file of process.argv.slice(2)) {
  try {
    acorn.parse(fs.readFileSync(file, 'utf8'), { ecmaVersion: 2018, sourceType: 'script' });
  } catch (err) {
    console.log(`${file}: ${err.message}`);
    process.exitCode = 1;
  }
}
"""


def es2018_errors(files: list[Path]) -> list[str]:
    """acorn's complaint about each file that is not ECMAScript 2018, one line each."""
    node = harness.node()
    assert node
    acorn = harness.node_modules() / "acorn"
    run = subprocess.run(
        [node, "-e", PARSE, str(acorn), *(str(f) for f in files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode in (0, 1) and not run.stderr, run.stderr
    return run.stdout.splitlines()


def test_every_launcher_file_is_ecmascript_2018() -> None:
    assert LAUNCHER_FILES
    assert es2018_errors(LAUNCHER_FILES) == []


@pytest.mark.parametrize(
    "newer",
    [
        "const port = options?.port;",  # ES2020
        "const port = options.port ?? 443;",  # ES2020
        "try { run(); } catch { stop(); }",  # ES2019
        "const big = 10n;",  # ES2020
        "class Probe { #secret = 1; }",  # ES2022
    ],
)
def test_newer_syntax_fails_the_check(newer: str, tmp_path: Path) -> None:
    script = tmp_path / "newer.js"
    script.write_text(f"'use strict';\nconst options = {{}};\n{newer}\n", encoding="utf-8")
    (error,) = es2018_errors([script])
    assert error.startswith(str(script))


def test_the_launcher_requires_only_what_node_10_has() -> None:
    for path in LAUNCHER_FILES:
        source = path.read_text(encoding="utf-8")
        for module in re.findall(r"require\(\s*['\"]([^'\"]+)['\"]\s*\)", source):
            # `node:fs`, `fs/promises` and newer modules do not exist on Node 10.
            assert module in NODE_10_MODULES or module.startswith("./"), (path.name, module)
