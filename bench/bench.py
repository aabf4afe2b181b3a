#!/usr/bin/python3
"""hanami against its peers on Fashion-MNIST, in one run on one machine.

    bench/bench.py CONNINFO [--out FILE] [--quick]

CONNINFO names a database where the hanami extension can be created and
where bench/fmnist.py has loaded fmnist_train and fmnist_test. bench/run.sh
does all of that on a throwaway cluster; run this directly only against a
cluster of your own.

Every configuration is measured here, now, against its peer on the same data
with the same thread count, and printed as one line with the ratio; the
Markdown table for bench/README.md goes to --out. --quick trains fewer
epochs (a smoke test of the script, not figures to publish).
"""
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

# the peer gets its best: one thread, no busy-waiting OpenMP workers
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402

torch.set_num_threads(1)

SPEC = '{"layers": [784, 128, 10]}'
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

    def fit(self, name, options, threads=1, memory=None):
        """Train a fresh 784-128-10 network (seed 1); figures of the fit."""
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
            self.conn.execute(sql, (name, SPEC, SEED, TRAIN, psycopg.types.json.Jsonb(opts)))
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

    def best_of(self, sql, runs=3, params=None):
        """Best wall time of a query over a few runs (after one warm-up)."""
        self.conn.execute(sql, params).fetchall()
        best = float("inf")
        result = None
        for _ in range(runs):
            t = time.perf_counter()
            result = self.conn.execute(sql, params).fetchall()
            best = min(best, time.perf_counter() - t)
        return best, result


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
        print(f"{config:<44} {ours:<34} {peer:<34} {ratio:>8}  {target:<14} {status} {note}", flush=True)

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
    quick = "--quick" in argv
    e5 = 2 if quick else 5
    e10 = 2 if quick else 10

    db = Hanami(conninfo)
    pg = db.conn.execute("SELECT current_setting('server_version')").fetchone()[0]
    print(f"machine: {machine()}; PostgreSQL {pg}; load {os.getloadavg()[0]:.2f}", flush=True)

    x, y = fmnist.load_split("train")
    xt, yt = fmnist.load_split("test")
    X = torch.tensor(x / 255.0, dtype=torch.float32)  # the peer's usual scaling
    Y = torch.tensor(y)
    XT = torch.tensor(xt / 255.0, dtype=torch.float32)
    YT = torch.tensor(yt)
    rep = Report()
    print(f"{'configuration':<44} {'hanami':<34} {'peer':<34} {'ratio':>8}  target", flush=True)

    # -- training at batch 64, one thread --------------------------------
    sgd64 = {"optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "batch_size": 64}
    h1 = db.fit("b64_e1", dict(sgd64, epochs=1))
    h5 = db.fit("b64", dict(sgd64, epochs=e5))
    tnet, tsec, tacc = torch_fit(X, Y, XT, YT, 64, e5, "sgd", 0.01, evals=(1, e5))
    hs = float(np.mean(h5["epochs"]))
    ts = float(np.mean(tsec))
    rep.line("train, batch 64, SGD, 1 thread: samples/s",
             f"{rate(hs)} ({hs:.2f} s/epoch)", f"PyTorch {rate(ts)} ({ts:.2f} s/epoch)",
             f"{ts / hs:.2f}x", ">= 1.5x", ts / hs >= 1.5)
    rep.line(f"train, batch 64: test accuracy, epochs 1 / {e5}",
             f"{h1['acc']:.2%} / {h5['acc']:.2%}", f"PyTorch {tacc[1]:.2%} / {tacc[e5]:.2%}",
             f"{h5['acc'] - tacc[e5]:+.2%}", "", None)

    # -- end to end: table -> trained model ----------------------------------
    t = time.perf_counter()
    with psycopg.connect(conninfo) as c:
        rows = c.execute("SELECT x, label FROM fmnist_train").fetchall()
    ex = torch.tensor(np.array([r[0] for r in rows], dtype=np.float32) / 255.0)
    ey = torch.tensor(np.array([r[1] for r in rows], dtype=np.int64))
    fetch = time.perf_counter() - t
    _, esec, _ = torch_fit(ex, ey, XT, YT, 64, e5, "sgd", 0.01)
    e2e = fetch + sum(esec)
    rep.line(f"end to end: table to model, batch 64, {e5} epochs",
             f"{h5['wall']:.2f} s", f"psycopg + PyTorch {e2e:.2f} s (fetch {fetch:.2f} s)",
             f"{e2e / h5['wall']:.2f}x", "faster", e2e > h5["wall"])
    del rows, ex, ey

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
             f"{hs / s2:.2f}x", ">= 1.6x", hs / s2 >= 1.6,
             "same bytes" if same else "DIFFERENT bytes")

    # -- memory: in memory vs streamed ---------------------------------------
    budget = 64 * 2**20
    st = db.fit("b64_stream", dict(sgd64, epochs=e5), memory="64MB")
    ss = float(np.mean(st["epochs"]))
    rep.line("memory: peak backend growth, fit in memory",
             f"{mb(h5['peak'])}", "budget hanami.dataset_memory 1GB (rows: 188 MB)",
             "", "<= budget", h5["peak"] <= 2**30)
    rep.line("memory: streamed (dataset_memory 64MB)",
             f"{mb(st['peak'])}, {rate(ss)}", f"in memory {rate(hs)}",
             f"{hs / ss:.2f}x", "<= 64 MB", st["peak"] <= budget and st["streamed"],
             f"accuracy {st['acc']:.2%}")
    db.fit("noshuf_mem", dict(sgd64, epochs=1, shuffle=False))
    db.fit("noshuf_stream", dict(sgd64, epochs=1, shuffle=False), memory="64MB")
    rep.line("streamed vs in memory, shuffle off", "same bytes" if db.same_bytes("noshuf_mem", "noshuf_stream")
             else "DIFFERENT bytes", "", "", "identical", db.same_bytes("noshuf_mem", "noshuf_stream"))

    # -- inference over the 10k test rows -------------------------------------
    scan, _ = db.best_of("SELECT sum(array_length(x, 1)) FROM fmnist_test")
    inl, res = db.best_of("SELECT count(*) FILTER (WHERE hanami.classify(m.net, t.x) = t.label) "
                          "FROM fmnist_test t, bench_models m WHERE m.name = 'b64'")
    rep.line("inference: classify() over 10k rows vs plain scan",
             f"{inl * 1000:.0f} ms", f"scan {scan * 1000:.0f} ms", f"{inl / scan:.2f}x", "<= 2x",
             inl / scan <= 2.0, f"accuracy {res[0][0] / 10000:.2%}")
    model_dir = tempfile.mkdtemp(prefix="hanami-bench-")
    os.chmod(model_dir, 0o755)
    path = os.path.join(model_dir, "torch.pt")
    torch.save(tnet.state_dict(), path)
    os.chmod(path, 0o644)
    db.conn.execute("CREATE EXTENSION IF NOT EXISTS plpython3u")
    db.conn.execute(f"""
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
    plp, pres = db.best_of("SELECT count(*) FILTER (WHERE torch_classify(x) = label) FROM fmnist_test",
                           runs=1)
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

    print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)
    if out:
        with open(out, "w") as f:
            f.write(f"Machine: {machine()}; PostgreSQL {pg}.\n\n")
            f.write(rep.markdown() + "\n")
        print(f"table written to {out}")


if __name__ == "__main__":
    main(sys.argv)
