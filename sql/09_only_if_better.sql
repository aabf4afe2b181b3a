-- Option only_if_better of hanami.train and hanami.train_async: the trained
-- network is committed only when it scores strictly better than the branch
-- head on the option's query (accuracy for classifiers, else mse).
\set SHOW_CONTEXT never

-- 1-D classes with a gap; "flipped" has the labels the wrong way round
CREATE TABLE oib_pts AS
SELECT ARRAY[CASE WHEN i < 10 THEN i / 20.0 ELSE 0.55 + (i - 10) / 20.0 END]::real[] AS f,
       (i >= 10)::int AS y
FROM generate_series(0, 19) i;
CREATE VIEW oib_flipped AS SELECT f, 1 - y AS y FROM oib_pts;
SELECT hanami.create_model('oib', '{"layers": [1, 8, 2]}', seed => 3) IS NOT NULL AS created;
SELECT commit_id AS c0 FROM hanami.resolve('oib') \gset

-- 1. better than the head: committed, the comparison in the commit's metrics
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts',
                    '{"epochs": 300, "seed": 1, "learning_rate": 0.05, "only_if_better": "SELECT f, y FROM oib_pts"}',
                    'better') AS c1 \gset
SELECT :c1 > :c0 AS committed,
       (SELECT commit_id FROM hanami.resolve('oib')) = :c1 AS head_moved,
       metrics -> 'only_if_better' ->> 'metric' AS metric,
       (metrics -> 'only_if_better' ->> 'better')::bool AS better,
       (metrics -> 'only_if_better' ->> 'trained')::float8 = 1 AS trained_perfect,
       (metrics -> 'only_if_better' ->> 'head')::float8 < 1 AS head_was_worse
FROM hanami.log('oib') WHERE commit_id = :c1;

-- 2. worse: trained on the flipped labels; NULL, a NOTICE with both scores,
-- the head unchanged and no training log
-- (the NOTICE's scores depend on the platform's arithmetic: shown in 3.)
SELECT count(*) AS log_rows_before FROM hanami.training_log WHERE model_id = (SELECT model_id FROM hanami.resolve('oib')) \gset
SET client_min_messages = warning;
SELECT hanami.train('oib', 'SELECT f, y FROM oib_flipped',
                    '{"epochs": 300, "seed": 1, "learning_rate": 0.05, "only_if_better": "SELECT f, y FROM oib_pts"}',
                    'worse') IS NULL AS not_committed;
RESET client_min_messages;
SELECT (SELECT commit_id FROM hanami.resolve('oib')) = :c1 AS head_unchanged,
       (SELECT count(*) FROM hanami.log('oib')) AS commits,
       (SELECT count(*) FROM hanami.training_log WHERE model_id = (SELECT model_id FROM hanami.resolve('oib'))) = :log_rows_before AS no_log_rows;

-- 3. equal is not better: no epochs leave the network as it was (the
-- DETAIL names the head's commit id)
\set VERBOSITY terse
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"epochs": 0, "only_if_better": "SELECT f, y FROM oib_pts"}') AS equal;

-- 4. regression: the mean squared error, lower is better
CREATE TABLE oib_line AS SELECT ARRAY[i / 10.0]::real[] AS x, (2 * i / 10.0 + 1)::real AS y FROM generate_series(0, 10) i;
SELECT hanami.create_model('oib_reg', '{"layers": [1, 8, 1], "activation": "identity"}', seed => 2) IS NOT NULL AS created;
SELECT hanami.train('oib_reg', 'SELECT x, y FROM oib_line',
                    '{"epochs": 200, "seed": 1, "only_if_better": "SELECT x, y FROM oib_line"}') AS r1 \gset
SELECT metrics -> 'only_if_better' ->> 'metric' AS metric,
       (metrics -> 'only_if_better' ->> 'trained')::float8 < (metrics -> 'only_if_better' ->> 'head')::float8 AS lower_mse
FROM hanami.log('oib_reg') WHERE commit_id = :r1;
SET client_min_messages = warning;
SELECT hanami.train('oib_reg', 'SELECT x, y FROM oib_line', '{"epochs": 0, "only_if_better": "SELECT x, y FROM oib_line"}') IS NULL AS equal_mse_not_committed;
RESET client_min_messages;

