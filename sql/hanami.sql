-- hanami: growing neural networks inside PostgreSQL.
-- The canonical install script; the Makefile copies it to hanami--VERSION.sql.
-- Every object is schema-qualified: the script does not trust search_path.

\echo Use "CREATE EXTENSION hanami" to load this file. \quit

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

-- Functions on network values ------------------------------------------------

CREATE FUNCTION @extschema@.network(spec pg_catalog.jsonb, seed pg_catalog.int4 DEFAULT NULL)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_network'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.network(pg_catalog.jsonb, pg_catalog.int4) IS
	'a new network from a JSON spec such as {"layers": [4, 8, 3]}; weights drawn from seed (NULL: the spec''s "seed", or 0)';

CREATE FUNCTION @extschema@.run(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run(@extschema@.network, pg_catalog.float4[]) IS
	'the outputs of a network for one input row';

CREATE FUNCTION @extschema@.classify(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.classify(@extschema@.network, pg_catalog.float4[]) IS
	'the index of the largest output for one input row (for one output: 1 when it is at least 0.5)';

CREATE FUNCTION @extschema@.fit(net @extschema@.network, query pg_catalog.text,
								options pg_catalog.jsonb DEFAULT '{}')
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_fit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.fit(@extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'a copy of the network trained on the rows of a query (features, then the target column)';

CREATE FUNCTION @extschema@.verify(net @extschema@.network, query pg_catalog.text,
								   options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_verify'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.verify(@extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'loss and accuracy with a confusion matrix (classification) or mse, mae and r2 (regression) over the rows of a query';

CREATE FUNCTION @extschema@.info(net @extschema@.network)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.info(@extschema@.network) IS
	'kind, layers, parameter count, size and training counters of a network';

CREATE FUNCTION @extschema@.capabilities()
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_capabilities'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.capabilities() IS
	'what this build supports: network kinds, activations, losses, optimizers, devices';
