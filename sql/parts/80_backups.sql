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
