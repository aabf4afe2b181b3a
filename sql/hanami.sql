-- hanami: growing neural networks inside PostgreSQL.
-- The canonical install script; the Makefile copies it to hanami--VERSION.sql.
-- Every object is schema-qualified: the script does not trust search_path.

\echo Use "CREATE EXTENSION hanami" to load this file. \quit

-- The network type ---------------------------------------------------------

CREATE TYPE @extschema@.network;

CREATE FUNCTION @extschema@.network_in(pg_catalog.cstring)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_out(@extschema@.network)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'network_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_recv(pg_catalog.internal)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_send(@extschema@.network)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'network_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.network (
	INPUT = @extschema@.network_in,
	OUTPUT = @extschema@.network_out,
	RECEIVE = @extschema@.network_recv,
	SEND = @extschema@.network_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);

COMMENT ON TYPE @extschema@.network IS
	'a neural network: its description and weights in one value; text form is JSON with base64 weights';
COMMENT ON FUNCTION @extschema@.network_in(pg_catalog.cstring) IS
	'text input of hanami.network (the JSON text form, or a bare spec)';
COMMENT ON FUNCTION @extschema@.network_out(@extschema@.network) IS
	'text output of hanami.network (JSON with base64 weights in setup.data)';
COMMENT ON FUNCTION @extschema@.network_recv(pg_catalog.internal) IS
	'binary input of hanami.network (the validated binary image)';
COMMENT ON FUNCTION @extschema@.network_send(@extschema@.network) IS
	'binary output of hanami.network (the binary image)';

-- Casts to and from bytea: the binary image, validated on the way in.
CREATE FUNCTION @extschema@.network_to_bytea(@extschema@.network)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'network_to_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'network_from_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.network AS pg_catalog.bytea)
	WITH FUNCTION @extschema@.network_to_bytea(@extschema@.network);
CREATE CAST (pg_catalog.bytea AS @extschema@.network)
	WITH FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea);

COMMENT ON FUNCTION @extschema@.network_to_bytea(@extschema@.network) IS
	'the binary image of a network';
COMMENT ON FUNCTION @extschema@.network_from_bytea(pg_catalog.bytea) IS
	'a network from its binary image, validated like binary input';

-- Functions on network values ------------------------------------------------

CREATE FUNCTION @extschema@.network(spec pg_catalog.jsonb, seed pg_catalog.int4 DEFAULT NULL)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_network'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.network(pg_catalog.jsonb, pg_catalog.int4) IS
	'a new network from a JSON spec such as {"layers": [4, 8, 3]}; weights drawn from seed (NULL: the spec''s "seed", or 0)';

CREATE FUNCTION @extschema@.run(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run(@extschema@.network, pg_catalog.float4[]) IS
	'the outputs of a network for one input row';

CREATE FUNCTION @extschema@.classify(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.classify(@extschema@.network, pg_catalog.float4[]) IS
	'the class of one input row for a classification network (softmax or sigmoid output layer): the index of the largest output (for one output: 1 when it is at least 0.5)';

-- Sequences for spiking "hanami" networks: the state carries from call to
-- call within a query; VOLATILE so that ORDER BY is applied before it runs.
CREATE FUNCTION @extschema@.run(net @extschema@.network, input pg_catalog.float4[],
								reset pg_catalog.bool)
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_sequence'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.run(@extschema@.network, pg_catalog.float4[], pg_catalog.bool) IS
	'the outputs for one row of a sequence: a spiking network''s state carries over from the previous call of the query; reset clears it first';

CREATE FUNCTION @extschema@.reset_state(net @extschema@.network)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_reset_state'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.reset_state(@extschema@.network) IS
	'a copy of a network with its spiking state (carried potentials, refractory counters) cleared';

CREATE FUNCTION @extschema@.fit(net @extschema@.network, query pg_catalog.text,
								options pg_catalog.jsonb DEFAULT '{}')
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_fit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.fit(@extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'a copy of the network trained on the rows of a query (features, then the target column)';

CREATE FUNCTION @extschema@.verify(net @extschema@.network, query pg_catalog.text,
								   options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_verify'
LANGUAGE C STABLE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.verify(@extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'loss and accuracy with a confusion matrix (classification) or mse, mae and r2 (regression) over the rows of a query';

CREATE FUNCTION @extschema@.info(net @extschema@.network)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.info(@extschema@.network) IS
	'kind, layers, parameter count, size and training counters of a network';

CREATE FUNCTION @extschema@.capabilities()
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_capabilities'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.capabilities() IS
	'what this build supports: network kinds, activations, losses, optimizers, devices';

-- Batched inference: run and classify as window functions, computed for a
-- batch of the partition's rows at a time (one device round trip per batch).
CREATE FUNCTION @extschema@.run_batch(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.run_batch(net @extschema@.network, input pg_catalog.float4[],
									  options pg_catalog.jsonb)
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_run_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.classify_batch(net @extschema@.network, input pg_catalog.float4[])
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

CREATE FUNCTION @extschema@.classify_batch(net @extschema@.network, input pg_catalog.float4[],
										   options pg_catalog.jsonb)
RETURNS pg_catalog.int4
AS 'MODULE_PATHNAME', 'hanami_classify_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run_batch(@extschema@.network, pg_catalog.float4[]) IS
	'window function: run() for every row of the partition, computed in batches (OVER (), or OVER (PARTITION BY model))';
COMMENT ON FUNCTION @extschema@.run_batch(@extschema@.network, pg_catalog.float4[], pg_catalog.jsonb) IS
	'window function: run() in batches; options "device" (auto, cpu, opencl) and "batch_size" (rows per batch, default 1024)';
COMMENT ON FUNCTION @extschema@.classify_batch(@extschema@.network, pg_catalog.float4[]) IS
	'window function: classify() for every row of the partition, computed in batches';
COMMENT ON FUNCTION @extschema@.classify_batch(@extschema@.network, pg_catalog.float4[], pg_catalog.jsonb) IS
	'window function: classify() in batches; options "device" (auto, cpu, opencl) and "batch_size" (rows per batch, default 1024)';

-- Named models: projects, models, branches, commits, blocks -----------------
--
-- A project is a PostgreSQL role; without one, a user's own role is the
-- project.  Members of the project role may read its models and create their
-- own; members holding ADMIN OPTION on it (project admins) and members of
-- hanami_admin may write every model.  Every table has row-level security
-- enabled and forced; all functions are SECURITY INVOKER.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'hanami_admin') THEN
		CREATE ROLE hanami_admin NOLOGIN;
	END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE FUNCTION @extschema@.is_admin()
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.pg_has_role(CURRENT_USER, 'hanami_admin', 'USAGE') $$;

COMMENT ON FUNCTION @extschema@.is_admin() IS
	'whether the current role is a hanami administrator (member of hanami_admin)';

CREATE FUNCTION @extschema@.can_read(project pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE'), false)
		OR @extschema@.is_admin()
$$;

COMMENT ON FUNCTION @extschema@.can_read(pg_catalog.regrole) IS
	'whether the current role may use the models of a project (member of its role)';

CREATE FUNCTION @extschema@.can_write(project pg_catalog.regrole, owner pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT (owner OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			AND @extschema@.can_read(project))
		OR COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE WITH ADMIN OPTION'), false)
		OR @extschema@.is_admin()
$$;

COMMENT ON FUNCTION @extschema@.can_write(pg_catalog.regrole, pg_catalog.regrole) IS
	'whether the current role may write a model: its owner, a project admin, or a hanami admin';

-- Checks on stored rows: a role column names an existing role (a restore
-- into a cluster that lacks a project's role fails here instead of keeping a
-- bare number), and a block's hash is the SHA-256 of its bytes (so a block can
-- never stand for other bytes, whether inserted, restored or imported).
CREATE FUNCTION @extschema@.role_exists(r pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	IF r IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) r) THEN
		RAISE EXCEPTION 'role with OID % does not exist', r::pg_catalog.oid USING ERRCODE = '42704',
			DETAIL = 'hanami''s tables name projects, owners and authors by role.',
			HINT = 'Roles are not part of a database''s dump: restore them first (pg_dumpall --globals-only).';
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.role_exists(pg_catalog.regrole) IS
	'true if the role exists, else an error (a check on hanami''s tables)';

CREATE FUNCTION @extschema@.block_verified(project pg_catalog.regrole, hash pg_catalog.bytea,
										   data pg_catalog.bytea)
RETURNS pg_catalog.bool
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	IF pg_catalog.sha256(data) IS DISTINCT FROM hash THEN
		RAISE EXCEPTION 'block % of project % does not match its hash',
			pg_catalog.encode(hash, 'hex'), project USING ERRCODE = 'XX001',
			DETAIL = pg_catalog.format('The SHA-256 of its %s bytes is %s.', pg_catalog.length(data),
									   pg_catalog.encode(pg_catalog.sha256(data), 'hex'));
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.block_verified(pg_catalog.regrole, pg_catalog.bytea, pg_catalog.bytea) IS
	'true if hash is the SHA-256 of data, else an error naming the block (a check on hanami.blocks)';

CREATE TABLE @extschema@.projects (
	project pg_catalog.regrole PRIMARY KEY,
	created_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE @extschema@.model_catalog (
	id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project pg_catalog.regrole NOT NULL,
	name pg_catalog.text NOT NULL CHECK (name ~ '^[^/@#[:space:]][^/@#]*$' AND pg_catalog.length(name) <= 200),
	owner pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	kind pg_catalog.text NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (project, name),
	UNIQUE (id, project)
);

CREATE TABLE @extschema@.commits (
	id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	parent pg_catalog.int8,
	branch pg_catalog.text NOT NULL,
	message pg_catalog.text NOT NULL DEFAULT '',
	author pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	metrics pg_catalog.jsonb NOT NULL DEFAULT '{}',
	bytes pg_catalog.int8 NOT NULL,
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	UNIQUE (id, model_id),
	origin pg_catalog.jsonb,
	UNIQUE (id, project)
);
CREATE INDEX ON @extschema@.commits (model_id);

CREATE TABLE @extschema@.branches (
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	name pg_catalog.text NOT NULL CHECK (name ~ '^[^/@#[:space:]][^/@#]*$' AND pg_catalog.length(name) <= 200),
	head pg_catalog.int8 NOT NULL,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, name),
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	FOREIGN KEY (head, model_id) REFERENCES @extschema@.commits (id, model_id)
);

CREATE TABLE @extschema@.blocks (
	project pg_catalog.regrole NOT NULL,
	hash pg_catalog.bytea NOT NULL,
	data pg_catalog.bytea NOT NULL,
	PRIMARY KEY (project, hash),
	CONSTRAINT blocks_hash_check CHECK (@extschema@.block_verified(project, hash, data))
);

CREATE TABLE @extschema@.commit_blocks (
	commit_id pg_catalog.int8 NOT NULL,
	seq pg_catalog.int4 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	segment pg_catalog.text NOT NULL,
	hash pg_catalog.bytea NOT NULL,
	PRIMARY KEY (commit_id, seq),
	FOREIGN KEY (commit_id, project) REFERENCES @extschema@.commits (id, project) ON DELETE CASCADE,
	FOREIGN KEY (project, hash) REFERENCES @extschema@.blocks (project, hash)
);
CREATE INDEX ON @extschema@.commit_blocks (project, hash);

-- A commit's parent is an earlier commit of the same model, checked as the
-- inserting role sees the table (so a hidden commit is never found, named or
-- pinned).  A constraint trigger rather than a foreign key: it runs at the
-- end of the statement like one, and pg_dump does not warn about circular
-- foreign keys when it dumps the table.
CREATE FUNCTION @extschema@.commits_parent_check()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.parent IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.commits k
					   WHERE k.id OPERATOR(pg_catalog.=) NEW.parent
						 AND k.model_id OPERATOR(pg_catalog.=) NEW.model_id) THEN
		RAISE EXCEPTION 'parent commit % does not exist in the model', NEW.parent USING ERRCODE = '23503';
	END IF;
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER commits_parent AFTER INSERT ON @extschema@.commits
	FOR EACH ROW EXECUTE FUNCTION @extschema@.commits_parent_check();

-- Role columns: checked for rows written from now on (NOT VALID: existing
-- rows that name a dropped role never block an upgrade).
ALTER TABLE @extschema@.projects ADD CONSTRAINT projects_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;
ALTER TABLE @extschema@.model_catalog ADD CONSTRAINT model_catalog_role_check
	CHECK (@extschema@.role_exists(project) AND @extschema@.role_exists(owner)) NOT VALID;
ALTER TABLE @extschema@.commits ADD CONSTRAINT commits_role_check
	CHECK (@extschema@.role_exists(author)) NOT VALID;
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;

COMMENT ON TABLE @extschema@.projects IS 'roles registered as hanami projects';
COMMENT ON TABLE @extschema@.model_catalog IS 'named models; each belongs to a project (a role) and has an owner (read them through the hanami.models view)';
COMMENT ON TABLE @extschema@.commits IS 'immutable iterations of a model, each with its parent, message and metrics';
COMMENT ON COLUMN @extschema@.commits.origin IS 'for an imported commit: its original id, author, date, model and project';
COMMENT ON TABLE @extschema@.branches IS 'named lines of commits of a model (main is created with the model)';
COMMENT ON TABLE @extschema@.blocks IS 'content-addressed pieces of network images, stored once per project';
COMMENT ON TABLE @extschema@.commit_blocks IS 'the blocks that make up each commit''s network, in order';

-- row-level security on every table, for the owner too
ALTER TABLE @extschema@.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.projects FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.model_catalog ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.model_catalog FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.commits ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.commits FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.branches ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.branches FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.blocks FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.commit_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.commit_blocks FORCE ROW LEVEL SECURITY;

CREATE POLICY projects_read ON @extschema@.projects FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY projects_register ON @extschema@.projects FOR INSERT
	WITH CHECK (COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE WITH ADMIN OPTION'), false)
				OR project OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				OR @extschema@.is_admin());
CREATE POLICY projects_unregister ON @extschema@.projects FOR DELETE
	USING (COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE WITH ADMIN OPTION'), false)
		   OR project OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
		   OR @extschema@.is_admin());

CREATE POLICY models_read ON @extschema@.model_catalog FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY models_create ON @extschema@.model_catalog FOR INSERT
	WITH CHECK (@extschema@.can_read(project)
				AND (owner OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole OR @extschema@.is_admin()));
CREATE POLICY models_drop ON @extschema@.model_catalog FOR DELETE
	USING (@extschema@.can_write(project, owner));

-- commits and blocks are immutable: no UPDATE policies
CREATE POLICY commits_read ON @extschema@.commits FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY commits_write ON @extschema@.commits FOR INSERT
	WITH CHECK (author OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				AND EXISTS (SELECT 1 FROM @extschema@.model_catalog m
							WHERE m.id OPERATOR(pg_catalog.=) model_id
							  AND @extschema@.can_write(m.project, m.owner)));

CREATE POLICY branches_read ON @extschema@.branches FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY branches_write ON @extschema@.branches FOR ALL
	USING (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
				   WHERE m.id OPERATOR(pg_catalog.=) model_id
					 AND @extschema@.can_write(m.project, m.owner)))
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.id OPERATOR(pg_catalog.=) model_id
						  AND @extschema@.can_write(m.project, m.owner)));

CREATE POLICY blocks_read ON @extschema@.blocks FOR SELECT
	USING (@extschema@.can_read(project));
-- only writers of a project add blocks (and every block is verified)
CREATE POLICY blocks_add ON @extschema@.blocks FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.project OPERATOR(pg_catalog.=) blocks.project
						  AND @extschema@.can_write(m.project, m.owner)));
