"""hanami_client - use hanami's types from Python.

One file with no dependency of its own: copy it next to your code or put its
folder on PYTHONPATH. See docs/clients.md.

psycopg 3 (3.1 or later)::

    import psycopg, numpy
    from hanami_client import register, Network, Real

    conn = psycopg.connect(...)
    register(conn)                    # once per connection
    conn.execute("SELECT hanami.predict('xor', %s)", [numpy.array([1, 0], numpy.float32)])
    conn.execute("SELECT hanami.predict('xor', %s)", [Real([1.0, 0.0])])
    net = conn.execute("SELECT hanami.load('xor')", binary=True).fetchone()[0]
    conn.execute("INSERT INTO nets VALUES (%s)", [net])      # no cast needed

- ``hanami.network`` values load as `Network` (from the text form or from
  the binary image, whichever the query asked for) and `Network` values
  bind as ``hanami.network`` (in the form they hold).
- numpy arrays of a floating dtype bind as ``real[]``; so do `Real` lists,
  and, with ``register(conn, float_lists=True)``, plain lists of floats.

SQLAlchemy 1.4 (any PostgreSQL driver; Debian's SQLAlchemy 1.4 uses
psycopg2)::

    from hanami_client import NetworkType, register_sqlalchemy

    engine = sqlalchemy.create_engine("postgresql+psycopg2://...")
    register_sqlalchemy(engine)       # reflection knows hanami.network
    nets = sqlalchemy.Table("nets", meta, sqlalchemy.Column("net", NetworkType))

``NetworkType`` reads and writes a network as the bytes of its binary image.

psycopg, numpy and SQLAlchemy are imported only by the parts that use them.
"""

import json
import struct

__all__ = ["Network", "Real", "register", "NetworkType", "register_sqlalchemy"]

# The binary image's common header (src/core/image.h): 72 bytes, little-endian.
_HEADER = struct.Struct("<IHHIIQIIIIQIIQ8x")
_MAGIC = b"HNMI"
_KINDS = {1: "dense", 2: "hanami"}

FLOAT4_OID = 700
FLOAT4_ARRAY_OID = 1021
_REAL_ITEM = struct.Struct("!if")  # an array element: its length, its value


class Network:
    """A ``hanami.network`` value, in one of its two exact forms.

    ``Network(image)`` holds the binary image (what ``net::bytea``, binary
    results and binary COPY give); ``Network.from_text(text)`` holds the
    text form (JSON, what ``net::text`` and text results give);
    ``Network.from_spec(spec, seed)`` a spec that the server turns into a
    fresh network. Either form binds as ``hanami.network`` (the server
    validates it); neither is converted into the other on the client.
    """

    __slots__ = ("_image", "_text")

    def __init__(self, image):
        if isinstance(image, str):
            raise TypeError("Network(image) takes the binary image (bytes); "
                            "for the text form use Network.from_text(text)")
        image = bytes(image)
        if len(image) < _HEADER.size or image[:4] != _MAGIC:
            raise ValueError("not a hanami.network binary image (it must start with "
                             "the 72-byte header and the magic 'HNMI'); got %d bytes "
                             "starting with %r" % (len(image), image[:8]))
        self._image = image
        self._text = None

    @classmethod
    def from_text(cls, text):
        """A network from its text form (the JSON of ``net::text``)."""
        if isinstance(text, (bytes, bytearray, memoryview)):
            text = bytes(text).decode("utf-8")
        if not isinstance(text, str):
            raise TypeError("Network.from_text() takes a str, got %s" % type(text).__name__)
        self = cls.__new__(cls)
        self._image = None
        self._text = text
        return self

    @classmethod
    def from_spec(cls, spec, seed=None):
        """A fresh network from a spec (dict or JSON text), like
        ``'{"layers": [2, 8, 2]}'::hanami.network``; ``seed`` sets the spec's
        ``"seed"`` key (the weights' seed)."""
        if isinstance(spec, str):
            spec = json.loads(spec)
        spec = dict(spec)
        if seed is not None:
            spec["seed"] = seed
        return cls.from_text(json.dumps(spec))

    @property
    def format(self):
        """``"binary"`` or ``"text"``: the form this value holds."""
        return "binary" if self._image is not None else "text"

    @property
    def image(self):
        """The binary image (bytes), or None when this value holds the text form."""
        return self._image

    @property
    def text(self):
        """The text form (str), or None when this value holds the binary image."""
        return self._text

    def __bytes__(self):
        if self._image is None:
            raise TypeError("this Network holds the text form, not the binary image: "
                            "read it in binary (cursor.execute(..., binary=True)) or "
                            "select net::bytea")
        return self._image

    def info(self):
        """What the value says about itself without the server: a dict with
        ``kind``, ``inputs``, ``outputs``, ``seed`` and ``trained``
        (``epochs``, ``samples``); from the binary image also ``parameters``
        and ``bytes``. ``hanami.info(net)`` on the server tells more."""
        if self._image is not None:
            (_magic, version, kind, _hsize, _flags, total, _n_layers, _loss, n_in, n_out,
             n_params, seed, epochs, samples) = _HEADER.unpack_from(self._image)
            return {"kind": _KINDS.get(kind, kind), "format": version,
                    "inputs": n_in, "outputs": n_out, "parameters": n_params,
                    "bytes": total, "seed": seed,
                    "trained": {"epochs": epochs, "samples": samples}}
        doc = json.loads(self._text)
        trained = doc.get("trained", {})
        return {"kind": doc.get("kind", "dense"), "format": doc.get("format", 1),
                "inputs": _count_inputs(doc), "outputs": _count_outputs(doc),
                "seed": doc.get("seed", 0),
                "trained": {"epochs": trained.get("epochs", 0),
                            "samples": trained.get("samples", 0)}}

    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        return (self._image, self._text) == (other._image, other._text)

    def __hash__(self):
        return hash((self._image, self._text))

    def __repr__(self):
        if self._image is not None:
            return "<hanami Network: binary image, %d bytes>" % len(self._image)
        return "<hanami Network: text form, %d characters>" % len(self._text)


