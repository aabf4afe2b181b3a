-- Models ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.create_model(name pg_catalog.text, spec pg_catalog.jsonb,
										 project pg_catalog.regrole DEFAULT NULL,
										 seed pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
	-- no seed, neither argument nor in the spec: a random one, so that two
	-- such models do not start from the same weights; an activation that
	-- names a stored custom activation is given inline (resolve_activations),
	-- and so is a layer's stored network (resolve_nets)
	nets record := @extschema@.resolve_nets(spec);
	net @extschema@.network := @extschema@.network(@extschema@.resolve_activations(nets.resolved, proj),
		CASE WHEN seed IS NULL AND NOT (spec OPERATOR(pg_catalog.?) 'seed')
			THEN pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483647)::pg_catalog.int4
			ELSE seed END);
	mid pg_catalog.int8;
BEGIN
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;
	BEGIN
		INSERT INTO @extschema@.model_catalog (project, name, kind)
		VALUES (proj, name, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind')
		RETURNING id INTO mid;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
			HINT = 'Names may not contain /, @ or # or start with a space.';
	END;
	PERFORM @extschema@.commit_network(mid, 'main', NULL, net, 'create',
		pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('seed', @extschema@.info(net) OPERATOR(pg_catalog.->) 'seed',
			'embedded', nets.sources)));
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.create_model(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regrole, pg_catalog.int4) IS
	'create a named model from a spec in a project (default: your own role), with a first commit on branch main; without a seed (argument or spec) the weights'' seed is random; the first commit''s metrics record it';

CREATE FUNCTION @extschema@.drop_model(model pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
BEGIN
	SELECT * INTO r FROM @extschema@.resolve(model);
	IF NOT @extschema@.can_write(r.project, r.owner) THEN
		RAISE EXCEPTION 'permission denied for model "%"', r.model USING ERRCODE = '42501';
	END IF;
	DELETE FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) r.model_id;
END
$$;

COMMENT ON FUNCTION @extschema@.drop_model(pg_catalog.text) IS
	'drop a model with all its branches and commits (hanami.gc() then frees unused blocks)';

CREATE FUNCTION @extschema@.load(ref pg_catalog.text)
RETURNS @extschema@.network
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT @extschema@.load_commit((@extschema@.resolve(ref)).commit_id) $$;

COMMENT ON FUNCTION @extschema@.load(pg_catalog.text) IS
	'the network a reference names (model, model@branch or model#commit)';

-- Nets inside nets: a layer {"net": "model@branch", ...} of a spec names a
-- stored network; it is resolved once, when the network is created, and
-- its text form (weights included) embedded, so the value stays
-- self-contained.  resolved: the spec with every such layer's network
-- inline; sources: {"layer": "project/model#commit"} for each (the layer's
-- name, or #index when it has none), NULL when there is none.  Resolution
-- runs as the caller, with the caller's read access (resolve and the
-- stores' row security): a network one cannot read cannot be embedded.
CREATE FUNCTION @extschema@.resolve_nets(spec pg_catalog.jsonb,
	OUT resolved pg_catalog.jsonb, OUT sources pg_catalog.jsonb)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	layers pg_catalog.jsonb := '[]';
	l pg_catalog.jsonb;
	i pg_catalog.int4 := 0;
	r record;
	n @extschema@.network;
BEGIN
	resolved := spec;
	IF spec IS NULL OR pg_catalog.jsonb_typeof(spec) OPERATOR(pg_catalog.<>) 'object'
	   OR pg_catalog.jsonb_typeof(spec OPERATOR(pg_catalog.->) 'layers') OPERATOR(pg_catalog.<>) 'array' THEN
		RETURN;
	END IF;
	FOR l IN SELECT e FROM pg_catalog.jsonb_array_elements(spec OPERATOR(pg_catalog.->) 'layers') e LOOP
		IF pg_catalog.jsonb_typeof(l) OPERATOR(pg_catalog.=) 'object'
		   AND pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) 'net') OPERATOR(pg_catalog.=) 'string' THEN
			SELECT * INTO r FROM @extschema@.resolve(l OPERATOR(pg_catalog.->>) 'net');
			n := @extschema@.load_commit(r.commit_id);
			IF n IS NULL THEN
				RAISE EXCEPTION 'permission denied for model "%"', l OPERATOR(pg_catalog.->>) 'net'
					USING ERRCODE = '42501';
			END IF;
			l := pg_catalog.jsonb_set(l, '{net}', n::pg_catalog.text::pg_catalog.jsonb);
			sources := COALESCE(sources, '{}') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
				COALESCE(l OPERATOR(pg_catalog.->>) 'name', '#' OPERATOR(pg_catalog.||) i::pg_catalog.text),
				r.project::pg_catalog.text OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) r.model
					OPERATOR(pg_catalog.||) '#' OPERATOR(pg_catalog.||) r.commit_id::pg_catalog.text);
		END IF;
		layers := layers OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(l);
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;
	resolved := pg_catalog.jsonb_set(spec, '{layers}', layers);
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_nets(pg_catalog.jsonb) IS
	'a spec whose layers {"net": "reference"} get the stored network''s text form inline (resolved now, as the caller), and the commit each came from';

