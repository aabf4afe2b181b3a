#!/usr/bin/python3
"""A small application on hanami, from Python: every step checks its result.

    /usr/bin/python3 examples/python/app.py [CONNINFO]

CONNINFO is a libpq connection string ("host=... dbname=..."); without it
the PG* environment variables apply. The database needs the extension
(CREATE EXTENSION hanami) and a role that may create tables. The app works in
a schema of its own, hanami_app, and a model named app_quadrants, both made
afresh on every run.

It prints one line per check ("ok - ..." or "not ok - ...: why") and exits
with status 1 when a check failed, 2 when a step raised an error.

Needs psycopg 3, numpy, SQLAlchemy 1.4 and psycopg2 (Debian 12:
python3-psycopg python3-numpy python3-sqlalchemy python3-psycopg2).
"""

import os
import sys
import tempfile
import traceback

import numpy
import psycopg

sys.dont_write_bytecode = True  # no __pycache__ beside the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hanami_client import Network, Real, register  # noqa: E402

MODEL = "app_quadrants"
FAILED = []


def check(ok, what, why=""):
    """One result line; a failure keeps the app going to report the rest."""
    if ok:
        print("ok - " + what)
    else:
        FAILED.append(what)
        print("not ok - %s%s" % (what, ": " + why if why else ""))
    sys.stdout.flush()
    return ok


def close(a, b, tol=1e-6):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def make_data(conn):
    """Points in the square [-1, 1]^2 and their quadrant class: 1 when x and
    y have the same sign (the XOR of their signs is 0), else 0."""
    conn.execute("DROP SCHEMA IF EXISTS hanami_app CASCADE")
    conn.execute("CREATE SCHEMA hanami_app")
    conn.execute("""
        CREATE TABLE hanami_app.points AS
        SELECT g AS id, x, y, CASE WHEN x * y > 0 THEN 1 ELSE 0 END AS label
        FROM (SELECT g, (((g * 7919) % 200) - 100) / 100.0::real AS x,
                        (((g * 104729) % 206) - 103) / 103.0::real AS y
              FROM generate_series(1, 800) g) s
        WHERE abs(x) > 0.1 AND abs(y) > 0.1""")
    n = conn.execute("SELECT count(*) FROM hanami_app.points").fetchone()[0]
    check(n > 400, "the training table has %d rows" % n)


def train(conn):
    conn.execute("SELECT hanami.drop_model(%s) FROM hanami.models WHERE name = %s",
                 [MODEL, MODEL])
    conn.execute("""SELECT hanami.create_model(%s, %s, seed => 7)""",
                 [MODEL, '{"layers": [2, 16, 2], "activation": "tanh"}'])
    commit = conn.execute(
        "SELECT hanami.train(%s, 'SELECT x, y, label FROM hanami_app.points', %s, %s)",
        [MODEL, '{"epochs": 60, "learning_rate": 0.02, "batch_size": 16}',
         "quadrants, 60 epochs"]).fetchone()[0]
    check(commit is not None, "hanami.train made commit %s" % commit)
    report = conn.execute(
        "SELECT hanami.evaluate(%s, 'SELECT x, y, label FROM hanami_app.points')",
        [MODEL]).fetchone()[0]
    check(report["accuracy"] >= 0.9, "the model learned the quadrants",
          "accuracy %s, want at least 0.9" % report["accuracy"])


