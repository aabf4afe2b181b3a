-- hanami: growing neural networks inside PostgreSQL.
-- The install script of the version in development: the Makefile builds
-- hanami--VERSION.sql from the parts in sql/parts/, in name order.
-- Every object is schema-qualified: the script does not trust search_path.

\echo Use "CREATE EXTENSION hanami" to load this file. \quit