CREATE POLICY blocks_collect ON @extschema@.blocks FOR DELETE
	USING (@extschema@.can_read(project));

CREATE POLICY commit_blocks_read ON @extschema@.commit_blocks FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY commit_blocks_write ON @extschema@.commit_blocks FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.commits c JOIN @extschema@.model_catalog m ON m.id OPERATOR(pg_catalog.=) c.model_id
						WHERE c.id OPERATOR(pg_catalog.=) commit_blocks.commit_id
						  AND c.project OPERATOR(pg_catalog.=) commit_blocks.project
						  AND @extschema@.can_write(m.project, m.owner)));

GRANT SELECT, INSERT, DELETE ON @extschema@.projects, @extschema@.model_catalog,
	@extschema@.blocks TO PUBLIC;
GRANT SELECT, INSERT ON @extschema@.commits, @extschema@.commit_blocks TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.branches TO PUBLIC;

-- Projects -------------------------------------------------------------------

CREATE FUNCTION @extschema@.create_project(project pg_catalog.text)
RETURNS pg_catalog.regrole
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r pg_catalog.regrole;
BEGIN
	IF project IS NULL OR project OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'project name must not be empty' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) project) THEN
		EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', project);
		EXECUTE pg_catalog.format('GRANT %I TO %I WITH ADMIN OPTION', project, CURRENT_USER);
	END IF;
	r := pg_catalog.quote_ident(project)::pg_catalog.regrole;
	INSERT INTO @extschema@.projects (project) VALUES (r) ON CONFLICT DO NOTHING;
	RETURN r;
END
$$;

COMMENT ON FUNCTION @extschema@.create_project(pg_catalog.text) IS
	'register a role as a project (creating it NOLOGIN if needed, which needs CREATEROLE); the creator becomes its admin';

CREATE FUNCTION @extschema@.add_member(project pg_catalog.regrole, member pg_catalog.regrole,
									   role pg_catalog.text DEFAULT 'member')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	IF role IS NULL OR role NOT IN ('member', 'admin') THEN
		RAISE EXCEPTION 'project role must be "member" or "admin"' USING ERRCODE = '22023';
	END IF;
	IF role OPERATOR(pg_catalog.=) 'admin' THEN
		EXECUTE pg_catalog.format('GRANT %s TO %s WITH ADMIN OPTION', project, member);
	ELSE
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a
				   WHERE a.roleid OPERATOR(pg_catalog.=) project
					 AND a.member OPERATOR(pg_catalog.=) add_member.member AND a.admin_option) THEN
			EXECUTE pg_catalog.format('REVOKE ADMIN OPTION FOR %s FROM %s', project, member);
		END IF;
		EXECUTE pg_catalog.format('GRANT %s TO %s', project, member);
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.add_member(pg_catalog.regrole, pg_catalog.regrole, pg_catalog.text) IS
	'add a role to a project as member (uses the project''s models, writes its own) or admin (writes every model); needs ADMIN OPTION on the project';

