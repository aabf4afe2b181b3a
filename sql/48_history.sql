-- Graph layers with a history (recurrence): a sequence task that needs it,
-- the sequence option, run() with and without reset, the text form, info,
-- named models, and what is refused.
SET extra_float_digits = 0;
-- 60 noisy sine waves of random phase; the target is each row's next value,
-- which the current value alone cannot tell (is the wave rising or falling?)
SELECT setseed(0.42);
CREATE TABLE hi_waves AS
SELECT s AS seq, t, x, lead(x) OVER (PARTITION BY s ORDER BY t) AS y
FROM (SELECT s, t, (sin(ph + 0.5 * t) + 0.05 * (random() - 0.5))::real AS x
      FROM (SELECT s, 2 * pi() * random() AS ph FROM generate_series(1, 60) s) p,
           generate_series(0, 30) t) w;
DELETE FROM hi_waves WHERE y IS NULL;
-- the same graph with and without a history of one row, trained alike
CREATE TABLE hi_nets AS
SELECT 'history' AS kind, hanami.fit(hanami.network('{"kind": "graph", "layers": [1, {"count": 8, "activation": "tanh", "history": 1}, {"count": 1, "activation": "identity"}]}', 7),
  'SELECT x, y, seq FROM hi_waves WHERE seq <= 45 ORDER BY seq, t',
  '{"sequence": "seq", "epochs": 40, "batch_size": 10, "learning_rate": 0.01}') AS net
UNION ALL
SELECT 'plain', hanami.fit(hanami.network('{"kind": "graph", "layers": [1, {"count": 8, "activation": "tanh"}, {"count": 1, "activation": "identity"}]}', 7),
  'SELECT x, y FROM hi_waves WHERE seq <= 45 ORDER BY seq, t',
  '{"epochs": 40, "batch_size": 10, "learning_rate": 0.01}');
CREATE TABLE hi_scores AS
SELECT kind, (hanami.verify(net, 'SELECT x, y, seq FROM hi_waves WHERE seq > 45 ORDER BY seq, t',
                            '{"sequence": "seq"}') ->> 'mse')::float8 AS mse
FROM hi_nets WHERE kind = 'history'
UNION ALL
SELECT kind, (hanami.verify(net, 'SELECT x, y FROM hi_waves WHERE seq > 45 ORDER BY seq, t') ->> 'mse')::float8
FROM hi_nets WHERE kind = 'plain';
-- held-out sequences: the history at least halves the error, by far
SELECT h.mse * 4 <= p.mse AS history_quarters_the_mse, h.mse <= 0.03 AS history_mse_le_003,
       p.mse >= 0.05 AS plain_cannot_know_the_direction
FROM hi_scores h, hi_scores p WHERE h.kind = 'history' AND p.kind = 'plain';
-- rows taken as one sequence, not cut at each wave: worse than cut
SELECT (hanami.verify(net, 'SELECT x, y FROM hi_waves WHERE seq > 45 ORDER BY seq, t') ->> 'mse')::float8
       >= (SELECT mse FROM hi_scores WHERE kind = 'history') AS uncut_no_better
FROM hi_nets WHERE kind = 'history';
-- evaluation does not depend on the rows before: the same figures twice
SELECT hanami.verify(net, 'SELECT x, y, seq FROM hi_waves WHERE seq > 55 ORDER BY seq, t', '{"sequence": "seq"}')
     = hanami.verify(net, 'SELECT x, y, seq FROM hi_waves WHERE seq > 55 ORDER BY seq, t', '{"sequence": "seq"}') AS verify_repeats
FROM hi_nets WHERE kind = 'history';
-- run(net, x, reset) carries the state from row to row; reset at each wave
-- gives the rows' outputs that verify measured
SELECT abs(avg((o.out[1] - o.y) ^ 2) - (SELECT mse FROM hi_scores WHERE kind = 'history')) < 1e-6 AS run_reset_matches_verify
FROM (SELECT hanami.run(n.net, ARRAY[w.x], w.t = 0) AS out, w.y
      FROM (SELECT * FROM hi_waves WHERE seq > 45 ORDER BY seq, t OFFSET 0) w,
           (SELECT net FROM hi_nets WHERE kind = 'history') n) o;
-- run(net, x): a fresh sequence of one row, every call
SELECT bool_and(hanami.run(n.net, ARRAY[w.x]) = hanami.run(n.net, ARRAY[w.x], true)) AS run_is_one_fresh_row,
       bool_or(hanami.run(n.net, ARRAY[w.x]) <> hanami.run(n.net, ARRAY[w.x], false)) AS carried_state_differs
