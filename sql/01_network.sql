-- The network type: specs, text and binary forms, info, capabilities.
SET client_min_messages = warning;

-- a spec with plain counts gets default activations and loss
SELECT hanami.info(hanami.network('{"layers": [4, 8, 3]}', 1));

-- objects, names, a default hidden activation, loss and scaling
SELECT hanami.info(hanami.network('{"layers": [2, {"count": 5, "name": "hidden"}, {"count": 1, "activation": "sigmoid", "name": "out"}],
                                    "activation": "tanh", "loss": "cross_entropy", "input_scaling": false}', 7));

-- every activation is accepted on a hidden layer
SELECT a, hanami.info(hanami.network(jsonb_build_object('layers',
         jsonb_build_array(3, jsonb_build_object('count', 4, 'activation', a), 2)), 1))
         -> 'layers' -> 1 ->> 'activation' AS stored
FROM jsonb_array_elements_text(hanami.capabilities() -> 'activations') AS a
WHERE a <> 'softmax';

-- same seed, same weights; different seed, different weights
SELECT hanami.network('{"layers": [3, 4, 2]}', 5)::bytea = hanami.network('{"layers": [3, 4, 2]}', 5)::bytea AS same_seed,
       hanami.network('{"layers": [3, 4, 2]}', 5)::bytea = hanami.network('{"layers": [3, 4, 2]}', 6)::bytea AS other_seed;

-- a seed in the spec is used when the argument is NULL
SELECT hanami.network('{"layers": [3, 4, 2], "seed": 9}')::bytea = hanami.network('{"layers": [3, 4, 2]}', 9)::bytea AS spec_seed;

-- text round trip is exact: in(out(x)) = x and out(in(out(x))) = out(x)
CREATE TABLE nets (id int, net hanami.network);
INSERT INTO nets SELECT i, hanami.network(jsonb_build_object('layers', jsonb_build_array(i, 2 * i, 3)), i) FROM generate_series(1, 20) i;
SELECT count(*) AS text_round_trips FROM nets
WHERE (net::text::hanami.network)::bytea = net::bytea
  AND net::text::hanami.network::text = net::text;

-- bytea round trip
SELECT count(*) AS bytea_round_trips FROM nets WHERE (net::bytea::hanami.network)::bytea = net::bytea;

-- send() is the binary image
SELECT count(*) AS send_is_image FROM nets WHERE hanami.network_send(net) = net::bytea;

-- the text form is JSON holding the spec
SELECT (net::text::jsonb) - 'setup' AS text_form FROM nets WHERE id = 2;
SELECT jsonb_object_keys(net::text::jsonb -> 'setup') AS setup_keys FROM nets WHERE id = 2;

-- a bare spec is valid text input (seed 0 when absent)
SELECT '{"layers": [2, 2]}'::hanami.network::bytea = hanami.network('{"layers": [2, 2]}', 0)::bytea AS bare_spec;

-- training counters round-trip exactly over their whole range
SELECT t::hanami.network::text::jsonb -> 'trained' AS trained
FROM (VALUES ('{"layers": [2, 2], "trained": {"epochs": 4294967295, "samples": 18446744073709551615}}')) v(t);
SELECT '{"layers": [2, 2], "trained": {"samples": 18446744073709551616}}'::hanami.network;
SELECT '{"layers": [2, 2], "trained": {"samples": 1.5}}'::hanami.network;

-- stored values survive a table rewrite and a toast round trip
CREATE TABLE big (net hanami.network);
INSERT INTO big VALUES (hanami.network('{"layers": [300, 200, 10]}', 3));
SELECT pg_column_size(net) < (hanami.info(net) ->> 'bytes')::int AS compressed_or_toasted,
       (hanami.info(net) ->> 'parameters')::int AS parameters FROM big;
VACUUM FULL big;
SELECT net::bytea = hanami.network('{"layers": [300, 200, 10]}', 3)::bytea AS unchanged FROM big;

SELECT hanami.capabilities() ->> 'kinds' AS kinds,
       hanami.capabilities() ->> 'losses' AS losses,
       hanami.capabilities() ->> 'optimizers' AS optimizers,
       hanami.capabilities() -> 'devices' -> 0 ->> 'type' AS device;

-- bad specs: each a clear error
\set VERBOSITY default
SELECT hanami.network('{}');
SELECT hanami.network('[]');
SELECT hanami.network('3');
SELECT hanami.network('{"layers": []}');
SELECT hanami.network('{"layers": [4]}');
SELECT hanami.network('{"layers": [4, 0, 2]}');
SELECT hanami.network('{"layers": [4, -3, 2]}');
SELECT hanami.network('{"layers": [4, 2.5, 2]}');
SELECT hanami.network('{"layers": [4, "8", 2]}');
SELECT hanami.network('{"layers": [4, 100000000, 2]}');
SELECT hanami.network('{"layers": [1000000, 1000000, 2]}');
SELECT hanami.network('{"layers": [4, {"count": 3, "activation": "swish"}, 2]}');
SELECT hanami.network('{"layers": [4, {"count": 3, "activation": "softmax"}, 2]}');
SELECT hanami.network('{"layers": [{"count": 4, "activation": "relu"}, 2]}');
SELECT hanami.network('{"layers": [4, {"units": 3}, 2]}');
SELECT hanami.network('{"layers": [4, {"activation": "relu"}, 2]}');
SELECT hanami.network('{"layers": [4, 2], "loss": "hinge"}');
SELECT hanami.network('{"layers": [4, {"count": 2, "activation": "relu"}], "loss": "cross_entropy"}');
SELECT hanami.network('{"layers": [4, 2], "kind": "hanami", "loss": "mse"}');
SELECT hanami.network('{"layers": [4, 2], "kind": "conv"}');
SELECT hanami.network('{"layers": [4, 2], "dropout": 0.5}');
SELECT hanami.network('{"layers": [4, 2], "format": 2}');
SELECT hanami.network('{"layers": [4, {"count": 2, "name": "a"}, {"count": 2, "name": "a"}]}');
SELECT hanami.network('{"layers": [4, {"count": 2, "name": "a name far longer than thirty-one bytes"}]}');
SELECT hanami.network('{"layers": [4, 2]}', -1);
SELECT hanami.network(NULL);
SELECT hanami.network('{"layers": [4, 2], "input_scaling": "yes"}');
SELECT hanami.network((SELECT jsonb_build_object('layers', jsonb_agg(2)) FROM generate_series(1, 65)));

-- malformed text values
SELECT 'not json'::hanami.network;
SELECT '{"layers": [2, 2], "setup": {"data": "AAAA"}}'::hanami.network;
SELECT '{"layers": [2, 2], "setup": {"data": "!!!!"}}'::hanami.network;
SELECT '{"layers": [2, 2], "setup": {"input_fitted": true}}'::hanami.network;
SELECT '{"layers": [2, 2], "setup": {"data": 5}}'::hanami.network;
SELECT '{"layers": [2, 2], "trained": {"epochs": -1}}'::hanami.network;
-- NaN weights: scaling (shift 0, mul 1 for 2 inputs and 2 outputs), then 6 parameters, the last one NaN
SELECT ('{"layers": [2, 2], "setup": {"data": "' ||
        encode(decode(repeat(repeat('00000000', 2) || repeat('0000803f', 2), 2) || repeat('00000000', 5) || '0000c07f', 'hex'), 'base64') ||
        '"}}')::hanami.network;
-- the same with a finite value is accepted
SELECT hanami.info(('{"layers": [2, 2], "setup": {"data": "' ||
        encode(decode(repeat(repeat('00000000', 2) || repeat('0000803f', 2), 2) || repeat('00000000', 5) || '0000803f', 'hex'), 'base64') ||
        '"}}')::hanami.network) ->> 'parameters' AS parameters;

-- malformed binary values
SELECT '\x'::bytea::hanami.network;
SELECT '\x00112233'::bytea::hanami.network;
SELECT substring(hanami.network('{"layers": [3, 2]}', 1)::bytea FROM 1 FOR 100)::hanami.network;
SELECT (hanami.network('{"layers": [3, 2]}', 1)::bytea || '\x00'::bytea)::hanami.network;
SELECT set_byte(hanami.network('{"layers": [3, 2]}', 1)::bytea, 0, 0)::hanami.network;
SELECT set_byte(hanami.network('{"layers": [3, 2]}', 1)::bytea, 4, 9)::hanami.network;