CREATE FUNCTION @extschema@.remove_member(project pg_catalog.regrole, member pg_catalog.regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	EXECUTE pg_catalog.format('REVOKE %s FROM %s', project, member);
END
$$;

COMMENT ON FUNCTION @extschema@.remove_member(pg_catalog.regrole, pg_catalog.regrole) IS
	'remove a role from a project; needs ADMIN OPTION on the project';

CREATE VIEW @extschema@.my_projects WITH (security_invoker = true) AS
SELECT p.project,
	   CASE WHEN pg_catalog.pg_has_role(CURRENT_USER, p.project, 'USAGE WITH ADMIN OPTION')
				 OR @extschema@.is_admin() THEN 'admin' ELSE 'member' END AS role,
	   p.created_by, p.created_at
FROM @extschema@.projects p
WHERE @extschema@.can_read(p.project)
UNION ALL
SELECT CURRENT_USER::pg_catalog.regrole, 'admin', CURRENT_USER::pg_catalog.regrole, NULL
WHERE NOT EXISTS (SELECT 1 FROM @extschema@.projects p
				  WHERE p.project OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole);

COMMENT ON VIEW @extschema@.my_projects IS
	'the projects the current role belongs to (its own role always), with its role in each';

-- Refs and commits -----------------------------------------------------------

-- Resolve "[project/]model[@branch|#commit]" to a model and a commit.
CREATE FUNCTION @extschema@.resolve(ref pg_catalog.text,
	OUT model_id pg_catalog.int8, OUT project pg_catalog.regrole, OUT model pg_catalog.text,
	OUT owner pg_catalog.regrole, OUT branch pg_catalog.text, OUT commit_id pg_catalog.int8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	rest pg_catalog.text := ref;
	proj pg_catalog.text;
	c pg_catalog.text;
	n pg_catalog.int4;
BEGIN
	IF ref IS NULL THEN
		RAISE EXCEPTION 'model reference must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(rest, '#') OPERATOR(pg_catalog.>) 0 THEN
		c := pg_catalog.split_part(rest, '#', 2);
		rest := pg_catalog.split_part(rest, '#', 1);
		IF c !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION 'invalid model reference "%"', ref USING ERRCODE = '22023',
				HINT = 'Write model, model@branch, model#commit or project/model.';
		END IF;
	END IF;
	IF pg_catalog.strpos(rest, '@') OPERATOR(pg_catalog.>) 0 THEN
		branch := pg_catalog.split_part(rest, '@', 2);
		rest := pg_catalog.split_part(rest, '@', 1);
	END IF;
	IF pg_catalog.strpos(rest, '/') OPERATOR(pg_catalog.>) 0 THEN
		proj := pg_catalog.split_part(rest, '/', 1);
		rest := pg_catalog.substr(rest, pg_catalog.strpos(rest, '/') OPERATOR(pg_catalog.+) 1);
	END IF;
	IF rest OPERATOR(pg_catalog.=) '' OR branch OPERATOR(pg_catalog.=) '' OR (c IS NOT NULL AND branch IS NOT NULL) THEN
		RAISE EXCEPTION 'invalid model reference "%"', ref USING ERRCODE = '22023',
			HINT = 'Write model, model@branch, model#commit or project/model.';
	END IF;
	model := rest;

	SELECT pg_catalog.count(*), pg_catalog.min(m.id) INTO n, model_id
	FROM @extschema@.model_catalog m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.project
	WHERE m.name OPERATOR(pg_catalog.=) model AND (proj IS NULL OR r.rolname OPERATOR(pg_catalog.=) proj);
	IF n OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'model "%" does not exist', rest USING ERRCODE = '42704';
	ELSIF n OPERATOR(pg_catalog.>) 1 THEN
		RAISE EXCEPTION 'model name "%" is ambiguous', rest USING ERRCODE = '42725',
			HINT = 'Qualify it with its project: project/model.';
	END IF;
	SELECT m.project, m.owner INTO project, owner FROM @extschema@.model_catalog m
	WHERE m.id OPERATOR(pg_catalog.=) model_id;

	IF c IS NOT NULL THEN
		SELECT k.id INTO commit_id FROM @extschema@.commits k
		WHERE k.id OPERATOR(pg_catalog.=) c::pg_catalog.int8 AND k.model_id OPERATOR(pg_catalog.=) resolve.model_id;
		IF commit_id IS NULL THEN
			RAISE EXCEPTION 'commit % does not exist in model "%"', c, model USING ERRCODE = '42704';
		END IF;
		RETURN;
	END IF;
	branch := COALESCE(branch, 'main');
	SELECT b.head INTO commit_id FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) resolve.model_id AND b.name OPERATOR(pg_catalog.=) branch;
	IF commit_id IS NULL THEN
		RAISE EXCEPTION 'branch "%" does not exist in model "%"', branch, model USING ERRCODE = '42704';
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve(pg_catalog.text) IS
	'the model, branch and commit a reference ([project/]model[@branch|#commit]) names';

-- Write net as a new commit of a model on a branch; moves the branch head.
CREATE FUNCTION @extschema@.commit_network(model_id pg_catalog.int8, branch pg_catalog.text,
										   parent pg_catalog.int8, net @extschema@.network,
										   message pg_catalog.text, metrics pg_catalog.jsonb)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole;
	cid pg_catalog.int8;
BEGIN
	SELECT m.project INTO proj FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) commit_network.model_id;
	IF proj IS NULL THEN
		RAISE EXCEPTION 'model % does not exist', model_id USING ERRCODE = '42704';
	END IF;
	INSERT INTO @extschema@.commits (model_id, project, parent, branch, message, metrics, bytes)
	VALUES (model_id, proj, parent, branch, COALESCE(message, ''), COALESCE(metrics, '{}'),
			pg_catalog.length(net::pg_catalog.bytea))
	RETURNING id INTO cid;

	WITH b AS (
		SELECT g.seq, g.segment, g.data, pg_catalog.sha256(g.data) AS hash
		FROM @extschema@.network_blocks(net) g
	), added AS (
		INSERT INTO @extschema@.blocks (project, hash, data)
		SELECT DISTINCT ON (b.hash) proj, b.hash, b.data FROM b
		ON CONFLICT DO NOTHING
	)
	INSERT INTO @extschema@.commit_blocks (commit_id, seq, project, segment, hash)
	SELECT cid, b.seq, proj, b.segment, b.hash FROM b;

	INSERT INTO @extschema@.branches AS x (model_id, project, name, head)
	VALUES (model_id, proj, branch, cid)
	ON CONFLICT ON CONSTRAINT branches_pkey DO UPDATE SET head = excluded.head, updated_at = pg_catalog.now();
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.commit_network(pg_catalog.int8, pg_catalog.text, pg_catalog.int8, @extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'store a network as a new commit (its blocks deduplicated within the project) and point the branch at it';

CREATE FUNCTION @extschema@.network_blocks(net @extschema@.network,
	OUT seq pg_catalog.int4, OUT segment pg_catalog.text, OUT data pg_catalog.bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hanami_network_blocks'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.network_blocks(@extschema@.network) IS
	'the blocks a network is stored as, in order: header, then each layer''s parameters in pieces of at most 32 kB';

CREATE FUNCTION @extschema@.load_commit(commit_id pg_catalog.int8)
RETURNS @extschema@.network
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq)::@extschema@.network
	FROM @extschema@.commit_blocks cb
	JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
	WHERE cb.commit_id OPERATOR(pg_catalog.=) $1
$$;

COMMENT ON FUNCTION @extschema@.load_commit(pg_catalog.int8) IS
	'the network stored by a commit, reassembled from its blocks';

-- Models ---------------------------------------------------------------------

CREATE FUNCTION @extschema@.create_model(name pg_catalog.text, spec pg_catalog.jsonb,
										 project pg_catalog.regrole DEFAULT NULL,
										 seed pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	-- no seed, neither argument nor in the spec: a random one, so that two
	-- such models do not start from the same weights
	net @extschema@.network := @extschema@.network(spec,
		CASE WHEN seed IS NULL AND NOT (spec OPERATOR(pg_catalog.?) 'seed')
			THEN pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483647)::pg_catalog.int4
			ELSE seed END);
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
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
		pg_catalog.jsonb_build_object('seed', @extschema@.info(net) OPERATOR(pg_catalog.->) 'seed'));
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
	SELECT * INTO f FROM @extschema@.fit_report(@extschema@.load_commit(head), query, options);
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
	'train the head of a branch on a query''s rows and store the result as a new commit with its metrics';

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

-- Versioning -----------------------------------------------------------------

