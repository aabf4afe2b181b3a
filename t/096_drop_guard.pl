# t/096_drop_guard.pl - DROP EXTENSION hanami, DROP SCHEMA hanami and DROP
# OWNED BY its owner are refused while models are stored; an empty install
# and other extensions' DROPs are unaffected; a superuser confirms with
# hanami.allow_drop_with_models; session_replication_role = replica skips
# the guard (documented).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;

my $node = HanamiFixture::node('dropguard');
$node->safe_psql('postgres', 'CREATE ROLE alice LOGIN');

# an empty install drops normally, with or without CASCADE
my $installed = q{SELECT count(*) FROM pg_extension WHERE extname = 'hanami'};
$node->safe_psql('postgres', 'CREATE EXTENSION hanami');
$node->safe_psql('postgres', 'DROP EXTENSION hanami');
is($node->safe_psql('postgres', $installed), '0', 'an empty install drops');
$node->safe_psql('postgres', 'CREATE EXTENSION hanami');
$node->safe_psql('postgres', 'DROP EXTENSION hanami CASCADE');
is($node->safe_psql('postgres', $installed), '0', 'an empty install drops with CASCADE');

$node->safe_psql('postgres', 'CREATE EXTENSION hanami');
$node->safe_psql('postgres', q{SELECT hanami.create_model('m', '{"layers": [2, 3, 2]}', seed => 1)},
	extra_params => [ '-U', 'alice' ]);
my $models = q{SELECT count(*) FROM hanami.model_catalog};

# the bootstrap superuser owns the extension: the OS user that ran initdb
my $owner = $node->safe_psql('postgres', q{SELECT rolname FROM pg_roles WHERE oid = 10});
for my $stmt ('DROP EXTENSION hanami', 'DROP EXTENSION hanami CASCADE',
	'DROP EXTENSION IF EXISTS pgcrypto, hanami CASCADE', 'DROP SCHEMA hanami CASCADE',
	"DROP OWNED BY $owner CASCADE")
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $stmt);
	isnt($ret, 0, "$stmt is refused while a model is stored");
	like($stderr, qr/cannot drop extension hanami: 1 model is stored/, "$stmt: the error says why");
	like($stderr, qr/HINT:.*hanami\.export.*hanami\.allow_drop_with_models/, "$stmt: the hint says what to do");
}
is($node->safe_psql('postgres', $models), '1', 'the model is still there');

# a tenant is refused as well, and cannot confirm
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP EXTENSION hanami', extra_params => [ '-U', 'alice' ]);
like($stderr, qr/cannot drop extension hanami|must be owner/, 'an ordinary role cannot drop it');
($ret, $stdout, $stderr) = $node->psql('postgres', 'SET hanami.allow_drop_with_models = on', extra_params => [ '-U', 'alice' ]);
like($stderr, qr/permission denied to set parameter "hanami\.allow_drop_with_models"/,
	'an ordinary role cannot set hanami.allow_drop_with_models');

# other extensions and schemas drop as usual
$node->safe_psql('postgres', 'CREATE EXTENSION pgcrypto; DROP EXTENSION pgcrypto CASCADE');
$node->safe_psql('postgres', 'CREATE SCHEMA scratch; CREATE TABLE scratch.t (i int); DROP SCHEMA scratch CASCADE');
is($node->safe_psql('postgres', q{SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto')
	|| ',' || (SELECT count(*) FROM pg_namespace WHERE nspname = 'scratch')}),
	'0,0', "other extensions' and schemas' DROPs are unaffected");

# session_replication_role = replica skips event triggers: the guard too
$node->safe_psql('postgres', 'CREATE DATABASE replica');
$node->safe_psql('replica', q{CREATE EXTENSION hanami; SELECT hanami.create_model('m', '{"layers": [2, 3, 2]}', seed => 1)});
$node->safe_psql('replica', 'SET session_replication_role = replica; DROP EXTENSION hanami');
is($node->safe_psql('replica', q{SELECT count(*) FROM pg_extension WHERE extname = 'hanami'}), '0',
	'with session_replication_role = replica the guard does not fire (documented)');

# a superuser confirms: the drop goes through with a warning
($ret, $stdout, $stderr) = $node->psql('postgres', 'SET hanami.allow_drop_with_models = on; DROP EXTENSION hanami');
is($ret, 0, 'with hanami.allow_drop_with_models a superuser drops the extension');
like($stderr, qr/WARNING:  dropping 1 stored hanami model/, 'and is warned how many models go');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'hanami'}), '0', 'the extension is gone');

$node->stop;
done_testing();
