-- Reshaping a stored growing ("hanami") model: a trained digits network
-- (data/digits.csv, written by examples/datasets.py) gets a wider hidden
-- cell and a new one; its held-out accuracy stays the same before any
-- further training, it goes on learning and grows into the new neurons;
-- diff() shows the change; bad descriptions are errors.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'

CREATE TABLE gr_digits (id int, x real[], label int, is_test boolean);
COPY gr_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);

SELECT hanami.create_model('gr', '{"kind": "hanami", "settings": {"max_connection_distance": 2}, "layers": [64, 128, 10]}', seed => 1) IS NOT NULL AS created;
SELECT hanami.train('gr', 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                    '{"epochs": 4, "learning_rate": 0.05, "seed": 1}') AS trained \gset
CREATE TABLE gr_acc (stage text, accuracy float8);
INSERT INTO gr_acc SELECT 'trained', (hanami.evaluate('gr', 'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT accuracy >= 0.85 AS trained_accuracy_ge_85 FROM gr_acc;

-- 1. the hidden cell 128 -> 192 neurons, and a new hidden cell beside it
SELECT hanami.reshape('gr', '{"cells": [{"from": 0}, {"from": 1, "neurons": 192}, {"from": 2}, {"position": [1, -1], "neurons": 32, "name": "extra"}]}',
                      'wider, and a new cell') AS wider \gset
SELECT jsonb_path_query_array(hanami.info(hanami.load('gr')), '$.cells[*].neurons') AS neurons;
SELECT message, metrics -> 'reshape' -> 'function_kept' AS function_kept,
       jsonb_path_query_array(metrics, '$.reshape.cells[*].change') AS changes
FROM hanami.log('gr') WHERE commit_id = :wider;
-- held-out accuracy before any further training: the same (exactly)
INSERT INTO gr_acc SELECT 'reshaped', (hanami.evaluate('gr', 'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT r.accuracy >= t.accuracy - 0.01 AS accuracy_kept, r.accuracy = t.accuracy AS accuracy_same
FROM gr_acc t, gr_acc r WHERE t.stage = 'trained' AND r.stage = 'reshaped';
-- the outputs themselves: the same bits on every row
SELECT count(*) AS rows,
       count(*) FILTER (WHERE array_send(hanami.predict('gr#' || :trained, x)) = array_send(hanami.predict('gr', x))) AS same_bits
FROM gr_digits;
-- the sections are stored unchanged (the new cell comes last, the new
-- neurons at the end of their cell): shared with the parent
SELECT k.segment, bool_and(EXISTS (SELECT 1 FROM hanami.commit_blocks p
                                   WHERE p.commit_id = :trained AND p.hash = k.hash)) AS shared_with_parent
FROM hanami.commit_blocks k WHERE k.commit_id = :wider GROUP BY k.segment ORDER BY min(k.seq);
-- diff: the reshape between the two commits
SELECT jsonb_path_query_array(d, '$.architecture.reshapes[*].changes.cells[*].change') AS reshapes
FROM hanami.diff('gr#' || :trained, 'gr') d;

-- 2. it goes on learning
SELECT hanami.train('gr', 'SELECT x, label FROM gr_digits WHERE NOT is_test',
                    '{"epochs": 2, "learning_rate": 0.02, "seed": 2}') > 0 AS trained_on;
INSERT INTO gr_acc SELECT 'trained on', (hanami.evaluate('gr', 'SELECT x, label FROM gr_digits WHERE is_test') ->> 'accuracy')::float8;
SELECT a.accuracy >= t.accuracy - 0.01 AS still_learns
FROM gr_acc t, gr_acc a WHERE t.stage = 'trained' AND a.stage = 'trained on';

-- 3. errors
SELECT hanami.reshape('gr', '{"cells": [{"from": 1}, {"from": 2}, {"from": 3}]}');
SELECT hanami.reshape('gr', '{"layers": [64, 192, 11, 32]}');
SELECT hanami.reshape('gr', '{"layers": [64, 192]}');
SELECT hanami.reshape('gr', '{"cells": [{"from": 0}, {"from": 2}, {"from": 1}, {"from": 3}]}');
SELECT hanami.reshape('gr', '{"cells": [{"from": 0}, {"from": 1}, {"position": [1, 1]}, {"from": 2}, {"from": 3}]}');
SELECT hanami.reshape('gr', '{"layers": [64, 192, 10, 32], "width": 3}');
SELECT hanami.reshape('gr', '{"cells": [{"from": 0}, {"from": 2}]}');
-- removing a hidden cell: its sections and those into it go (reported)
SELECT hanami.reshape('gr', '{"cells": [{"from": 0}, {"from": 1}, {"from": 2}]}', 'without extra') AS removed \gset
SELECT metrics -> 'reshape' -> 'removed' -> 0 -> 'name' AS removed_cell,
       metrics -> 'reshape' -> 'function_kept' AS function_kept
FROM hanami.log('gr') WHERE commit_id = :removed;
SELECT hanami.reshape('gr', '{"kind": "dense", "layers": [64, 10]}');

SELECT hanami.drop_model('gr');
DROP TABLE gr_digits, gr_acc;
