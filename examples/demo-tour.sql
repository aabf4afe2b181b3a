-- examples/demo-tour.sql - the rest of the product, after examples/demo.sh's
-- first model: a project with two roles, a named model trained by a
-- background job (with its progress), a branch, history, a diff, inline
-- predictions by name, an evaluation, a learning curve (sparkline and SVG
-- file) and what a role of another project sees.
--
-- Needs: a superuser session (it creates roles), the extension, a login
-- session role (jobs connect as it), and the table
--   digits (id int, x real[], label int, is_test boolean)
-- Variables: curve_file, where the learning curve's SVG is written (by psql,
-- on the client's side). Run it with ON_ERROR_STOP=1:
--   psql -v ON_ERROR_STOP=1 -v curve_file=/tmp/curve.svg -f examples/demo-tour.sql
-- Roles alice, bob and carol and projects digits_lab and other_lab must not
-- exist yet (a fresh cluster).

\echo
\echo '=== 1. A project with two roles (alice: admin, bob: member) and another project (carol)'
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
GRANT SELECT ON digits TO alice, bob, carol;
SELECT hanami.create_project('digits_lab');
SELECT hanami.add_member('digits_lab', 'alice', 'admin');
SELECT hanami.add_member('digits_lab', 'bob');
SELECT hanami.create_project('other_lab');
SELECT hanami.add_member('other_lab', 'carol');

\echo
\echo '=== 2. alice creates a named model in the project'
SET ROLE alice;
SELECT hanami.create_model('recognizer',
       '{"layers": [64, {"count": 256, "name": "hidden"}, {"count": 10, "name": "out"}]}',
       'digits_lab', seed => 42) AS model_id;

\echo
\echo '=== 3. ... and trains it in the background (hanami.train_async); the job starts at commit'
SELECT hanami.train_async('recognizer', 'SELECT x, label FROM digits WHERE NOT is_test',
       '{"epochs": 40, "batch_size": 1, "learning_rate": 0.0001, "validation_split": 0.2}',
       'first training') AS job \gset
SELECT set_config('demo.job', :'job', false) AS job;

\echo
\echo '=== 4. Its progress while it runs (hanami.jobs, polled), then hanami.wait'
DO $$
DECLARE
    job bigint := current_setting('demo.job')::bigint;
    j record;
    seen text := '';
    deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
    LOOP
        SELECT state, progress, epoch, epochs, loss, rows_per_second INTO j
        FROM hanami.jobs WHERE id = job;
        IF j.state || j.epoch IS DISTINCT FROM seen THEN
            seen := j.state || j.epoch;
            RAISE NOTICE 'job %: % %', job, rpad(j.state, 9),
                CASE WHEN j.epoch IS NULL OR j.epoch = 0 THEN ''
                     ELSE format('epoch %s/%s  %s%%  loss %s  %s rows/s', j.epoch, j.epochs,
                                 round(j.progress::numeric), round(j.loss::numeric, 4),
                                 round(j.rows_per_second::numeric)) END;
        END IF;
        EXIT WHEN j.state NOT IN ('queued', 'running') OR clock_timestamp() > deadline;
        PERFORM pg_sleep(0.1);
    END LOOP;
END
$$;
SELECT hanami.wait(:job, '10 min') AS state;
SELECT id, model, branch, state, epochs, round(loss::numeric, 4) AS loss, commit_id,
       finished_at - started_at AS took
FROM hanami.jobs WHERE id = :job;

\echo
\echo '=== 5. A branch, and a fine-tuning of its output layer only (hanami.train)'
SELECT hanami.branch('recognizer', 'finetune') AS head;
SELECT hanami.train('recognizer@finetune', 'SELECT x, label FROM digits WHERE NOT is_test',
       '{"epochs": 5, "to_skip": ["hidden"]}', 'fine-tune the output layer') AS commit_id;
SELECT name, head FROM hanami.branches ORDER BY name;

\echo
\echo '=== 6. History (hanami.log) and what changed (hanami.diff)'
SELECT commit_id, parent, branch, message, author, round((metrics->>'loss')::numeric, 4) AS loss
FROM hanami.log('recognizer@finetune');
SELECT jsonb_pretty(hanami.diff('recognizer', 'recognizer@finetune')) AS diff;

\echo
\echo '=== 7. bob, a member, predicts inline by name (hanami.predict_class)'
RESET ROLE;
SET ROLE bob;
SELECT d.id, d.label, hanami.predict_class('digits_lab/recognizer', d.x) AS predicted
FROM digits d WHERE d.is_test ORDER BY d.id LIMIT 5;

\echo
\echo '=== 8. Evaluation on the held-out rows (hanami.evaluate), main against the branch'
SELECT ref, round((e->>'accuracy')::numeric, 4) AS accuracy, round((e->>'loss')::numeric, 4) AS loss,
       e->>'rows' AS rows
FROM (VALUES ('digits_lab/recognizer'), ('digits_lab/recognizer@finetune')) r(ref),
     LATERAL hanami.evaluate(ref, 'SELECT x, label FROM digits WHERE is_test') e;

\echo
\echo '=== 9. The job''s learning curve: a sparkline, and an SVG chart written to' :curve_file
SELECT hanami.sparkline(hanami.learning_curve(:job)) AS loss;
SELECT hanami.sparkline(hanami.learning_curve(:job) -> 'val_accuracy') AS val_accuracy;
SELECT hanami.plot(hanami.learning_curve(:job) - 'rows_per_second',
                   ('{"title": "digits_lab/recognizer, job ' || :'job' || '", "x_label": "epoch", "y_label": "loss / accuracy"}')::jsonb)
\g (format=unaligned tuples_only=on) :curve_file
\echo wrote :curve_file

\echo
\echo '=== 10. carol, of another project, sees nothing of it'
RESET ROLE;
SET ROLE carol;
SELECT (SELECT count(*) FROM hanami.models) AS models,
       (SELECT count(*) FROM hanami.jobs) AS jobs,
       (SELECT count(*) FROM hanami.training_log) AS log_rows;
\echo 'and using the model by name fails as if it did not exist:'
\set VERBOSITY terse
\set ON_ERROR_STOP 0
SELECT hanami.predict_class('digits_lab/recognizer', x) FROM digits LIMIT 1;
\set ON_ERROR_STOP 1
\set VERBOSITY default
RESET ROLE;