def predict(conn, conn_lists):
    # The same four points as a numpy float32 batch, one row per point.
    points = numpy.array([[0.8, 0.7], [-0.6, 0.9], [-0.7, -0.8], [0.9, -0.5]],
                         dtype=numpy.float32)
    want = [1, 0, 1, 0]

    # numpy: each row binds as real[]
    got = [conn.execute("SELECT hanami.predict_class(%s, %s)", [MODEL, row]).fetchone()[0]
           for row in points]
    check(got == want, "predict_class with numpy rows", "got %s, want %s" % (got, want))

    # a whole batch in one statement: a 2-D array, one row per point
    got = conn.execute("""
        SELECT array_agg(hanami.predict_class(%s, ARRAY(SELECT unnest(p.x[i:i][:])))
                         ORDER BY i)
        FROM (SELECT %s AS x) p, generate_subscripts(p.x, 1) i""",
                       [MODEL, points]).fetchone()[0]
    got = [int(c) for c in got]
    check(got == want, "predict_class over a 2-D numpy batch", "got %s, want %s" % (got, want))

    # Real(list): a list that binds as real[]
    probs = conn.execute("SELECT hanami.predict(%s, %s)",
                         [MODEL, Real([0.8, 0.7])]).fetchone()[0]
    check(len(probs) == 2 and abs(sum(probs) - 1) < 1e-5 and probs[1] > 0.5,
          "predict with a Real list gives class probabilities", "got %s" % probs)

    # numpy and the list give the same outputs (both real[])
    from_numpy = conn.execute("SELECT hanami.predict(%s, %s)", [MODEL, points[0]]).fetchone()[0]
    check(close(from_numpy, probs, 0), "numpy and Real give the same outputs",
          "%s against %s" % (from_numpy, probs))

    # plain lists, on a connection registered with float_lists=True
    got = conn_lists.execute("SELECT hanami.predict(%s, %s)",
                             [MODEL, [0.8, 0.7]]).fetchone()[0]
    check(close(got, probs, 0), "a plain float list binds as real[] with float_lists=True",
          "got %s, want %s" % (got, probs))

    # without float_lists a plain float list is double precision[]: refused
    try:
        with conn.transaction():
            conn.execute("SELECT hanami.predict(%s, %s)", [MODEL, [0.8, 0.7]])
        check(False, "a plain float list without float_lists is refused", "it was accepted")
    except psycopg.errors.UndefinedFunction as exc:
        check("double precision[]" in str(exc),
              "a plain float list without float_lists is refused (double precision[])",
              str(exc))


def history(conn):
    rows = conn.execute("SELECT commit_id, message, metrics FROM hanami.log(%s)",
                        [MODEL]).fetchall()
    messages = [r[1] for r in rows]
    check(messages == ["quadrants, 60 epochs", "create"], "hanami.log lists both commits",
          "messages %s" % messages)
    metrics = rows[0][2]
    check(isinstance(metrics, dict) and metrics.get("epochs") == 60 and "loss" in metrics,
          "the training commit's metrics (epochs, loss) load as a dict", "got %r" % metrics)
    check(rows[1][2] == {"seed": 7}, "the first commit records the seed", "got %r" % rows[1][2])


def networks(conn):
    conn.execute("CREATE TABLE hanami_app.saved (name text PRIMARY KEY, net hanami.network)")
    image = conn.execute("SELECT hanami.load(%s)::bytea", [MODEL]).fetchone()[0]

    # text form: a default (text) query gives a Network holding the JSON
    as_text = conn.execute("SELECT hanami.load(%s)", [MODEL]).fetchone()[0]
    check(isinstance(as_text, Network) and as_text.format == "text",
          "a text result loads as a Network in text form", repr(as_text))
    # binary form: a binary query gives a Network holding the image
    as_image = conn.execute("SELECT hanami.load(%s)", [MODEL], binary=True).fetchone()[0]
    check(isinstance(as_image, Network) and as_image.image == image,
          "a binary result loads as a Network holding the binary image", repr(as_image))

    # both write back without a cast, as they are
    conn.execute("INSERT INTO hanami_app.saved VALUES ('text', %s), ('binary', %s)",
                 [as_text, as_image])
    # bytes from elsewhere (a file here): wrap them in Network
    with tempfile.TemporaryFile() as f:
        f.write(image)
        f.seek(0)
        from_file = Network(f.read())
    conn.execute("INSERT INTO hanami_app.saved VALUES ('file', %s)", [from_file])
    # a fresh network from a spec
    conn.execute("INSERT INTO hanami_app.saved VALUES ('fresh', %s)",
                 [Network.from_spec({"layers": [2, 16, 2], "activation": "tanh"}, seed=7)])
    same = conn.execute("""
        SELECT array_agg(name ORDER BY name) FROM hanami_app.saved
        WHERE net::bytea = hanami.load(%s)::bytea""", [MODEL]).fetchone()[0]
    check(same == ["binary", "file", "text"],
          "text, binary and file networks were stored byte for byte", "equal: %s" % same)
    first = conn.execute("""
        SELECT net::bytea = hanami.load(%s || '#' || (SELECT min(commit_id) FROM hanami.log(%s)))::bytea
        FROM hanami_app.saved WHERE name = 'fresh'""", [MODEL, MODEL]).fetchone()[0]
    check(first, "Network.from_spec with the model's seed gives its first commit")

    # a Network as a function argument, in either form
    x = numpy.array([0.8, 0.7], dtype=numpy.float32)
    outs = conn.execute("SELECT hanami.run(%s, %s), hanami.run(%s, %s), hanami.predict(%s, %s)",
                        [as_text, x, as_image, x, MODEL, x]).fetchone()
    check(close(outs[0], outs[2], 0) and close(outs[1], outs[2], 0),
          "hanami.run on a bound Network (text and binary) equals hanami.predict",
          "%s" % (outs,))

    # what the client reads from the value itself matches hanami.info()
    server = conn.execute("SELECT hanami.info(%s)", [as_image]).fetchone()[0]
    for net in (as_text, as_image):
        info = net.info()
        keys = ("kind", "inputs", "outputs", "seed", "trained")
        bad = [k for k in keys if info[k] != server[k]]
        check(not bad, "Network.info() from the %s form matches hanami.info()" % net.format,
              "differs in %s: %s against %s" % (bad, info, server))
    check(as_image.info()["bytes"] == len(image) and
          as_image.info()["parameters"] == server["parameters"],
          "Network.info() from the image gives its size and parameter count")

    # an array of networks loads as a list of Network
    nets = conn.execute("SELECT array_agg(net ORDER BY name) FROM hanami_app.saved",
                        binary=True).fetchone()[0]
    check(len(nets) == 4 and all(isinstance(n, Network) for n in nets),
          "hanami.network[] loads as a list of Network")
    return image