def _count(layer):
    return layer["count"] if isinstance(layer, dict) else layer


def _count_inputs(doc):
    if "cells" in doc:
        return sum(c.get("input", 0) for c in doc["cells"])
    layers = doc.get("layers")
    return _count(layers[0]) if layers else None


def _count_outputs(doc):
    if "cells" in doc:
        return sum(c.get("output", 0) for c in doc["cells"])
    layers = doc.get("layers")
    return _count(layers[-1]) if layers else None


class Real(list):
    """A list that binds as ``real[]`` (float4[]), the type of every input
    array of hanami's functions: ``Real([1, 0])`` or ``Real(row)``. Nested
    Real lists make a multi-dimensional array. Plain Python lists of floats
    bind as ``double precision[]``, for which hanami has no functions
    (unless ``register(conn, float_lists=True)``)."""

    __slots__ = ()


# --------------------------------------------------------------- psycopg 3

def _lookup_network_type(conn):
    """(oid, array oid) of hanami.network in the connection's database."""
    from psycopg import errors

    query = ("SELECT t.oid, t.typarray FROM pg_catalog.pg_type t "
             "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
             "WHERE n.nspname = 'hanami' AND t.typname = 'network'")
    try:
        # A transaction block of its own: the connection is left as found
        # (idle, or inside the caller's transaction).
        with conn.transaction():
            row = conn.execute(query).fetchone()
    except errors.Error as exc:
        raise RuntimeError("hanami_client.register(): could not look up the type "
                           "hanami.network: %s" % exc) from exc
    if row is None:
        raise LookupError("hanami_client.register(): there is no type hanami.network in "
                          "database %r: run CREATE EXTENSION hanami there first"
                          % conn.info.dbname)
    return row


def register(conn, float_lists=False):
    """Teach a psycopg 3 connection (or cursor) hanami's types.

    - ``hanami.network`` results load as `Network`; `Network` values bind
      as ``hanami.network``, as text or as binary depending on the form they
      hold, so ``INSERT ... VALUES (%s)`` and ``hanami.run(%s, ...)`` need
      no cast. Arrays of networks load as lists of `Network`.
    - numpy arrays of a floating dtype (float16, float32, float64) bind as
      ``real[]``, any number of dimensions; other dtypes are refused.
    - `Real` lists bind as ``real[]``.
    - ``float_lists=True`` also binds plain lists whose elements are floats
      (ints mixed in allowed, at least one float) as ``real[]`` on this
      connection: convenient, but every float list of every query on the
      connection then travels as single precision.

    The type's oid is read once, here: register after CREATE EXTENSION, on
    a connection to the database the extension is in. Reads the catalog in
    a transaction block of its own.
    """
    from psycopg import BaseConnection
    from psycopg.types import TypeInfo

    context = conn  # a connection or a cursor: both have .adapters
    if not isinstance(conn, BaseConnection):
        conn = conn.connection
    oid, array_oid = _lookup_network_type(conn)
    info = TypeInfo("network", oid, array_oid, regtype="hanami.network")
    info.register(context)  # the type, and loaders for hanami.network[]

    classes = _network_adapters(oid)
    adapters = context.adapters
    adapters.register_loader(oid, classes["text_loader"])
    adapters.register_loader(oid, classes["binary_loader"])
    adapters.register_dumper(Network, classes["text_dumper"])
    adapters.register_dumper(Network, classes["binary_dumper"])  # %s: picks per value

    real = _real_adapters()
    adapters.register_dumper(Real, real["text"])
    adapters.register_dumper(Real, real["binary"])
    adapters.register_dumper("numpy.ndarray", real["numpy_text"])
    adapters.register_dumper("numpy.ndarray", real["numpy_binary"])  # %s: binary
    if float_lists:
        # psycopg's own order: binary first, text last, so that %s keeps
        # its text list dumper (it handles more element types).
        adapters.register_dumper(list, real["float_list_binary"])
        adapters.register_dumper(list, real["float_list_text"])


