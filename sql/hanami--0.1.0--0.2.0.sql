-- hanami 0.1.0 -> 0.2.0 upgrade script.
-- Every schema change of 0.2.0 is here as well as in sql/hanami.sql; the
-- upgrade tests check that both give the same catalog.

\echo Use "ALTER EXTENSION hanami UPDATE TO '0.2.0'" to load this file. \quit

-- Checks on stored rows ------------------------------------------------------

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

-- Every stored block is verified now: an upgrade fails, naming the block,
-- if any block's bytes do not match its hash.
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_hash_check
	CHECK (@extschema@.block_verified(project, hash, data));

ALTER TABLE @extschema@.commits DROP CONSTRAINT commits_parent_fkey;

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

ALTER TABLE @extschema@.projects ADD CONSTRAINT projects_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;
ALTER TABLE @extschema@.model_catalog ADD CONSTRAINT model_catalog_role_check
	CHECK (@extschema@.role_exists(project) AND @extschema@.role_exists(owner)) NOT VALID;
ALTER TABLE @extschema@.commits ADD CONSTRAINT commits_role_check
	CHECK (@extschema@.role_exists(author)) NOT VALID;
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;
ALTER TABLE @extschema@.job_queue ADD CONSTRAINT job_queue_role_check
	CHECK (@extschema@.role_exists(submitted_by)) NOT VALID;

ALTER TABLE @extschema@.commits ADD COLUMN origin pg_catalog.jsonb;
COMMENT ON COLUMN @extschema@.commits.origin IS 'for an imported commit: its original id, author, date, model and project';

-- Backups ----------------------------------------------------------------------

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