FROM (SELECT * FROM hi_waves WHERE seq = 50 ORDER BY t OFFSET 0) w,
     (SELECT net FROM hi_nets WHERE kind = 'history') n;
-- a trained value carries no state: reset_state() leaves it as it is
SELECT hanami.reset_state(net)::bytea = net::bytea AS fit_leaves_no_state FROM hi_nets WHERE kind = 'history';
-- the text form round-trips; info shows the history and its parameters
SELECT net::text::hanami.network::bytea = net::bytea AS text_round_trip,
       hanami.info(net) -> 'layers' -> 1 ->> 'history' AS history,
       hanami.info(net) -> 'layers' -> 1 ->> 'parameters' AS hidden_parameters
FROM hi_nets WHERE kind = 'history';
SELECT hanami.info(hanami.network('{"kind": "graph", "layers": [{"count": 2, "name": "in"}, {"count": 3, "name": "h", "history": 4}, {"count": 2, "from": ["h", "in"], "history": 2}]}', 1)) -> 'layers' AS layers;
-- a named model: train and evaluate by sequences, predict one row
SELECT hanami.create_model('hi_model', '{"kind": "graph", "layers": [1, {"count": 8, "activation": "tanh", "history": 1}, {"count": 1, "activation": "identity"}]}', seed => 7) IS NOT NULL AS created;
SELECT hanami.train('hi_model', 'SELECT x, y, seq FROM hi_waves WHERE seq <= 45 ORDER BY seq, t',
                    '{"sequence": "seq", "epochs": 40, "batch_size": 10, "learning_rate": 0.01}') IS NOT NULL AS trained;
SELECT (hanami.evaluate('hi_model', 'SELECT x, y, seq FROM hi_waves WHERE seq > 45 ORDER BY seq, t', '{"sequence": "seq"}') ->> 'mse')::float8 <= 0.03 AS model_mse_le_003,
       hanami.predict('hi_model', ARRAY[0.5::real]) = hanami.run(hanami.load('hi_model'), ARRAY[0.5::real]) AS predict_is_run
;
-- a graph with history embedded as a layer keeps its history: over a
-- sequence the outer network gives the embedded one's outputs
CREATE TEMP TABLE hi_embed AS
SELECT n AS inner_net,
       hanami.network(jsonb_build_object('layers', jsonb_build_array(
           jsonb_build_object('count', 2, 'name', 'x'),
           jsonb_build_object('name', 'e', 'net', n::text::jsonb, 'output', true))), 1) AS outer_net
FROM hanami.network('{"kind": "graph", "layers": [{"count": 2, "name": "i"}, {"count": 3, "name": "h", "history": 2},
                                                 {"count": 1, "name": "o", "activation": "identity"}]}', 1) n;
SELECT hanami.info(outer_net) -> 'layers' -> 1 -> 'history' AS embedded_history,
       bool_and(hanami.run(inner_net, ARRAY[sin(i), cos(i)]::real[], i = 1)
                = hanami.run(outer_net, ARRAY[sin(i), cos(i)]::real[], i = 1)) AS embedded_sequence_same
FROM hi_embed, generate_series(1, 6) i GROUP BY 1;

-- refused, each with its reason
\set VERBOSITY default
SELECT hanami.network('{"kind": "graph", "layers": [{"count": 2, "history": 1}, 3]}');
SELECT hanami.network('{"kind": "graph", "layers": [2, {"count": 3, "history": 65}]}');
SELECT hanami.fit(net, 'SELECT x, y FROM hi_waves', '{"shuffle": true}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.fit(net, 'SELECT x, y FROM hi_waves', '{"validation_split": 0.2}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.fit(net, 'SELECT x, y, seq FROM hi_waves', '{"sequence": "seq"}') FROM hi_nets WHERE kind = 'plain';
SELECT hanami.verify(net, 'SELECT x, y FROM hi_waves', '{"sequence": "wave"}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.verify(net, 'SELECT x, y, NULLIF(seq, 50) AS seq FROM hi_waves ORDER BY seq, t', '{"sequence": "seq"}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.verify(net, 'SELECT x, y, seq FROM hi_waves', '{"sequence": "y", "target": "y"}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.verify(net, 'SELECT x, y, point(seq, 0) AS seq FROM hi_waves', '{"sequence": "seq"}') FROM hi_nets WHERE kind = 'history';
SELECT hanami.fit(net, 'SELECT x, y FROM hi_waves', '{"device": "opencl"}') FROM hi_nets WHERE kind = 'history';
\set VERBOSITY terse
