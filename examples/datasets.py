#!/usr/bin/python3
"""Write small benchmark data sets as CSV files PostgreSQL can COPY.

Usage:  /usr/bin/python3 examples/datasets.py OUTDIR

Uses the copies of the classic data sets bundled with scikit-learn (Debian
package python3-sklearn): nothing is downloaded. Values are written raw,
unscaled (hanami needs no input normalization). Output is deterministic.

Files (one row per sample, with a header line):
  digits.csv         1797 samples, 64 features (8x8 pixels, 0..16), 10 classes
  wine.csv            178 samples, 13 features, 3 classes
  breast_cancer.csv   569 samples, 30 features, 2 classes
  iris.csv            150 samples,  4 features, 3 classes
  diabetes.csv        442 samples, 10 features (raw, load_diabetes(scaled=False)),
                      real-valued target (disease progression, 25..346)

Columns:
  id       int      the sample's row number in scikit-learn's data set (from 0)
  x        real[]   the features as a PostgreSQL array literal: {0,0,5,13,...}
  label    int      class index (0..k-1)    -- classification files
  target   real     regression target       -- diabetes.csv only
  is_test  boolean  true for the 25 % held out for testing

The held-out 25 % is chosen by a permutation seeded with 42 (numpy's legacy
RandomState, whose stream never changes), per class for classification
(stratified: round(n_class / 4) test rows from every class).

Loading, e.g. in psql (\\copy reads the file on the client side; a
server-side COPY FROM '/path' needs a file the server's OS user can read):

  CREATE TABLE digits (id int, x real[], label int, is_test boolean);
  \\copy digits FROM 'OUTDIR/digits.csv' WITH (FORMAT csv, HEADER true)

  CREATE TABLE wine          (id int, x real[], label int, is_test boolean);
  CREATE TABLE breast_cancer (id int, x real[], label int, is_test boolean);
  CREATE TABLE iris          (id int, x real[], label int, is_test boolean);
  \\copy wine          FROM 'OUTDIR/wine.csv'          WITH (FORMAT csv, HEADER true)
  \\copy breast_cancer FROM 'OUTDIR/breast_cancer.csv' WITH (FORMAT csv, HEADER true)
  \\copy iris          FROM 'OUTDIR/iris.csv'          WITH (FORMAT csv, HEADER true)

  CREATE TABLE diabetes (id int, x real[], target real, is_test boolean);
  \\copy diabetes FROM 'OUTDIR/diabetes.csv' WITH (FORMAT csv, HEADER true)

Then e.g. train on  SELECT x, label FROM digits WHERE NOT is_test
and verify on       SELECT x, label FROM digits WHERE is_test.
"""

import csv
import os
import sys

import numpy as np
from sklearn import datasets

SEED = 42
TEST_FRACTION = 0.25


def fmt(v):
    """A number as PostgreSQL reads it back: shortest form, no trailing .0."""
    return format(float(v), ".10g")


def array_literal(row):
    return "{" + ",".join(fmt(v) for v in row) + "}"


def test_mask(y, stratified):
    """Boolean mask of the held-out rows: a seeded permutation, per class."""
    rng = np.random.RandomState(SEED)
    mask = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified \
        else [np.arange(len(y))]
    for idx in groups:
        n_test = int(round(len(idx) * TEST_FRACTION))
        mask[rng.permutation(idx)[:n_test]] = True
    return mask


def write(path, X, y, target_name, classification):
    mask = test_mask(y, stratified=classification)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "x", target_name, "is_test"])
        for i, (row, t, test) in enumerate(zip(X, y, mask)):
            w.writerow([i, array_literal(row),
                        int(t) if classification else fmt(t),
                        "true" if test else "false"])
    os.replace(tmp, path)  # never leave a half-written file behind
    return len(y), int(mask.sum())


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)

    classification = {
        "digits": datasets.load_digits,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
    }
    for name, loader in classification.items():
        X, y = loader(return_X_y=True)
        n, n_test = write(os.path.join(outdir, name + ".csv"), X, y,
                          "label", classification=True)
        print(f"{name}.csv: {n} rows ({n_test} test), {X.shape[1]} features")

    X, y = datasets.load_diabetes(return_X_y=True, scaled=False)
    n, n_test = write(os.path.join(outdir, "diabetes.csv"), X, y,
                      "target", classification=False)
    print(f"diabetes.csv: {n} rows ({n_test} test), {X.shape[1]} features")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
