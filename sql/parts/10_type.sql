-- The network type ---------------------------------------------------------

CREATE TYPE @extschema@.network;

CREATE FUNCTION @extschema@.network_in(pg_catalog.cstring)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_out(@extschema@.network)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'network_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_recv(pg_catalog.internal)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_send(@extschema@.network)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'network_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.network (
	INPUT = @extschema@.network_in,
	OUTPUT = @extschema@.network_out,
	RECEIVE = @extschema@.network_recv,
	SEND = @extschema@.network_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON TYPE @extschema@.network IS
	'a neural network: its description and weights in one value; text form is JSON with base64 weights';
COMMENT ON FUNCTION @extschema@.network_in(pg_catalog.cstring) IS
	'text input of hanami.network (the JSON text form, or a bare spec)';
COMMENT ON FUNCTION @extschema@.network_out(@extschema@.network) IS
	'text output of hanami.network (JSON with base64 weights in setup.data)';
COMMENT ON FUNCTION @extschema@.network_recv(pg_catalog.internal) IS
	'binary input of hanami.network (the validated binary image)';
COMMENT ON FUNCTION @extschema@.network_send(@extschema@.network) IS
	'binary output of hanami.network (the binary image)';

-- Casts to and from bytea: the binary image, validated on the way in.
CREATE FUNCTION @extschema@.network_to_bytea(@extschema@.network)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'network_to_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_from_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.network AS pg_catalog.bytea)
	WITH FUNCTION @extschema@.network_to_bytea(@extschema@.network);
CREATE CAST (pg_catalog.bytea AS @extschema@.network)
	WITH FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea);

COMMENT ON FUNCTION @extschema@.network_to_bytea(@extschema@.network) IS
	'the binary image of a network';
COMMENT ON FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea) IS
	'a network from its binary image, validated like binary input';
