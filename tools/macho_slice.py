"""One architecture's slice of a universal (fat) macOS binary, as `lipo -thin` takes it.

cryptography's last build for Intel Macs is universal2 only (x86_64 and arm64 in one file); the
x86_64 bundle needs only its x86_64 half. The slice is copied byte for byte, so its own code
signature, which covers just that slice, stays valid: nothing in a Mach-O file is ever edited.
"""

from __future__ import annotations

import struct

FAT_MAGIC = 0xCAFEBABE  # fat_header, then fat_arch entries; big-endian
FAT_MAGIC_64 = 0xCAFEBABF  # the same with 64-bit offsets and sizes
MAX_SLICES = 16  # 0xCAFEBABE is also Java's class-file magic: a real fat header has few slices
CPU_TYPES = {"x86_64": 0x01000007, "arm64": 0x0100000C}  # mach/machine.h CPU_TYPE_*


def is_fat(data: bytes) -> bool:
    if len(data) < 8:
        return False
    magic, count = struct.unpack_from(">II", data)
    return magic in (FAT_MAGIC, FAT_MAGIC_64) and 0 < count <= MAX_SLICES


def thin(data: bytes, machine: str) -> bytes:
    """The slice of `data` for `machine` (what platform.machine() says: x86_64, arm64)."""
    magic, count = struct.unpack_from(">II", data)
    entry = struct.Struct(">iiIII" if magic == FAT_MAGIC else ">iiQQII")
    for i in range(count):
        cpu_type, _subtype, offset, size, *_ = entry.unpack_from(data, 8 + i * entry.size)
        if cpu_type == CPU_TYPES[machine]:
            return data[offset : offset + size]
    raise ValueError(f"the universal binary has no {machine} slice")
