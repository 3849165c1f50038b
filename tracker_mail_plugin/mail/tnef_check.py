"""What a winmail.dat must not be handed to tnefparse for: it would never finish.

tnefparse reads each TNEF object from a copy of the rest of the file (``data[offset:]``), so
its cost is the number of objects times the size: a 1 MB file of empty objects copies 45 GB.
And it believes the property count at the head of a MAPI property list: a count of four
billion on an empty list loops four billion times, logging a warning each time. Both are
found here in one pass over the object headers (no copying), before tnefparse sees the file;
the caller then keeps winmail.dat as it is, and says why.
"""

from __future__ import annotations

import struct

# What tnefparse's own loop reads: the signature and key, then objects of a level byte, a
# name and a type (16 bits each), a length (32 bits), the data and a 16-bit checksum.
_FIRST_OBJECT = 6
_OBJECT_OVERHEAD = 11
_MIN_OBJECT = 12  # tnefparse.TNEF.MIN_OBJ_SIZE
_PROPERTY_LISTS = frozenset({0x9003, 0x9005})  # attMAPIProps, attAttachment
_SMALLEST_PROPERTY = 8  # a type, a name and at least four bytes of value

# About 0.2 ms per MB copied on this machine: 8 GiB is under two seconds, while a real file
# (a hundred attachments of 100 KB is about 800 objects over 10 MB: 4 GB) is read.
MAX_COPIED_BYTES = 8 * 1024**3
# And tnefparse's Python work per object: a real file has a few dozen per attachment.
MAX_OBJECTS = 10_000


def tnef_problem(data: bytes) -> str | None:
    """Why ``data`` must not be unpacked by tnefparse, or None when it may be."""
    size = len(data)
    offset = _FIRST_OBJECT
    copied = objects = 0
    while offset + _MIN_OBJECT < size:
        copied += size - offset
        objects += 1
        if copied > MAX_COPIED_BYTES or objects > MAX_OBJECTS:
            return (
                f"winmail.dat is made of too many small parts to unpack "
                f"({offset:,} of {size:,} bytes read)"
            )
        (name, declared) = struct.unpack_from("<xHxxI", data, offset)
        length = min(size - offset, declared + _OBJECT_OVERHEAD)
        if name in _PROPERTY_LISTS and length >= _OBJECT_OVERHEAD + 4:
            (count,) = struct.unpack_from("<I", data, offset + 9)
            if count * _SMALLEST_PROPERTY > length - _OBJECT_OVERHEAD - 4:
                return f"winmail.dat claims {count:,} properties in {length:,} bytes"
        offset += length
    return None
