# t/150_node.pl - the Node client: examples/node (the node-postgres adapter
# hanami.js and the app that uses it) against a fresh cluster. Installs the
# pinned pg package with `npm ci` (from the npm registry), runs `node app.js`
# with the cluster's connection settings in PG* variables, and turns each of
# the app's checks into an assertion here.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The checks app.js makes ("ok N - ..."), each one an assertion below: a
# shorter run (a check removed, or an early exit) fails.
my $APP_CHECKS = 17;

my $dir = abs_path(dirname(__FILE__) . '/../examples/node');

# run_in_example(\@cmd, %env): run a command in examples/node; (exit status, stdout, stderr).
sub run_in_example
{
	my ($cmd, %env) = @_;
	local %ENV = (%ENV, %env);
	my ($out, $err) = ('', '');
	my $all_ok = IPC::Run::run($cmd, init => sub { chdir $dir or die "chdir $dir: $!" },
		'<', \undef, '>', \$out, '2>', \$err);
	return ($all_ok ? 0 : (($? >> 8) || 1), $out, $err);
}

# node >= 18 and npm: t/setup-deps.sh installs them (Debian's nodejs and npm).
my ($rc, $out, $err) = run_in_example([ 'node', '-p', 'process.versions.node' ]);
my ($major) = $out =~ /^(\d+)\./;
ok($rc == 0 && defined $major && $major >= 18, "node 18 or newer is installed (found: " . ($out =~ s/\s+$//r || 'none') . ")")
  or BAIL_OUT('node not found or too old: run t/setup-deps.sh (Debian packages nodejs and npm)');

# npm ci: exactly the versions of package-lock.json, into examples/node/node_modules.
# A cache of its own in tmp_check, so that it works for any user and HOME.
my $cache = "${PostgreSQL::Test::Utils::tmp_check}/npm-cache";
($rc, $out, $err) = run_in_example(
	[ 'npm', 'ci', '--no-audit', '--no-fund', '--loglevel=error' ],
	npm_config_cache => $cache,
	npm_config_update_notifier => 'false',
	npm_config_fetch_timeout => '60000', # fail within minutes when the registry is unreachable
	npm_config_fetch_retries => '1');
ok($rc == 0, 'npm ci installs the pinned pg in examples/node')
  or BAIL_OUT("npm ci failed (exit status $rc; the npm registry must be reachable):\n$out$err");

my $node = PostgreSQL::Test::Cluster->new('node_client');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE plain');

my %pg = (
	PGHOST => $node->host,
	PGPORT => $node->port,
	PGUSER => scalar(getpwuid($<)),
	PGDATABASE => 'app');

# The app creates the extension itself, trains, predicts, round-trips.
($rc, $out, $err) = run_in_example([ 'node', 'app.js' ], %pg);
my @checks = $out =~ /^ok \d+ - (.*)$/mg;
ok(1, "app: $_") for @checks;
is($rc, 0, 'node app.js exits with status 0') or diag("stdout:\n$out\nstderr:\n$err");
is(scalar(@checks), $APP_CHECKS, "app.js made all its $APP_CHECKS checks");
like($out, qr/^node app: $APP_CHECKS checks passed$/m, 'app.js says every check passed');
diag("app.js wrote to stderr:\n$err") if $err ne '';

# What it left: the table, the model with three commits (create, train, save).
is( $node->safe_psql('app', q{SELECT count(*) FROM hanami.log('node_points')}),
	'3', 'the model node_points has the commits create, train and the saved copy');
is( $node->safe_psql('app', q{
		SELECT md5(hanami.load('node_points#2')::bytea) = md5(hanami.load('node_points')::bytea)}),
	't', 'the network saved through the adapter has the bytes of the trained one');

# A second run replaces its table and model.
($rc, $out, $err) = run_in_example([ 'node', 'app.js' ], %pg);
is($rc, 0, 'a second run of app.js passes too') or diag("stdout:\n$out\nstderr:\n$err");

# types.load in a database without the extension: a clear error.
($rc, $out, $err) = run_in_example(
	[ 'node', '-e', q{
		const pg = require('pg'); const hanami = require('./hanami');
		(async () => {
			const types = hanami.types(); const c = new pg.Client({ types }); await c.connect();
			try { await types.load(c); console.log('loaded') } catch (e) { console.log(e.message) }
			await c.end();
		})().catch((e) => { console.error(e); process.exit(1) }) } ],
	%pg, PGDATABASE => 'plain');
is($rc, 0, 'a client connects to a database without hanami');
like($out, qr/type hanami\.network not found in this database \(run CREATE EXTENSION hanami first\)/,
	'types.load says the extension is missing');

$node->stop;
done_testing();
