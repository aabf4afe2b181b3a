#!/usr/bin/python3
"""hanami against its peers on Fashion-MNIST, in one run on one machine.

    bench/bench.py CONNINFO [--out FILE] [--quick] [--fma-peak PROGRAM] [--only grow_batch|stream|dtype|hebbian|sharded]

CONNINFO names a database where the hanami extension can be created and
where bench/fmnist.py has loaded fmnist_train and fmnist_test. bench/run.sh
does all of that on a throwaway cluster; run this directly only against a
cluster of your own.

Every configuration is measured here, now, against its peer on the same data
with the same thread count, and printed as one line with the ratio; the
Markdown table for bench/README.md goes to --out. --quick trains fewer
epochs and repeats the test rows 10 times instead of 100 for the parallel
inference lines (a smoke test of the script, not figures to publish).
--fma-peak names bench/fma_peak.c compiled with -O2 -march=native (run.sh
builds it); without it the script compiles it with cc if it can.
--only grow_batch runs only the growing kind's batched inference lines;
--only stream only the lines of learning from a stream (hanami.learn);
--only dtype only the compact weights lines (pow2, f16, u8 against float32).
--only hebbian only the line of Hebbian learning against backpropagation;
--only sharded only the line of training across shards (train_sharded).
"""
import ctypes
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# the peer gets its best: one thread, no busy-waiting OpenMP workers
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

torch.set_num_threads(1)

SPEC = '{"layers": [784, 128, 10]}'
# the growing kind on the same rows: raw pixels, online (batch 1)
GROW_SPEC = '{"kind": "hanami", "layers": [784, 256, 10]}'
SEED = 1
TRAIN = "SELECT x, label FROM fmnist_train"
TEST = "SELECT x, label FROM fmnist_test"


# --------------------------------------------------------------- helpers
class Peak:
    """Peak private memory (RssAnon) of a process while a block runs."""

    def __init__(self, pid):
        self.pid = pid
        self.base = self.read()
        self.peak = self.base
        self.stop = False

    def read(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.read())
            time.sleep(0.002)

    def __enter__(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        self.peak = max(self.peak, self.read())

    @property
    def grown(self):
        return max(0, self.peak - self.base)


class Hanami:
    """A connection to the benchmark database, and fits that report epochs."""

    def __init__(self, conninfo):
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS hanami")
        self.conn.execute("DROP TABLE IF EXISTS bench_models")
        self.conn.execute("CREATE TABLE bench_models (name text PRIMARY KEY, net hanami.network)")
        self.pid = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.epoch_seconds = []
        self.streamed = False
        self.conn.add_notice_handler(self.notice)

    def notice(self, diag):
        msg = diag.message_primary or ""
        m = re.match(r"epoch (\d+): loss", msg)
        if m:
            d = re.match(r"([0-9.]+) s since", diag.message_detail or "")
            self.epoch_seconds.append(float(d.group(1)))
        if msg.startswith("streaming the rows"):
            self.streamed = True

    def fit(self, name, options, threads=1, memory=None, spec=SPEC):
        """Train a fresh network of spec (784-128-10 by default, seed 1);
        figures of the fit."""
        opts = dict(options, verbose=True)
        self.epoch_seconds = []
        self.streamed = False
        self.conn.execute(f"SET hanami.threads = {int(threads)}")
        if memory:
            if not re.fullmatch(r"[0-9]+[kMG]B", memory):
                raise ValueError(f"bad memory setting {memory!r}")
            self.conn.execute(f"SET hanami.dataset_memory = '{memory}'")
        else:
            self.conn.execute("RESET hanami.dataset_memory")
        sql = ("INSERT INTO bench_models SELECT %s, hanami.fit(hanami.network(%s, %s), %s, %s::jsonb) "
               "ON CONFLICT (name) DO UPDATE SET net = excluded.net")
        with Peak(self.pid) as peak:
            t = time.perf_counter()
            self.conn.execute(sql, (name, spec, SEED, TRAIN, psycopg.types.json.Jsonb(opts)))
            wall = time.perf_counter() - t
        self.conn.execute("RESET hanami.threads")
        self.conn.execute("RESET hanami.dataset_memory")
        ends = self.epoch_seconds
        epochs = [b - a for a, b in zip([0.0] + ends[:-1], ends)]
        return {"wall": wall, "epochs": epochs, "peak": peak.grown, "streamed": self.streamed,
                "acc": self.accuracy(name)}

    def accuracy(self, name):
        return float(self.conn.execute(
            "SELECT (hanami.verify(net, %s) ->> 'accuracy')::float8 FROM bench_models WHERE name = %s",
            (TEST, name)).fetchone()[0])

    def same_bytes(self, a, b):
        return self.conn.execute(
            "SELECT (SELECT net::bytea FROM bench_models WHERE name = %s) = "
            "(SELECT net::bytea FROM bench_models WHERE name = %s)", (a, b)).fetchone()[0]

    def timed(self, sql, runs=3, params=None):
        """Best wall time of a query over a few runs, after one warm-up run
        under EXPLAIN ANALYZE that says how the query ran (plan_info)."""
        info = plan_info(self.conn, sql, params)
        best, result = self.fastest(sql, runs, params)
        return best, result, info

    def best_of(self, sql, runs=3, params=None):
        """Best wall time of a query over a few runs (after one warm-up)."""
        self.conn.execute(sql, params).fetchall()
        return self.fastest(sql, runs, params)

    def fastest(self, sql, runs, params):
        """Best wall time of runs runs of a query, and its last result."""
        best = float("inf")
        result = None
        for _ in range(runs):
            t = time.perf_counter()
            result = self.conn.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - t)
        return best, result


def plan_info(conn, sql, params=None, analyze=True):
    """How a query runs: its Gather workers (planned, launched) and whether
    the plan has a JIT section, with its total milliseconds (under ANALYZE)."""
    opts = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    if not isinstance(sql, str):
        sql = sql.as_string(conn)
    doc = conn.execute(f"EXPLAIN ({opts}) {sql}", params).fetchone()[0]
    top = (json.loads(doc) if isinstance(doc, str) else doc)[0]
    info = {"planned": 0, "launched": 0, "jit": "JIT" in top, "jit_ms": 0.0}

    def walk(node):
        info["planned"] += node.get("Workers Planned", 0)
        info["launched"] += node.get("Workers Launched", 0)
        for child in node.get("Plans", []):
            walk(child)
    walk(top["Plan"])
    if info["jit"]:
        total = top["JIT"].get("Timing", {}).get("Total", 0.0)
        info["jit_ms"] = float(total["Total"] if isinstance(total, dict) else total)
    return info


