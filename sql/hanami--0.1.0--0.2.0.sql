-- hanami 0.1.0 -> 0.2.0 upgrade script.
-- Every schema change of 0.2.0 is here as well as in sql/hanami.sql; the
-- upgrade tests check that both give the same catalog.

\echo Use "ALTER EXTENSION hanami UPDATE TO '0.2.0'" to load this file. \quit