CREATE FUNCTION @extschema@.branch(model pg_catalog.text, name pg_catalog.text,
								   from_ref pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	src record;
BEGIN
	SELECT * INTO r FROM @extschema@.resolve(model);
	SELECT * INTO src FROM @extschema@.resolve(COALESCE(from_ref, model));
	IF src.model_id OPERATOR(pg_catalog.<>) r.model_id THEN
		RAISE EXCEPTION '"%" is not a reference into model "%"', from_ref, r.model USING ERRCODE = '22023';
	END IF;
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	BEGIN
		INSERT INTO @extschema@.branches (model_id, project, name, head)
		VALUES (r.model_id, r.project, name, src.commit_id);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'branch "%" already exists in model "%"', name, r.model USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid branch name "%"', name USING ERRCODE = '22023';
	END;
	RETURN src.commit_id;
END
$$;

COMMENT ON FUNCTION @extschema@.branch(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'create a branch of a model starting at a reference (default: the head of main); returns its head commit';

CREATE FUNCTION @extschema@.reset(ref pg_catalog.text, commit_id pg_catalog.int8)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
BEGIN
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'reset moves a branch: use model@branch' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	IF NOT EXISTS (SELECT 1 FROM @extschema@.commits k
				   WHERE k.id OPERATOR(pg_catalog.=) reset.commit_id
					 AND k.model_id OPERATOR(pg_catalog.=) r.model_id) THEN
		RAISE EXCEPTION 'commit % does not exist in model "%"', commit_id, r.model USING ERRCODE = '42704';
	END IF;
	UPDATE @extschema@.branches b SET head = reset.commit_id, updated_at = pg_catalog.now()
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch;
	RETURN r.commit_id;
END
$$;

COMMENT ON FUNCTION @extschema@.reset(pg_catalog.text, pg_catalog.int8) IS
	'move a branch (model@branch, default main) to a commit of the model; returns the commit it pointed at before';

CREATE FUNCTION @extschema@.log(model pg_catalog.text)
RETURNS TABLE (commit_id pg_catalog.int8, parent pg_catalog.int8, branch pg_catalog.text,
			   message pg_catalog.text, author pg_catalog.regrole,
			   created_at pg_catalog.timestamptz, metrics pg_catalog.jsonb, bytes pg_catalog.int8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH RECURSIVE r AS (
		SELECT * FROM @extschema@.resolve($1)
	), chain AS (
		SELECT k.* FROM @extschema@.commits k, r WHERE k.id OPERATOR(pg_catalog.=) r.commit_id
		UNION ALL
		SELECT k.* FROM @extschema@.commits k JOIN chain c ON k.id OPERATOR(pg_catalog.=) c.parent
	)
	SELECT id, parent, branch, message, author, created_at, metrics, bytes FROM chain
	ORDER BY id DESC
$$;

COMMENT ON FUNCTION @extschema@.log(pg_catalog.text) IS
	'the history of a reference: its commit and every ancestor, newest first';

CREATE FUNCTION @extschema@.diff(a pg_catalog.text, b pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH ca AS (SELECT (@extschema@.resolve($1)).commit_id AS id),
		 cb AS (SELECT (@extschema@.resolve($2)).commit_id AS id),
		 x AS (
			SELECT COALESCE(p.seq, q.seq) AS seq, COALESCE(p.segment, q.segment) AS segment,
				   p.hash AS ha, q.hash AS hb
			FROM (SELECT k.* FROM @extschema@.commit_blocks k, ca WHERE k.commit_id OPERATOR(pg_catalog.=) ca.id) p
			FULL JOIN (SELECT k.* FROM @extschema@.commit_blocks k, cb WHERE k.commit_id OPERATOR(pg_catalog.=) cb.id) q
				ON p.seq OPERATOR(pg_catalog.=) q.seq
		 ),
		 s AS (
			SELECT segment, pg_catalog.bool_or(ha IS DISTINCT FROM hb) AS changed, pg_catalog.min(seq) AS first
			FROM x GROUP BY segment
		 )
	SELECT pg_catalog.jsonb_build_object(
		'a', (SELECT id FROM ca), 'b', (SELECT id FROM cb),
		'blocks_same', (SELECT pg_catalog.count(*) FROM x WHERE ha OPERATOR(pg_catalog.=) hb),
		'blocks_changed', (SELECT pg_catalog.count(*) FROM x WHERE ha OPERATOR(pg_catalog.<>) hb),
		'blocks_added', (SELECT pg_catalog.count(*) FROM x WHERE ha IS NULL),
		'blocks_removed', (SELECT pg_catalog.count(*) FROM x WHERE hb IS NULL),
		'changed', COALESCE((SELECT pg_catalog.jsonb_agg(segment ORDER BY first) FROM s WHERE changed), '[]'),
		'unchanged', COALESCE((SELECT pg_catalog.jsonb_agg(segment ORDER BY first) FROM s WHERE NOT changed), '[]'))
$$;

COMMENT ON FUNCTION @extschema@.diff(pg_catalog.text, pg_catalog.text) IS
	'which blocks and which segments (header, layers) differ between two references';

CREATE FUNCTION @extschema@.tree(model pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH r AS (SELECT * FROM @extschema@.resolve($1))
	SELECT pg_catalog.jsonb_build_object(
		'model', r.model, 'project', r.project::pg_catalog.text, 'owner', r.owner::pg_catalog.text,
		'kind', (SELECT m.kind FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) r.model_id),
		'branches', COALESCE((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'name', b.name, 'head', b.head,
				'commits', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
								'id', l.commit_id, 'parent', l.parent, 'message', l.message,
								'author', l.author::pg_catalog.text, 'created_at', l.created_at,
								'metrics', l.metrics) ORDER BY l.commit_id DESC)
							FROM @extschema@.log(r.model || '@' || b.name) l))
				ORDER BY b.name)
			FROM @extschema@.branches b WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id), '[]'))
	FROM r
$$;

COMMENT ON FUNCTION @extschema@.tree(pg_catalog.text) IS
	'a model with its branches and each branch''s commits (dates, messages, metrics) as one JSON tree';

CREATE FUNCTION @extschema@.gc()
RETURNS pg_catalog.int8
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
	WITH gone AS (
		DELETE FROM @extschema@.blocks b
		WHERE NOT EXISTS (SELECT 1 FROM @extschema@.commit_blocks cb
						  WHERE cb.project OPERATOR(pg_catalog.=) b.project
							AND cb.hash OPERATOR(pg_catalog.=) b.hash)
		RETURNING 1
	)
	SELECT pg_catalog.count(*) FROM gone
$$;

COMMENT ON FUNCTION @extschema@.gc() IS
	'delete the blocks no commit uses, in the projects the current role can see; returns how many';

CREATE VIEW @extschema@.models WITH (security_invoker = true) AS
SELECT m.name, m.project, m.owner, m.kind, m.created_at,
	   (SELECT pg_catalog.count(*) FROM @extschema@.branches b WHERE b.model_id OPERATOR(pg_catalog.=) m.id) AS branches,
	   (SELECT pg_catalog.count(*) FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) m.id) AS commits,
	   (SELECT b.head FROM @extschema@.branches b
		WHERE b.model_id OPERATOR(pg_catalog.=) m.id AND b.name OPERATOR(pg_catalog.=) 'main') AS main_head,
	   (SELECT pg_catalog.max(k.created_at) FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) m.id) AS updated_at,
	   m.id AS model_id
FROM @extschema@.model_catalog m;

COMMENT ON VIEW @extschema@.models IS
	'the models the current role can see, with branch and commit counts and the head of main';

GRANT SELECT ON @extschema@.models, @extschema@.my_projects TO PUBLIC;

-- Background training jobs ---------------------------------------------------
--
-- train_async() queues a job; when the submitting transaction commits, a
-- dynamic background worker runs it as the submitter (current_user), so
-- row-level security applies to its query and to the model.  The worker
-- writes progress and the learning curve after every epoch, each in its own
-- short transaction, and the resulting commit at the end.
--
--   queued --(worker claims it)--> running --(commit stored)--> succeeded
--     |                              |--(error, access revoked)--> failed
--     |                              |--(hanami.cancel)-----------> cancelled
--     +--(hanami.cancel)--> cancelled    (server restart: running -> failed)

CREATE TABLE @extschema@.job_queue (
	id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	model pg_catalog.text NOT NULL,
	branch pg_catalog.text NOT NULL,
	query pg_catalog.text NOT NULL,
	options pg_catalog.jsonb NOT NULL DEFAULT '{}',
	message pg_catalog.text,
	state pg_catalog.text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
	submitted_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	login_role pg_catalog.regrole NOT NULL DEFAULT SESSION_USER::pg_catalog.regrole,
	submitted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at pg_catalog.timestamptz,
	finished_at pg_catalog.timestamptz,
	epoch pg_catalog.int4,
	epochs pg_catalog.int4,
	loss pg_catalog.float8,
	rows_per_second pg_catalog.float8,
	error pg_catalog.text,
	commit_id pg_catalog.int8,
	worker_pid pg_catalog.int4,
	cancel_requested pg_catalog.bool NOT NULL DEFAULT false,
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	channel pg_catalog.text,
	attempts pg_catalog.int4 NOT NULL DEFAULT 0,
	UNIQUE (id, model_id)
);
CREATE INDEX ON @extschema@.job_queue (state) WHERE state IN ('queued', 'running');

CREATE TABLE @extschema@.training_log (
	job_id pg_catalog.int8,
	commit_id pg_catalog.int8,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	epoch pg_catalog.int4 NOT NULL,
	loss pg_catalog.float8,
	val_loss pg_catalog.float8,
	val_accuracy pg_catalog.float8,
	rows_per_second pg_catalog.float8,
	seconds pg_catalog.float8,
	logged_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE,
	FOREIGN KEY (job_id, model_id) REFERENCES @extschema@.job_queue (id, model_id) ON DELETE CASCADE,
	FOREIGN KEY (commit_id, model_id) REFERENCES @extschema@.commits (id, model_id) ON DELETE CASCADE
);
CREATE INDEX ON @extschema@.training_log (job_id);
CREATE INDEX ON @extschema@.training_log (commit_id);

COMMENT ON TABLE @extschema@.job_queue IS 'background training jobs (read them through the hanami.jobs view)';
COMMENT ON TABLE @extschema@.training_log IS 'loss and metrics per epoch of every training, synchronous or in a job';

ALTER TABLE @extschema@.job_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.job_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.training_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.training_log FORCE ROW LEVEL SECURITY;

CREATE POLICY jobs_read ON @extschema@.job_queue FOR SELECT
	USING (@extschema@.can_read(project)
		   OR submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole);
-- Only the server writes jobs (hanami.submit_job, cancel, reap_jobs and the
-- workers, after checking their caller); their submitters and admins may
-- delete finished ones.
CREATE POLICY jobs_delete ON @extschema@.job_queue FOR DELETE
	USING ((submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			OR @extschema@.is_admin())
		   AND state IN ('succeeded', 'failed', 'cancelled'));

CREATE POLICY training_log_read ON @extschema@.training_log FOR SELECT
	USING (@extschema@.can_read(project));
-- a writer of the model logs; the job and commit it names are of the same
-- model and visible to the writer (so a hidden id is never found or pinned)
CREATE POLICY training_log_write ON @extschema@.training_log FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.id OPERATOR(pg_catalog.=) model_id
						  AND m.project OPERATOR(pg_catalog.=) training_log.project
						  AND @extschema@.can_write(m.project, m.owner))
				AND (job_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.job_queue j
								WHERE j.id OPERATOR(pg_catalog.=) job_id
								  AND j.model_id OPERATOR(pg_catalog.=) training_log.model_id))
				AND (commit_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.commits k
								WHERE k.id OPERATOR(pg_catalog.=) commit_id
								  AND k.model_id OPERATOR(pg_catalog.=) training_log.model_id)));

GRANT SELECT, DELETE ON @extschema@.job_queue TO PUBLIC;
GRANT SELECT, INSERT ON @extschema@.training_log TO PUBLIC;

