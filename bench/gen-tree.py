#!/usr/bin/env python3
"""Generates deterministic project trees for the benchmarks.

    gen-tree.py small DIR N        N small source-like files (1-4 KiB) in nested dirs
    gen-tree.py mixed DIR MB       about MB megabytes: many small files + a few large ones
    gen-tree.py touch DIR          changes one file's content (for incremental runs)

The same arguments always give the same tree (fixed seed), so runs compare.
"""
import os
import random
import sys


def write(path, size, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        # Text-like content: compressible like real source, not all zeros.
        words = [b"import", b"def", b"return", b"self", b"data", b"model", b"\n", b"    "]
        out = bytearray()
        while len(out) < size:
            out += rng.choice(words) + b" "
        f.write(bytes(out[:size]))


def small(root, n):
    rng = random.Random(42)
    for i in range(n):
        d = os.path.join(root, "pkg%02d" % (i % 50), "mod%02d" % ((i // 50) % 20))
        write(os.path.join(d, "file%05d.py" % i), rng.randint(1024, 4096), rng)
    with open(os.path.join(root, "tccp.yaml"), "w") as f:
        f.write("script: main.py\n")


def mixed(root, megabytes):
    rng = random.Random(7)
    target = megabytes * 1024 * 1024
    total = 0
    # A few large files: 60% of the bytes, in 4 files of incompressible data.
    large = int(target * 0.6) // 4
    for i in range(4):
        path = os.path.join(root, "data", "blob%d.bin" % i)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(large))
        total += large
    i = 0
    while total < target:
        size = rng.randint(2048, 65536)
        write(os.path.join(root, "src", "d%03d" % (i % 100), "f%05d.py" % i), size, rng)
        total += size
        i += 1
    with open(os.path.join(root, "tccp.yaml"), "w") as f:
        f.write("script: main.py\n")


def touch(root):
    path = os.path.join(root, "pkg00", "mod00", "file00000.py")
    with open(path, "ab") as f:
        f.write(os.urandom(8).hex().encode() + b"\n")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mode, root = sys.argv[1], sys.argv[2]
    if mode == "small":
        small(root, int(sys.argv[3]))
    elif mode == "mixed":
        mixed(root, int(sys.argv[3]))
    elif mode == "touch":
        touch(root)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
