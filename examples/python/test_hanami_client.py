#!/usr/bin/python3
"""Edge cases of hanami_client.py (app.py shows the ordinary use).

    /usr/bin/python3 examples/python/test_hanami_client.py CONNINFO BARE_CONNINFO

CONNINFO names a database with the extension, where the test may create
the schema hanami_client_test (dropped first); BARE_CONNINFO a database
without it. Prints "ok - ..." / "not ok - ...: why" per check; exits 1 when
a check failed, 2 when the test itself broke.
"""

import os
import sys
import traceback

import numpy
import psycopg
from psycopg.types.numeric import Float8

sys.dont_write_bytecode = True  # no __pycache__ beside the examples
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hanami_client  # noqa: E402
from hanami_client import Network, Real, register  # noqa: E402

FAILED = []


def check(ok, what, why=""):
    if ok:
        print("ok - " + what)
    else:
        FAILED.append(what)
        print("not ok - %s%s" % (what, ": " + why if why else ""))
    sys.stdout.flush()


def raises(what, exc_type, words, fn, *args):
    """Check that fn(*args) raises exc_type with every one of words in its message."""
    try:
        fn(*args)
    except exc_type as exc:
        missing = [w for w in words if w not in str(exc)]
        check(not missing, what, "message %r lacks %s" % (str(exc), missing))
        return
    except Exception as exc:  # noqa: BLE001 - reported as a failure
        check(False, what, "raised %s: %s" % (type(exc).__name__, exc))
        return
    check(False, what, "no error")


def one(conn, sql, params=(), **kw):
    return conn.execute(sql, params, **kw).fetchone()[0]


def failing_statement(conn, sql, params, **kw):
    """Run a statement that must fail, leaving the connection usable."""
    with conn.transaction():
        conn.execute(sql, params, **kw)


def test_register(conninfo, bare):
    with psycopg.connect(bare) as conn:
        raises("register() on a database without the extension says what to do",
               LookupError, ["hanami.network", "CREATE EXTENSION hanami"], register, conn)
    with psycopg.connect(conninfo) as conn:
        register(conn)
        check(conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE,
              "register() leaves an idle connection idle")
        conn.execute("CREATE TEMP TABLE kept (x int)")
        register(conn)
        check(conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS,
              "register() inside a transaction leaves it open")
        conn.execute("INSERT INTO kept VALUES (1)")
        check(one(conn, "SELECT count(*) FROM kept") == 1,
              "the caller's transaction goes on after register()")
    with psycopg.connect(conninfo) as conn:
        cur = conn.cursor()
        register(cur)
        net = one(cur, "SELECT hanami.network('{\"layers\": [2, 2]}', 1)")
        other = one(conn.cursor(), "SELECT hanami.network('{\"layers\": [2, 2]}', 1)")
        check(isinstance(net, Network) and isinstance(other, str),
              "register(cursor) teaches that cursor only", "%r, %r" % (net, other))


