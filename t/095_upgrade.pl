# t/095_upgrade.pl - ALTER EXTENSION hanami UPDATE from every released
# version: stored models keep working with the new library before the
# update, every commit predicts byte-identically after it, the history is
# intact, a fresh install has exactly the catalog of an upgraded one, and a
# block whose bytes do not match its hash stops the update.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();
use lib 't';
use HanamiFixture;

my $current = '0.2.0';
my @released = ('0.1.0');

my $node = HanamiFixture::node('upgrade', 'max_worker_processes = 16');
my $dir = Cwd::abs_path($node->basedir);
HanamiFixture::roles($node);

# The catalog of a database's hanami, comparable between databases: the
# binary-upgrade schema dump (it shows extension members, their ACLs,
# policies and config-dump registrations) without OIDs, xids and sequence
# positions, plus the members and config tables by name.
sub catalog
{
	my ($db) = @_;
	my ($out, $err);
	IPC::Run::run([ 'pg_dump', '--binary-upgrade', '--schema-only', '-T', 'public.pts', '-d', $node->connstr($db) ],
		'>', \$out, '2>', \$err) or die "pg_dump --binary-upgrade of $db failed: $err";
	my @keep;
	for my $l (split /\n/, $out)
	{
		next if $l =~ /binary_upgrade_set_next_|^\\(un)?restrict |^SET relfrozenxid|^WHERE oid = |^SELECT pg_catalog\.setval/;
		$l =~ s/(binary_upgrade_create_empty_extension\('hanami', 'hanami', false, '[^']+', )'\{[0-9,]+\}'/$1'{OIDS}'/;
		push @keep, $l;
	}
	my $members = $node->safe_psql($db, q{
		SELECT string_agg(d, E'\n' ORDER BY d)
		FROM (SELECT pg_describe_object(classid, objid, objsubid) AS d
		FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hanami')) m});
	my $config = $node->safe_psql($db, q{
		SELECT string_agg(c::regclass::text || ' ' || coalesce(w, ''), E'\n' ORDER BY o)
		FROM pg_extension e, unnest(e.extconfig, e.extcondition) WITH ORDINALITY AS u(c, w, o)
		WHERE e.extname = 'hanami'});
	return join("\n", @keep) . "\n-- members\n$members\n-- config\n$config\n";
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION hanami');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'hanami'}),
	$current, "a fresh install is $current");
my $fresh_catalog = catalog('fresh');
like($fresh_catalog, qr/hanami\.commits_id_seq/, 'the catalog comparison sees config-dump registrations');

for my $old (@released)
{
	my $db = 'from_' . ($old =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION hanami VERSION '$old'");

	# the new library serves a database still at the old version: models are
	# created, trained, branched and trained in the background there
	HanamiFixture::populate($node, $db);
	my $before = HanamiFixture::fingerprint($node, $db);
	like($before, qr/commit team grow hanami /, "$old: the fixture holds a growing model");
	like($before, qr/ main by a job alice /, "$old: the fixture holds a job's commit");

	$node->safe_psql($db, 'ALTER EXTENSION hanami UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'hanami'}),
		$current, "$old: updated to $current");
	is(HanamiFixture::fingerprint($node, $db), $before,
		"$old: after the update every commit predicts byte-identically, history, branches, jobs and logs intact");

	my $upgraded = catalog($db);
	is($upgraded, $fresh_catalog, "$old: the upgraded catalog equals a fresh install's");
	if ($upgraded ne $fresh_catalog)
	{
		open(my $a, '>', "$dir/fresh.catalog") or die;
		print $a $fresh_catalog;
		open(my $b, '>', "$dir/$db.catalog") or die;
		print $b $upgraded;
		close $a; close $b;
		diag(`diff $dir/fresh.catalog $dir/$db.catalog | head -40`);
	}

	# the upgraded database goes on: new commits, a dump restores it
	my $cid = HanamiFixture::psql_as($node, $db, 'alice',
		q{SELECT hanami.train('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 1}', 'after the update')});
	like($cid, qr/^\d+$/, "$old: training after the update commits");
	my $after = HanamiFixture::fingerprint($node, $db);
	$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($db), '-f', "$dir/$db.dump" ], "$old: pg_dump after the update");
	$node->safe_psql('postgres', "CREATE DATABASE ${db}_restored");
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr("${db}_restored"), "$dir/$db.dump" ],
		"$old: pg_restore after the update");
	is(HanamiFixture::fingerprint($node, "${db}_restored"), $after, "$old: the restored copy equals the upgraded database");

	# a block whose bytes do not match its hash stops the update, named
	my $bad = "${db}_bad";
	$node->safe_psql('postgres', "CREATE DATABASE $bad");
	$node->safe_psql($bad, "CREATE EXTENSION hanami VERSION '$old'");
	$node->safe_psql($bad, q{SELECT hanami.create_model('m', '{"layers": [2, 3, 2]}', seed => 1)});
	my $hash = $node->safe_psql($bad, q{
		UPDATE hanami.blocks SET data = data || '\x00'::bytea
		WHERE hash = (SELECT hash FROM hanami.blocks ORDER BY hash LIMIT 1) RETURNING encode(hash, 'hex')});
	my ($ret, $stdout, $stderr) = $node->psql($bad, 'ALTER EXTENSION hanami UPDATE');
	isnt($ret, 0, "$old: the update of a database with a corrupted block fails");
	my $su = $node->safe_psql('postgres', q{SELECT rolname FROM pg_roles WHERE oid = 10});
	like($stderr, qr/block $hash of project $su does not match its hash/, "$old: the error names the block");
	is($node->safe_psql($bad, q{SELECT extversion FROM pg_extension WHERE extname = 'hanami'}),
		$old, "$old: and leaves the extension at $old");
}

$node->stop;
done_testing();
