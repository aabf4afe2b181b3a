#!/usr/bin/python3
"""Fashion-MNIST for the benchmarks: read Debian's idx files, load tables.

    bench/fmnist.py load CONNINFO [DIR]

creates (or replaces) two tables in the database CONNINFO names:

    fmnist_train (id int, x real[], label int)   60,000 rows
    fmnist_test  (id int, x real[], label int)   10,000 rows

x holds the 784 raw pixel values 0..255 (no scaling: that is the model's
business), label the class 0..9. Rows go in with one binary COPY per table,
built with numpy, so loading takes a few seconds. DIR defaults to
/usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).
"""
import gzip
import os
import struct
import sys

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FLOAT4OID = 700


def read_idx(path):
    """An idx-ubyte file (optionally gzipped) as a numpy uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an idx-ubyte file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split, directory=DEFAULT_DIR):
    """(images as float32 n x 784 raw 0..255, labels as int64) of a split."""
    images, labels = FILES[split]
    x = read_idx(os.path.join(directory, images)).reshape(-1, 784).astype(np.float32)
    y = read_idx(os.path.join(directory, labels)).astype(np.int64)
    if len(x) != len(y):
        raise ValueError(f"{split}: {len(x)} images but {len(y)} labels")
    return x, y


def copy_binary(x, y):
    """COPY BINARY payload for rows (id int4, x float4[], label int4)."""
    n, d = x.shape
    row = np.dtype([
        ("nfields", ">i2"),
        ("id_len", ">i4"), ("id", ">i4"),
        ("x_len", ">i4"), ("ndim", ">i4"), ("hasnull", ">i4"), ("elemtype", ">i4"),
        ("dim", ">i4"), ("lbound", ">i4"), ("elems", [("len", ">i4"), ("v", ">f4")], (d,)),
        ("label_len", ">i4"), ("label", ">i4"),
    ])
    rows = np.zeros(n, dtype=row)
    rows["nfields"] = 3
    rows["id_len"] = 4
    rows["id"] = np.arange(1, n + 1)
    rows["x_len"] = 20 + 8 * d
    rows["ndim"] = 1
    rows["elemtype"] = FLOAT4OID
    rows["dim"] = d
    rows["lbound"] = 1
    rows["elems"]["len"] = 4
    rows["elems"]["v"] = x
    rows["label_len"] = 4
    rows["label"] = y
    header = b"PGCOPY\n\xff\r\n\0" + struct.pack(">ii", 0, 0)
    return header + rows.tobytes() + struct.pack(">h", -1)


def load_tables(conninfo, directory=DEFAULT_DIR):
    """Create and fill fmnist_train and fmnist_test; returns the row counts."""
    import psycopg

    counts = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for split in ("train", "test"):
            x, y = load_split(split, directory)
            table = f"fmnist_{split}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} (id int, x real[], label int)")
            with conn.cursor() as cur:
                payload = memoryview(copy_binary(x, y))
                with cur.copy(f"COPY {table} (id, x, label) FROM STDIN (FORMAT binary)") as cp:
                    for i in range(0, len(payload), 1 << 20):
                        cp.write(payload[i:i + (1 << 20)])
            conn.execute(f"ANALYZE {table}")
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return counts


def main(argv):
    if len(argv) < 3 or argv[1] != "load":
        sys.exit(__doc__)
    directory = argv[3] if len(argv) > 3 else DEFAULT_DIR
    for table, n in load_tables(argv[2], directory).items():
        print(f"{table}: {n} rows")


if __name__ == "__main__":
    main(sys.argv)
