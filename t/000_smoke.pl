# t/000_smoke.pl - smoke test: a cluster with hanami preloaded starts, and
# the extension can be created. Run by t/run-all.sh (or `make installcheck`).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('smoke');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node->start;

is($node->safe_psql('postgres', 'SELECT 1'),
	'1', 'server starts with hanami in shared_preload_libraries');

$node->safe_psql('postgres', 'CREATE EXTENSION hanami');
is( $node->safe_psql(
		'postgres',
		"SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'hanami'"),
	'hanami',
	'CREATE EXTENSION hanami installs into schema hanami');

$node->stop;
done_testing();
