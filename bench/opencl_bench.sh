#!/usr/bin/env bash
# bench/opencl_bench.sh - the OpenCL backend against the CPU engine, and on a
# machine with an NVIDIA GPU against PyTorch CUDA.
#
# Usage:  bench/opencl_bench.sh [--quick]
#
# Builds bench/opencl_engine.c with the engine and src/opencl (no
# PostgreSQL), then on Fashion-MNIST (package dataset-fashion-mnist, raw
# 0..255 pixels, SGD lr 0.01 momentum 0.9, one epoch):
#   1. 784-128-10, batch 64     all 60,000 rows  (BENCHMARKS.md's reference)
#   2. 784-128-10, batch 256    all 60,000 rows
#   3. 784-1024-1024-10, batch 256: all rows with a GPU, else BIG_ROWS rows
#      (default 6,000: the CPU engine and PoCL need minutes for all of them)
# For each: the CPU engine with 1 thread and with all cores, and the OpenCL
# device (hanami.opencl_device's rules: the first GPU, else the first
# device; HANAMI_BENCH_DEVICE=SELECTOR to pick), with epoch time, us/sample,
# test accuracy, prediction time for the 10,000 test rows (batches of 1024)
# and the ratios to the 1-thread CPU engine.  When PyTorch sees a CUDA GPU,
# configuration 3 also runs in PyTorch on it (same net, optimizer, batch,
# data already on the GPU) and prints its time and the ratio.
#
# --quick: 10,000 rows for configurations 1 and 2, 2,000 for 3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FASHION=${FASHION_DIR:-/usr/share/datasets/fashion-mnist}
PYTHON=/usr/bin/python3
ROWS=60000
BIG_ROWS=${BIG_ROWS:-6000}
if [[ ${1:-} == --quick ]]; then
    ROWS=10000
    BIG_ROWS=2000
fi
THREADS=$(nproc)

WORK=$(mktemp -d /tmp/hanami-oclbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$WORK/pocl-cache}

# ----------------------------------------------------------------- build
make -s -C "$ROOT" bench/opencl_engine
cp "$ROOT/bench/opencl_engine" "$WORK/opencl_engine"

# ------------------------------------------------------------------ data
[[ -r $FASHION/train-images-idx3-ubyte.gz ]] \
    || { echo "Fashion-MNIST not found in $FASHION (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
mkdir -p "$WORK/fashion"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gunzip -c "$FASHION/$f.gz" >"$WORK/fashion/$f"
done

# -------------------------------------------------------------- machine
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $THREADS cores"
clinfo -l 2>/dev/null | sed 's/^/# /' || true
GPU=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi -L | sed 's/^/# /'
    GPU=1
    BIG_ROWS=60000
fi

run() {
    "$WORK/opencl_engine" --fashion "$WORK/fashion" --threads "$THREADS" \
        ${HANAMI_BENCH_DEVICE:+--device "$HANAMI_BENCH_DEVICE"} "$@"
    echo
}

run --layers 784,128,10 --batch 64 --limit "$ROWS"
run --layers 784,128,10 --batch 256 --limit "$ROWS"
run --layers 784,1024,1024,10 --batch 256 --limit "$BIG_ROWS"

# ------------------------------------------------- PyTorch CUDA (peer)
if "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    "$PYTHON" - "$FASHION" "$BIG_ROWS" <<'EOF'
import gzip, struct, sys, time
import numpy as np
import torch

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    _, _, ndim = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)

d, rows = sys.argv[1], int(sys.argv[2])
x = torch.tensor(idx(d + "/train-images-idx3-ubyte.gz").reshape(-1, 784)[:rows], dtype=torch.float32)
y = torch.tensor(idx(d + "/train-labels-idx1-ubyte.gz")[:rows], dtype=torch.int64)
xt = torch.tensor(idx(d + "/t10k-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32)
yt = torch.tensor(idx(d + "/t10k-labels-idx1-ubyte.gz"), dtype=torch.int64)
mean, sd = x.mean(0), x.std(0).clamp_min(1e-6)      # the scaling hanami learns
dev = torch.device("cuda")
x, y, xt, yt = ((x - mean) / sd).to(dev), y.to(dev), ((xt - mean) / sd).to(dev), yt.to(dev)
torch.manual_seed(1)
net = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                          torch.nn.ReLU(), torch.nn.Linear(1024, 10)).to(dev)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
def epoch():
    perm = torch.randperm(len(x), device=dev)
    for i in range(0, len(x), 256):
        b = perm[i:i + 256]
        opt.zero_grad()
        loss_fn(net(x[b]), y[b]).backward()
        opt.step()
    torch.cuda.synchronize()
epoch()                                                 # warm-up (cuBLAS, allocator)
t0 = time.time(); epoch(); t = time.time() - t0
with torch.no_grad():
    torch.cuda.synchronize(); t1 = time.time()
    acc = (net(xt).argmax(1) == yt).float().mean().item()
    torch.cuda.synchronize(); tp = time.time() - t1
print(f"pytorch {torch.__version__} cuda {torch.cuda.get_device_name(0)[:18]:18} {t:8.3f} s/epoch "
      f"{t / len(x) * 1e6:8.1f} us/sample {len(x) / t:9.0f} samples/s  acc {100 * acc:5.2f} %  "
      f"predict {1e3 * tp:7.1f} ms  (784-1024-1024-10, batch 256, second epoch)")
EOF
elif ((GPU)); then
    echo "# an NVIDIA GPU is here but PyTorch sees no CUDA: PyTorch CUDA peer skipped"
else
    echo "# no NVIDIA GPU on this machine: the PyTorch CUDA peer and the full 784-1024-1024-10 run are skipped"
fi
