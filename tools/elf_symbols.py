"""Drops the static symbol table from a Linux extension module, as `strip` would, in Python.

cryptography's `_rust.abi3.so` carries its full static symbol table (`.symtab` and its strings:
2.9 MB of its 14.4 MB on x86_64), which only debuggers and backtraces read; the dynamic loader
reads `.dynsym`, which stays. Done here rather than with binutils or llvm-strip so that the build
needs nothing but Python, on any machine, and gives the same bytes everywhere.

Only what these modules need: 64-bit little-endian ELF (x86_64, aarch64), the dropped sections
after every section that is loaded (so no offset, address or symbol's section index moves).
Anything else is refused rather than guessed at.
"""

from __future__ import annotations

import struct

ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
SECTION = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
SEGMENT = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
# Elf64_Shdr fields, by position.
TYPE, FLAGS, OFFSET, SIZE, LINK, INFO, ALIGN = 1, 2, 4, 5, 6, 7, 8
SHT_NULL, SHT_SYMTAB, SHT_RELA, SHT_NOBITS, SHT_REL, SHT_SYMTAB_SHNDX = 0, 2, 4, 8, 9, 18
SHF_ALLOC, SHF_INFO_LINK = 0x2, 0x40


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def without_static_symbols(data: bytes) -> bytes:
    """The module without `.symtab` (and its string table); unchanged when it has none."""
    if data[4:6] != b"\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    header = list(ELF_HEADER.unpack_from(data))
    phoff, shoff, phnum, shentsize, shnum, shstrndx = (header[i] for i in (5, 6, 10, 11, 12, 13))
    if shentsize != SECTION.size:
        raise ValueError(f"unexpected section header size {shentsize}")
    sections = [list(SECTION.unpack_from(data, shoff + i * SECTION.size)) for i in range(shnum)]
    symtabs = [i for i, s in enumerate(sections) if s[TYPE] == SHT_SYMTAB]
    if not symtabs:
        return data
    dropped = {*symtabs, *(sections[i][LINK] for i in symtabs)}
    dropped |= {i for i, s in enumerate(sections) if s[TYPE] == SHT_SYMTAB_SHNDX}
    loaded = [i for i, s in enumerate(sections) if s[FLAGS] & SHF_ALLOC]
    if shstrndx in dropped or min(dropped) < max(loaded, default=0):
        raise ValueError("the symbol table is laid out in a way this build does not strip")
    kept = [i for i in range(shnum) if i not in dropped]
    new_index = {old: new for new, old in enumerate(kept)}

    # Everything the loader maps stays byte for byte where it is; what follows it is re-laid.
    segments = [SEGMENT.unpack_from(data, phoff + i * SEGMENT.size) for i in range(phnum)]
    end = max(
        [phoff + phnum * SEGMENT.size]
        + [offset + filesz for _, _, offset, _, _, filesz, _, _ in segments]
        + [s[OFFSET] + s[SIZE] for s in (sections[i] for i in loaded) if s[TYPE] != SHT_NOBITS]
    )
    out = bytearray(data[:end])
    table = bytearray()
    for i in kept:
        section = sections[i]
        moves = section[TYPE] not in (SHT_NULL, SHT_NOBITS) and section[OFFSET] >= end
        if moves:
            out += bytes(-len(out) % max(section[ALIGN], 1))
            start = section[OFFSET]
            section[OFFSET] = len(out)
            out += data[start : start + section[SIZE]]
        if section[LINK] in dropped:
            raise ValueError(f"section {i} refers to the symbol table")
        section[LINK] = new_index.get(section[LINK], section[LINK])
        if section[INFO] and (
            section[FLAGS] & SHF_INFO_LINK or section[TYPE] in (SHT_REL, SHT_RELA)
        ):
            section[INFO] = new_index[section[INFO]]
        table += SECTION.pack(*section)
    out += bytes(-len(out) % 8)
    header[6], header[12], header[13] = len(out), len(kept), new_index[shstrndx]
    ELF_HEADER.pack_into(out, 0, *header)
    return bytes(out + table)
