-- hanami.average(net [, weight]): the weighted mean of dense networks of
-- one architecture and scaling, in plain and in parallel query; what it
-- refuses.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE TABLE av_nets AS
SELECT s AS seed, hanami.network('{"layers": [3, 5, 2], "activation": "tanh"}', s) AS net
FROM generate_series(1, 4) s;
CREATE TABLE av_x AS SELECT ARRAY[0.3, -1.2, 2.0]::real[] AS x UNION ALL SELECT ARRAY[-0.7, 0.1, 0.5]::real[];
-- the largest difference between the outputs of two networks on av_x
CREATE FUNCTION av_gap(a hanami.network, b hanami.network) RETURNS float8
LANGUAGE sql AS $$
	SELECT max(abs(p - q)) FROM av_x, unnest(hanami.run(a, x), hanami.run(b, x)) AS o(p, q)
$$;

-- one network, or copies of one: the same network
SELECT hanami.average(net)::text = (SELECT net::text FROM av_nets WHERE seed = 1) AS one_is_itself
FROM av_nets WHERE seed = 1;
SELECT hanami.average(net)::text = (SELECT net::text FROM av_nets WHERE seed = 2) AS copies_are_it
FROM av_nets, generate_series(1, 3) WHERE seed = 2;
-- weight 0 leaves a network out; the weights are relative
SELECT hanami.average(net, CASE seed WHEN 1 THEN 1 ELSE 0 END)::text =
       (SELECT net::text FROM av_nets WHERE seed = 1) AS zero_weight_leaves_out
FROM av_nets;
SELECT av_gap((SELECT hanami.average(net, CASE seed WHEN 1 THEN 1 ELSE 3 END) FROM av_nets WHERE seed <= 2),
              (SELECT hanami.average(net) FROM av_nets, generate_series(1, 3) g
                WHERE seed = 2 OR (seed = 1 AND g = 1))) < 1e-6 AS weight_3_is_3_copies;
SELECT av_gap((SELECT hanami.average(net, 2) FROM av_nets),
              (SELECT hanami.average(net) FROM av_nets)) < 1e-6 AS scale_of_weights_does_not_matter;
-- the mean of the parameters: the average of two differs from both
SELECT av_gap(m, a) > 1e-3 AND av_gap(m, b) > 1e-3 AS between_both
FROM (SELECT hanami.average(net) m FROM av_nets WHERE seed <= 2) x,
     (SELECT net a FROM av_nets WHERE seed = 1) y, (SELECT net b FROM av_nets WHERE seed = 2) z;
-- NULL networks and weights are skipped; no network at all: NULL
SELECT hanami.average(net)::text = (SELECT net::text FROM av_nets WHERE seed = 3) AS nulls_skipped
FROM (SELECT net FROM av_nets WHERE seed = 3 UNION ALL SELECT NULL) a;
SELECT hanami.average(net, w)::text = (SELECT net::text FROM av_nets WHERE seed = 3) AS null_weight_skipped
FROM (SELECT net, 1.0::float8 w FROM av_nets WHERE seed = 3 UNION ALL SELECT net, NULL FROM av_nets WHERE seed = 4) a;
SELECT hanami.average(net) IS NULL AS empty_is_null FROM av_nets WHERE false;
-- info: the first network's everything but the weights
SELECT hanami.info(hanami.average(net)) - 'size' - 'parameters' = hanami.info((SELECT net FROM av_nets WHERE seed = 1)) - 'size' - 'parameters'
       AS info_kept
FROM av_nets;

-- parallel: partial aggregates in workers, combined through serial forms
CREATE TABLE av_many AS SELECT n.net, (g % 5)::float8 + 0.5 AS w FROM av_nets n, generate_series(1, 3000) g;
ANALYZE av_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT hanami.average(net, w) FROM av_many;
CREATE TABLE av_par AS SELECT hanami.average(net, w) AS m FROM av_many;
RESET parallel_leader_participation;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE av_ser AS SELECT hanami.average(net, w) AS m FROM av_many;
RESET max_parallel_workers_per_gather;
SELECT av_gap(p.m, s.m) < 1e-6 AS parallel_equals_serial FROM av_par p, av_ser s;

-- refusals, each naming the difference
SELECT hanami.average(net) FROM (SELECT net FROM av_nets WHERE seed = 1
	UNION ALL SELECT hanami.network('{"layers": [3, 6, 2], "activation": "tanh"}', 1)) a;
SELECT hanami.average(net) FROM (SELECT net FROM av_nets WHERE seed = 1
	UNION ALL SELECT hanami.network('{"layers": [3, 5, 2], "activation": "relu"}', 1)) a;
SELECT hanami.average(net) FROM (SELECT net FROM av_nets WHERE seed = 1
	UNION ALL SELECT hanami.network('{"layers": [3, 5, 5, 2], "activation": "tanh"}', 1)) a;
SELECT hanami.average(net) FROM (SELECT net FROM av_nets WHERE seed = 1
	UNION ALL SELECT hanami.network('{"layers": [3, 5, 2], "activation": "tanh", "loss": "mse"}', 1)) a;
SELECT hanami.average(net) FROM (
	SELECT hanami.network('{"layers": [3, {"count": 5, "activation": {"name": "sw", "expression": "x * sigmoid(x)", "derivative": "sigmoid(x) * (1 + x * (1 - sigmoid(x)))"}}, 2]}', 1) net
	UNION ALL
	SELECT hanami.network('{"layers": [3, {"count": 5, "activation": {"name": "th", "expression": "tanh(x)", "derivative": "1 - y^2"}}, 2]}', 1)) a;
-- scaling learned by separate fits differs
SELECT hanami.average(hanami.fit(net, format('SELECT ARRAY[g, g * %s, 1]::real[], g %% 2 FROM generate_series(1, 20) g', seed), '{"epochs": 1}'))
FROM av_nets WHERE seed <= 2;
SELECT hanami.average(net, -1) FROM av_nets;
SELECT hanami.average(net, 'NaN') FROM av_nets;
SELECT hanami.average(net, 0) FROM av_nets;
SELECT hanami.average(hanami.network('{"kind": "hanami", "layers": [3, 4, 2]}', 1));
SELECT hanami.average(hanami.quantize(net, 'f16')) FROM av_nets;
SELECT hanami.average(net) FROM (SELECT net FROM av_nets WHERE seed = 1
	UNION ALL SELECT hanami.network('{"kind": "hanami", "layers": [3, 4, 2]}', 1)) a;
-- the support functions cannot be called outside the aggregate
SELECT hanami.average_trans(NULL, net) IS NULL FROM av_nets;
SELECT hanami.average_final(NULL::internal);
