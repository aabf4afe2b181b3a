# t/185_job_stop.pl - hanami.stop: a running job ends after its current
# epoch and commits what it learned, with "stop": "stopped" in the commit's
# metrics; a queued one never runs; an ended one is not touched; a role of
# another project gets the error of a job that does not exist; cancel still
# throws the work away.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;

my $node = HanamiFixture::node('jobstop', 'hanami.max_workers = 2', 'max_worker_processes = 16');
HanamiFixture::roles($node);
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
		FROM generate_series(1, 400) g;
	GRANT SELECT ON pts TO PUBLIC;
	SELECT hanami.create_project('team');
	SELECT hanami.add_member('team', 'alice', 'admin');
	SELECT hanami.create_project('other');
	SELECT hanami.add_member('other', 'bob', 'admin');
});

sub psql_as { return HanamiFixture::psql_as($node, 'postgres', @_); }

# the error a role gets from a statement, with every number as N
sub error_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	$err =~ s/\d+/N/g;
	return $err;
}

psql_as('alice', q{SELECT hanami.create_model('xor', '{"layers": [2, 8, 2], "activation": "tanh"}', 'team', 1)});
my $head = psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/xor')});

# 1. a long job (batch 1, a million epochs) stopped after its first epochs
my $job = psql_as('alice', q{SELECT hanami.train_async('team/xor', 'SELECT a, b, y FROM pts',
	'{"epochs": 1000000, "batch_size": 1, "learning_rate": 0.05}', 'stopped early')});
ok($node->poll_query_until('postgres', "SELECT epoch >= 2 FROM hanami.jobs WHERE id = $job"),
	'the long job reaches its second epoch');

# 2. another project's role cannot stop it, and cannot tell it exists
my $missing = error_as('bob', 'SELECT hanami.stop(999999999)');
like($missing, qr/job N does not exist/, 'stop of a job that does not exist: does not exist');
is(error_as('bob', "SET ROLE other; SELECT hanami.stop($job)"), $missing,
	'a role of another project gets the same error as for a job that does not exist');
is(error_as('bob', "SELECT hanami.stop($job)"), $missing, 'so does that project\'s member');
is(psql_as('alice', "SELECT state FROM hanami.jobs WHERE id = $job"), 'running', 'the job still runs');

# 3. its submitter stops it: it ends succeeded, committing what it learned
is(psql_as('alice', "SELECT hanami.stop($job)"), 't', 'stop of a running job returns true');
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'the stopped job ends succeeded');
my ($commit, $parent, $message, $stop, $epochs, $job_epoch) = split /\|/, psql_as('alice',
	"SELECT l.commit_id, l.parent, l.message, l.metrics->>'stop', l.metrics->>'epochs', j.epoch "
	. "FROM hanami.jobs j JOIN hanami.log('team/xor') l ON l.commit_id = j.commit_id WHERE j.id = $job");
ok(defined $commit && $commit ne '', 'the stopped job stored a commit');
is($parent, $head, 'on top of the head it started from');
is($message, 'stopped early', 'with the job\'s message');
is($stop, 'stopped', 'its metrics say "stop": "stopped"');
cmp_ok($epochs, '>=', 2, "it trained the epochs before the stop ($epochs)");
cmp_ok($epochs, '<', 1000000, 'fewer epochs than asked');
is($job_epoch, $epochs, 'the job\'s last epoch is the commit\'s');
is(psql_as('alice', "SELECT count(*) FROM hanami.training_log WHERE job_id = $job AND commit_id = $commit"),
	$epochs, 'its learning curve is linked to the commit, one row per epoch');
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/xor')}), $commit, 'the commit is the branch head');
is(psql_as('alice', q{SELECT count(hanami.predict_class('team/xor', ARRAY[a, b]::real[]))
	FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b)}),
	'4', 'the stopped job\'s network predicts');

# 4. stop on an ended job returns false and changes nothing
is(psql_as('alice', "SELECT hanami.stop($job)"), 'f', 'stop of a finished job returns false');
is(psql_as('alice', "SELECT state || ',' || commit_id FROM hanami.jobs WHERE id = $job"), "succeeded,$commit",
	'the finished job is unchanged');
is(error_as('bob', "SELECT hanami.stop($job)"), $missing, 'an ended job is still hidden from another project');

# 5. a queued job that has not started never runs: stop cancels it
my ($stopped_q, $qid) = split /\|/, psql_as('alice', q{SELECT hanami.stop(j), j
	FROM (SELECT hanami.train_async('team/xor', 'SELECT a, b, y FROM pts', '{"epochs": 5}') j OFFSET 0) s});
is($stopped_q, 't', 'stop of a queued job returns true');
is(psql_as('alice', "SELECT hanami.wait($qid, '30 s')"), 'cancelled', 'the queued job ends cancelled');
is(psql_as('alice', "SELECT started_at IS NULL AND commit_id IS NULL FROM hanami.jobs WHERE id = $qid"), 't',
	'it never started and made no commit');
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/xor')}), $commit, 'the branch is unchanged');

# 6. cancel still throws the work away
$job = psql_as('alice', q{SELECT hanami.train_async('team/xor', 'SELECT a, b, y FROM pts',
	'{"epochs": 1000000, "batch_size": 1}')});
ok($node->poll_query_until('postgres', "SELECT epoch >= 2 FROM hanami.jobs WHERE id = $job"),
	'a second long job reaches its second epoch');
is(psql_as('alice', "SELECT hanami.cancel($job)"), 't', 'cancel of the running job returns true');
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'cancelled', 'the cancelled job ends cancelled');
is(psql_as('alice', "SELECT commit_id IS NULL FROM hanami.jobs WHERE id = $job"), 't', 'with no commit');
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/xor')}), $commit, 'and the branch unchanged');
is(psql_as('alice', "SELECT hanami.stop($job)"), 'f', 'stop of a cancelled job returns false');

$node->stop;
done_testing();