CREATE VIEW @extschema@.jobs WITH (security_invoker = true) AS
SELECT j.id, j.model, j.branch, j.state,
	   CASE WHEN j.state OPERATOR(pg_catalog.=) 'succeeded' THEN 100.0
			WHEN j.epochs OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(j.epoch, 0) / j.epochs, 1) END AS progress,
	   j.epoch, j.epochs, j.loss, j.rows_per_second,
	   j.submitted_by, j.submitted_at, j.started_at, j.finished_at,
	   j.error, j.commit_id, j.project, j.worker_pid, j.channel
FROM @extschema@.job_queue j;

COMMENT ON VIEW @extschema@.jobs IS
	'background training jobs you can see: state, progress %, epoch, loss, rows/s, times, error, resulting commit, NOTIFY channel';
GRANT SELECT ON @extschema@.jobs TO PUBLIC;

CREATE FUNCTION @extschema@.check_options(net @extschema@.network, options pg_catalog.jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_check_options'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.check_options(@extschema@.network, pg_catalog.jsonb) IS
	'raise the error fit() would raise for these options on this network, if any';

CREATE FUNCTION @extschema@.launch_at_commit(job pg_catalog.int8)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_launch_at_commit'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) IS
	'start a background worker for a queued job when the current transaction commits (internal)';

REVOKE ALL ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) FROM PUBLIC;

CREATE FUNCTION @extschema@.submit_job(model_id pg_catalog.int8, branch pg_catalog.text,
									   query pg_catalog.text, options pg_catalog.jsonb,
									   message pg_catalog.text, epochs pg_catalog.int4)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_submit_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.submit_job(pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.int4) IS
	'queue a job on a branch the caller may write, run as the caller when this transaction commits (used by train_async)';

-- Mark running jobs whose worker is gone (killed, server restarted) as failed.
CREATE FUNCTION @extschema@.reap_jobs()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_reap_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.reap_jobs() IS
	'mark running jobs whose worker no longer exists as failed; returns how many';

CREATE FUNCTION @extschema@.train_async(model pg_catalog.text, query pg_catalog.text,
										options pg_catalog.jsonb DEFAULT '{}',
										message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	can_login pg_catalog.bool;
BEGIN
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT r2.rolcanlogin INTO can_login FROM pg_catalog.pg_roles r2
	WHERE r2.rolname OPERATOR(pg_catalog.=) SESSION_USER;
	IF NOT COALESCE(can_login, false) THEN
		RAISE EXCEPTION 'cannot run a background job for session role "%"', SESSION_USER
			USING ERRCODE = '42501',
			DETAIL = 'Background workers connect as the session role, which cannot log in.',
			HINT = 'Submit the job from a session of a role with LOGIN; SET ROLE to the project role is fine.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	PERFORM @extschema@.check_options(@extschema@.load_commit(r.commit_id), options);
	PERFORM @extschema@.reap_jobs();
	RETURN @extschema@.submit_job(r.model_id, r.branch, query, COALESCE(options, '{}'), message,
		COALESCE((options OPERATOR(pg_catalog.->>) 'epochs')::pg_catalog.int4, 10));
END
$$;

COMMENT ON FUNCTION @extschema@.train_async(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'queue training of a branch in a background worker that starts when this transaction commits; returns the job id';

CREATE FUNCTION @extschema@.cancel(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_cancel_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.cancel(pg_catalog.int8) IS
	'cancel a job: a queued job never runs; a running one stops within about a second, leaving its branch unchanged';

CREATE FUNCTION @extschema@.wait(job pg_catalog.int8, timeout pg_catalog.interval DEFAULT '1 hour')
RETURNS pg_catalog.text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	s pg_catalog.text;
	deadline pg_catalog.timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) timeout;
BEGIN
	LOOP
		PERFORM @extschema@.reap_jobs();
		SELECT j.state INTO s FROM @extschema@.job_queue j WHERE j.id OPERATOR(pg_catalog.=) job;
		IF s IS NULL THEN
			RAISE EXCEPTION 'job % does not exist', job USING ERRCODE = '42704';
		END IF;
		EXIT WHEN s IN ('succeeded', 'failed', 'cancelled')
			OR pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>=) deadline;
		PERFORM pg_catalog.pg_sleep(0.05);
	END LOOP;
	RETURN s;
END
$$;

COMMENT ON FUNCTION @extschema@.wait(pg_catalog.int8, pg_catalog.interval) IS
	'wait until a job has finished (or the timeout passed) and return its state; for scripts';

-- Backups ----------------------------------------------------------------------
--
-- pg_dump carries the rows of every table that holds users' data, and the
-- sequences behind their ids (so ids made after a restore never collide with
-- restored ones).  Jobs that were queued or running when the dump was taken
-- are left out, with their training log: a restored job never runs.

SELECT pg_catalog.pg_extension_config_dump('@extschema@.projects', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.branches', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commit_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue',
	'WHERE state IN (''succeeded'', ''failed'', ''cancelled'')');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.training_log',
	'WHERE job_id IS NULL OR job_id IN (SELECT j.id FROM @extschema@.job_queue j WHERE j.state IN (''succeeded'', ''failed'', ''cancelled''))');

-- Guarding stored models ------------------------------------------------------
--
-- DROP EXTENSION hanami, DROP SCHEMA hanami and DROP OWNED BY the extension's
-- owner are refused while models are stored, unless a superuser has set
-- hanami.allow_drop_with_models (docs/operations.md).

CREATE FUNCTION @extschema@.guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'hanami_guard_drop'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.guard_drop() IS
	'event trigger: refuse to drop the extension, its schema or its owner''s objects while models are stored';

REVOKE ALL ON FUNCTION @extschema@.guard_drop() FROM PUBLIC;

CREATE EVENT TRIGGER hanami_guard_drop ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@.guard_drop();

-- Moving models: export and import ------------------------------------------
--
-- export() streams a model as ordered chunks (bytea values; block chunks
-- hold about 1 MB) that import() turns back into a model under a new name,
-- in another database or in the same one.  Every chunk starts with a
-- 10-byte header: the magic "HNMX", the format version (1), its type and
-- its ordinal (int4, big-endian, from 0), so a missing, repeated or
-- misplaced chunk is found.
--
--   H  header   JSON: format, hanami version, model, kind, project, owner,
--               exported_at, counts of commits and blocks
--   B  blocks   repeated (32-byte SHA-256, int4 big-endian length, data)
--   C  commit   JSON: its ordinal in the export, its parent's ordinal, branch,
--               message, author, created_at, metrics, bytes, origin, the
--               SHA-256 of its network image and its block list
--   E  end      JSON: branches with their heads (commit ordinals) and totals
--
-- Commits go in ascending id order, each preceded by the blocks it uses that
-- no earlier commit of the export used.  docs/operations.md describes it all.

CREATE FUNCTION @extschema@.export(ref pg_catalog.text)
RETURNS SETOF pg_catalog.bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	-- "HNMX" and the format version; a chunk then has its type and ordinal
	magic CONSTANT pg_catalog.bytea := '\x484e4d5801';
	-- at most this many bytes of block entries per B chunk (a block larger
	-- than that would go alone; stored blocks are at most 32 kB)
	chunk_target CONSTANT pg_catalog.int8 := 1048576;
	r record;
	one_branch pg_catalog.bool;
	ids pg_catalog.int8[];
	n_blocks pg_catalog.int8;
	n_bytes pg_catalog.int8;
	ord pg_catalog.int4 := 0;
	x record;
	c record;
	d pg_catalog.bytea;
	parts pg_catalog.bytea[] := '{}';
	fill pg_catalog.int8 := 0;
	heads pg_catalog.jsonb;
