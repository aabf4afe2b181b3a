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
