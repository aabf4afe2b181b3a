-- The store: projects, models, commits, branches, blocks --------------------
--
-- The tables of named models, the checks on their rows, row-level security
-- on every one of them and what PUBLIC may do with them.

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
COMMENT ON FUNCTION @extschema@.commits_parent_check() IS
	'trigger: refuse a commit whose parent is not a commit of the same model, as the inserting role sees them';

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

-- Whether the current role may write a model, found by its id in
-- hanami.model_catalog as that role sees it: row-level security applies, so
-- a model hidden from the role is never writable.  The write policies below
-- share it; SECURITY INVOKER like every function here, it is evaluated as
-- their own subqueries were (every name in it is schema-qualified).
CREATE FUNCTION @extschema@.can_write_model(model_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT EXISTS (SELECT 1 FROM @extschema@.model_catalog m
				   WHERE m.id OPERATOR(pg_catalog.=) can_write_model.model_id
					 AND @extschema@.can_write(m.project, m.owner))
$$;

COMMENT ON FUNCTION @extschema@.can_write_model(pg_catalog.int8) IS
	'whether the current role may write the model with this id, as it sees the models: its owner, a project admin, or a hanami admin';

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
				AND @extschema@.can_write_model(model_id));

CREATE POLICY branches_read ON @extschema@.branches FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY branches_write ON @extschema@.branches FOR ALL
	USING (@extschema@.can_write_model(model_id))
	WITH CHECK (@extschema@.can_write_model(model_id));

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
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.commits c
						WHERE c.id OPERATOR(pg_catalog.=) commit_blocks.commit_id
						  AND c.project OPERATOR(pg_catalog.=) commit_blocks.project
						  AND @extschema@.can_write_model(c.model_id)));

GRANT SELECT, INSERT, DELETE ON @extschema@.projects, @extschema@.model_catalog,
	@extschema@.blocks TO PUBLIC;
GRANT SELECT, INSERT ON @extschema@.commits, @extschema@.commit_blocks TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.branches TO PUBLIC;