BEGIN
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot export a single commit' USING ERRCODE = '22023',
			HINT = 'Export the model (every branch) or one branch (model@branch); for the history of a commit, make a branch at it with hanami.branch() and export that.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	one_branch := pg_catalog.strpos(ref, '@') OPERATOR(pg_catalog.>) 0;

	-- the commits: the whole model, or the head of one branch and its ancestors
	IF one_branch THEN
		WITH RECURSIVE chain AS (
			SELECT k.id, k.parent FROM @extschema@.commits k WHERE k.id OPERATOR(pg_catalog.=) r.commit_id
			UNION ALL
			SELECT k.id, k.parent FROM @extschema@.commits k JOIN chain ON k.id OPERATOR(pg_catalog.=) chain.parent
		)
		SELECT pg_catalog.array_agg(chain.id ORDER BY chain.id) INTO ids FROM chain;
	ELSE
		SELECT pg_catalog.array_agg(k.id ORDER BY k.id) INTO ids
		FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) r.model_id;
	END IF;

	SELECT pg_catalog.count(*), COALESCE(pg_catalog.sum(pg_catalog.length(b.data)), 0) INTO n_blocks, n_bytes
	FROM (SELECT DISTINCT cb.project, cb.hash
		  FROM pg_catalog.unnest(ids) u(id)
		  JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) u.id) h
	JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) h.project AND b.hash OPERATOR(pg_catalog.=) h.hash;

	RETURN NEXT magic OPERATOR(pg_catalog.||) 'H'::pg_catalog.bytea
		OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
		OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
			'format', 'hanami-export', 'format_version', 1,
			'hanami', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'hanami'),
			'model', r.model,
			'kind', (SELECT m.kind FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) r.model_id),
			'project', pg_catalog.pg_get_userbyid(r.project::pg_catalog.oid),
			'owner', pg_catalog.pg_get_userbyid(r.owner::pg_catalog.oid),
			'ref', ref,
			'branch', CASE WHEN one_branch THEN r.branch END,
			'exported_at', pg_catalog.now(),
			'exported_by', CURRENT_USER,
			'commits', pg_catalog.cardinality(ids),
			'blocks', n_blocks,
			'block_bytes', n_bytes)::pg_catalog.text, 'UTF8');
	ord := ord OPERATOR(pg_catalog.+) 1;

	-- Each commit after the blocks it brings: the rows are sorted by
	-- (commit ordinal, block or commit, seq), with block data read one block
	-- at a time, so only keys are sorted and memory holds about one chunk.
	FOR x IN
		WITH sel AS (
			SELECT u.id, (u.n OPERATOR(pg_catalog.-) 1)::pg_catalog.int4 AS ord
			FROM pg_catalog.unnest(ids) WITH ORDINALITY u(id, n)
		), uses AS (
			SELECT s.ord, cb.seq, cb.project, cb.hash,
				   pg_catalog.row_number() OVER (PARTITION BY cb.project, cb.hash ORDER BY s.ord, cb.seq) AS nth
			FROM sel s JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) s.id
		)
		SELECT u.ord, false AS is_commit, u.seq, u.project, u.hash,
			   NULL::pg_catalog.int8 AS id, NULL::pg_catalog.int8 AS parent, NULL::pg_catalog.int4 AS parent_ord
		FROM uses u WHERE u.nth OPERATOR(pg_catalog.=) 1
		UNION ALL
		SELECT s.ord, true, NULL, NULL, NULL, s.id, k.parent, p.ord
		FROM sel s JOIN @extschema@.commits k ON k.id OPERATOR(pg_catalog.=) s.id
		LEFT JOIN sel p ON p.id OPERATOR(pg_catalog.=) k.parent
		ORDER BY 1, 2, 3
	LOOP
		IF NOT x.is_commit THEN
			SELECT b.data INTO d FROM @extschema@.blocks b
			WHERE b.project OPERATOR(pg_catalog.=) x.project AND b.hash OPERATOR(pg_catalog.=) x.hash;
			IF fill OPERATOR(pg_catalog.>) 0
			   AND (fill OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) pg_catalog.length(d)) OPERATOR(pg_catalog.>) chunk_target THEN
				RETURN NEXT magic OPERATOR(pg_catalog.||) 'B'::pg_catalog.bytea
					OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
					OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(p.e, ''::pg_catalog.bytea ORDER BY p.n)
											 FROM pg_catalog.unnest(parts) WITH ORDINALITY p(e, n));
				ord := ord OPERATOR(pg_catalog.+) 1;
				parts := '{}';
				fill := 0;
			END IF;
			parts := pg_catalog.array_append(parts, x.hash OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(d))
											 OPERATOR(pg_catalog.||) d);
			fill := fill OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) pg_catalog.length(d);
			CONTINUE;
		END IF;

		IF fill OPERATOR(pg_catalog.>) 0 THEN
			RETURN NEXT magic OPERATOR(pg_catalog.||) 'B'::pg_catalog.bytea
				OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
				OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(p.e, ''::pg_catalog.bytea ORDER BY p.n)
										 FROM pg_catalog.unnest(parts) WITH ORDINALITY p(e, n));
			ord := ord OPERATOR(pg_catalog.+) 1;
			parts := '{}';
			fill := 0;
		END IF;
		IF x.parent IS NOT NULL AND (x.parent_ord IS NULL OR x.parent_ord OPERATOR(pg_catalog.>=) x.ord) THEN
			RAISE EXCEPTION 'commit % of model "%" has parent %, which does not come before it in the export',
				x.id, r.model, x.parent USING ERRCODE = 'XX000';
		END IF;
		SELECT k.*, pg_catalog.pg_get_userbyid(k.author::pg_catalog.oid) AS author_name,
			   (SELECT pg_catalog.sha256(pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq))
				FROM @extschema@.commit_blocks cb
				JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
				WHERE cb.commit_id OPERATOR(pg_catalog.=) k.id) AS image_hash,
			   (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
						'seq', cb.seq, 'segment', cb.segment, 'hash', pg_catalog.encode(cb.hash, 'hex')) ORDER BY cb.seq)
				FROM @extschema@.commit_blocks cb WHERE cb.commit_id OPERATOR(pg_catalog.=) k.id) AS block_list
		INTO c FROM @extschema@.commits k WHERE k.id OPERATOR(pg_catalog.=) x.id;
		RETURN NEXT magic OPERATOR(pg_catalog.||) 'C'::pg_catalog.bytea
			OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
			OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
				'commit', x.ord, 'parent', x.parent_ord, 'id', c.id, 'branch', c.branch,
				'message', c.message, 'author', c.author_name, 'created_at', c.created_at,
				'metrics', c.metrics, 'bytes', c.bytes, 'origin', c.origin,
				'sha256', pg_catalog.encode(c.image_hash, 'hex'),
				'blocks', COALESCE(c.block_list, '[]'))::pg_catalog.text, 'UTF8');
		ord := ord OPERATOR(pg_catalog.+) 1;
	END LOOP;

	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			   'name', b.name,
			   'head', pg_catalog.array_position(ids, b.head) OPERATOR(pg_catalog.-) 1) ORDER BY b.name)
	INTO heads
	FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id
	  AND (NOT one_branch OR b.name OPERATOR(pg_catalog.=) r.branch);
	RETURN NEXT magic OPERATOR(pg_catalog.||) 'E'::pg_catalog.bytea
		OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
		OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
			'branches', heads,
			'commits', pg_catalog.cardinality(ids),
			'blocks', n_blocks,
			'block_bytes', n_bytes,
			'chunks', ord OPERATOR(pg_catalog.+) 1)::pg_catalog.text, 'UTF8');
	RETURN;
END
$$;

COMMENT ON FUNCTION @extschema@.export(pg_catalog.text) IS
	'a model (every branch) or one branch (model@branch) with its history and blocks, as ordered chunks for hanami.import()';

