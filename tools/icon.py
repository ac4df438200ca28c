"""Draws the extension's icon, images/icon.png (128x128): two slots trading places.

    python tools/icon.py

Plain Python (zlib + struct), so it needs no imaging library; 4x4 supersampling smooths edges.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Callable

SIZE = 128
SAMPLES = 4
BACKGROUND = (0, 120, 212)  # Azure blue
SLOT = (255, 255, 255)
ARROW = (255, 185, 0)  # amber: readable on the blue and on the white slots

Shape = Callable[[float, float], bool]


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def arrow(y: float, x_from: float, x_to: float) -> Shape:
    """A horizontal arrow at height `y`, pointing from `x_from` to `x_to`."""
    direction = 1 if x_to > x_from else -1
    head = 12.0

    def inside(x: float, py: float) -> bool:
        along = (x - x_from) * direction
        length = abs(x_to - x_from)
        if 0 <= along <= length - head and abs(py - y) <= 3.5:
            return True
        into_head = along - (length - head)
        return 0 <= into_head <= head and abs(py - y) <= (head - into_head) * 0.9

    return inside


LAYERS: list[tuple[Shape, tuple[int, int, int]]] = [
    (rounded_rect(0, 0, SIZE, SIZE, 22), BACKGROUND),
    (rounded_rect(18, 30, 56, 98, 7), SLOT),
    (rounded_rect(72, 30, 110, 98, 7), SLOT),
    (arrow(50, 40, 90), ARROW),
    (arrow(78, 88, 38), ARROW),
]


def pixel(px: int, py: int) -> tuple[int, int, int, int]:
    """Averages SAMPLES^2 points of the pixel; transparent outside the rounded background."""
    total = [0.0, 0.0, 0.0, 0.0]
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x, y = px + (sx + 0.5) / SAMPLES, py + (sy + 0.5) / SAMPLES
            color = None
            for shape, fill in LAYERS:
                if shape(x, y):
                    color = fill
            if color is not None:
                for i in range(3):
                    total[i] += color[i]
                total[3] += 255
    n = SAMPLES * SAMPLES
    alpha = total[3] / n
    if alpha == 0:
        return (0, 0, 0, 0)
    covered = total[3] / 255
    return (
        round(total[0] / covered),
        round(total[1] / covered),
        round(total[2] / covered),
        round(alpha),
    )


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    rows = [b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)]
    target = Path(__file__).resolve().parent.parent / "images" / "icon.png"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(png(SIZE, SIZE, rows))


if __name__ == "__main__":
    main()
