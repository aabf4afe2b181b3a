-- early_stopping and restore_best: fits that stop when the validation loss
-- no longer falls, and keep the weights of its best epoch.
SET client_min_messages = warning;

-- few noisy rows of a smooth curve: a wide network soon overfits them
CREATE TABLE noisy (x real, y real);
INSERT INTO noisy
SELECT i / 40.0, sin(6 * i / 40.0) + ((i * 7919) % 13 - 6) / 10.0
FROM generate_series(1, 60) i;
CREATE TABLE w AS
SELECT hanami.network('{"layers": [1, 64, {"count": 1, "activation": "identity"}], "activation": "tanh"}', 5) AS net;

-- the fit stops patience epochs after its best, well before 400 epochs
CREATE TABLE es AS
SELECT (f).net, (f).report
FROM w, hanami.fit_report(net, 'SELECT x, y FROM noisy',
                          '{"epochs": 400, "learning_rate": 0.02, "batch_size": 8, "validation_split": 0.25, "seed": 1,
                            "early_stopping": {"patience": 4, "min_delta": 0}}') f;
SELECT report ->> 'stop' AS stop,
       (report ->> 'epochs')::int < 400 AS stopped_early,
       (report ->> 'epochs')::int - (report ->> 'best_epoch')::int AS epochs_after_best,
       report -> 'restored' AS restored,
       jsonb_array_length(report -> 'history') = (report ->> 'epochs')::int AS every_epoch_in_history,
       (hanami.info(net) -> 'trained' ->> 'epochs') = report ->> 'epochs' AS counters_count_every_epoch
FROM es;

-- restore_best (on with early_stopping): the validation loss reported is the
-- lowest of the history, and the network is exactly that of a fit that ran
-- to the best epoch only
SELECT (report ->> 'val_loss')::float8 =
       (SELECT min((h ->> 'val_loss')::float8) FROM jsonb_array_elements(report -> 'history') h) AS best_val_loss,
       (report ->> 'val_loss')::float8 <
       ((report -> 'history' -> -1) ->> 'val_loss')::float8 AS better_than_last
FROM es;
SELECT bool_and(hanami.run(es.net, ARRAY[x]) =
                hanami.run(hanami.fit(w.net, 'SELECT x, y FROM noisy',
                                      jsonb_build_object('epochs', (es.report ->> 'best_epoch')::int,
                                                         'learning_rate', 0.02, 'batch_size', 8,
                                                         'validation_split', 0.25, 'seed', 1)),
                           ARRAY[x])) AS weights_of_best_epoch
FROM es, w, (SELECT x FROM noisy WHERE x IN (0.25, 0.5, 1.0)) n;

-- restore_best off: the same stop, the last epoch's weights
SELECT (f).report ->> 'stop' AS stop, (f).report -> 'restored' AS restored,
       (f).report ->> 'epochs' = es.report ->> 'epochs' AS same_epochs,
       ((f).report ->> 'val_loss')::float8 = (((f).report -> 'history' -> -1) ->> 'val_loss')::float8 AS last_val_loss
FROM es, w, hanami.fit_report(w.net, 'SELECT x, y FROM noisy',
                              '{"epochs": 400, "learning_rate": 0.02, "batch_size": 8, "validation_split": 0.25, "seed": 1,
                                "early_stopping": 4, "restore_best": false}') f;

-- deterministic
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"epochs": 30, "validation_split": 0.25, "restore_best": true}')::bytea =
       hanami.fit(net, 'SELECT x, y FROM noisy', '{"epochs": 30, "validation_split": 0.25, "restore_best": true}')::bytea AS deterministic
FROM w;

-- errors: no validation rows, bad values, a growing network
\set VERBOSITY default
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": 5}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"restore_best": true}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy LIMIT 3', '{"early_stopping": 5, "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": 0, "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": "5", "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": {"min_delta": 0.1}, "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": {"patience": 3, "delta": 0.1}, "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"early_stopping": {"patience": 3, "min_delta": -1}, "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"restore_best": "yes", "validation_split": 0.2}') FROM w;
\echo :SQLSTATE
SELECT hanami.fit(hanami.network('{"kind": "hanami", "layers": [1, 4, 1]}', 1), 'SELECT x, y FROM noisy', '{"early_stopping": 5}');
\echo :SQLSTATE

-- validation_query: validation rows of their own, also for streamed fits
-- (the 18,000 rows of 8 bytes exceed 64kB, so they are read again every
-- epoch)
CREATE TABLE noisy_val AS
SELECT i / 40.0 + 0.0125 AS x, sin(6 * (i / 40.0 + 0.0125)) AS y FROM generate_series(1, 60, 3) i;
SET hanami.dataset_memory = '64kB';
CREATE TABLE big_noisy AS
SELECT x + k * 0 AS x, y FROM noisy, generate_series(1, 300) k;
SELECT (f).report ->> 'stop' AS stop,
       ((f).report ->> 'rows')::int AS rows,
       ((f).report ->> 'validation_rows')::int AS validation_rows,
       ((f).report ->> 'epochs')::int - ((f).report ->> 'best_epoch')::int AS epochs_after_best,
       (f).report -> 'restored' AS restored
FROM w, hanami.fit_report(net, 'SELECT x, y FROM big_noisy',
                          '{"epochs": 60, "learning_rate": 0.02, "batch_size": 64, "seed": 1,
                            "early_stopping": 2, "validation_query": "SELECT x, y FROM noisy_val"}') f;
RESET hanami.dataset_memory;
-- in memory too: every query row trains, and the best epoch is kept
SELECT ((f).report ->> 'rows')::int AS rows,
       ((f).report ->> 'validation_rows')::int AS validation_rows,
       ((f).report ->> 'val_loss')::float8 =
       (SELECT min((h ->> 'val_loss')::float8) FROM jsonb_array_elements((f).report -> 'history') h) AS best_val_loss
FROM w, hanami.fit_report(net, 'SELECT x, y FROM noisy',
                          '{"epochs": 30, "learning_rate": 0.02, "seed": 1, "restore_best": true,
                            "validation_query": "SELECT x, y FROM noisy_val"}') f;
\set VERBOSITY terse
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"validation_split": 0.2, "validation_query": "SELECT x, y FROM noisy_val"}') FROM w;
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"validation_query": ""}') FROM w;
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"validation_query": 3}') FROM w;
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"validation_query": "SELECT x FROM noisy_val"}') FROM w;
SELECT hanami.fit(net, 'SELECT x, y FROM noisy', '{"validation_query": "DELETE FROM noisy_val"}') FROM w;
\set VERBOSITY default
SELECT count(*) AS validation_rows_kept FROM noisy_val;
SET hanami.dataset_memory = '64kB';
SELECT hanami.fit(net, 'SELECT x, y FROM big_noisy', '{"early_stopping": 2}') FROM w;
RESET hanami.dataset_memory;
DROP TABLE noisy_val, big_noisy;

DROP TABLE es, w, noisy;