def test_numpy(conn):
    a = numpy.array([0.1, 2.5, -3.0], dtype=numpy.float32)
    for fmt in ("%s", "%t", "%b"):
        got = conn.execute("SELECT pg_typeof(" + fmt + ")::text, " + fmt + "::text",
                           [a, a]).fetchone()
        want = one(conn, "SELECT ARRAY[0.1, 2.5, -3.0]::real[]::text")
        check(got == ("real[]", want), "numpy float32 as %s binds as real[] exactly" % fmt,
              "got %s, want %s" % (got, want))
    m = numpy.arange(6, dtype=numpy.float64).reshape(2, 3) / 3
    for fmt in ("%s", "%t"):
        got = conn.execute("SELECT array_dims(" + fmt + "), " + fmt, [m, m]).fetchone()
        check(got[0] == "[1:2][1:3]" and numpy.array_equal(
                  numpy.array(got[1], numpy.float32), m.astype(numpy.float32)),
              "a 2-D float64 array as %s keeps its shape, rounded to real" % fmt, "%s" % (got,))
    t = m.T  # not C-contiguous
    got = one(conn, "SELECT %s", [t])
    check(numpy.array_equal(numpy.array(got, numpy.float32), t.astype(numpy.float32)),
          "a transposed array binds in its logical order")
    got = one(conn, "SELECT %s", [m[:, 1]])
    check(numpy.array_equal(numpy.array(got, numpy.float32), m[:, 1].astype(numpy.float32)),
          "a strided slice binds")
    for fmt in ("%s", "%t"):
        got = conn.execute("SELECT pg_typeof(" + fmt + ")::text, cardinality(" + fmt + ")",
                           [numpy.zeros(0, numpy.float32)] * 2).fetchone()
        check(got == ("real[]", 0), "an empty array as %s is an empty real[]" % fmt, "%s" % (got,))
    got = one(conn, "SELECT %s::text", [numpy.array([numpy.nan, numpy.inf, -numpy.inf], "f2")])
    check(got == "{NaN,Infinity,-Infinity}", "float16 and non-finite values travel as such", got)
    got = one(conn, "SELECT %t::text", [numpy.array([numpy.nan, numpy.inf], "f4")])
    check(got == "{NaN,Infinity}", "non-finite values in text form", got)
    raises("an integer array is refused with a way out", TypeError,
           ["floating dtype", "int64", "astype"], conn.execute, "SELECT %s",
           [numpy.array([1, 2])])
    raises("a 0-dimensional array is refused", TypeError, ["0-dimensional"],
           conn.execute, "SELECT %s", [numpy.array(1.5)])
    raises("a float64 value beyond real's range is refused, not made infinite",
           ValueError, ["out of range", "1e+39"], conn.execute, "SELECT %s",
           [numpy.array([1.0, 1e39])])
    cur = conn.cursor()
    for x in (numpy.array([1, 0], "f4"), numpy.array([0, 1], "f4")):
        cur.execute("SELECT %s::text", [x], prepare=True)
    check(cur.fetchone()[0] == "{0,1}", "a prepared statement takes numpy arrays")


def test_real(conn, conn_lists):
    for fmt in ("%s", "%t", "%b"):
        got = conn.execute("SELECT pg_typeof(" + fmt + ")::text, " + fmt + "::text",
                           [Real([1, 0.5, None])] * 2).fetchone()
        check(got == ("real[]", "{1,0.5,NULL}"), "Real with ints and NULL as %s" % fmt,
              "%s" % (got,))
    for fmt in ("%s", "%b"):
        got = one(conn, "SELECT " + fmt + "::text", [Real([[1.0, 2.0], [3.0, 4.0]])])
        check(got == "{{1,2},{3,4}}", "nested lists in a Real as %s" % fmt, got)
        got = conn.execute("SELECT pg_typeof(" + fmt + ")::text, cardinality(" + fmt + ")",
                           [Real()] * 2).fetchone()
        check(got == ("real[]", 0), "an empty Real as %s" % fmt, "%s" % (got,))
    raises("a ragged Real is refused", ValueError, ["different lengths"],
           conn.execute, "SELECT %b", [Real([[1.0, 2.0], [3.0]])])
    check(one(conn, "SELECT pg_typeof(%s)::text", [[1.0, 2.0]]) == "double precision[]",
          "without float_lists a float list stays double precision[]")
    for fmt in ("%s", "%t", "%b"):
        got = [one(conn_lists, "SELECT pg_typeof(" + fmt + ")::text", [v]) for v in
               ([1.0, 2.0], [1, 2.5], [[1.0], [None]], [1, 2], [True, False],
                [Float8(1.0)])]
        want = ["real[]", "real[]", "real[]", "smallint[]", "boolean[]", "double precision[]"]
        check(got == want, "float_lists=True: float lists only become real[] (%s)" % fmt,
              "got %s, want %s" % (got, want))
    got = one(conn_lists, "SELECT %s::text[]", [["a", "b"]])
    check(got == ["a", "b"], "float_lists=True leaves other lists alone", "%s" % got)
    check(one(conn_lists, "SELECT %s::text", [[0.1]]) == "{0.1}",
          "a float list under float_lists travels as real")