-- 5. bad values, and the option outside named models
\set VERBOSITY sqlstate
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"only_if_better": 5}');
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"only_if_better": ""}');
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"only_if_better": null}');
SELECT hanami.fit(hanami.load('oib'), 'SELECT f, y FROM oib_pts', '{"only_if_better": "SELECT f, y FROM oib_pts"}');
SELECT hanami.train_async('oib', 'SELECT f, y FROM oib_pts', '{"only_if_better": ["SELECT 1"]}');
\set VERBOSITY default
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"only_if_better": " \n "}');
SELECT hanami.fit(hanami.load('oib'), 'SELECT f, y FROM oib_pts', '{"only_if_better": "SELECT f, y FROM oib_pts"}');
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"epochs": 1, "only_if_better": "SELECT f FROM oib_pts"}');
SELECT hanami.train('oib', 'SELECT f, y FROM oib_pts', '{"epochs": 1, "only_if_better": "SELECT f, y FROM oib_nowhere"}');
SELECT (SELECT commit_id FROM hanami.resolve('oib')) = :c1 AS head_unchanged;

-- 6. the query runs with the caller's rights only
CREATE ROLE regress_oib_bob;
GRANT SELECT ON oib_pts TO regress_oib_bob;
CREATE TABLE oib_secret AS SELECT * FROM oib_pts;
SET ROLE regress_oib_bob;
SELECT hanami.create_model('bobs', '{"layers": [1, 8, 2]}', seed => 3) IS NOT NULL AS created;
SELECT hanami.train('bobs', 'SELECT f, y FROM oib_pts', '{"epochs": 1, "only_if_better": "SELECT f, y FROM oib_secret"}');
SELECT hanami.train_async('bobs', 'SELECT f, y FROM oib_pts', '{"epochs": 1, "only_if_better": "SELECT f, y FROM oib_secret"}') AS job \gset
SELECT hanami.wait(:job, '2 min') AS state;
SELECT state, error, commit_id FROM hanami.jobs WHERE id = :job;
RESET ROLE;

-- 7. jobs: better commits; not better succeeds with no commit and a note
SELECT hanami.train_async('oib_reg', 'SELECT x, y FROM oib_line',
                          '{"epochs": 50, "seed": 4, "only_if_better": "SELECT x, y FROM oib_line"}') AS job \gset
SELECT hanami.wait(:job, '2 min') AS state;
SELECT j.state, j.commit_id = (SELECT commit_id FROM hanami.resolve('oib_reg')) AS committed_head, j.note,
       (c.metrics -> 'only_if_better' ->> 'better')::bool AS better
FROM hanami.jobs j JOIN hanami.commits c ON c.id = j.commit_id WHERE j.id = :job;
SELECT commit_id AS reg_head FROM hanami.resolve('oib_reg') \gset
SELECT hanami.train_async('oib', 'SELECT f, y FROM oib_flipped',
                          '{"epochs": 300, "seed": 1, "learning_rate": 0.05, "only_if_better": "SELECT f, y FROM oib_pts"}') AS job \gset
SELECT hanami.wait(:job, '2 min') AS state;
SELECT state, commit_id, error, progress,
       note ~ '^not committed: the trained network''s accuracy on the only_if_better query is 0(\.[0-9]+)?, the branch head''s 1 \(higher is better\)$' AS note_gives_both
FROM hanami.jobs WHERE id = :job;
SELECT (SELECT commit_id FROM hanami.resolve('oib')) = :c1 AS head_unchanged;

-- 8. a diverging fit is still an error: train raises it, a job fails; nothing is committed
CREATE TABLE oib_far AS SELECT ARRAY[i * 1e15]::real[] AS x, i::real AS y FROM generate_series(0, 10) i;
SELECT hanami.create_model('oib_div', '{"layers": [1, 8, 1], "activation": "identity", "input_scaling": false}', seed => 1) AS div_id \gset
SELECT commit_id AS div_head FROM hanami.resolve('oib_div') \gset
SELECT hanami.train('oib_div', 'SELECT x, y FROM oib_far',
                    '{"optimizer": "sgd", "learning_rate": 1, "only_if_better": "SELECT x, y FROM oib_far"}');
SELECT hanami.train_async('oib_div', 'SELECT x, y FROM oib_far',
                          '{"optimizer": "sgd", "learning_rate": 1, "only_if_better": "SELECT x, y FROM oib_far"}') AS job \gset
SELECT hanami.wait(:job, '2 min') AS state;
SELECT state, error, commit_id FROM hanami.jobs WHERE id = :job;
SELECT (SELECT commit_id FROM hanami.resolve('oib_div')) = :div_head AS head_unchanged;

SET ROLE regress_oib_bob;
SELECT hanami.drop_model('bobs');
RESET ROLE;
REVOKE SELECT ON oib_pts FROM regress_oib_bob;
DROP ROLE regress_oib_bob;
