# t/140_python.pl - the Python client (examples/python): the example app and
# the client's edge-case test run with Debian's /usr/bin/python3 against a
# cluster with hanami; every check they print ("ok - ..." / "not ok - ...")
# is one assertion here, and what the app stored is checked again with psql.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use lib dirname(__FILE__);
use HanamiFixture;

my $python = '/usr/bin/python3';
my $dir = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..', 'examples', 'python'));

# The modules the examples need (t/setup-deps.sh installs them).
my ($out, $err) = ('', '');
my $have = IPC::Run::run([ $python, '-c', 'import psycopg, numpy, sqlalchemy, psycopg2' ],
	'>', \$out, '2>', \$err);
ok($have, 'python3 has psycopg, numpy, sqlalchemy and psycopg2')
  or diag("$err\nrun t/setup-deps.sh (python3-psycopg python3-numpy python3-sqlalchemy python3-psycopg2)");

my $node = HanamiFixture::node('python');
$node->safe_psql('postgres', 'CREATE DATABASE app; CREATE DATABASE bare;');
$node->safe_psql('app', 'CREATE EXTENSION hanami');

# run_checks NAME MIN_CHECKS COMMAND...: run a script; one assertion per check
# line it prints, then: it exited 0, said so, and ran at least MIN_CHECKS.
sub run_checks
{
	my ($name, $min, @cmd) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run(\@cmd, '<', \undef, '>', \$stdout, '2>', \$stderr, IPC::Run::timeout(300));
	my $status = $? >> 8;
	my $checks = 0;
	for my $line (split /\n/, $stdout)
	{
		if ($line =~ /^ok - (.*)$/)
		{
			$checks++;
			pass("$name: $1");
		}
		elsif ($line =~ /^not ok - (.*)$/)
		{
			$checks++;
			fail("$name: $1");
		}
	}
	is($status, 0, "$name exits with status 0") or diag("stdout:\n$stdout\nstderr:\n$stderr");
	like($stdout, qr/^all checks passed$/m, "$name says all checks passed");
	cmp_ok($checks, '>=', $min, "$name ran at least $min checks");
	return;
}

run_checks('app.py', 25, $python, "$dir/app.py", $node->connstr('app'));

# What the app left behind, seen from psql.
is( $node->safe_psql('app', q{SELECT string_agg(message, ', ') FROM hanami.log('app_quadrants')}),
	'quadrants, 60 epochs, create',
	'psql: the app trained its model once after creating it');
is( $node->safe_psql('app', q{
		SELECT string_agg(name, ', ' ORDER BY name) FROM hanami_app.saved
		WHERE net::bytea = hanami.load('app_quadrants')::bytea}),
	'binary, file, from sqlalchemy, text',
	'psql: the networks written by psycopg (text, binary, bytes) and SQLAlchemy are the model');
is( $node->safe_psql('app', q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'hanami_app.archive'::regclass AND attname = 'net'}),
	'hanami.network', 'psql: the table SQLAlchemy created has a hanami.network column');

# A second run starts afresh (the app drops its schema and model first).
run_checks('app.py again', 25, $python, "$dir/app.py", $node->connstr('app'));

run_checks('test_hanami_client.py', 60, $python, "$dir/test_hanami_client.py",
	$node->connstr('app'), $node->connstr('bare'));

# A failing check makes the app fail: no model table, so training fails.
my ($stdout, $stderr) = ('', '');
$node->safe_psql('bare', 'CREATE EXTENSION hanami');
IPC::Run::run([ $python, "$dir/app.py", $node->connstr('bare') . ' options=-cdefault_transaction_read_only=on' ],
	'<', \undef, '>', \$stdout, '2>', \$stderr, IPC::Run::timeout(300));
is($? >> 8, 2, 'app.py exits with status 2 when a step fails');
like($stderr, qr/read-only transaction/, 'app.py prints the error that stopped it');

$node->stop;
done_testing();
