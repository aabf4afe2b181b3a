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
	'the class of one input row for a classification network (softmax or sigmoid output layer): the index of the largest output (for one output: 1 when it is at least 0.5)';

CREATE FUNCTION @extschema@.run_named(net @extschema@.network, inputs pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_run_named'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run_named(@extschema@.network, pg_catalog.jsonb) IS
	'run() by layer names: {"layer": [values], ...} for every input layer in, {"layer": [values], ...} for every output layer out';

-- Sequences for spiking "hanami" networks: the state carries from call to
-- call within a query; VOLATILE so that ORDER BY is applied before it runs.
CREATE FUNCTION @extschema@.run(net @extschema@.network, input pg_catalog.float4[],
								reset pg_catalog.bool)
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_sequence'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.run(@extschema@.network, pg_catalog.float4[], pg_catalog.bool) IS
	'the outputs for one row of a sequence: the state of a spiking network, or of a graph''s layers with a history, carries over from the previous call of the query; reset clears it first';

CREATE FUNCTION @extschema@.reset_state(net @extschema@.network)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_reset_state'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.reset_state(@extschema@.network) IS
	'a copy of a network with its spiking state (carried potentials, refractory counters) cleared';

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

CREATE FUNCTION @extschema@.quantize(net @extschema@.network, dtype pg_catalog.text)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_quantize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.quantize(@extschema@.network, pg_catalog.text) IS
	'a trained dense network with its weights stored as pow2 (signed powers of two), f16 or u8 (affine), for smaller values and inference';

CREATE FUNCTION @extschema@.capabilities()
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_capabilities'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.capabilities() IS
	'what this build supports: network kinds, activations (custom_activations: the stored ones you can see), losses, optimizers, devices';

-- Batched inference: run and classify as window functions, computed for a
-- batch of the partition's rows at a time (one device round trip per batch).
CREATE FUNCTION @extschema@.run_batch(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.run_batch(net @extschema@.network, input pg_catalog.float4[],
									  options pg_catalog.jsonb)
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.classify_batch(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.classify_batch(net @extschema@.network, input pg_catalog.float4[],
										   options pg_catalog.jsonb)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run_batch(@extschema@.network, pg_catalog.float4[]) IS
	'window function: run() for every row of the partition, computed in batches (OVER (), or OVER (PARTITION BY model))';
COMMENT ON FUNCTION @extschema@.run_batch(@extschema@.network, pg_catalog.float4[], pg_catalog.jsonb) IS
	'window function: run() in batches; options "device" (auto, cpu, opencl) and "batch_size" (rows per batch, default 1024)';
COMMENT ON FUNCTION @extschema@.classify_batch(@extschema@.network, pg_catalog.float4[]) IS
	'window function: classify() for every row of the partition, computed in batches';
COMMENT ON FUNCTION @extschema@.classify_batch(@extschema@.network, pg_catalog.float4[], pg_catalog.jsonb) IS
	'window function: classify() in batches; options "device" (auto, cpu, opencl) and "batch_size" (rows per batch, default 1024)';

-- Averaging networks of one architecture (src/pg/average.c): the weighted
-- mean of their weights and biases, everything else the first network's;
-- parallel-safe, with combine, serial and deserial functions.
CREATE FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'hanami_average_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_final(pg_catalog.internal)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_average_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.average(@extschema@.network) (
	SFUNC = @extschema@.average_trans,
	STYPE = pg_catalog.internal,
	FINALFUNC = @extschema@.average_final,
	COMBINEFUNC = @extschema@.average_combine,
	SERIALFUNC = @extschema@.average_serial,
	DESERIALFUNC = @extschema@.average_deserial,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.average(@extschema@.network, pg_catalog.float8) (
	SFUNC = @extschema@.average_trans,
	STYPE = pg_catalog.internal,
	FINALFUNC = @extschema@.average_final,
	COMBINEFUNC = @extschema@.average_combine,
	SERIALFUNC = @extschema@.average_serial,
	DESERIALFUNC = @extschema@.average_deserial,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.average(@extschema@.network) IS
	'the mean of dense networks of one architecture and scaling (weights and biases averaged; the rest is the first network''s)';
COMMENT ON AGGREGATE @extschema@.average(@extschema@.network, pg_catalog.float8) IS
	'the weighted mean of dense networks of one architecture and scaling (weight >= 0, e.g. the rows each was trained on)';
COMMENT ON FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network) IS
	'support function of hanami.average: adds a network';
COMMENT ON FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network, pg_catalog.float8) IS
	'support function of hanami.average: adds a network with its weight';
COMMENT ON FUNCTION @extschema@.average_combine(pg_catalog.internal, pg_catalog.internal) IS
	'support function of hanami.average: merges two partial averages';
COMMENT ON FUNCTION @extschema@.average_serial(pg_catalog.internal) IS
	'support function of hanami.average: a partial average as bytes, for parallel query';
COMMENT ON FUNCTION @extschema@.average_deserial(pg_catalog.bytea, pg_catalog.internal) IS
	'support function of hanami.average: a partial average from bytes (checked)';
COMMENT ON FUNCTION @extschema@.average_final(pg_catalog.internal) IS
	'support function of hanami.average: the mean network';