CREATE FUNCTION @extschema@.import(query pg_catalog.text, name pg_catalog.text,
								   project pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	chunk pg_catalog.bytea;
	hd pg_catalog.bytea;
	seen pg_catalog.int8 := 0;	-- chunks read, and so the ordinal expected next
	ord pg_catalog.int8;
	typ pg_catalog.text;
	body pg_catalog.bytea;
	j pg_catalog.jsonb;
	hdr pg_catalog.jsonb;
	fin pg_catalog.jsonb;
	proj pg_catalog.regrole;
	kind pg_catalog.text;
	mid pg_catalog.int8;
	want_commits pg_catalog.int8;
	want_blocks pg_catalog.int8;
	-- the new id of each commit of the export, at its ordinal + 1
	newids pg_catalog.int8[] := '{}';
	-- every block hash the export carried
	sent pg_catalog.bytea[] := '{}';
	n_blocks pg_catalog.int8 := 0;
	-- a B chunk's entries
	pos pg_catalog.int8;
	len pg_catalog.int8;
	blen pg_catalog.int8;
	h pg_catalog.bytea;
	d pg_catalog.bytea;
	hs pg_catalog.bytea[];
	ds pg_catalog.bytea[];
	-- a C chunk's commit
	c_ord pg_catalog.int8;
	c_parent pg_catalog.int8;
	c_id pg_catalog.int8;
	c_branch pg_catalog.text;
	c_message pg_catalog.text;
	c_author pg_catalog.text;
	c_created pg_catalog.timestamptz;
	c_metrics pg_catalog.jsonb;
	c_bytes pg_catalog.int8;
	c_sha pg_catalog.bytea;
	c_origin pg_catalog.jsonb;
	seqs pg_catalog.int4[];
	segs pg_catalog.text[];
	hashes pg_catalog.bytea[];
	cid pg_catalog.int8;
	img pg_catalog.bytea;
	net @extschema@.network;
	bad record;
BEGIN
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be null' USING ERRCODE = '22004';
	END IF;
	IF name IS NULL THEN
		RAISE EXCEPTION 'model name must not be null' USING ERRCODE = '22004';
	END IF;
	proj := COALESCE(pg_catalog.quote_ident(project)::pg_catalog.regrole, CURRENT_USER::pg_catalog.regrole);
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;

	FOR chunk IN EXECUTE query LOOP
		IF fin IS NOT NULL THEN
			RAISE EXCEPTION 'the export goes on after its end chunk' USING ERRCODE = 'XX001',
				DETAIL = pg_catalog.format('Chunk %s follows the end chunk %s.', seen, seen OPERATOR(pg_catalog.-) 1);
		END IF;
		-- its 10-byte header, read once (the chunk itself may be TOASTed)
		hd := pg_catalog.substr(chunk, 1, 10);
		IF hd IS NULL OR pg_catalog.length(hd) OPERATOR(pg_catalog.<) 10
		   OR pg_catalog.substr(hd, 1, 4) OPERATOR(pg_catalog.<>) '\x484e4d58'::pg_catalog.bytea THEN
			IF seen OPERATOR(pg_catalog.=) 0 THEN
				RAISE EXCEPTION 'not a hanami model export' USING ERRCODE = '22023',
					DETAIL = 'Its first chunk does not start with "HNMX".',
					HINT = 'The query must return the chunks hanami.export() wrote, as one bytea column, in order: SELECT chunk FROM t ORDER BY ordinal.';
			END IF;
			RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
				DETAIL = 'It does not start with "HNMX".';
		END IF;
		IF pg_catalog.get_byte(hd, 4) OPERATOR(pg_catalog.<>) 1 THEN
			RAISE EXCEPTION 'export format version % is not supported', pg_catalog.get_byte(hd, 4)
				USING ERRCODE = '0A000',
				DETAIL = 'This version of hanami reads format version 1.';
		END IF;
		typ := pg_catalog.encode(pg_catalog.substr(hd, 6, 1), 'escape');
		ord := (pg_catalog.get_byte(hd, 6)::pg_catalog.int8 OPERATOR(pg_catalog.<<) 24)
			OPERATOR(pg_catalog.|) (pg_catalog.get_byte(hd, 7) OPERATOR(pg_catalog.<<) 16)
			OPERATOR(pg_catalog.|) (pg_catalog.get_byte(hd, 8) OPERATOR(pg_catalog.<<) 8)
			OPERATOR(pg_catalog.|) pg_catalog.get_byte(hd, 9);
		IF ord OPERATOR(pg_catalog.<>) seen THEN
			RAISE EXCEPTION 'chunk % of the export arrived where chunk % was expected', ord, seen
				USING ERRCODE = 'XX001',
				DETAIL = 'A chunk is missing, repeated or out of order.',
				HINT = 'Read the chunks in the order hanami.export() returned them (ORDER BY their ordinal).';
		END IF;
		IF (seen OPERATOR(pg_catalog.=) 0) OPERATOR(pg_catalog.<>) (typ OPERATOR(pg_catalog.=) 'H')
		   OR typ NOT IN ('H', 'B', 'C', 'E') THEN
			RAISE EXCEPTION 'chunk % of the export has type "%"', seen, typ USING ERRCODE = 'XX001',
				DETAIL = 'An export is a header chunk (H), block (B) and commit (C) chunks, then an end chunk (E).';
		END IF;
		-- the payload as a plain value of its own: read piece by piece below
		body := pg_catalog.substr(chunk, 11);

		IF typ OPERATOR(pg_catalog.=) 'B' THEN
			pos := 1;
			len := pg_catalog.length(body);
			hs := '{}';
			ds := '{}';
			WHILE pos OPERATOR(pg_catalog.<=) len LOOP
				IF (pos OPERATOR(pg_catalog.+) 35) OPERATOR(pg_catalog.>) len THEN
					RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
						DETAIL = 'It ends inside the hash or length of a block.';
				END IF;
				h := pg_catalog.substr(body, pos::pg_catalog.int4, 32);
				blen := (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 31)::pg_catalog.int4)::pg_catalog.int8 OPERATOR(pg_catalog.<<) 24)
					OPERATOR(pg_catalog.|) (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 32)::pg_catalog.int4) OPERATOR(pg_catalog.<<) 16)
					OPERATOR(pg_catalog.|) (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 33)::pg_catalog.int4) OPERATOR(pg_catalog.<<) 8)
					OPERATOR(pg_catalog.|) pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 34)::pg_catalog.int4);
				IF (pos OPERATOR(pg_catalog.+) 35 OPERATOR(pg_catalog.+) blen) OPERATOR(pg_catalog.>) len THEN
					RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
						DETAIL = pg_catalog.format('Block %s runs past the end of the chunk.', pg_catalog.encode(h, 'hex'));
				END IF;
				d := pg_catalog.substr(body, (pos OPERATOR(pg_catalog.+) 36)::pg_catalog.int4, blen::pg_catalog.int4);
				IF pg_catalog.sha256(d) OPERATOR(pg_catalog.<>) h THEN
					RAISE EXCEPTION 'block % in chunk % of the export does not match its hash',
						pg_catalog.encode(h, 'hex'), seen USING ERRCODE = 'XX001',
						DETAIL = pg_catalog.format('The SHA-256 of its %s bytes is %s.', blen,
												   pg_catalog.encode(pg_catalog.sha256(d), 'hex'));
				END IF;
				hs := pg_catalog.array_append(hs, h);
				ds := pg_catalog.array_append(ds, d);
				sent := pg_catalog.array_append(sent, h);
				pos := pos OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) blen;
			END LOOP;
			INSERT INTO @extschema@.blocks (project, hash, data)
			SELECT proj, u.h, u.d FROM ROWS FROM (pg_catalog.unnest(hs), pg_catalog.unnest(ds)) u(h, d)
			ON CONFLICT DO NOTHING;
			n_blocks := n_blocks OPERATOR(pg_catalog.+) pg_catalog.cardinality(hs);
			seen := seen OPERATOR(pg_catalog.+) 1;
			CONTINUE;
		END IF;

		-- H, C and E chunks hold a JSON object
		BEGIN
			j := pg_catalog.convert_from(body, 'UTF8')::pg_catalog.jsonb;
			IF pg_catalog.jsonb_typeof(j) OPERATOR(pg_catalog.<>) 'object' THEN
				RAISE EXCEPTION 'it is not an object' USING ERRCODE = '22023';
			END IF;
			IF typ OPERATOR(pg_catalog.=) 'C' THEN
				c_ord := (j OPERATOR(pg_catalog.->>) 'commit')::pg_catalog.int8;
				c_parent := (j OPERATOR(pg_catalog.->>) 'parent')::pg_catalog.int8;
				c_id := (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8;
				c_branch := j OPERATOR(pg_catalog.->>) 'branch';
				c_message := j OPERATOR(pg_catalog.->>) 'message';
				c_author := j OPERATOR(pg_catalog.->>) 'author';
				c_created := (j OPERATOR(pg_catalog.->>) 'created_at')::pg_catalog.timestamptz;
				c_metrics := j OPERATOR(pg_catalog.->) 'metrics';
				c_bytes := (j OPERATOR(pg_catalog.->>) 'bytes')::pg_catalog.int8;
				c_sha := pg_catalog.decode(j OPERATOR(pg_catalog.->>) 'sha256', 'hex');
				c_origin := j OPERATOR(pg_catalog.->) 'origin';
				SELECT pg_catalog.array_agg((e OPERATOR(pg_catalog.->>) 'seq')::pg_catalog.int4 ORDER BY n),
					   pg_catalog.array_agg(e OPERATOR(pg_catalog.->>) 'segment' ORDER BY n),
					   pg_catalog.array_agg(pg_catalog.decode(e OPERATOR(pg_catalog.->>) 'hash', 'hex') ORDER BY n)
				INTO seqs, segs, hashes
				FROM pg_catalog.jsonb_array_elements(j OPERATOR(pg_catalog.->) 'blocks') WITH ORDINALITY a(e, n);
				IF c_ord IS NULL OR c_id IS NULL OR c_branch IS NULL OR c_message IS NULL OR c_author IS NULL
				   OR c_created IS NULL OR pg_catalog.jsonb_typeof(c_metrics) IS DISTINCT FROM 'object'
				   OR c_bytes IS NULL OR pg_catalog.length(c_sha) IS DISTINCT FROM 32 OR seqs IS NULL
				   OR pg_catalog.array_position(seqs, NULL) IS NOT NULL
				   OR pg_catalog.array_position(segs, NULL) IS NOT NULL
				   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(hashes) u(x)
							  WHERE pg_catalog.length(u.x) IS DISTINCT FROM 32) THEN
					RAISE EXCEPTION 'a field of the commit is missing or of the wrong type' USING ERRCODE = '22023';
				END IF;
			ELSIF typ OPERATOR(pg_catalog.=) 'H' THEN
				want_commits := (j OPERATOR(pg_catalog.->>) 'commits')::pg_catalog.int8;
				want_blocks := (j OPERATOR(pg_catalog.->>) 'blocks')::pg_catalog.int8;
				kind := j OPERATOR(pg_catalog.->>) 'kind';
				IF j OPERATOR(pg_catalog.->>) 'format' IS DISTINCT FROM 'hanami-export'
				   OR want_commits IS NULL OR want_commits OPERATOR(pg_catalog.<) 1
				   OR want_blocks IS NULL OR want_blocks OPERATOR(pg_catalog.<) 0 OR kind IS NULL THEN
					RAISE EXCEPTION 'a field of the header is missing or of the wrong type' USING ERRCODE = '22023';
				END IF;
			END IF;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
				DETAIL = pg_catalog.format('Reading its JSON: %s.', SQLERRM);
		END;

		IF typ OPERATOR(pg_catalog.=) 'H' THEN
			hdr := j;
			BEGIN
				INSERT INTO @extschema@.model_catalog (project, name, kind)
				VALUES (proj, name, kind)
				RETURNING id INTO mid;
			EXCEPTION WHEN unique_violation THEN
				RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
			WHEN check_violation THEN
				RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
					HINT = 'Names may not contain /, @ or # or start with a space.';
			END;

		ELSIF typ OPERATOR(pg_catalog.=) 'C' THEN
			IF c_ord OPERATOR(pg_catalog.<>) pg_catalog.cardinality(newids) THEN
				RAISE EXCEPTION 'chunk % of the export holds commit %, expected commit %',
					seen, c_ord, pg_catalog.cardinality(newids) USING ERRCODE = 'XX001';
			END IF;
			IF c_parent OPERATOR(pg_catalog.<) 0 OR c_parent OPERATOR(pg_catalog.>=) c_ord THEN
				RAISE EXCEPTION 'commit % of the export names parent %, which is not an earlier commit of the export',
					c_ord, c_parent USING ERRCODE = 'XX001';
			END IF;
			IF EXISTS (SELECT 1 FROM pg_catalog.unnest(seqs) WITH ORDINALITY u(s, n)
					   WHERE u.s OPERATOR(pg_catalog.<>) (u.n OPERATOR(pg_catalog.-) 1)) THEN
				RAISE EXCEPTION 'commit % of the export lists its blocks out of order', c_ord USING ERRCODE = 'XX001';
			END IF;
			-- a block neither here nor stored yet; blocks stored before this
			-- import are checked against what the export carried at its end
			SELECT u.x INTO h FROM pg_catalog.unnest(hashes) u(x)
			WHERE NOT EXISTS (SELECT 1 FROM @extschema@.blocks b
							  WHERE b.project OPERATOR(pg_catalog.=) proj AND b.hash OPERATOR(pg_catalog.=) u.x)
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'commit % of the export uses block %, which the export does not carry',
					c_ord, pg_catalog.encode(h, 'hex') USING ERRCODE = 'XX001';
			END IF;

			INSERT INTO @extschema@.commits (model_id, project, parent, branch, message, metrics, bytes, origin)
			VALUES (mid, proj, newids[c_parent OPERATOR(pg_catalog.+) 1], c_branch, c_message, c_metrics, c_bytes,
					CASE WHEN pg_catalog.jsonb_typeof(c_origin) OPERATOR(pg_catalog.=) 'object' THEN c_origin
						 ELSE pg_catalog.jsonb_build_object(
							'commit', c_id, 'author', c_author,
							'created_at', j OPERATOR(pg_catalog.->) 'created_at',
							'model', hdr OPERATOR(pg_catalog.->) 'model',
							'project', hdr OPERATOR(pg_catalog.->) 'project') END)
			RETURNING id INTO cid;
			INSERT INTO @extschema@.commit_blocks (commit_id, seq, project, segment, hash)
			SELECT cid, u.s, proj, u.g, u.x FROM ROWS FROM (pg_catalog.unnest(seqs), pg_catalog.unnest(segs), pg_catalog.unnest(hashes)) u(s, g, x);

			SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq) INTO img
			FROM @extschema@.commit_blocks cb
			JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
			WHERE cb.commit_id OPERATOR(pg_catalog.=) cid;
			IF COALESCE(pg_catalog.length(img), 0) OPERATOR(pg_catalog.<>) c_bytes THEN
				RAISE EXCEPTION 'commit % of the export reassembles to % bytes instead of %',
					c_ord, COALESCE(pg_catalog.length(img), 0), c_bytes USING ERRCODE = 'XX001';
			END IF;
			IF pg_catalog.sha256(img) OPERATOR(pg_catalog.<>) c_sha THEN
				RAISE EXCEPTION 'commit % of the export does not reassemble to the network it was exported as', c_ord
					USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('Its SHA-256 is %s instead of %s.',
											   pg_catalog.encode(pg_catalog.sha256(img), 'hex'), pg_catalog.encode(c_sha, 'hex'));
			END IF;
			BEGIN
				net := img::@extschema@.network;
			EXCEPTION WHEN OTHERS THEN
				RAISE EXCEPTION 'commit % of the export is not a valid network: %', c_ord, SQLERRM
					USING ERRCODE = SQLSTATE;
			END;
			IF c_parent IS NULL AND (@extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind') OPERATOR(pg_catalog.<>) kind THEN
				RAISE EXCEPTION 'commit % of the export is a % network, not of the model''s kind %',
					c_ord, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind', kind USING ERRCODE = 'XX001';
			END IF;
			newids := pg_catalog.array_append(newids, cid);

		ELSE
			fin := j;
			IF (fin OPERATOR(pg_catalog.->>) 'chunks') IS DISTINCT FROM (seen OPERATOR(pg_catalog.+) 1)::pg_catalog.text
			   OR (fin OPERATOR(pg_catalog.->>) 'commits') IS DISTINCT FROM want_commits::pg_catalog.text
			   OR (fin OPERATOR(pg_catalog.->>) 'blocks') IS DISTINCT FROM want_blocks::pg_catalog.text
			   OR pg_catalog.cardinality(newids) OPERATOR(pg_catalog.<>) want_commits
			   OR n_blocks OPERATOR(pg_catalog.<>) want_blocks THEN
				RAISE EXCEPTION 'the export is incomplete' USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('Its header announced %s commits and %s blocks, its end chunk %s commits, %s blocks and %s chunks; %s commits, %s blocks and %s chunks arrived.',
						want_commits, want_blocks, fin OPERATOR(pg_catalog.->>) 'commits', fin OPERATOR(pg_catalog.->>) 'blocks',
						fin OPERATOR(pg_catalog.->>) 'chunks', pg_catalog.cardinality(newids), n_blocks, seen OPERATOR(pg_catalog.+) 1);
			END IF;
			-- every block a commit uses came with the export
			SELECT n.n OPERATOR(pg_catalog.-) 1 AS ord, cb.hash INTO bad
			FROM pg_catalog.unnest(newids) WITH ORDINALITY n(id, n)
			JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) n.id
			WHERE NOT (cb.hash OPERATOR(pg_catalog.=) ANY (SELECT s.x FROM pg_catalog.unnest(sent) s(x)))
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'commit % of the export uses block %, which the export does not carry',
					bad.ord, pg_catalog.encode(bad.hash, 'hex') USING ERRCODE = 'XX001';
			END IF;
			IF pg_catalog.jsonb_typeof(fin OPERATOR(pg_catalog.->) 'branches') IS DISTINCT FROM 'array'
			   OR pg_catalog.jsonb_array_length(fin OPERATOR(pg_catalog.->) 'branches') OPERATOR(pg_catalog.=) 0 THEN
				RAISE EXCEPTION 'the end chunk of the export lists no branches' USING ERRCODE = 'XX001';
			END IF;
			SELECT b.e INTO bad
			FROM pg_catalog.jsonb_array_elements(fin OPERATOR(pg_catalog.->) 'branches') b(e)
			WHERE pg_catalog.jsonb_typeof(b.e OPERATOR(pg_catalog.->) 'name') IS DISTINCT FROM 'string'
			   OR pg_catalog.jsonb_typeof(b.e OPERATOR(pg_catalog.->) 'head') IS DISTINCT FROM 'number'
			   OR CASE WHEN (b.e OPERATOR(pg_catalog.->>) 'head') ~ '^[0-9]{1,18}$'
					   THEN (b.e OPERATOR(pg_catalog.->>) 'head')::pg_catalog.int8 OPERATOR(pg_catalog.>=) pg_catalog.cardinality(newids)
					   ELSE true END
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'the end chunk of the export lists a branch that is not a name and a commit of the export'
					USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('The entry is %s.', bad.e);
			END IF;
			BEGIN
				INSERT INTO @extschema@.branches (model_id, project, name, head)
				SELECT mid, proj, b.e OPERATOR(pg_catalog.->>) 'name',
					   newids[(b.e OPERATOR(pg_catalog.->>) 'head')::pg_catalog.int8 OPERATOR(pg_catalog.+) 1]
				FROM pg_catalog.jsonb_array_elements(fin OPERATOR(pg_catalog.->) 'branches') b(e);
			EXCEPTION WHEN unique_violation OR check_violation THEN
				RAISE EXCEPTION 'the end chunk of the export lists a branch name twice or an invalid one'
					USING ERRCODE = 'XX001';
			END;
		END IF;
		seen := seen OPERATOR(pg_catalog.+) 1;
	END LOOP;

	IF seen OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'not a hanami model export' USING ERRCODE = '22023',
			DETAIL = 'The query returned no rows.',
			HINT = 'The query must return the chunks hanami.export() wrote, as one bytea column, in order: SELECT chunk FROM t ORDER BY ordinal.';
	END IF;
	IF fin IS NULL THEN
		RAISE EXCEPTION 'the export is truncated: it ends after chunk % without its end chunk',
			seen OPERATOR(pg_catalog.-) 1 USING ERRCODE = 'XX001',
			HINT = 'Load every chunk of the export, up to its end chunk (type E).';
	END IF;
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.import(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'a new model named name in a project (default: your role) from the chunks of hanami.export() a query returns in order, verified; you are the author of its commits, their origin keeps the original';

-- Storage quotas ---------------------------------------------------------------
--
-- A project's blocks may hold at most hanami.quotas.max_bytes bytes (no row:
-- no limit).  Hanami admins edit the table; members of a project read their
-- project's row.  Checked after every statement that adds blocks (a commit,
-- an import), as the role that adds them; superusers are not limited.