def test_network(conn):
    conn.execute("CREATE TABLE hanami_client_test.nets (id int, net hanami.network)")
    image = one(conn, "SELECT hanami.network('{\"layers\": [3, 4, 2]}', 5)", binary=True)
    text = one(conn, "SELECT hanami.network('{\"layers\": [3, 4, 2]}', 5)")
    check(image.format == "binary" and text.format == "text" and image != text,
          "one value read in binary and in text gives the two forms")
    check(Network(image.image) == image and hash(Network(image.image)) == hash(image)
          and bytes(image) == image.image, "Networks with the same image are equal")
    check(Network.from_text(text.text.encode()) == text, "from_text takes bytes too")
    raises("Network() of a str points to from_text", TypeError, ["from_text"], Network, "{}")
    raises("Network() of bytes that are no image says so", ValueError, ["HNMI", "4 bytes"],
           Network, b"junk")
    raises("bytes() of a text Network says how to get the image", TypeError, ["binary=True"],
           bytes, text)
    raises("%t with a binary Network is refused", TypeError, ["%s or %b"],
           conn.execute, "SELECT %t", [image])
    raises("%b with a text Network is refused", TypeError, ["%s or %t"],
           conn.execute, "SELECT %b", [text])
    got = conn.execute("SELECT pg_typeof(%s)::text, pg_typeof(%s)::text", [image, text]).fetchone()
    check(got == ("hanami.network", "hanami.network"), "both forms bind as hanami.network",
          "%s" % (got,))
    spec = Network.from_spec('{"layers": [3, 4, 2]}', seed=5)
    check(one(conn, "SELECT %s::bytea = %s::bytea", [spec, image]),
          "from_spec(text, seed) makes the same network as hanami.network(spec, seed)")

    broken = bytearray(image.image)
    broken[4] = 99  # format version
    try:
        failing_statement(conn, "SELECT hanami.info(%s)", [Network(bytes(broken))])
        check(False, "the server refuses a damaged image", "accepted")
    except psycopg.errors.DataError as exc:
        check("version" in str(exc), "the server refuses a damaged image", str(exc))
    try:
        failing_statement(conn, "SELECT hanami.info(%s)", [Network.from_text('{"layers": [3]}')])
        check(False, "the server refuses a bad text form", "accepted")
    except psycopg.errors.DataError as exc:
        check("layers" in str(exc), "the server refuses a bad text form", str(exc))

    with conn.cursor() as cur:
        cur.executemany("INSERT INTO hanami_client_test.nets VALUES (%s, %s)",
                        [(1, image), (2, text), (3, None)])
    with conn.cursor().copy("COPY hanami_client_test.nets FROM STDIN (FORMAT BINARY)") as cp:
        cp.set_types(["int4", "hanami.network"])
        cp.write_row((4, image))
    with conn.cursor().copy("COPY hanami_client_test.nets FROM STDIN") as cp:
        cp.write_row((5, text))
    with conn.cursor().copy("COPY (SELECT net FROM hanami_client_test.nets WHERE id = 4) "
                            "TO STDOUT (FORMAT BINARY)") as cp:
        cp.set_types(["hanami.network"])
        copied = list(cp.rows())
    check(copied == [(image,)], "binary COPY out loads a Network", "%s" % copied)
    got = one(conn, "SELECT array_agg(id ORDER BY id) FROM hanami_client_test.nets "
                    "WHERE net::bytea = %s::bytea", [image])
    check(got == [1, 2, 4, 5], "executemany and COPY (text and binary) write Networks",
          "rows equal to the image: %s" % got)
    check(one(conn, "SELECT net FROM hanami_client_test.nets WHERE id = 3") is None,
          "NULL stays None")

    got = one(conn, "SELECT pg_typeof(%s)::text", [[text, text]])
    check(got == "hanami.network[]", "a list of text Networks binds as hanami.network[]", got)
    got = one(conn, "SELECT cardinality(%b)", [[image, image]])
    check(got == 2, "a list of binary Networks binds with %b", "%s" % got)
    raises("a list of binary Networks with %s (text lists) is refused", TypeError,
           ["%s or %b"], conn.execute, "SELECT %s", [[image]])

    grow = "hanami.network('{\"kind\": \"hanami\", \"layers\": [3, 8, 2]}', 1)"
    server = one(conn, "SELECT hanami.info(" + grow + ")")
    for binary in (False, True):
        info = one(conn, "SELECT " + grow, binary=binary).info()
        keys = ("kind", "inputs", "outputs", "seed", "trained")
        check(all(info[k] == server[k] for k in keys),
              "info() of a growing network (%s) matches hanami.info()"
              % ("binary" if binary else "text"), "%s against %s" % (info, server))


