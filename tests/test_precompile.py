"""The start-up precompiler: on a spare core it writes the bytecode Python itself would write,
so a freshly unpacked task finds it and uses it instead of compiling."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import cache_from_source
from pathlib import Path

MODULES = ["shop", "shop.cart", "shop.pay", "shop.pay.card", "loose"]


def make_sources(root: Path) -> dict[str, Path]:
    files = {
        "shop": root / "shop" / "__init__.py",
        "shop.cart": root / "shop" / "cart.py",
        "shop.pay": root / "shop" / "pay" / "__init__.py",
        "shop.pay.card": root / "shop" / "pay" / "card.py",
        "loose": root / "loose.py",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"NAME = {name!r}\n", encoding="utf-8")
    return files


def writing_bytecode() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def precompile(root: Path, stripe: int, stripes: int) -> None:
    listing = root / "startup-modules.txt"
    listing.write_text("\n".join([*MODULES, "not.there"]) + "\n", encoding="utf-8")
    repo = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-S", "-m", "runner.precompile", str(listing), str(stripe), str(stripes)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(root)])},
        check=True,
    )


def test_stripes_together_compile_every_listed_module(tmp_path: Path) -> None:
    files = make_sources(tmp_path)

    precompile(tmp_path, 0, 2)
    first = {name for name, path in files.items() if Path(cache_from_source(str(path))).exists()}
    precompile(tmp_path, 1, 2)

    # Each stripe walks the list from its end: stripe 0 of 2 takes every other module.
    assert first == {"shop.pay.card", "shop.cart"}
    assert all(Path(cache_from_source(str(path))).exists() for path in files.values())


def test_python_uses_the_bytecode_as_its_own(tmp_path: Path) -> None:
    files = make_sources(tmp_path)
    precompile(tmp_path, 0, 1)
    written = {path: os.stat(cache_from_source(str(path))).st_mtime_ns for path in files.values()}

    imported = subprocess.run(
        [sys.executable, "-S", "-c", "import shop.cart, shop.pay.card, loose; print(loose.NAME)"],
        env={**writing_bytecode(), "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert imported.stdout.strip() == "loose"
    # Python rewrites bytecode it does not accept; these were taken as they were.
    assert {path: os.stat(cache_from_source(str(path))).st_mtime_ns for path in files.values()} == (
        written
    )
