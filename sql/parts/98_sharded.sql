-- Training across shards ------------------------------------------------------
--
-- train_sharded() trains a named model on rows that live on several nodes
-- (each a PostgreSQL server with hanami holding part of the rows): a first
-- pass learns the scaling once from a sample of every shard's rows, in
-- proportion to their counts; then each round every shard fits the
-- coordinator's current network on its own rows for local_epochs (dblink's
-- asynchronous queries, all shards at once) and the coordinator averages
-- the results weighted by rows (hanami.average).  The shards run as
-- whatever role the connection strings (or foreign servers' user mappings)
-- name, so row-level security applies there; dblink asks a password of a
-- role that is not a superuser.  A round that fails is tried once more on
-- fresh connections; a second failure ends the call with nothing
-- committed.  One commit at the end, each round in training_log.

CREATE FUNCTION @extschema@.sharded_disconnect(dbl pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	c pg_catalog.text;
BEGIN
	FOR c IN EXECUTE pg_catalog.format('SELECT pg_catalog.unnest(%I.dblink_get_connections())', dbl) LOOP
		IF c LIKE 'hanami\_shard\_%' THEN
			BEGIN
				EXECUTE pg_catalog.format('SELECT %I.dblink_disconnect(%L)', dbl, c);
			EXCEPTION WHEN OTHERS THEN
				NULL;			-- a connection already gone
			END;
		END IF;
	END LOOP;
END
$$;

CREATE FUNCTION @extschema@.sharded_connect(dbl pg_catalog.text, shards pg_catalog.text[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	PERFORM @extschema@.sharded_disconnect(dbl);
	FOR i IN 1 .. pg_catalog.cardinality(shards) LOOP
		BEGIN
			EXECUTE pg_catalog.format('SELECT %I.dblink_connect(%L, %L)', dbl, 'hanami_shard_' || i, shards[i]);
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'cannot connect to shard % of sharded training: %', i, SQLERRM
				USING ERRCODE = '08001';
		END;
	END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.sharded_disconnect(pg_catalog.text) IS
	'used by train_sharded: closes its dblink connections (named hanami_shard_N)';
COMMENT ON FUNCTION @extschema@.sharded_connect(pg_catalog.text, pg_catalog.text[]) IS
	'used by train_sharded: opens one dblink connection per shard (named hanami_shard_N)';

CREATE FUNCTION @extschema@.train_sharded(model pg_catalog.text, query pg_catalog.text,
										  options pg_catalog.jsonb,
										  message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	s record;
	dbl pg_catalog.text;
	shards pg_catalog.text[];
	n_shards pg_catalog.int4;
	rounds pg_catalog.int4;
	local_epochs pg_catalog.int4;
	fit_opts pg_catalog.jsonb;
	head pg_catalog.int8;
	cur @extschema@.network;
	total pg_catalog.int8;
	t0 pg_catalog.timestamptz;
	tries pg_catalog.int4;
	log pg_catalog.jsonb := '[]';
	cid pg_catalog.int8;
	retried pg_catalog.int4 := 0;
	rnd pg_catalog.int4;
	sent pg_catalog.int4;
BEGIN
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch).';
	END IF;
	IF query IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'query and options must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	SELECT n.nspname INTO dbl FROM pg_catalog.pg_extension e
		JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'dblink';
	IF dbl IS NULL THEN
		RAISE EXCEPTION 'hanami.train_sharded needs the dblink extension' USING ERRCODE = '0A000',
			HINT = 'CREATE EXTENSION dblink;';
	END IF;
	IF pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'shards') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'option "shards" must be an array of connection strings or foreign server names'
			USING ERRCODE = '22023';
	END IF;
	shards := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(options OPERATOR(pg_catalog.->) 'shards'));
	n_shards := pg_catalog.cardinality(shards);
	IF n_shards OPERATOR(pg_catalog.<) 1 OR n_shards OPERATOR(pg_catalog.>) 64 THEN
		RAISE EXCEPTION 'option "shards" must name 1 to 64 shards, not %', n_shards USING ERRCODE = '22023';
	END IF;
	BEGIN
		rounds := COALESCE((options OPERATOR(pg_catalog.->>) 'rounds')::pg_catalog.int4, 5);
		local_epochs := COALESCE((options OPERATOR(pg_catalog.->>) 'local_epochs')::pg_catalog.int4, 1);
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'options "rounds" and "local_epochs" must be integers' USING ERRCODE = '22023';
	END;
	IF rounds NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'option "rounds" must be from 1 to 10000, not %', rounds USING ERRCODE = '22023';
	END IF;
	IF local_epochs NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'option "local_epochs" must be from 1 to 10000, not %', local_epochs USING ERRCODE = '22023';
	END IF;
	IF options OPERATOR(pg_catalog.?|) ARRAY['epochs', 'only_if_better', 'validation_query', 'validation_split',
										   'early_stopping', 'restore_best'] THEN
		RAISE EXCEPTION 'options "epochs", "only_if_better", "validation_query", "validation_split", "early_stopping" and "restore_best" do not apply to sharded training'
			USING ERRCODE = '22023', HINT = 'Give "rounds" and "local_epochs".';
	END IF;
	fit_opts := options OPERATOR(pg_catalog.-) ARRAY['shards', 'rounds', 'local_epochs']
		OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('epochs', local_epochs);

	-- one training per branch at a time
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	cur := @extschema@.load_commit(head);
	IF @extschema@.info(cur) OPERATOR(pg_catalog.->>) 'kind' OPERATOR(pg_catalog.<>) 'dense' THEN
		RAISE EXCEPTION 'sharded training averages dense networks; model "%" is of kind %', r.model,
			@extschema@.info(cur) OPERATOR(pg_catalog.->>) 'kind' USING ERRCODE = '0A000';
	END IF;

	PERFORM @extschema@.sharded_connect(dbl, shards);
	-- the scaling, learned once from a sample of every shard's rows
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_rows (shard pg_catalog.int4, x pg_catalog.float4[], y pg_catalog.text);
	TRUNCATE pg_temp.hanami_sharded_rows;
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_round (shard pg_catalog.int4, net @extschema@.network,
		n pg_catalog.int8, loss pg_catalog.float8);
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_counts (shard pg_catalog.int4, c pg_catalog.int8);
	TRUNCATE pg_temp.hanami_sharded_counts;
	FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.hanami_sharded_counts SELECT %s, t.c FROM %I.dblink(%L, %L) AS t(c pg_catalog.int8)',
			s.i, dbl, 'hanami_shard_' || s.i, pg_catalog.format('SELECT pg_catalog.count(*) FROM (%s) q', query));
	END LOOP;
	SELECT pg_catalog.sum(c) INTO total FROM pg_temp.hanami_sharded_counts;
	IF total OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'the shards hold no rows for this query' USING ERRCODE = '22023';
	END IF;
	FOR s IN SELECT shard, c FROM pg_temp.hanami_sharded_counts WHERE c OPERATOR(pg_catalog.>) 0 LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.hanami_sharded_rows SELECT %s, t.x, t.y FROM %I.dblink(%L, %L) AS t(x pg_catalog.float4[], y pg_catalog.text)',
			s.shard, dbl, 'hanami_shard_' || s.shard,
			pg_catalog.format('SELECT q.x::pg_catalog.text, q.y::pg_catalog.text FROM (%s) AS q(x, y) ORDER BY pg_catalog.random() LIMIT %s',
							  query, pg_catalog.ceil(4096.0 * s.c OPERATOR(pg_catalog./) total)::pg_catalog.int8));
	END LOOP;
	cur := @extschema@.fit(cur,
		CASE WHEN EXISTS (SELECT FROM pg_temp.hanami_sharded_rows WHERE y LIKE '{%')
			 THEN 'SELECT x, y::pg_catalog.float4[] FROM pg_temp.hanami_sharded_rows ORDER BY shard'
			 ELSE 'SELECT x, y::pg_catalog.int4 FROM pg_temp.hanami_sharded_rows ORDER BY shard' END,
		'{"epochs": 0}');

	FOR rnd IN 1 .. rounds LOOP
		tries := 0;
		LOOP
			t0 := pg_catalog.clock_timestamp();
			BEGIN
				TRUNCATE pg_temp.hanami_sharded_round;
				FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
					EXECUTE pg_catalog.format('SELECT %I.dblink_send_query(%L, %L)', dbl, 'hanami_shard_' || s.i,
						pg_catalog.format('SELECT f.net::pg_catalog.text, (f.report OPERATOR(pg_catalog.->>) ''rows'')::pg_catalog.int8, '
										  '(f.report OPERATOR(pg_catalog.->>) ''loss'')::pg_catalog.float8 '
										  'FROM hanami.fit_report(%L::hanami.network, %L, %L::pg_catalog.jsonb) f',
										  cur::pg_catalog.text, query, fit_opts::pg_catalog.text)) INTO sent;
					IF sent OPERATOR(pg_catalog.<>) 1 THEN
						RAISE EXCEPTION 'could not send the round to shard %', s.i;
					END IF;
				END LOOP;
				FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
					EXECUTE pg_catalog.format(
						'INSERT INTO pg_temp.hanami_sharded_round SELECT %s, t.net::hanami.network, t.n, t.loss '
						'FROM %I.dblink_get_result(%L) AS t(net pg_catalog.text, n pg_catalog.int8, loss pg_catalog.float8)',
						s.i, dbl, 'hanami_shard_' || s.i);
					-- the end of the results, which frees the connection for the next query
					EXECUTE pg_catalog.format(
						'SELECT pg_catalog.count(*) FROM %I.dblink_get_result(%L) AS t(net pg_catalog.text, n pg_catalog.int8, loss pg_catalog.float8)',
						dbl, 'hanami_shard_' || s.i);
				END LOOP;
				IF (SELECT pg_catalog.count(*) FROM pg_temp.hanami_sharded_round) OPERATOR(pg_catalog.<>) n_shards THEN
					RAISE EXCEPTION 'a shard returned no network';
				END IF;
				EXIT;
			EXCEPTION WHEN OTHERS THEN
				tries := tries OPERATOR(pg_catalog.+) 1;
				IF tries OPERATOR(pg_catalog.>) 1 THEN
					PERFORM @extschema@.sharded_disconnect(dbl);
					RAISE EXCEPTION 'sharded training of model "%" failed in round % (tried twice): %', r.model, rnd, SQLERRM
						USING ERRCODE = '08006', DETAIL = 'Nothing was committed.';
				END IF;
				RAISE NOTICE 'round % of sharded training failed (%); trying it again on fresh connections', rnd, SQLERRM;
				retried := retried OPERATOR(pg_catalog.+) 1;
				PERFORM @extschema@.sharded_disconnect(dbl);
				PERFORM @extschema@.sharded_connect(dbl, shards);
			END;
		END LOOP;
		SELECT @extschema@.average(net, n) INTO cur FROM pg_temp.hanami_sharded_round WHERE n OPERATOR(pg_catalog.>) 0;
		IF cur IS NULL THEN
			RAISE EXCEPTION 'no shard trained on any row in round %', rnd USING ERRCODE = '22023';
		END IF;
		log := log OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
			'round', rnd,
			'loss', (SELECT pg_catalog.sum(loss OPERATOR(pg_catalog.*) n) OPERATOR(pg_catalog./) pg_catalog.sum(n) FROM pg_temp.hanami_sharded_round),
			'rows', (SELECT pg_catalog.sum(n) FROM pg_temp.hanami_sharded_round),
			'seconds', EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
			'shard_rows', (SELECT pg_catalog.jsonb_agg(n ORDER BY shard) FROM pg_temp.hanami_sharded_round)));
	END LOOP;
	PERFORM @extschema@.sharded_disconnect(dbl);

	cid := @extschema@.commit_network(r.model_id, r.branch, head, cur, COALESCE(message, 'train_sharded'),
		pg_catalog.jsonb_build_object('shards', n_shards, 'rounds', rounds, 'local_epochs', local_epochs,
			'rows', total, 'retried_rounds', retried, 'loss', log OPERATOR(pg_catalog.->) -1 OPERATOR(pg_catalog.->) 'loss'));
	INSERT INTO @extschema@.training_log (commit_id, model_id, project, epoch, loss, rows_per_second, seconds)
	SELECT cid, r.model_id, r.project, (e OPERATOR(pg_catalog.->>) 'round')::pg_catalog.int4,
		   (e OPERATOR(pg_catalog.->>) 'loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'rows')::pg_catalog.float8 OPERATOR(pg_catalog.*) local_epochs
			OPERATOR(pg_catalog./) GREATEST((e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8, 1e-6),
		   (e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8
	FROM pg_catalog.jsonb_array_elements(log) e;
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.train_sharded(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'train a dense model on rows spread over shards (dblink): scaling learned once from every shard, then rounds of local fits averaged by rows; options shards, rounds, local_epochs and fit options; one commit';
