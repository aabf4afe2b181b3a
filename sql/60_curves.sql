-- Learning curves (hanami.learning_curve) and their pictures
-- (hanami.sparkline, hanami.plot), under row-level security.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE ROLE regress_curve_ann;	-- admin of regress_curve_a
CREATE ROLE regress_curve_ben;		-- admin of regress_curve_b
SELECT hanami.create_project('regress_curve_a'), hanami.create_project('regress_curve_b');
SELECT hanami.add_member('regress_curve_a', 'regress_curve_ann', 'admin');
SELECT hanami.add_member('regress_curve_b', 'regress_curve_ben', 'admin');
CREATE TABLE curve_pts (a real, b real, y int);
INSERT INTO curve_pts SELECT a, b, (a::int # b::int)
FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b), generate_series(1, 10);
GRANT SELECT ON curve_pts TO PUBLIC;

-- 1. the curve of a commit made by train(): one value per epoch
SET ROLE regress_curve_ann;
SELECT hanami.create_model('xor', '{"layers": [2, 8, 2]}', 'regress_curve_a', 7) > 0 AS created;
SELECT hanami.train('xor', 'SELECT a, b, y FROM curve_pts',
                    '{"epochs": 6, "validation_split": 0.25, "seed": 3}') > 0 AS trained;