def sqlalchemy_part(conninfo, image):
    import psycopg2
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import JSONB
    from hanami_client import NetworkType, register_sqlalchemy

    # Debian's SQLAlchemy 1.4 has no psycopg 3 dialect: psycopg2 it is.
    engine = sa.create_engine("postgresql+psycopg2://", future=True,
                              creator=lambda: psycopg2.connect(conninfo))
    register_sqlalchemy(engine)

    # reflect the table written above
    meta = sa.MetaData(schema="hanami_app")
    saved = sa.Table("saved", meta, autoload_with=engine)
    check(isinstance(saved.c.net.type, NetworkType),
          "reflection gives the network column NetworkType", repr(saved.c.net.type))

    with engine.begin() as db:
        got = db.execute(sa.select(saved.c.net).where(saved.c.name == "binary")).scalar_one()
        check(got == image, "SQLAlchemy reads a network as the bytes of its image",
              "%d bytes, starting %r" % (len(got), got[:8]))
        db.execute(saved.insert().values(name="from sqlalchemy", net=got))
        info = sa.func.hanami.info(saved.c.net, type_=JSONB)
        inputs = db.execute(sa.select(info["inputs"].as_integer())
                            .where(saved.c.name == "from sqlalchemy")).scalar_one()
        check(inputs == 2, "a network written by SQLAlchemy is usable by hanami's functions",
              "info -> inputs is %r" % inputs)

    # a table declared with NetworkType
    meta2 = sa.MetaData(schema="hanami_app")
    archive = sa.Table("archive", meta2,
                       sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("net", NetworkType, nullable=False))
    meta2.create_all(engine)
    with engine.begin() as db:
        db.execute(archive.insert(), [{"id": 1, "net": image}, {"id": 2, "net": Network(image)}])
        rows = db.execute(sa.select(archive.c.id, archive.c.net).order_by(archive.c.id)).all()
        check([r.net for r in rows] == [image, image],
              "NetworkType writes and reads back bytes and Network values")
        coltype = db.execute(sa.text(
            "SELECT atttypid::regtype::text FROM pg_attribute "
            "WHERE attrelid = 'hanami_app.archive'::regclass AND attname = 'net'")).scalar_one()
        check(coltype == "hanami.network", "the declared column is of type hanami.network",
              coltype)
    engine.dispose()


def main():
    conninfo = sys.argv[1] if len(sys.argv) > 1 else ""
    with psycopg.connect(conninfo, autocommit=True) as conn, \
            psycopg.connect(conninfo, autocommit=True) as conn_lists:
        register(conn)
        register(conn_lists, float_lists=True)
        make_data(conn)
        train(conn)
        predict(conn, conn_lists)
        history(conn)
        image = networks(conn)
    sqlalchemy_part(conninfo, image)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        print("not ok - the app stopped with an error (above)")
        sys.exit(2)
    if FAILED:
        print("%d check(s) failed: %s" % (len(FAILED), "; ".join(FAILED)))
        sys.exit(1)
    print("all checks passed")