def _network_adapters(oid):
    from psycopg.adapt import Dumper, Loader, PyFormat
    from psycopg.pq import Format

    class NetworkTextLoader(Loader):
        format = Format.TEXT

        def load(self, data):
            return Network.from_text(bytes(data).decode("utf-8"))

    class NetworkBinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            return Network(data)

    class _NetworkDumper(Dumper):
        # With %s (AUTO) each value goes in the form it holds; %t and %b
        # (and COPY) ask for one form, which the value must hold.
        def __init__(self, cls, context=None):
            super().__init__(cls, context)
            self._context = context

        def get_key(self, obj, format):
            if format == PyFormat.AUTO:
                return (Network, obj.format)
            return self.cls

        def upgrade(self, obj, format):
            if format != PyFormat.AUTO:
                return self
            wanted = NetworkBinaryDumper if obj.format == "binary" else NetworkTextDumper
            return self if type(self) is wanted else wanted(self.cls, self._context)

    class NetworkTextDumper(_NetworkDumper):
        format = Format.TEXT

        def dump(self, obj):
            if obj.text is None:
                raise TypeError("a Network holding the binary image cannot be sent in "
                                "text format (%t, text COPY, a list bound as text): bind "
                                "it with %s or %b")
            return obj.text.encode("utf-8")

    class NetworkBinaryDumper(_NetworkDumper):
        format = Format.BINARY

        def dump(self, obj):
            if obj.image is None:
                raise TypeError("a Network holding the text form cannot be sent in "
                                "binary format (%b, binary COPY): bind it with %s or %t")
            return obj.image

    NetworkTextDumper.oid = oid
    NetworkBinaryDumper.oid = oid
    return {"text_loader": NetworkTextLoader, "binary_loader": NetworkBinaryLoader,
            "text_dumper": NetworkTextDumper, "binary_dumper": NetworkBinaryDumper}


_REAL_ADAPTERS = None