SELECT hanami.learning_curve('xor') AS c \gset
SELECT ARRAY(SELECT jsonb_object_keys(:'c'::jsonb) ORDER BY 1) AS keys,
       :'c'::jsonb -> 'epochs' AS epochs,
       (SELECT bool_and(jsonb_array_length(v) = 6) FROM jsonb_each(:'c'::jsonb) e(k, v)) AS all_six,
       (:'c'::jsonb #>> '{loss,5}')::float8 < (:'c'::jsonb #>> '{loss,0}')::float8 AS loss_fell,
       (SELECT bool_and((x::text)::float8 BETWEEN 0 AND 1) FROM jsonb_array_elements(:'c'::jsonb -> 'val_accuracy') x) AS accuracy_in_0_1;
-- the same through model@branch and model#commit; a commit not made by training has none
SELECT hanami.learning_curve('xor@main') = :'c'::jsonb AS by_branch,
       hanami.learning_curve('xor#' || (SELECT commit_id FROM hanami.resolve('xor'))) = :'c'::jsonb AS by_commit;
SELECT hanami.learning_curve('xor#' || (SELECT min(id) FROM hanami.commits WHERE model_id =
       (SELECT model_id FROM hanami.resolve('xor')))) AS first_commit;
SELECT hanami.sparkline(hanami.learning_curve('xor')) ~ '^loss [▁▂▃▄▅▆▇█]{6} min [0-9.e-]+ \(epoch [1-6]\) max [0-9.e-]+ \(epoch [1-6]\)$' AS sparkline_of_loss;

-- 2. the curve of a background job, read while and after it runs
SELECT hanami.train_async('xor', 'SELECT a, b, y FROM curve_pts', '{"epochs": 4, "seed": 5}') AS job \gset
SELECT hanami.wait(:job, '2 min') AS state;
SELECT hanami.learning_curve(:job) -> 'epochs' AS job_epochs,
       jsonb_array_length(hanami.learning_curve(:job) -> 'loss') AS job_losses,
       hanami.learning_curve(:job) = hanami.learning_curve('xor') AS same_as_its_commit;

-- 3. another project's role sees neither: the errors of things that do not exist
SET ROLE regress_curve_ben;
\set VERBOSITY sqlstate
SELECT hanami.learning_curve(:job);  -- "job N does not exist" (42704), as for -1 below
\set VERBOSITY default
SELECT hanami.learning_curve('regress_curve_a/xor');
SELECT hanami.learning_curve('xor');
SELECT count(*) AS log_rows_seen FROM hanami.training_log;
RESET ROLE;
SELECT hanami.learning_curve(-1);
SELECT hanami.learning_curve(NULL::bigint) IS NULL AS null_job;

-- 4. sparkline: the loss, else the first series; bare arrays; gaps; averaging
SELECT hanami.sparkline('{"epochs": [1,2,3,4,5,6,7,8], "loss": [8,7,6,5,4,3,2,1], "val_loss": [1,1,1,1,1,1,1,1]}');
SELECT hanami.sparkline('{"val_accuracy": [0.5, null, 0.75, "NaN", 1]}');
SELECT hanami.sparkline('[3, 3, 3]');
SELECT hanami.sparkline('[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120]');
SELECT hanami.sparkline('{"epochs": []}') IS NULL AS empty_is_null,
       hanami.sparkline('{"loss": [null, "NaN"]}') IS NULL AS no_finite_is_null;

-- 5. plot: a well-formed SVG document, one polyline per series, the legend
SELECT hanami.plot('{"epochs": [1,2,3,4], "loss": [0.9, 0.5, null, 0.2], "val_loss": [1.0, 0.7, 0.6, "Infinity"], "val_accuracy": [0.5, 0.6, 0.8, 0.9]}',
                   '{"title": "xor <& \"friends\">", "width": 500, "height": 300}') AS svg \gset
SELECT xml_is_well_formed_document(:'svg') AS well_formed,
       (SELECT count(*) FROM regexp_matches(:'svg', '<polyline', 'g')) AS polylines,
       :'svg' LIKE '%>xor &lt;&amp; &quot;friends&quot;&gt;</text>%' AS title_escaped,
       :'svg' LIKE '%<svg %width="500" height="300"%' AS sized,
       (xpath('count(//*[local-name()="g"][@class="legend"]/*[local-name()="text"])', :'svg'::xml))[1]::text::int AS legend_entries,
       ARRAY(SELECT unnest(xpath('//*[local-name()="g"][@class="legend"]/*[local-name()="text"]/text()', :'svg'::xml))::text) AS legend;
-- the skipped values: 3 points of loss, 3 of val_loss, 4 of val_accuracy
SELECT array_agg(array_length(string_to_array(m[1], ' '), 1) ORDER BY n) AS points_per_line
FROM regexp_matches(:'svg', 'points="([^"]*)"', 'g') WITH ORDINALITY r(m, n);
-- hostile series names are escaped; the curve of a training plots
SELECT xml_is_well_formed_document(hanami.plot('{"<b>&\u0001\"x\"": [1, 2]}')) AS hostile_name_escaped,
       xml_is_well_formed_document(hanami.plot(hanami.learning_curve('regress_curve_a/xor') - 'rows_per_second',
                                               '{"title": "xor", "y_label": "loss / accuracy"}')) AS curve_plots;

-- 6. errors
SELECT hanami.plot('[1, 2, 3]');
SELECT hanami.plot('{"loss": 1}');
SELECT hanami.plot('{"epochs": [1, 2, 3], "loss": [1, 2]}');
SELECT hanami.plot('{"loss": [1, "a"]}');
SELECT hanami.plot('{"loss": [1, [2]]}');
SELECT hanami.plot('{"epochs": [1, null], "loss": [1, 2]}');
SELECT hanami.plot('{"epochs": []}');
SELECT hanami.plot('{"loss": [null, "NaN"]}');
SELECT hanami.plot(jsonb_build_object('loss', (SELECT jsonb_agg(i) FROM generate_series(1, 10001) i)));
SELECT hanami.plot((SELECT jsonb_object_agg('s' || i, '[1]'::jsonb) FROM generate_series(1, 17) i));
SELECT hanami.plot('{"loss": [1, 2]}', '{"width": 50}');
SELECT hanami.plot('{"loss": [1, 2]}', '{"height": 100000}');
SELECT hanami.plot('{"loss": [1, 2]}', '{"colour": "red"}');
SELECT hanami.plot('{"loss": [1, 2]}', '{"title": 3}');
SELECT hanami.plot('{"loss": [1, 2]}', '[]');
SELECT hanami.sparkline('"loss"');
SELECT hanami.sparkline('{"loss": [1, 2], "val_loss": [1]}');

DROP TABLE curve_pts;
SELECT hanami.drop_model('regress_curve_a/xor');
DELETE FROM hanami.projects WHERE project IN ('regress_curve_a'::regrole, 'regress_curve_b'::regrole);
SELECT hanami.gc() >= 0 AS collected;
DROP ROLE regress_curve_ann, regress_curve_ben, regress_curve_a, regress_curve_b;
