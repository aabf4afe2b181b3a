# t/090_backup.pl - stored models survive pg_dump and restore: plain and
# custom format, into the same cluster and into a new one (roles restored
# first with pg_dumpall --globals-only); queued and running jobs are not
# restored; new ids never collide with restored ones; a tampered block, a
# missing role and a role dropped since are clear errors; an ordinary role's
# pg_dump fails clearly.  Models stored with compact weights (pow2, f16, u8)
# round-trip like the others.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();
use lib 't';
use HanamiFixture;

my $node = HanamiFixture::node('backup', 'hanami.max_workers = 1', 'max_worker_processes = 16');
my $dir = Cwd::abs_path($node->basedir);

HanamiFixture::roles($node);
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION hanami');
HanamiFixture::populate($node, 'src');
# models stored with compact weights: iris quantized to each dtype, saved
# (its blocks hold the packed weights; fingerprint compares their bytes and
# predictions after every restore)
is(HanamiFixture::psql_as($node, 'src', 'alice', q{
	SELECT count(hanami.branch('team/iris', d)) FROM unnest(ARRAY['pow2', 'f16', 'u8']) d;
	SELECT count(hanami.save('team/iris', hanami.quantize(hanami.load('team/iris'), d), d || ' weights', d))
	FROM unnest(ARRAY['pow2', 'f16', 'u8']) d}), "3\n3", 'quantized networks saved on branches of their own');
my $compact = q{SELECT string_agg(b.name || '=' || (hanami.info(hanami.load('team/iris@' || b.name)) ->> 'dtype'), ' ' ORDER BY b.name)
	FROM hanami.branches b WHERE b.name IN ('pow2', 'f16', 'u8')};
is($node->safe_psql('src', $compact), 'f16=f16 pow2=pow2 u8=u8', 'the stored networks have compact weights');
my $before = HanamiFixture::fingerprint($node, 'src');
like($before, qr/commit team grow hanami/, 'the fixture holds a growing model');