def _real_adapters():
    """Dumper classes for real[]; the same for every connection."""
    global _REAL_ADAPTERS
    if _REAL_ADAPTERS is not None:
        return _REAL_ADAPTERS

    from psycopg.adapt import Dumper
    from psycopg.pq import Format
    from psycopg.types.array import ListBinaryDumper, ListDumper

    class RealDumper(ListDumper):
        oid = FLOAT4_ARRAY_OID
        element_oid = FLOAT4_OID

    class RealBinaryDumper(Dumper):
        format = Format.BINARY
        oid = FLOAT4_ARRAY_OID

        def dump(self, obj):
            # Nested lists (Real or plain) make the dimensions; None is NULL.
            dims, level = [], obj
            while isinstance(level, list):
                if not level:
                    if dims:
                        raise ValueError("a real[] cannot hold empty lists")
                    return struct.pack("!III", 0, 0, FLOAT4_OID)
                dims.append(len(level))
                level = level[0]
            items, hasnull = [], 0

            def walk(values, depth):
                nonlocal hasnull
                if len(values) != dims[depth]:
                    raise ValueError("nested lists of a real[] have different lengths")
                for v in values:
                    if depth + 1 < len(dims):
                        if not isinstance(v, list):
                            raise ValueError("nested lists of a real[] have different depths")
                        walk(v, depth + 1)
                    elif v is None:
                        hasnull = 1
                        items.append(b"\xff\xff\xff\xff")
                    elif isinstance(v, list):
                        raise ValueError("nested lists of a real[] have different depths")
                    else:
                        items.append(_REAL_ITEM.pack(4, v))

            walk(obj, 0)
            return (struct.pack("!III", len(dims), hasnull, FLOAT4_OID)
                    + b"".join(struct.pack("!ii", n, 1) for n in dims) + b"".join(items))

    def float_list(obj):
        """True for a list whose non-null elements (nested lists too) are
        floats, or ints and at least one float."""
        stack, seen_float = [obj], False
        while stack:
            for item in stack.pop():
                t = type(item)
                if t is float:
                    seen_float = True
                elif t is list:
                    stack.append(item)
                elif item is not None and t is not int:
                    return False
        return seen_float

    def float_list_dumper(base, real):
        class FloatListDumper(base):
            def get_key(self, obj, format):
                if float_list(obj):
                    return Real
                return super().get_key(obj, format)

            def upgrade(self, obj, format):
                if float_list(obj):
                    return real(list, self._tx)
                return super().upgrade(obj, format)

        return FloatListDumper

    def as_float32(obj):
        import numpy

        if obj.dtype.kind != "f":
            raise TypeError("hanami_client binds numpy arrays of a floating dtype as real[]; "
                            "got dtype %s: convert it (arr.astype(numpy.float32)) or pass "
                            "arr.tolist()" % obj.dtype)
        if obj.ndim == 0:
            raise TypeError("a 0-dimensional numpy array is a scalar, not an array: pass "
                            "float(arr) or arr.reshape(1)")
        with numpy.errstate(over="ignore"):  # overflow is refused just below
            a = obj.astype(numpy.float32)
        if obj.dtype.itemsize > 4:
            overflow = numpy.isinf(a) & numpy.isfinite(obj)
            if overflow.any():
                raise ValueError("value out of range for real (float4): %r"
                                 % obj[overflow].flat[0])
        return a

    class NumpyRealDumper(Dumper):
        format = Format.TEXT
        oid = FLOAT4_ARRAY_OID

        def dump(self, obj):
            def text(v):
                if isinstance(v, list):
                    return "{" + ",".join(text(x) for x in v) + "}"
                return repr(v)  # shortest text of the float32 value, widened
            a = as_float32(obj)
            return ("{}" if a.size == 0 else text(a.tolist())).encode()

    class NumpyRealBinaryDumper(Dumper):
        format = Format.BINARY
        oid = FLOAT4_ARRAY_OID

        def dump(self, obj):
            import numpy

            a = as_float32(obj)
            if a.size == 0:
                return struct.pack("!III", 0, 0, FLOAT4_OID)
            head = struct.pack("!III", a.ndim, 0, FLOAT4_OID) + b"".join(
                struct.pack("!ii", n, 1) for n in a.shape)
            items = numpy.empty(a.size, dtype=[("len", ">i4"), ("value", ">f4")])
            items["len"] = 4
            items["value"] = a.reshape(-1)
            return head + items.tobytes()

    _REAL_ADAPTERS = {
        "text": RealDumper, "binary": RealBinaryDumper,
        "numpy_text": NumpyRealDumper, "numpy_binary": NumpyRealBinaryDumper,
        "float_list_text": float_list_dumper(ListDumper, RealDumper),
        "float_list_binary": float_list_dumper(ListBinaryDumper, RealBinaryDumper),
    }
    return _REAL_ADAPTERS


# -------------------------------------------------------------- SQLAlchemy

def _sqlalchemy_type():
    import sqlalchemy
    from sqlalchemy.types import UserDefinedType

    class NetworkType(UserDefinedType):
        """A ``hanami.network`` column for SQLAlchemy 1.4 or later. Python
        values are the bytes of the binary image (a `Network` holding the
        image is accepted too); in SQL the column is read as
        ``CAST(net AS BYTEA)`` and written as ``CAST(:value AS
        hanami.network)`` (the cast validates the image)."""

        cache_ok = True

        def get_col_spec(self, **kw):
            return "hanami.network"

        def bind_expression(self, bindvalue):
            # The driver sends bytes as bytea; bytea -> hanami.network is an
            # explicit cast.
            return sqlalchemy.cast(bindvalue, self)

        def column_expression(self, col):
            return sqlalchemy.cast(col, sqlalchemy.LargeBinary)

        def bind_processor(self, dialect):
            def process(value):
                if value is None or isinstance(value, (bytes, bytearray, memoryview)):
                    return value
                if isinstance(value, Network):
                    return bytes(value)  # TypeError for the text form
                raise TypeError("NetworkType takes the bytes of a network's binary image "
                                "(or a Network holding it), got %s" % type(value).__name__)
            return process

        def result_processor(self, dialect, coltype):
            def process(value):
                return None if value is None else bytes(value)
            return process

    NetworkType.__module__ = __name__
    return NetworkType


def register_sqlalchemy(engine):
    """Let an engine's PostgreSQL dialect reflect ``hanami.network``
    columns as `NetworkType` (the name format_type() gives: ``network``
    when schema hanami is on the search_path, else ``hanami.network``).
    Changes this engine's dialect only."""
    network_type = __getattr__("NetworkType")
    dialect = engine.dialect
    names = dict(dialect.ischema_names)
    names["hanami.network"] = network_type
    names["network"] = network_type
    dialect.ischema_names = names


def __getattr__(name):
    # NetworkType is made on first use, so that importing this module does
    # not import SQLAlchemy.
    if name == "NetworkType":
        if "NetworkType" not in globals():
            globals()["NetworkType"] = _sqlalchemy_type()
        return globals()["NetworkType"]
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