-- Write access to a resolved model, or an error.
CREATE FUNCTION @extschema@.check_write(r_project pg_catalog.regrole, r_owner pg_catalog.regrole, r_model pg_catalog.text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	IF NOT @extschema@.can_write(r_project, r_owner) THEN
		RAISE EXCEPTION 'permission denied for model "%"', r_model USING ERRCODE = '42501',
			DETAIL = 'Only its owner and the admins of its project may write it.';
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.check_write(pg_catalog.regrole, pg_catalog.regrole, pg_catalog.text) IS
	'raise an error unless the current role may write the model';

CREATE FUNCTION @extschema@.save(model pg_catalog.text, net @extschema@.network,
								 message pg_catalog.text DEFAULT '', branch pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
BEGIN
	IF net IS NULL THEN
		RAISE EXCEPTION 'network must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(CASE WHEN branch IS NULL THEN model ELSE model || '@' || branch END);
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot save onto a commit' USING ERRCODE = '22023',
			HINT = 'Save onto a branch: model or model@branch.';
	END IF;
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	-- one writer per branch at a time
	PERFORM 1 FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	RETURN @extschema@.commit_network(r.model_id, r.branch,
		(SELECT b.head FROM @extschema@.branches b
		 WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch),
		net, message, '{}');
END
$$;

COMMENT ON FUNCTION @extschema@.save(pg_catalog.text, @extschema@.network, pg_catalog.text, pg_catalog.text) IS
	'store a network as a new commit on a branch of a model (default main)';

CREATE FUNCTION @extschema@.fit_report(net @extschema@.network, query pg_catalog.text,
									   options pg_catalog.jsonb DEFAULT '{}',
									   OUT net @extschema@.network, OUT report pg_catalog.jsonb)
AS 'MODULE_PATHNAME', 'hanami_fit_report'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.fit_report(@extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'fit() that also returns what happened: epochs, rows, loss, accuracy on the training rows, duration, stop reason';

CREATE FUNCTION @extschema@.train(model pg_catalog.text, query pg_catalog.text,
								  options pg_catalog.jsonb DEFAULT '{}', message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	f record;
	head pg_catalog.int8;
	cid pg_catalog.int8;
	better pg_catalog.jsonb;
BEGIN
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	-- one training per branch at a time: the second waits, then starts from the new head
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	-- option only_if_better (a branch without a head yet always commits):
	-- fit_report measures the head and the trained network on that query, as
	-- the caller, and says whether the trained one scored strictly better
	SELECT * INTO f FROM @extschema@.fit_report(@extschema@.load_commit(head), query,
		CASE WHEN head IS NULL THEN options OPERATOR(pg_catalog.-) 'only_if_better' ELSE options END);
	better := f.report OPERATOR(pg_catalog.->) 'only_if_better';
	IF (better OPERATOR(pg_catalog.->>) 'better')::pg_catalog.bool IS FALSE THEN
		RAISE NOTICE 'not committed: the trained network''s % on the only_if_better query is %, the branch head''s % (% is better)',
			better OPERATOR(pg_catalog.->>) 'metric', better OPERATOR(pg_catalog.->>) 'trained',
			better OPERATOR(pg_catalog.->>) 'head',
			CASE WHEN better OPERATOR(pg_catalog.->>) 'metric' OPERATOR(pg_catalog.=) 'accuracy'
				THEN 'higher' ELSE 'lower' END
			USING DETAIL = pg_catalog.format('Branch "%s" of model "%s" stays at commit %s.', r.branch, r.model, head);
		RETURN NULL;
	END IF;
	cid := @extschema@.commit_network(r.model_id, r.branch, head, f.net,
		COALESCE(message, 'train'), f.report OPERATOR(pg_catalog.-) 'history');
	INSERT INTO @extschema@.training_log (commit_id, model_id, project, epoch, loss, val_loss,
										  val_accuracy, rows_per_second, seconds)
	SELECT cid, r.model_id, r.project, (e OPERATOR(pg_catalog.->>) 'epoch')::pg_catalog.int4,
		   (e OPERATOR(pg_catalog.->>) 'loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'val_loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'val_accuracy')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'rows_per_second')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8
	FROM pg_catalog.jsonb_array_elements(f.report OPERATOR(pg_catalog.->) 'history') e;
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.train(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'train the head of a branch on a query''s rows and store the result as a new commit with its metrics (with option only_if_better, only when it scores better than the head; else NULL)';

CREATE FUNCTION @extschema@.reshape_report(net @extschema@.network, spec pg_catalog.jsonb,
										   OUT net @extschema@.network, OUT changes pg_catalog.jsonb)
AS 'MODULE_PATHNAME', 'hanami_reshape_report'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.reshape_report(@extschema@.network, pg_catalog.jsonb) IS
	'a network with the architecture a description gives (dense: layers widened, narrowed, added or removed), keeping what it learned, and what changed; hanami.reshape() commits it';

CREATE FUNCTION @extschema@.reshape(ref pg_catalog.text, new_spec pg_catalog.jsonb,
									message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	f record;
	head pg_catalog.int8;
BEGIN
	IF new_spec IS NULL THEN
		RAISE EXCEPTION 'reshape description must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot reshape a commit' USING ERRCODE = '22023',
			HINT = 'Reshape a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	-- one writer per branch at a time: the second waits, then reshapes the new head
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	SELECT * INTO f FROM @extschema@.reshape_report(@extschema@.load_commit(head), new_spec);
	RETURN @extschema@.commit_network(r.model_id, r.branch, head, f.net,
		COALESCE(message, 'reshape'), pg_catalog.jsonb_build_object('reshape', f.changes));
END
$$;

COMMENT ON FUNCTION @extschema@.reshape(pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'commit a new architecture of a model on its branch (model or model@branch), keeping what it learned: added units and layers leave the outputs unchanged, unchanged layers share their stored blocks; the commit''s metrics say what changed';

CREATE FUNCTION @extschema@.evaluate(model pg_catalog.text, query pg_catalog.text,
									 options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$ SELECT @extschema@.verify(@extschema@.load(model), query, options) $$;

COMMENT ON FUNCTION @extschema@.evaluate(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb) IS
	'verify() on a stored model: loss and accuracy or regression errors over a query''s rows';

CREATE FUNCTION @extschema@.predict(model pg_catalog.text, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_predict'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict(pg_catalog.text, pg_catalog.float4[]) IS
	'the outputs of a stored model for one input row (the reference is resolved once per statement)';

CREATE FUNCTION @extschema@.predict_class(model pg_catalog.text, input pg_catalog.float4[])
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_predict_class'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict_class(pg_catalog.text, pg_catalog.float4[]) IS
	'the class a stored classification model gives one input row: classify() on the model (the reference is resolved once per statement)';

CREATE FUNCTION @extschema@.predict_named(model pg_catalog.text, inputs pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_predict_named'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict_named(pg_catalog.text, pg_catalog.jsonb) IS
	'run_named() on a stored model: the outputs of every output layer for the values of every input layer (the reference is resolved once per statement)';

-- Paged inference: predict() in batches over a window partition (a model
-- larger than hanami.model_cache_memory reads each layer once per batch),
-- and what the backend's model cache holds.
CREATE FUNCTION @extschema@.predict_batch(model pg_catalog.text, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_predict_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict_batch(pg_catalog.text, pg_catalog.float4[]) IS
	'window function: predict() for every row of the partition, computed in batches of 256 rows (a paged model reads each layer once per batch); every row names the same model';

CREATE FUNCTION @extschema@.model_cache_stats()
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_model_cache_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.model_cache_stats() IS
	'this backend''s model cache: budget_bytes, bytes, peak_bytes, models, paged_models, pages (cached layer segments), page_fetches, evictions';