# One job running and one queued (max_workers = 1) while the dump is taken.
my $running = HanamiFixture::psql_as($node, 'src', 'alice',
	q{SELECT hanami.train_async('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
my $queued = HanamiFixture::psql_as($node, 'src', 'alice',
	q{SELECT hanami.train_async('team/bobnet', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
ok($node->poll_query_until('src', "SELECT state = 'running' AND epoch >= 1 FROM hanami.job_queue WHERE id = $running"),
	'a job is running while the dump is taken');
is($node->safe_psql('src', "SELECT state FROM hanami.job_queue WHERE id = $queued"), 'queued',
	'another job is queued');
my $max_job = $node->safe_psql('src', 'SELECT max(id) FROM hanami.job_queue');

my ($out, $err);
my $ok = IPC::Run::run([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/plain.sql" ], '>', \$out, '2>', \$err);
ok($ok, 'pg_dump (plain)');
is($err, '', 'pg_dump prints no warning');
$ok = IPC::Run::run([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/custom.dump" ], '>', \$out, '2>', \$err);
ok($ok, 'pg_dump (custom format)');
is($err, '', 'pg_dump -Fc prints no warning');

$node->safe_psql('src', "SELECT hanami.cancel($running); SELECT hanami.cancel($queued);");

# restore into new databases of the same cluster
$node->safe_psql('postgres', 'CREATE DATABASE r_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('r_plain'),
	'-f', "$dir/plain.sql" ], 'plain dump restores with psql');
is(HanamiFixture::fingerprint($node, 'r_plain'), $before,
	'plain restore: every commit, prediction, branch, block, finished job and log row as before');

$node->safe_psql('postgres', 'CREATE DATABASE r_custom');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('r_custom'), "$dir/custom.dump" ],
	'custom dump restores with pg_restore');
is(HanamiFixture::fingerprint($node, 'r_custom'), $before,
	'custom restore: every commit, prediction, branch, block, finished job and log row as before');
is($node->safe_psql('r_custom', $compact), 'f16=f16 pow2=pow2 u8=u8',
	'custom restore: the compact networks load with their dtype');

is($node->safe_psql('r_custom', q{SELECT count(*) FROM hanami.job_queue WHERE state IN ('queued', 'running')}),
	'0', 'jobs queued or running at dump time are not restored');
is($node->safe_psql('r_custom', "SELECT count(*) FROM hanami.training_log WHERE job_id = $running"),
	'0', "the running job's training log is not restored either");
is($node->safe_psql('r_custom', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hanami training job'}),
	'0', 'no worker started for a restored job');

# ids made after the restore follow the restored ones
my ($max_commit, $max_model) = split /\|/, $node->safe_psql('r_custom',
	'SELECT (SELECT max(id) FROM hanami.commits), (SELECT max(id) FROM hanami.model_catalog)');
my $new_commit = HanamiFixture::psql_as($node, 'r_custom', 'alice',
	q{SELECT hanami.train('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 1}', 'after restore')});
cmp_ok($new_commit, '>', $max_commit, 'a new commit after restore gets a new id');
my $new_model = HanamiFixture::psql_as($node, 'r_custom', 'alice',
	q{SELECT hanami.create_model('fresh', '{"layers": [2, 3, 2]}', 'team', 1)});
cmp_ok($new_model, '>', $max_model, 'a new model after restore gets a new id');
my $new_job = HanamiFixture::psql_as($node, 'r_custom', 'alice',
	q{SELECT hanami.train_async('team/fresh', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
cmp_ok($new_job, '>', $max_job, 'a new job after restore gets a new id');
is(HanamiFixture::psql_as($node, 'r_custom', 'alice', "SELECT hanami.wait($new_job, '60 s')"),
	'succeeded', 'a job in the restored database runs');

# a block whose bytes were changed in the dump file stops the restore
open(my $fh, '<', "$dir/plain.sql") or die;
my @lines = <$fh>;
close $fh;
my ($in_blocks, $tampered) = (0, undef);
for my $l (@lines)
{
	if ($l =~ /^COPY hanami\.blocks /) { $in_blocks = 1; next; }
	if ($in_blocks && !defined $tampered && $l =~ /^(\S+)\t\\\\x([0-9a-f]+)\t\\\\x([0-9a-f]+)$/)
	{
		my ($h, $d) = ($2, $3);
		substr($d, -1, 1) = substr($d, -1, 1) eq '0' ? '1' : '0';
		$l = "$1\t\\\\x$h\t\\\\x$d\n";
		$tampered = $h;
	}
}
ok(defined $tampered, 'a block row was found in the plain dump');
open($fh, '>', "$dir/tampered.sql") or die;
print $fh @lines;
close $fh;
$node->safe_psql('postgres', 'CREATE DATABASE r_bad');
my ($ret, $stdout, $stderr) = $node->psql('r_bad', undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$dir/tampered.sql" ]);
isnt($ret, 0, 'a restore with a tampered block fails');
like($stderr, qr/block $tampered of project team does not match its hash/,
	'the error names the tampered block');

# a new cluster without the roles: the restore fails naming the role;
# with the roles from pg_dumpall --globals-only it succeeds
my $other = PostgreSQL::Test::Cluster->new('other');
$other->init;
$other->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$other->start;
$other->safe_psql('postgres', 'CREATE DATABASE norole');
($ret, $stdout, $stderr) = $other->psql('norole', undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$dir/plain.sql" ]);
isnt($ret, 0, 'restoring into a cluster without the roles fails');
like($stderr, qr/role "(team|alice|bob)" does not exist/, 'the error names the missing role');

$node->command_ok([ 'pg_dumpall', '--globals-only', '-d', $node->connstr('postgres'), '-f', "$dir/globals.sql" ],
	'pg_dumpall --globals-only');
# "role postgres already exists" (and hanami_admin, made by CREATE EXTENSION
# above) are expected: no ON_ERROR_STOP here
$other->psql('postgres', undef, on_error_stop => 0, extra_params => [ '-f', "$dir/globals.sql" ]);
$other->safe_psql('postgres', 'CREATE DATABASE restored');
$other->command_ok([ 'pg_restore', '--exit-on-error', '-d', $other->connstr('restored'), "$dir/custom.dump" ],
	'the custom dump restores into the new cluster once its roles exist');
is(HanamiFixture::fingerprint($other, 'restored'), $before,
	'new cluster: every commit, prediction, branch, block, finished job and log row as before');
is(HanamiFixture::psql_as($other, 'restored', 'bob', q{SELECT hanami.predict_class('team/iris@exp', '{3, 4}')}),
	HanamiFixture::psql_as($node, 'src', 'bob', q{SELECT hanami.predict_class('team/iris@exp', '{3, 4}')}),
	'a member predicts in the new cluster as before');
$other->stop;

# a model whose owner was dropped since: the dump holds a bare number, and
# restoring it fails instead of keeping it
$node->safe_psql('postgres', 'CREATE DATABASE orphan; CREATE ROLE carol LOGIN');
$node->safe_psql('orphan', 'CREATE EXTENSION hanami');
HanamiFixture::psql_as($node, 'orphan', 'carol', q{SELECT hanami.create_model('mine', '{"layers": [2, 3, 2]}')});
$node->safe_psql('postgres', 'DROP ROLE carol');
$node->command_ok([ 'pg_dump', '-d', $node->connstr('orphan'), '-f', "$dir/orphan.sql" ], 'pg_dump of a database with a dropped role');
$node->safe_psql('postgres', 'CREATE DATABASE r_orphan');
($ret, $stdout, $stderr) = $node->psql('r_orphan', undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$dir/orphan.sql" ]);
isnt($ret, 0, 'restoring rows of a dropped role fails');
like($stderr, qr/role with OID \d+ does not exist/, 'the error says the role does not exist');
like($stderr, qr/pg_dumpall --globals-only/, 'the hint names pg_dumpall --globals-only');

# an ordinary role cannot take a full backup: pg_dump fails, saying why
$ok = IPC::Run::run([ 'pg_dump', '-d', $node->connstr('src'), '-U', 'alice', '-f', "$dir/alice.sql" ],
	'>', \$out, '2>', \$err);
ok(!$ok, "an ordinary role's pg_dump fails");
like($err, qr/permission denied|row-level security/, "and says why: $err");

$node->stop;
done_testing();
