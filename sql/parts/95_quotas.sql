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