CREATE TABLE @extschema@.quotas (
	project pg_catalog.regrole PRIMARY KEY,
	max_bytes pg_catalog.int8 NOT NULL CHECK (max_bytes OPERATOR(pg_catalog.>=) 0),
	set_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	set_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.quotas IS
	'storage quota per project: most bytes its blocks may hold (edited by hanami admins)';

ALTER TABLE @extschema@.quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.quotas FORCE ROW LEVEL SECURITY;
CREATE POLICY quotas_read ON @extschema@.quotas FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY quotas_admin ON @extschema@.quotas FOR ALL
	USING (@extschema@.is_admin()) WITH CHECK (@extschema@.is_admin());
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.quotas TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.quotas', '');

CREATE FUNCTION @extschema@.blocks_quota_check()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
BEGIN
	IF (SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole) THEN
		RETURN NULL;
	END IF;
	FOR r IN
		SELECT q.project, q.max_bytes,
			   (SELECT pg_catalog.sum(pg_catalog.octet_length(b.data)) FROM @extschema@.blocks b
				WHERE b.project OPERATOR(pg_catalog.=) q.project) AS used
		FROM @extschema@.quotas q
		WHERE q.project IN (SELECT DISTINCT a.project FROM added a)
	LOOP
		IF r.used OPERATOR(pg_catalog.>) r.max_bytes THEN
			RAISE EXCEPTION 'project % is over its storage quota', r.project USING ERRCODE = '53400',
				DETAIL = pg_catalog.format('Its blocks would hold %s bytes; its quota is %s bytes.', r.used, r.max_bytes),
				HINT = 'Drop models and run hanami.gc(), or ask a hanami admin to raise the project''s row in hanami.quotas.';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION @extschema@.blocks_quota_check() IS
	'trigger: refuse blocks that take a project over its storage quota';

CREATE TRIGGER blocks_quota AFTER INSERT ON @extschema@.blocks
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.blocks_quota_check();

CREATE VIEW @extschema@.storage WITH (security_invoker = true) AS
SELECT p.project,
	   COALESCE(s.blocks, 0) AS blocks,
	   COALESCE(s.bytes, 0) AS bytes,
	   q.max_bytes,
	   CASE WHEN q.max_bytes OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(s.bytes, 0) / q.max_bytes, 1) END AS used_percent
FROM (SELECT b.project FROM @extschema@.blocks b UNION SELECT q2.project FROM @extschema@.quotas q2) p
LEFT JOIN (SELECT b.project, pg_catalog.count(*) AS blocks,
				  pg_catalog.sum(pg_catalog.octet_length(b.data)) AS bytes
		   FROM @extschema@.blocks b GROUP BY b.project) s ON s.project OPERATOR(pg_catalog.=) p.project
LEFT JOIN @extschema@.quotas q ON q.project OPERATOR(pg_catalog.=) p.project;

COMMENT ON VIEW @extschema@.storage IS
	'bytes stored per project you can see, with its quota and how much of it is used';
GRANT SELECT ON @extschema@.storage TO PUBLIC;