def plan_note(info):
    """Workers and JIT of a plan, for the note column."""
    workers = (f"{info['launched']} of {info['planned']} workers" if info["planned"]
               else "no workers")
    jit = f"JIT {info['jit_ms']:.0f} ms" if info["jit"] else "no JIT"
    return f"{workers}, {jit}"


# -------------------------------------------------------------- the peer
def copy_fetch(conninfo, query):
    """(x / 255 float32 tensor, labels int64 tensor, seconds): the rows of a
    query (x real[] of 784 values, label int) through psycopg's binary COPY,
    parsed straight into numpy, the fastest way a client gets them."""
    t = time.perf_counter()
    buf = bytearray()
    with psycopg.connect(conninfo) as c, c.cursor() as cur:
        with cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
            for data in copy:
                buf += data
    head = 11 + 8 + int.from_bytes(buf[15:19], "big")  # signature, flags, extension
    d = 784
    row = np.dtype([
        ("nfields", ">i2"),
        ("x_len", ">i4"), ("ndim", ">i4"), ("hasnull", ">i4"), ("elemtype", ">i4"),
        ("dim", ">i4"), ("lbound", ">i4"), ("elems", [("len", ">i4"), ("v", ">f4")], (d,)),
        ("label_len", ">i4"), ("label", ">i4"),
    ])
    body = len(buf) - head - 2
    if buf[:11] != b"PGCOPY\n\xff\r\n\0" or body % row.itemsize or buf[-2:] != b"\xff\xff":
        raise ValueError("COPY BINARY: not rows of 784 values and a label")
    rows = np.frombuffer(buf, dtype=row, count=body // row.itemsize, offset=head)
    if not ((rows["nfields"] == 2).all() and (rows["x_len"] == 20 + 8 * d).all()
            and (rows["ndim"] == 1).all() and (rows["hasnull"] == 0).all()
            and (rows["dim"] == d).all() and (rows["elems"]["len"] == 4).all()
            and (rows["label_len"] == 4).all()):
        raise ValueError("COPY BINARY: not rows of 784 values and a label")
    x = torch.from_numpy(rows["elems"]["v"].astype(np.float32) / np.float32(255.0))
    y = torch.from_numpy(rows["label"].astype(np.int64))
    return x, y, time.perf_counter() - t


def blas_info():
    """(description, ok): the BLAS PyTorch has loaded, and its threads."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # load the BLAS
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if re.search(r"/lib(open)?blas[^/]*\.so", path):
                libs.add(path)
    config = torch.__config__.show()
    m = re.search(r"BLAS_INFO=([^,\s]+)", config)
    desc = f"torch BLAS_INFO={m.group(1) if m else '?'}, {torch.get_num_threads()} torch thread(s)"
    openblas = sorted(p for p in libs if "openblas" in p)
    if not openblas:
        return f"{desc}; no OpenBLAS loaded ({', '.join(sorted(libs)) or 'no BLAS library'})", False
    lib = ctypes.CDLL(openblas[0])
    lib.openblas_get_config.restype = ctypes.c_char_p
    version = lib.openblas_get_config().decode().split(" DYNAMIC")[0]
    threads = lib.openblas_get_num_threads()
    desc += f"; {version} ({os.path.basename(openblas[0])}), {threads} thread(s)"
    return desc, threads == 1 and torch.get_num_threads() == 1


def fma_peak(program):
    """(G FMA/s, description) of bench/fma_peak.c on this machine, or
    (None, why not). Compiles it when no program is given."""
    tmp = None
    try:
        if not program:
            cc = shutil.which("cc") or shutil.which("gcc")
            if not cc:
                return None, "no C compiler to build bench/fma_peak.c"
            tmp = tempfile.mkdtemp(prefix="hanami-fma-")
            program = os.path.join(tmp, "fma_peak")
            src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fma_peak.c")
            r = subprocess.run([cc, "-O2", "-march=native", "-o", program, src, "-lm"],
                               capture_output=True, text=True)
            if r.returncode:
                return None, f"bench/fma_peak.c did not build: {r.stderr.strip()[:200]}"
        r = subprocess.run([program], capture_output=True, text=True, timeout=120)
        if r.returncode:
            return None, f"{program} failed: {r.stderr.strip()[:200]}"
        fields = r.stdout.split()
        rate, bits, lanes, chains, runs = float(fields[0]), *map(int, fields[2:6])
        return rate, f"{bits}-bit FMA, {lanes} float32 lanes, {chains} chains, best of {runs} runs"
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired) as e:
        return None, f"fma_peak: {e}"
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def gpu_name():
    """The NVIDIA GPU's name when nvidia-smi works, else None."""
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = r.stdout.strip().splitlines()
    return ", ".join(names) if r.returncode == 0 and names else None


# multiply-adds of one 784-128-10 training sample that any dense
# implementation must do: forward x*W1 and h*W2; backward the gradient of
# W2, the hidden layer's delta (W2^T * delta) and the gradient of W1 (no
# gradient of the input). The update of the weights is not counted.
USEFUL_FMAS = 784 * 128 + 128 * 10 + 128 * 10 + 10 * 128 + 784 * 128



def threads_beside_busy_loop(db, options, runs=3, spec=SPEC, name="busy"):
    """The same fit with hanami.threads = 1 and 2 while a CPU-bound busy loop
    runs pinned to the last CPU (the server runs on this machine): the mean
    epoch seconds of each run, the ratio of the medians (2 threads / 1
    thread) and whether the two networks are the same bytes.  Runs
    alternate 1, 2, 1, 2, ..."""
    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            os.sched_setaffinity(busy.pid, {cpus[-1]})
        secs = {1: [], 2: []}
        for _ in range(runs):
            for n in (1, 2):
                r = db.fit(f"{name}_t{n}", options, threads=n, spec=spec)
                secs[n].append(statistics.mean(r["epochs"]))
        same = db.same_bytes(f"{name}_t1", f"{name}_t2")
    finally:
        busy.kill()
        busy.wait()
    ratio = statistics.median(secs[2]) / statistics.median(secs[1])
    return {"t1": secs[1], "t2": secs[2], "ratio": ratio, "same_bytes": same}

GROW_SPEC = '{"kind": "hanami", "layers": [784, 256, 10]}'
GROW_BATCH = ("SELECT count(*) FILTER (WHERE c = label) FROM "
              "(SELECT hanami.classify_batch(g.net, t.x) OVER () AS c, t.label "
              "FROM fmnist_test t, bench_grow g) s")


def stream_lines(db, rep, quick):
    """Rows per second into a table, one row per transaction (autocommit),
    through an AFTER INSERT trigger that calls hanami.learn() (the sample
    queued for the background learner), against the same INSERTs into a
    table without the trigger; then how long the learner takes to commit
    every sample (flush_learning). The peer is the plain INSERT: the
    trigger's cost is what learning from a stream adds to the writer."""
    n = 500 if quick else 5000
    c = db.conn
    c.execute("DROP TABLE IF EXISTS bench_plain, bench_stream")
    c.execute("DROP FUNCTION IF EXISTS bench_stream_learn()")
    c.execute("CREATE TABLE bench_plain (x real[], label int)")
    c.execute("CREATE TABLE bench_stream (x real[], label int)")
    c.execute("SELECT hanami.create_model('bench_stream', %s, seed => %s) "
              "WHERE NOT EXISTS (SELECT FROM hanami.models WHERE name = 'bench_stream')", (GROW_SPEC, SEED))
    c.execute("SELECT hanami.enable_learning('bench_stream', "
              "'{\"learning_rate\": 0.05, \"learning_rate_end\": 0.05, \"commit_every\": 1000}')")
    c.execute("CREATE FUNCTION bench_stream_learn() RETURNS trigger LANGUAGE plpgsql AS $$ "
              "BEGIN PERFORM hanami.learn('bench_stream', NEW.x, NEW.label); RETURN NEW; END $$")
    c.execute("CREATE TRIGGER learn AFTER INSERT ON bench_stream FOR EACH ROW EXECUTE FUNCTION bench_stream_learn()")
    rows = c.execute(f"SELECT x, label FROM fmnist_train ORDER BY id LIMIT {n}").fetchall()

    def insert_all(table):
        t = time.perf_counter()
        for x, label in rows:
            c.execute(f"INSERT INTO {table} VALUES (%s, %s)", (x, label))  # autocommit: one transaction each
        return time.perf_counter() - t

    plain = insert_all("bench_plain")
    stream = insert_all("bench_stream")
    t = time.perf_counter()
    c.execute("SELECT hanami.flush_learning('bench_stream', '10 min')")
    flush = time.perf_counter() - t
    learned = c.execute("SELECT learned FROM hanami.learning l JOIN hanami.model_catalog m "
                        "ON m.id = l.model_id WHERE m.name = 'bench_stream'").fetchone()[0]
    rep.line(f"stream: {n} INSERTs through a trigger that calls learn: rows/s",
             f"{n / stream:,.0f} rows/s", f"plain INSERT {n / plain:,.0f} rows/s",
             f"{plain / stream:.2f}x", "", None,
             f"learner committed all {learned} samples {flush:.2f} s after the last INSERT")
    c.execute("SELECT hanami.disable_learning('bench_stream')")
    c.execute("DROP TABLE bench_plain, bench_stream")
    c.execute("DROP FUNCTION bench_stream_learn()")


def grow_batch_lines(db, rep, quick):
    """The growing kind's classify_batch over the 10,000 test rows with
    hanami.threads = 1 and 2: on an otherwise idle machine (best of a few
    runs each, alternating), then beside a busy loop pinned to the last CPU
    (medians of alternating runs). Target: a measured speed-up with free
    cores, and never more than 10 % slower under load. Both check that the
    classes are the same for 1 and 2 threads."""
    db.conn.execute("DROP TABLE IF EXISTS bench_grow")
    t = time.perf_counter()
    db.conn.execute("CREATE TABLE bench_grow AS SELECT hanami.fit(hanami.network(%s, %s), %s, "
                    "'{\"epochs\": 1}') AS net", (GROW_SPEC, SEED, TRAIN))
    fit_s = time.perf_counter() - t
    info = db.conn.execute("SELECT hanami.info(net) FROM bench_grow").fetchone()[0]
    classes_sql = ("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM "
                   "(SELECT t.id, hanami.classify_batch(g.net, t.x) OVER () AS c "
                   "FROM fmnist_test t, bench_grow g) s")

    def at(threads, sql, runs=1):
        db.conn.execute(f"SET hanami.threads = {int(threads)}")
        try:
            return db.fastest(sql, runs, None)
        finally:
            db.conn.execute("RESET hanami.threads")

    sums = {n: at(n, classes_sql)[1][0][0] for n in (1, 2)}
    same = sums[1] == sums[2]
    size = (f"784-256-10 grown to {info.get('synapses', '?')} synapses in one epoch "
            f"({fit_s:.1f} s with reading)")
    rounds = 2 if quick else 4
    best = {1: float("inf"), 2: float("inf")}
    result = None
    at(1, GROW_BATCH)  # warm-up: the table in the cache
    for _ in range(rounds):
        for n in (1, 2):
            sec, result = at(n, GROW_BATCH, 2)
            best[n] = min(best[n], sec)
    acc = result[0][0] / 10000
    speedup = best[1] / best[2]
    rep.line("grow kind: classify_batch 10k rows, 2 threads vs 1",
             f"{best[2] * 1000:.0f} ms", f"1 thread {best[1] * 1000:.0f} ms", f"{speedup:.2f}x",
             "> 1.0x (speed-up, free cores)", speedup > 1.0 and same,
             f"{'same classes' if same else 'DIFFERENT classes'}; accuracy {acc:.2%}; {size}")

    busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            os.sched_setaffinity(busy.pid, {cpus[-1]})
        secs = {1: [], 2: []}
        for _ in range(rounds + 1):
            for n in (1, 2):
                secs[n].append(at(n, GROW_BATCH)[0])
    finally:
        busy.kill()
        busy.wait()
    ratio = statistics.median(secs[2]) / statistics.median(secs[1])
    rep.line("grow kind: classify_batch, 2 vs 1 thread, busy loop",
             f"{statistics.median(secs[2]) * 1000:.0f} ms", f"1 thread {statistics.median(secs[1]) * 1000:.0f} ms",
             f"{ratio:.2f}x the time", "<= 1.10x", ratio <= 1.10 and same,
             "same classes" if same else "DIFFERENT classes")


def dtype_lines(db, rep, quick):
    """Compact weights: a float32 784-128-10 network trained on the training
    rows, quantized to pow2, f16 and u8; classify_batch over the 10,000 test
    rows (one thread, best of a few runs, alternating) for each dtype against
    float32, with the accuracy and the stored value's bytes. Target: the
    float32 path unchanged; pow2 and u8 at least 3.5x smaller, f16 about 2x,
    accuracy within 1.5 points. Then the same on the selected OpenCL device,
    which reads the compact weights as stored: its accuracy must be the
    CPU's."""
    db.conn.execute("DROP TABLE IF EXISTS bench_dtype")
    db.conn.execute("CREATE TABLE bench_dtype AS SELECT 'f32'::text AS dtype, hanami.fit(hanami.network(%s, %s), %s, "
                    "%s) AS net", (SPEC, SEED, TRAIN, json.dumps({"epochs": 2 if quick else 5})))
    db.conn.execute("INSERT INTO bench_dtype SELECT d, hanami.quantize(net, d) FROM bench_dtype, "
                    "unnest(ARRAY['pow2', 'f16', 'u8']) d")
    sql = ("SELECT count(*) FILTER (WHERE c = label) FROM "
           "(SELECT t.label, hanami.classify_batch(b.net, t.x) OVER () AS c "
           "FROM fmnist_test t, bench_dtype b WHERE b.dtype = %s) s")
    db.conn.execute("SET hanami.threads = 1")
    try:
        best = {}
        acc = {}
        for _ in range(2 if quick else 4):
            for d in ("f32", "pow2", "f16", "u8"):
                sec, result = db.fastest(sql, 1, (d,))
                best[d] = min(best.get(d, float("inf")), sec)
                acc[d] = result[0][0] / 10000
    finally:
        db.conn.execute("RESET hanami.threads")
    size = dict(db.conn.execute("SELECT dtype, (hanami.info(net) ->> 'bytes')::bigint FROM bench_dtype").fetchall())
    for d in ("pow2", "f16", "u8"):
        smaller = size["f32"] / size[d]
        want = 1.95 if d == "f16" else 3.5
        ok = smaller >= want and acc[d] >= acc["f32"] - 0.015
        rep.line(f"dtype {d}: classify_batch 10k rows, 1 thread",
                 f"{best[d] * 1000:.0f} ms", f"f32 {best['f32'] * 1000:.0f} ms",
                 f"{best[d] / best['f32']:.2f}x the time",
                 f">= {want}x smaller, within 1.5 points", ok,
                 f"{size[d]} bytes vs {size['f32']} ({smaller:.2f}x smaller); "
                 f"accuracy {acc[d]:.2%} vs {acc['f32']:.2%}")
    # the OpenCL device reads the compact weights as stored (kernels/compact.cl)
    devs = db.conn.execute("SELECT d ->> 'name' FROM jsonb_array_elements(hanami.capabilities() -> 'devices') d "
                           "WHERE d ->> 'type' = 'opencl' AND (d ->> 'selected')::bool").fetchall()
    if not devs:
        rep.line("dtype: classify_batch 10k rows, OpenCL", "not measured: no OpenCL device", "", "", "", None)
        return
    osql = sql.replace("hanami.classify_batch(b.net, t.x)",
                       "hanami.classify_batch(b.net, t.x, '{\"device\": \"opencl\"}')")
    obest = {}
    oacc = {}
    for d in ("f32", "pow2", "f16", "u8"):
        db.conn.execute(osql, (d,)).fetchall()  # builds or loads the program once
    for _ in range(2 if quick else 3):
        for d in ("f32", "pow2", "f16", "u8"):
            sec, result = db.fastest(osql, 1, (d,))
            obest[d] = min(obest.get(d, float("inf")), sec)
            oacc[d] = result[0][0] / 10000
    for d in ("f32", "pow2", "f16", "u8"):
        rep.line(f"dtype {d}: classify_batch 10k rows, OpenCL",
                 f"{obest[d] * 1000:.0f} ms", f"CPU {best[d] * 1000:.0f} ms",
                 f"{obest[d] / best[d]:.2f}x the time", "same accuracy", oacc[d] == acc[d],
                 f"{devs[0][0]}; accuracy {oacc[d]:.2%} (CPU {acc[d]:.2%})")


def sharded_lines(db, rep, quick):
    """Training across shards (hanami.train_sharded through dblink): two
    shards, each a connection back to this database that sees one half of
    the training rows (a setting in its connection string picks the half),
    rounds of one local epoch; the time per round and rows per second per
    shard, against hanami.train of the same model on one node with all rows
    for as many epochs. On one machine the shards share its cores, so this
    measures the overhead of the rounds (shipping the network, averaging),
    not the scaling."""
    rounds = 2 if quick else 5
    c = db.conn
    c.execute("CREATE EXTENSION IF NOT EXISTS dblink")
    info = c.info
    conn = " ".join(f"{k}={v}" for k, v in (("host", info.host), ("port", info.port), ("dbname", info.dbname),
                                             ("user", info.user)) if v)
    shards = [f"{conn} options='-c bench.shard={k}'" for k in (0, 1)]
    query = ("SELECT x, label FROM fmnist_train "
             "WHERE id % 2 = pg_catalog.current_setting('bench.shard')::int")
    for name in ("bench_sharded", "bench_single"):
        c.execute("SELECT hanami.drop_model(name) FROM hanami.models WHERE name = %s", (name,))
        c.execute("SELECT hanami.create_model(%s, %s, seed => %s)", (name, SPEC, SEED))
    t = time.perf_counter()
    c.execute("SELECT hanami.train_sharded('bench_sharded', %s, %s)",
              (query, json.dumps({"shards": shards, "rounds": rounds, "local_epochs": 1, "batch_size": 64})))
    sharded = time.perf_counter() - t
    t = time.perf_counter()
    c.execute("SELECT hanami.train('bench_single', %s, %s)", (TRAIN, json.dumps({"epochs": rounds, "batch_size": 64})))
    single = time.perf_counter() - t
    per_round, per_shard = c.execute(
        "SELECT avg(seconds), avg(rows_per_second) / 2 FROM hanami.training_log l "
        "JOIN hanami.model_catalog m ON m.id = l.model_id WHERE m.name = 'bench_sharded'").fetchone()
    acc = [float(c.execute("SELECT (hanami.evaluate(%s, %s) ->> 'accuracy')::float8", (n, TEST)).fetchone()[0])
           for n in ("bench_sharded", "bench_single")]
    rep.line(f"sharded: 2 shards x {rounds} rounds of 1 epoch, 784-128-10",
             f"{sharded:.1f} s, {per_round:.2f} s/round", f"one node {rounds} epochs {single:.1f} s",
             f"{sharded / single:.2f}x the time", "", None,
             f"{per_shard:,.0f} rows/s per shard; accuracy {acc[0]:.2%} vs {acc[1]:.2%}")


def hebbian_lines(db, rep, quick):
    """Hebbian learning ("rule": "hebbian") against backpropagation on the
    same 784-256-10 network, seed and epochs: held-out accuracy and the time
    of the whole fit statement (reading the rows included), one thread."""
    spec = '{"layers": [784, {"count": 256, "name": "hidden"}, 10]}'
    epochs = 2 if quick else 5
    hb = db.fit("hebbian", {"rule": "hebbian", "epochs": epochs, "batch_size": 64}, spec=spec)
    bp = db.fit("backprop256", {"epochs": epochs, "batch_size": 64}, spec=spec)
    rep.line(f"Hebbian vs backprop, 784-256-10, {epochs} epochs, batch 64",
             f"Hebbian {hb['acc']:.2%} in {hb['wall']:.1f} s", f"backprop {bp['acc']:.2%} in {bp['wall']:.1f} s",
             f"{hb['acc'] - bp['acc']:+.2%}", "", None,
             "test accuracy, fit statement time; adam read-out; 1 thread")


def torch_net():
    torch.manual_seed(SEED)
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def torch_accuracy(net, x, y):
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def torch_fit(x, y, xt, yt, batch, epochs, optimizer="sgd", lr=0.01, evals=()):
    """PyTorch on in-memory tensors: per-epoch seconds, accuracy at evals."""
    net = torch_net()
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    n = len(x)
    seconds, acc = [], {}
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(n, generator=gen)
        t = time.perf_counter()
        if batch == 1:
            xs, ys = x[perm], y[perm]
            for i in range(n):
                opt.zero_grad()
                loss_fn(net(xs[i:i + 1]), ys[i:i + 1]).backward()
                opt.step()
        else:
            for i in range(0, n, batch):
                b = perm[i:i + batch]
                opt.zero_grad()
                loss_fn(net(x[b]), y[b]).backward()
                opt.step()
        seconds.append(time.perf_counter() - t)
        if epoch in evals:
            acc[epoch] = torch_accuracy(net, xt, yt)
    return net, seconds, acc


# --------------------------------------------------------------- report
class Report:
    def __init__(self):
        self.rows = []

    def line(self, config, ours, peer, ratio, target, met, note=""):
        self.rows.append((config, ours, peer, ratio, target, met, note))
        status = "" if met is None else ("met" if met else "MISSED")
        print(f"{config:<52} {ours:<34} {peer:<34} {ratio:>8}  {target:<14} {status} {note}", flush=True)

    def markdown(self):
        out = ["| configuration | hanami | peer | ratio | target | |",
               "|---|---|---|---|---|---|"]
        for config, ours, peer, ratio, target, met, note in self.rows:
            status = "" if met is None else ("met" if met else "**missed**")
            out.append(f"| {config} | {ours} | {peer} | {ratio} | {target} | {status} {note} |".rstrip())
        return "\n".join(out)


def rate(seconds, n=60000):
    return f"{n / seconds:,.0f}/s"


def mb(nbytes):
    return f"{nbytes / 2**20:.0f} MB"


def machine():
    cpu = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} vCPUs, {mem:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, PyTorch {torch.__version__} ({torch.get_num_threads()} thread)")


# --------------------------------------------------------------- main
def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        sys.exit(__doc__)
    conninfo = argv[1]
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    fma_program = argv[argv.index("--fma-peak") + 1] if "--fma-peak" in argv else None
    quick = "--quick" in argv
    e5 = 2 if quick else 5
    e10 = 2 if quick else 10
    repeats = 10 if quick else 100  # the test rows, for the parallel inference lines

    started = time.perf_counter()
    db = Hanami(conninfo)
    pg = db.conn.execute("SELECT current_setting('server_version')").fetchone()[0]
    print(f"machine: {machine()}; PostgreSQL {pg}; load {os.getloadavg()[0]:.2f}", flush=True)

    only = argv[argv.index("--only") + 1] if "--only" in argv else None
    alone = {"grow_batch": grow_batch_lines, "stream": stream_lines, "dtype": dtype_lines, "hebbian": hebbian_lines,
             "sharded": sharded_lines}
    if only is not None and only not in alone:
        sys.exit(f"unknown --only {only!r}: the parts that run alone are grow_batch, stream, dtype, hebbian and sharded")
    if only:
        rep = Report()
        print(f"{'configuration':<52} {'hanami':<34} {'peer':<34} {'ratio':>8}  target", flush=True)
        alone[only](db, rep, quick)
        if out:
            with open(out, "w") as f:
                f.write(f"Machine: {machine()}; PostgreSQL {pg}.\n\n")
                f.write(rep.markdown() + "\n")
        return

    x, y = fmnist.load_split("train")
    xt, yt = fmnist.load_split("test")
    X = torch.tensor(x / 255.0, dtype=torch.float32)  # the peer's usual scaling
    Y = torch.tensor(y)
    XT = torch.tensor(xt / 255.0, dtype=torch.float32)
    YT = torch.tensor(yt)
    rep = Report()
    print(f"{'configuration':<52} {'hanami':<34} {'peer':<34} {'ratio':>8}  target", flush=True)

    # -- the peer's BLAS, and this machine's FMA peak -------------------------
    blas, blas_ok = blas_info()
    rep.line("PyTorch: BLAS and threads", "", blas, "", "OpenBLAS, 1 thread", blas_ok)
    peak, peak_desc = fma_peak(fma_program)
    rep.line("machine: single-thread float32 FMA peak", "",
             f"{peak:.1f} G FMA/s = {2 * peak:.0f} GFLOP/s" if peak else "not measured",
             "", "", None, peak_desc)

    # -- table to model: the whole fit statement, as the README writes it ------
    sgd64 = {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "batch_size": 64}
    ctas = psycopg.sql.SQL(
        "CREATE TABLE m AS SELECT hanami.fit(hanami.network({}, {}), {}, {}) AS net").format(
        psycopg.sql.Literal(SPEC), psycopg.sql.Literal(SEED), psycopg.sql.Literal(TRAIN),
        psycopg.sql.Literal(json.dumps(dict(sgd64, epochs=1))))

    def statement(threads):
        """Best of 2 of the CREATE TABLE ... fit statement; leaves m fresh."""
        best = float("inf")
        db.conn.execute(f"SET hanami.threads = {int(threads)}")
        for _ in range(2):  # the second leaves m fresh and never analyzed
            db.conn.execute("DROP TABLE IF EXISTS m")
            t = time.perf_counter()
            db.conn.execute(ctas)
            best = min(best, time.perf_counter() - t)
        db.conn.execute("RESET hanami.threads")
        return best

    stmt2 = statement(2)
    stmt = statement(1)
    acc1 = float(db.conn.execute("SELECT (hanami.verify(net, %s) ->> 'accuracy')::float8 FROM m",
                                 (TEST,)).fetchone()[0])

    # -- training at batch 64, one thread --------------------------------
    h5 = db.fit("b64", dict(sgd64, epochs=e5))
    tnet, tsec, tacc = torch_fit(X, Y, XT, YT, 64, e5, "sgd", 0.01, evals=(1, e5))
    hs = float(np.mean(h5["epochs"]))
    ts = float(np.mean(tsec))
    rep.line("train, batch 64, SGD, 1 thread: samples/s",
             f"{rate(hs)} ({hs:.2f} s/epoch)", f"PyTorch {rate(ts)} ({ts:.2f} s/epoch)",
             f"{ts / hs:.2f}x", ">= 2x", ts / hs >= 2.0)
    useful = 60000 * USEFUL_FMAS
    if peak:
        rep.line("train, batch 64: share of the FMA peak",
                 f"{useful / hs / 1e9:.1f} G FMA/s = {useful / hs / 1e9 / peak:.0%} of peak",
                 f"PyTorch {useful / ts / 1e9:.1f} G FMA/s = {useful / ts / 1e9 / peak:.0%}",
                 "", "", None, f"{USEFUL_FMAS:,} useful multiply-adds a sample")
    else:
        rep.line("train, batch 64: share of the FMA peak", "not measured", "", "", "", None, peak_desc)
    rep.line(f"train, batch 64: test accuracy, epochs 1 / {e5}",
             f"{acc1:.2%} / {h5['acc']:.2%}", f"PyTorch {tacc[1]:.2%} / {tacc[e5]:.2%}",
             f"{h5['acc'] - tacc[e5]:+.2%}", "", None)
    rep.line("table to model: fit statement, 1 epoch, batch 64",
             f"{stmt:.2f} s (CREATE TABLE m AS ... fit)", f"PyTorch epoch in memory {ts:.2f} s",
             f"{ts / stmt:.2f}x", ">= 1.0x", ts / stmt >= 1.0)
    rep.line("table to model, hanami.threads = 2",
             f"{stmt2:.2f} s", f"PyTorch epoch in memory {ts:.2f} s (1 thread)",
             f"{ts / stmt2:.2f}x", ">= 1.0x", ts / stmt2 >= 1.0,
             "rows inflated and batches split on 2 threads")

    # -- Hebbian learning against backpropagation, same network -------------
    hebbian_lines(db, rep, quick)

    # -- reading alone: a fit of zero epochs against a plain scan ------------
    db.conn.execute("SET max_parallel_workers_per_gather = 0")
    tscan, _, tinfo = db.timed("SELECT sum(array_length(x, 1)) FROM fmnist_train")
    fit0 = psycopg.sql.SQL(
        "SELECT hanami.fit(hanami.network({}, {}), {}, '{{\"epochs\": 0}}') IS NULL").format(
        psycopg.sql.Literal(SPEC), psycopg.sql.Literal(SEED), psycopg.sql.Literal(TRAIN))
    try:
        read, _, _ = db.timed(fit0)
        db.conn.execute("SET hanami.threads = 2")
        read2, _, _ = db.timed(fit0)
        db.conn.execute("RESET hanami.threads")
    except psycopg.Error as e:
        read = None
        why = (e.diag.message_primary or str(e)).strip()
    db.conn.execute("RESET max_parallel_workers_per_gather")
    if read is not None:
        rep.line("reading alone: fit of 0 epochs vs plain scan, 60k",
                 f"{read * 1000:.0f} ms", f"scan {tscan * 1000:.0f} ms", f"{read / tscan:.2f}x",
                 "<= 1.5x", read / tscan <= 1.5, f"scan: {plan_note(tinfo)}")
        rep.line("reading alone, hanami.threads = 2",
                 f"{read2 * 1000:.0f} ms", f"scan {tscan * 1000:.0f} ms (one process)",
                 f"{read2 / tscan:.2f}x", "<= 1.5x", read2 / tscan <= 1.5,
                 "compressed arrays inflated on 2 threads")
    else:
        rep.line("reading alone: fit of 0 epochs vs plain scan, 60k",
                 "not measured", f"scan {tscan * 1000:.0f} ms", "", "<= 1.5x", None,
                 f"epochs 0 refused: {why}")

    # -- end to end: table -> trained model ----------------------------------
    ex, ey, fetch = copy_fetch(conninfo, TRAIN)
    _, esec, _ = torch_fit(ex, ey, XT, YT, 64, e5, "sgd", 0.01)
    e2e = fetch + sum(esec)
    rep.line(f"end to end: table to model, batch 64, {e5} epochs",
             f"{h5['wall']:.2f} s", f"binary COPY + PyTorch {e2e:.2f} s (fetch {fetch:.2f} s)",
             f"{e2e / h5['wall']:.2f}x", "faster", e2e > h5["wall"],
             f"psycopg {psycopg.__version__}, libpq binding: {psycopg.pq.__impl__}")
    del ex, ey

    # -- batch 1 (online) ---------------------------------------------------
    sgd1 = {"optimizer": "sgd", "learning_rate": 0.001, "momentum": 0.9, "batch_size": 1, "epochs": 1}
    b1 = db.fit("b1", sgd1)
    _, t1sec, t1acc = torch_fit(X, Y, XT, YT, 1, 1, "sgd", 0.001, evals=(1,))
    rep.line("train, batch 1, SGD lr 0.001: samples/s",
             f"{rate(b1['epochs'][0])} ({b1['epochs'][0]:.2f} s/epoch)",
             f"PyTorch {rate(t1sec[0])} ({t1sec[0]:.2f} s/epoch)",
             f"{t1sec[0] / b1['epochs'][0]:.1f}x", ">= 10x", t1sec[0] / b1["epochs"][0] >= 10)
    rep.line("train, batch 1: test accuracy after epoch 1",
             f"{b1['acc']:.2%}", f"PyTorch {t1acc[1]:.2%}", f"{b1['acc'] - t1acc[1]:+.2%}",
             ">= 83.9 %", b1["acc"] >= 0.839)

    # -- default options on raw input ---------------------------------------
    d1 = db.fit("default_e1", {"epochs": 1})
    d10 = db.fit("default_e10", {"epochs": e10})
    _, asec, aacc = torch_fit(X, Y, XT, YT, 32, e10, "adam", 0.001, evals=(1, e10))
    rep.line("defaults (adam, batch 32), raw 0..255: epoch 1",
             f"{d1['acc']:.2%}", f"PyTorch on x/255 {aacc[1]:.2%}", f"{d1['acc'] - aacc[1]:+.2%}",
             ">= 85 %", d1["acc"] >= 0.85)
    rep.line(f"defaults, raw 0..255: epoch {e10}",
             f"{d10['acc']:.2%} ({rate(np.mean(d10['epochs']))})",
             f"PyTorch on x/255 {aacc[e10]:.2%} ({rate(np.mean(asec))})",
             f"{d10['acc'] - aacc[e10]:+.2%}",
             ">= 88 % after 10" if quick else ">= 88 %",
             None if quick else d10["acc"] >= 0.88)

    # -- two threads ----------------------------------------------------------
    h2 = db.fit("b64_t2", dict(sgd64, epochs=e5), threads=2)
    s2 = float(np.mean(h2["epochs"]))
    same = db.same_bytes("b64", "b64_t2")
    rep.line("train, batch 64: 2 threads vs 1 thread",
             f"{rate(s2)} ({s2:.2f} s/epoch)", f"hanami 1 thread {rate(hs)}",
             f"{hs / s2:.2f}x", ">= 1.4x (0.7 linear)", hs / s2 >= 1.4,
             "same bytes" if same else "DIFFERENT bytes")
    bt = threads_beside_busy_loop(db, dict(sgd64, epochs=2 if quick else 3))
    rep.line("train, batch 64: 2 threads vs 1 beside a busy loop",
             f"{statistics.median(bt['t2']):.2f} s/epoch",
             f"1 thread {statistics.median(bt['t1']):.2f} s/epoch",
             f"{bt['ratio']:.2f}x the time", "<= 1.10x", bt["ratio"] <= 1.10,
             "same bytes" if bt["same_bytes"] else "DIFFERENT bytes")

    # -- the growing kind: two threads within each row -----------------------
    # One epoch online (batch 1) of 784-256-10 on the raw pixels.  A row's
    # work is split into fixed parts of each cell's neurons; the adaptive
    # pool runs a row's pieces on the caller alone when the team is slower
    # (the per-row work is a few tens of microseconds).
    g1 = db.fit("grow_t1", {"epochs": 1}, threads=1, spec=GROW_SPEC)
    g2 = db.fit("grow_t2", {"epochs": 1}, threads=2, spec=GROW_SPEC)
    gs1 = float(np.mean(g1["epochs"]))
    gs2 = float(np.mean(g2["epochs"]))
    rep.line("growing kind, 1 epoch online: 2 threads vs 1 thread",
             f"{rate(gs2)} ({gs2:.2f} s/epoch)", f"1 thread {rate(gs1)} ({gs1:.2f} s), {g1['acc']:.2%}",
             f"{gs1 / gs2:.2f}x", "> 1.0x on free cores, >= 0.91x", gs1 / gs2 >= 1 / 1.10,
             "same bytes" if db.same_bytes("grow_t1", "grow_t2") else "DIFFERENT bytes")
    gb = threads_beside_busy_loop(db, {"epochs": 1}, runs=2 if quick else 3, spec=GROW_SPEC,
                                  name="grow_busy")
    rep.line("growing kind, 1 epoch online: 2 threads vs 1 beside a busy loop",
             f"{statistics.median(gb['t2']):.2f} s/epoch",
             f"1 thread {statistics.median(gb['t1']):.2f} s/epoch",
             f"{gb['ratio']:.2f}x the time", "<= 1.10x", gb["ratio"] <= 1.10,
             "same bytes" if gb["same_bytes"] else "DIFFERENT bytes")

    # -- memory: in memory vs streamed ---------------------------------------
    budget = 64 * 2**20
    st = db.fit("b64_stream", dict(sgd64, epochs=e5), memory="64MB")
    ss = float(np.mean(st["epochs"]))
    rep.line("memory: peak backend growth, fit in memory",
             f"{mb(h5['peak'])}", "budget hanami.dataset_memory 1GB (rows: 188 MB)",
             "", "<= budget", h5["peak"] <= 2**30)
    # the scaling's sample of rows comes on top of the budget (docs/training.md)
    sample = 4096 * 784 * 4
    rep.line("memory: streamed (dataset_memory 64MB)",
             f"{mb(st['peak'])}, {rate(ss)}", f"in memory {rate(hs)}",
             f"{hs / ss:.2f}x", f"<= 64 MB + sample {mb(sample)}",
             st["peak"] <= budget + sample and st["streamed"],
             f"accuracy {st['acc']:.2%}")
    db.fit("noshuf_mem", dict(sgd64, epochs=1, shuffle=False))
    db.fit("noshuf_stream", dict(sgd64, epochs=1, shuffle=False), memory="64MB")
    rep.line("streamed vs in memory, shuffle off", "same bytes" if db.same_bytes("noshuf_mem", "noshuf_stream")
             else "DIFFERENT bytes", "", "", "identical", db.same_bytes("noshuf_mem", "noshuf_stream"))

    # -- inference over the 10k test rows, one process ---------------------------
    db.conn.execute("DROP TABLE IF EXISTS bench_net")
    db.conn.execute("CREATE TABLE bench_net AS SELECT net FROM bench_models WHERE name = 'b64'")
    db.conn.execute("ANALYZE bench_net")
    if db.conn.execute("SELECT 1 FROM hanami.models WHERE name = 'bench_b64'").fetchone():
        db.conn.execute("SELECT hanami.drop_model('bench_b64')")
    db.conn.execute("SELECT hanami.create_model('bench_b64', %s::jsonb, seed => %s)", (SPEC, SEED))
    db.conn.execute("SELECT hanami.save('bench_b64', net, 'bench') FROM bench_net")
    inference = {
        "scan": "SELECT sum(array_length(x, 1)) FROM {t}",
        "classify": "SELECT count(*) FILTER (WHERE hanami.classify({net}, t.x) = t.label) FROM {t} t{join}",
        "classify_batch": "SELECT count(*) FILTER (WHERE c = label) FROM "
                          "(SELECT hanami.classify_batch({net}, t.x) OVER () AS c, t.label FROM {t} t{join}) s",
        "predict_class": "SELECT count(*) FILTER (WHERE hanami.predict_class('bench_b64', t.x) = t.label) "
                         "FROM {t} t",
    }

    def inference_lines(label, table, rows, net, join, runs):
        runs = {k: db.timed(q.format(t=table, net=net, join=join), runs) for k, q in inference.items()}
        scan, _, sinfo = runs["scan"]
        cl, cres, cinfo = runs["classify"]
        cb, bres, binfo = runs["classify_batch"]
        pc, pres, pinfo = runs["predict_class"]
        rep.line(f"inference{label}: plain scan, {rows // 1000:,}k rows", "", f"scan {scan * 1000:.0f} ms",
                 "", "", None, plan_note(sinfo))
        rep.line(f"inference{label}: classify() row by row vs scan",
                 f"{cl * 1000:.0f} ms", f"scan {scan * 1000:.0f} ms", f"{cl / scan:.2f}x", "<= 1.5x",
                 cl / scan <= 1.5, f"accuracy {cres[0][0] / rows:.2%}; {plan_note(cinfo)}")
        rep.line(f"inference{label}: classify_batch() OVER () vs scan",
                 f"{cb * 1000:.0f} ms", f"scan {scan * 1000:.0f} ms", f"{cb / scan:.2f}x", "<= 1.2x",
                 cb / scan <= 1.2, f"accuracy {bres[0][0] / rows:.2%}; {plan_note(binfo)}")
        rep.line(f"inference{label}: predict_class() by name vs classify()",
                 f"{pc * 1000:.0f} ms", f"classify() {cl * 1000:.0f} ms", f"{pc / cl:.2f}x", "<= 1.1x",
                 pc / cl <= 1.1, f"accuracy {pres[0][0] / rows:.2%}; {plan_note(pinfo)}")
        return cl

    db.conn.execute("SET max_parallel_workers_per_gather = 0")
    inl = inference_lines("", "fmnist_test", 10000, "m.net", ", bench_net m", 5)
    db.conn.execute("RESET max_parallel_workers_per_gather")
    model_dir = tempfile.mkdtemp(prefix="hanami-bench-")
    os.chmod(model_dir, 0o755)
    path = os.path.join(model_dir, "torch.pt")
    torch.save(tnet.state_dict(), path)
    os.chmod(path, 0o644)
    # PL/Python in a session of its own: torch's threads, once loaded into a
    # backend, stay there (and take signals the backend's parallel queries
    # wait for), so the sessions measured below never load it
    plc = psycopg.connect(conninfo, autocommit=True)
    plc.execute("CREATE EXTENSION IF NOT EXISTS plpython3u")
    plc.execute(f"""
        CREATE OR REPLACE FUNCTION torch_classify(x real[]) RETURNS int AS $$
        import torch
        if "net" not in GD:
            torch.set_num_threads(1)
            net = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
            net.load_state_dict(torch.load({path!r}))
            net.eval()
            GD["net"] = net
        with torch.no_grad():
            return int(GD["net"](torch.tensor(x, dtype=torch.float32) / 255.0).argmax())
        $$ LANGUAGE plpython3u IMMUTABLE STRICT PARALLEL SAFE""")
    plc.execute("SET max_parallel_workers_per_gather = 0")  # one process, like classify()
    plsql = "SELECT count(*) FILTER (WHERE torch_classify(x) = label) FROM fmnist_test"
    plc.execute(plsql).fetchall()  # warm-up: loads torch and the network
    t = time.perf_counter()
    pres = plc.execute(plsql).fetchall()
    plp = time.perf_counter() - t
    plc.close()
    shutil.rmtree(model_dir, ignore_errors=True)
    rep.line("inference: classify() vs PL/Python + torch per row",
             f"{inl * 1000:.0f} ms", f"PL/Python {plp * 1000:.0f} ms", f"{plp / inl:.1f}x faster",
             ">= 10x", plp / inl >= 10, f"torch accuracy {pres[0][0] / 10000:.2%}")
    t = time.perf_counter()
    for _ in range(5):
        torch_accuracy(tnet, XT, YT)
    one = (time.perf_counter() - t) / 5
    rep.line("inference: classify() vs torch on one batch (in memory)",
             f"{inl * 1000:.0f} ms", f"torch one batch {one * 1000:.0f} ms", f"{one / inl:.2f}x", "", None)

    # -- inference over the test rows repeated, parallel query ---------------
    big = repeats * 10000
    have = db.conn.execute("SELECT obj_description(oid, 'pg_class') FROM pg_class "
                           "WHERE oid = to_regclass('fmnist_big')").fetchone()
    if not have or have[0] != str(big):
        db.conn.execute("DROP TABLE IF EXISTS fmnist_big")
        db.conn.execute(f"CREATE UNLOGGED TABLE fmnist_big AS SELECT t.x, t.label "
                        f"FROM generate_series(1, {repeats}) g, fmnist_test t")
        db.conn.execute(f"COMMENT ON TABLE fmnist_big IS '{big}'")
        db.conn.execute("VACUUM ANALYZE fmnist_big")
    db.conn.execute("SET max_parallel_workers_per_gather = 2")
    # PostgreSQL 15 does not run the join form (FROM t, m) in parallel: its
    # partial nested loop would rescan m for every row. The network as a
    # scalar subquery is computed once and handed to the workers.
    join_form = plan_info(db.conn, inference["classify"].format(
        t="fmnist_big", net="m.net", join=", bench_net m"), analyze=False)
    if quick:
        # at 100,000 rows a Gather costs about what it saves in the planner's
        # eyes; make it free, so that the quick run takes the parallel paths
        db.conn.execute("SET parallel_setup_cost = 0")
        db.conn.execute("SET parallel_tuple_cost = 0")
    inference_lines(" parallel", "fmnist_big", big, "(SELECT net FROM bench_net)", "", 3)
    rep.line("inference parallel: join form FROM t, m (EXPLAIN)",
             f"{join_form['planned']} workers planned", "", "", "", None,
             "classify(m.net, t.x) FROM fmnist_big t, bench_net m")
    for setting in ("max_parallel_workers_per_gather", "parallel_setup_cost", "parallel_tuple_cost"):
        db.conn.execute(f"RESET {setting}")

    # -- the README's query forms on a fresh model table, default settings ----
    with psycopg.connect(conninfo, autocommit=True) as fresh:
        jit_on = fresh.execute("SELECT pg_jit_available() AND current_setting('jit')::bool").fetchone()[0]
        analyzed = fresh.execute("SELECT coalesce(bool_or(last_analyze IS NOT NULL "
                                 "OR last_autoanalyze IS NOT NULL), false) "
                                 "FROM pg_stat_user_tables WHERE relname = 'm'").fetchone()[0]
        forms = [
            ("classify(m.net, t.x) FROM t, m", "SELECT hanami.classify(m.net, t.x) FROM fmnist_test t, m"),
            ("classify_batch(m.net, t.x) OVER ()",
             "SELECT hanami.classify_batch(m.net, t.x) OVER () FROM fmnist_test t, m"),
            ("predict_class('name', x)", "SELECT hanami.predict_class('bench_b64', x) FROM fmnist_test"),
        ]
        for label, q in forms:
            info = plan_info(fresh, q)
            note = ("fresh m, " + ("ANALYZED (not fresh)" if analyzed else "never analyzed")
                    + ("" if jit_on else "; JIT is not available or off on this server"))
            rep.line(f"no JIT: {label}", f"JIT {info['jit_ms']:.0f} ms" if info["jit"] else "no JIT",
                     "", "", "no JIT", (not info["jit"]) if jit_on else None, note)

    # -- the growing kind: batched inference on threads -------------------------
    grow_batch_lines(db, rep, quick)

    # -- learning from a stream: INSERTs through a trigger that calls learn -----
    stream_lines(db, rep, quick)
    dtype_lines(db, rep, quick)

    # -- GPU --------------------------------------------------------------------
    gpu = gpu_name()
    rep.line("GPU (bench/opencl_bench.sh)",
             f"GPU present: {gpu}" if gpu else "not measured: no GPU on this machine",
             "", "", "", None, "figures: bench/opencl_bench.sh" if gpu else "")

    print(f"load average at the end: {os.getloadavg()[0]:.2f}; "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    if out:
        with open(out, "w") as f:
            f.write(f"Machine: {machine()}; PostgreSQL {pg}.\n\n")
            f.write(rep.markdown() + "\n")
        print(f"table written to {out}")


if __name__ == "__main__":
    main(sys.argv)