def test_sqlalchemy(conninfo, conn, text, image):
    import psycopg2
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import ARRAY
    from hanami_client import NetworkType, register_sqlalchemy

    check(hanami_client.NetworkType is NetworkType, "NetworkType is made once")
    engine = sa.create_engine("postgresql+psycopg2://", future=True,
                              creator=lambda: psycopg2.connect(conninfo))
    plain = sa.create_engine("postgresql+psycopg2://", future=True,
                             creator=lambda: psycopg2.connect(conninfo))
    register_sqlalchemy(engine)
    conn.execute("CREATE TABLE hanami_client_test.sa (id int PRIMARY KEY, net hanami.network, "
                 "nets hanami.network[])")
    with engine.connect() as db:
        db.execute(sa.text("SET search_path = hanami, public"))
        cols = {c["name"]: c["type"] for c in
                sa.inspect(db).get_columns("sa", schema="hanami_client_test")}
        check(isinstance(cols["net"], NetworkType),
              "reflection with hanami on the search_path (type name 'network')", repr(cols))
        check(isinstance(cols["nets"], ARRAY) and isinstance(cols["nets"].item_type, NetworkType),
              "hanami.network[] reflects as ARRAY(NetworkType)", repr(cols["nets"]))
    with plain.connect() as db:
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cols = {c["name"]: c["type"] for c in
                    sa.inspect(db).get_columns("sa", schema="hanami_client_test")}
        check(not isinstance(cols["net"], NetworkType) and
              any("hanami.network" in str(w.message) for w in caught),
              "register_sqlalchemy() changes only the engine it is given")
    table = sa.Table("sa", sa.MetaData(schema="hanami_client_test"), autoload_with=engine)
    with engine.begin() as db:
        db.execute(table.insert(), [{"id": 1, "net": None}, {"id": 2, "net": bytearray(image.image)},
                                    {"id": 3, "net": memoryview(image.image)}])
        got = db.execute(sa.select(table.c.net).order_by(table.c.id)).scalars().all()
        check(got == [None, image.image, image.image],
              "NetworkType: NULL, bytearray and memoryview round-trip", "%s" % got[:1])
        db.execute(table.update().where(table.c.id == 1).values(net=image.image))
        got = db.execute(sa.select(table.c.id).where(table.c.net.is_not(None))
                         .order_by(table.c.id)).scalars().all()
        check(got == [1, 2, 3], "NetworkType in UPDATE", "%s" % got)
    for bad, words in ((text, ["text form"]), (42, ["int"])):
        try:
            with engine.begin() as db:
                db.execute(table.insert().values(id=9, net=bad))
            check(False, "NetworkType refuses %s" % type(bad).__name__, "accepted")
        except sa.exc.StatementError as exc:
            check(isinstance(exc.orig, TypeError) and all(w in str(exc) for w in words),
                  "NetworkType refuses %s, saying why" % type(bad).__name__, str(exc))
    try:
        with engine.begin() as db:
            db.execute(table.insert().values(id=9, net=b"HNMI" + bytes(68)))
        check(False, "a damaged image written through SQLAlchemy is refused", "accepted")
    except sa.exc.DataError as exc:
        check("network" in str(exc), "a damaged image written through SQLAlchemy is refused "
              "by the server", str(exc))
    engine.dispose()
    plain.dispose()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    conninfo, bare = sys.argv[1], sys.argv[2]
    test_register(conninfo, bare)
    with psycopg.connect(conninfo, autocommit=True) as conn, \
            psycopg.connect(conninfo, autocommit=True) as conn_lists:
        register(conn)
        register(conn_lists, float_lists=True)
        conn.execute("DROP SCHEMA IF EXISTS hanami_client_test CASCADE")
        conn.execute("CREATE SCHEMA hanami_client_test")
        test_numpy(conn)
        test_real(conn, conn_lists)
        test_network(conn)
        text = one(conn, "SELECT hanami.network('{\"layers\": [3, 4, 2]}', 5)")
        image = one(conn, "SELECT hanami.network('{\"layers\": [3, 4, 2]}', 5)", binary=True)
        test_sqlalchemy(conninfo, conn, text, image)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        print("not ok - the test stopped with an error (above)")
        sys.exit(2)
    if FAILED:
        print("%d check(s) failed: %s" % (len(FAILED), "; ".join(FAILED)))
        sys.exit(1)
    print("all checks passed")
