-- Learning curves and their pictures -----------------------------------------
--
-- learning_curve() reads hanami.training_log as the caller (SECURITY
-- INVOKER, so its row-level security applies): a job or a commit that the
-- caller cannot see is "does not exist".  sparkline() and plot() draw any
-- object of equally long numeric arrays, such as a learning curve.

CREATE FUNCTION @extschema@.learning_curve(job pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
AS $$
BEGIN
	PERFORM 1 FROM @extschema@.job_queue j WHERE j.id OPERATOR(pg_catalog.=) job;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % does not exist', job USING ERRCODE = '42704';
	END IF;
	RETURN (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			'epochs', COALESCE(pg_catalog.jsonb_agg(l.epoch ORDER BY l.epoch), '[]'),
			'loss', CASE WHEN pg_catalog.count(l.loss) OPERATOR(pg_catalog.>) 0
						 THEN pg_catalog.jsonb_agg(l.loss ORDER BY l.epoch) END,
			'val_loss', CASE WHEN pg_catalog.count(l.val_loss) OPERATOR(pg_catalog.>) 0
							 THEN pg_catalog.jsonb_agg(l.val_loss ORDER BY l.epoch) END,
			'val_accuracy', CASE WHEN pg_catalog.count(l.val_accuracy) OPERATOR(pg_catalog.>) 0
								 THEN pg_catalog.jsonb_agg(l.val_accuracy ORDER BY l.epoch) END,
			'rows_per_second', CASE WHEN pg_catalog.count(l.rows_per_second) OPERATOR(pg_catalog.>) 0
									THEN pg_catalog.jsonb_agg(l.rows_per_second ORDER BY l.epoch) END))
			FROM @extschema@.training_log l WHERE l.job_id OPERATOR(pg_catalog.=) job);
END
$$;

COMMENT ON FUNCTION @extschema@.learning_curve(pg_catalog.int8) IS
	'the per-epoch series of a background job as you see it: {"epochs": [...], "loss": [...], "val_loss", "val_accuracy", "rows_per_second"} (keys present when logged)';

CREATE FUNCTION @extschema@.learning_curve(ref pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	cid pg_catalog.int8 := (SELECT r.commit_id FROM @extschema@.resolve(ref) r);
BEGIN
	RETURN (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			'epochs', COALESCE(pg_catalog.jsonb_agg(l.epoch ORDER BY l.epoch), '[]'),
			'loss', CASE WHEN pg_catalog.count(l.loss) OPERATOR(pg_catalog.>) 0
						 THEN pg_catalog.jsonb_agg(l.loss ORDER BY l.epoch) END,
			'val_loss', CASE WHEN pg_catalog.count(l.val_loss) OPERATOR(pg_catalog.>) 0
							 THEN pg_catalog.jsonb_agg(l.val_loss ORDER BY l.epoch) END,
			'val_accuracy', CASE WHEN pg_catalog.count(l.val_accuracy) OPERATOR(pg_catalog.>) 0
								 THEN pg_catalog.jsonb_agg(l.val_accuracy ORDER BY l.epoch) END,
			'rows_per_second', CASE WHEN pg_catalog.count(l.rows_per_second) OPERATOR(pg_catalog.>) 0
									THEN pg_catalog.jsonb_agg(l.rows_per_second ORDER BY l.epoch) END))
			FROM @extschema@.training_log l WHERE l.commit_id OPERATOR(pg_catalog.=) cid);
END
$$;

COMMENT ON FUNCTION @extschema@.learning_curve(pg_catalog.text) IS
	'the per-epoch series of the training that made a commit (model, model@branch, model#commit) as you see it; {"epochs": []} for a commit not made by training';

CREATE FUNCTION @extschema@.sparkline(series pg_catalog.jsonb)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'hanami_sparkline'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.sparkline(pg_catalog.jsonb) IS
	'one line of block characters for the main series of a curve (loss, else the first) or a numeric array, with its min and max; null when it has no finite value';

CREATE FUNCTION @extschema@.plot(series pg_catalog.jsonb, options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'hanami_plot'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.plot(pg_catalog.jsonb, pg_catalog.jsonb) IS
	'an SVG line chart of a curve: one line per numeric array other than "epochs" (the x axis), axes, legend; options title, x_label, y_label, width, height';
