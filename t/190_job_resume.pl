# t/190_job_resume.pl - checkpoints and resume of background jobs: a job
# whose worker is killed (kill -9) or whose server stops in immediate mode
# after a checkpoint goes back to queued, resumes from the checkpoint and
# ends with the bytes of the same job never interrupted (dense and growing
# networks, rows in a fixed order); its learning curve has each epoch once
# and its note and metrics say it resumed.  No ordinary role reads or
# writes checkpoints, not even the job's own submitter.  A job whose worker
# dies every time still fails after HANAMI_JOB_MAX_ATTEMPTS starts, and its
# checkpoint goes with it.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use lib 't';
use HanamiFixture;

my $node = HanamiFixture::node('resume', 'hanami.max_workers = 2', 'max_worker_processes = 16',
	'restart_after_crash = on');
HanamiFixture::roles($node);
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT g AS id, (g % 13)::real / 13 AS a, (g % 7)::real / 7 AS b,
		((g % 13) * 7 + (g % 7) * 3) % 3 AS y
		FROM generate_series(1, 1500) g;
	GRANT SELECT ON pts TO PUBLIC;
	CREATE TABLE many AS SELECT g AS id, (g % 13)::real AS a, (g % 7)::real AS b,
		((g % 13) * 7 + (g % 7) * 3) % 3 AS y
		FROM generate_series(1, 20000) g;
	GRANT SELECT ON many TO PUBLIC;
	SELECT hanami.create_project('team');
	SELECT hanami.add_member('team', 'alice', 'admin');
	SELECT hanami.create_project('other');
	SELECT hanami.add_member('other', 'bob', 'admin');
});

sub psql_as { return HanamiFixture::psql_as($node, 'postgres', @_); }

# Wait until a job reaches a state; tolerates a server in crash recovery.
sub wait_state
{
	my ($job, $want, $timeout) = @_;
	local $PostgreSQL::Test::Utils::timeout_default = $timeout;
	$node->poll_query_until('postgres', "SELECT state FROM hanami.job_queue WHERE id = $job", $want);
	return $node->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $job");
}

# Wait until a job has a checkpoint of at least `epoch` and still runs;
# returns the checkpoint's epoch and the worker's pid.
sub wait_checkpoint
{
	my ($job, $epoch) = @_;
	for (1 .. 600)
	{
		my $r = $node->safe_psql('postgres', "SELECT c.epoch || ',' || j.worker_pid FROM hanami.job_checkpoints c "
			. "JOIN hanami.job_queue j ON j.id = c.job_id WHERE c.job_id = $job AND c.epoch >= $epoch AND j.state = 'running'");
		return split(/,/, $r) if $r ne '';
		usleep(50_000);
	}
	return (0, 0);
}

# The error text a role gets from a statement.
sub error_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return $err;
}

# Train `model` uninterrupted and `model@resumed` (the same network) with a
# crash after a checkpoint; compare.  The jobs take seconds, so the crash
# comes long before the end.
sub crash_and_compare
{
	my ($what, $model, $query, $options, $crash) = @_;
	psql_as('alice', "SELECT hanami.branch('team/$model', 'resumed')");
	my $a = psql_as('alice', "SELECT hanami.train_async('team/$model', '$query', '$options')");
	is(psql_as('alice', "SELECT hanami.wait($a, '300 s')"), 'succeeded', "$what: the uninterrupted job succeeds");
	diag("$what: " . psql_as('alice', "SELECT finished_at - started_at FROM hanami.jobs WHERE id = $a"));
	my $b = psql_as('alice', "SELECT hanami.train_async('team/$model\@resumed', '$query', '$options')");
	my ($epoch, $pid) = wait_checkpoint($b, 3);
	ok($epoch >= 3, "$what: the job made a checkpoint (epoch $epoch) while running");
	# at once, long before the job's end
	$crash->($pid);
	my $state = wait_state($b, 'succeeded', 300);
	is($state, 'succeeded', "$what: the interrupted job resumes and succeeds")
		or diag($node->safe_psql('postgres', "SELECT state, error, note, attempts FROM hanami.job_queue WHERE id = $b"));
	# no ordinary role reads or writes checkpoints, not even the submitter
	for my $role ('alice', 'bob')
	{
		like(error_as($role, "SELECT epoch FROM hanami.job_checkpoints WHERE job_id = $b"),
			qr/permission denied/, "$what: $role cannot read checkpoints");
		like(error_as($role, "UPDATE hanami.job_checkpoints SET epoch = 1"),
			qr/permission denied/, "$what: $role cannot change checkpoints");
		like(error_as($role, "INSERT INTO hanami.job_checkpoints VALUES ($b + 1000, 1, now(), '\\x00')"),
			qr/permission denied/, "$what: $role cannot forge one");
	}
	is(error_as('alice', "SELECT state FROM hanami.job_checkpoints LIMIT 0") =~ /permission denied/ ? 1 : 0, 1,
		"$what: not even an empty read");
	my ($note, $jepoch, $jepochs) = split /\|/, psql_as('alice', "SELECT note, epoch, epochs FROM hanami.jobs WHERE id = $b");
	my ($from) = ($note // '') =~ /resumed from the checkpoint of epoch (\d+)/;
	ok(defined $from && $from >= 3, "$what: its note says it resumed and from which epoch: $note");
	is($jepoch, $jepochs, "$what: its progress reached the last epoch");
	is(psql_as('alice', "SELECT count(*) || ',' || count(DISTINCT epoch) || ',' || min(epoch) || ',' || max(epoch) "
		. "FROM hanami.training_log WHERE job_id = $b"), "$jepochs,$jepochs,1,$jepochs",
		"$what: its learning curve has every epoch once, before and after the crash");
	is(psql_as('alice', "SELECT l.metrics->>'resumed_from_epoch' || ',' || (l.metrics->>'resume_exact') "
		. "FROM hanami.jobs j JOIN hanami.log('team/$model\@resumed') l ON l.commit_id = j.commit_id WHERE j.id = $b"),
		"$from,true", "$what: the commit's metrics say it resumed, exactly");
	is(psql_as('alice', "SELECT hanami.load('team/$model')::bytea = hanami.load('team/$model\@resumed')::bytea"),
		't', "$what: the resumed job's network is byte for byte the uninterrupted one's");
	is($node->safe_psql('postgres', "SELECT count(*) FROM hanami.job_checkpoints WHERE job_id IN ($a, $b)"),
		'0', "$what: no checkpoint is left once the jobs ended");
	return;
}

# 0. the options, checked like the others
like(error_as('alice', q{SELECT hanami.check_options(hanami.network('{"layers": [2, 3]}', 1), '{"checkpoint_every": -1}')}),
	qr/option "checkpoint_every".*\n(.*\n)*HINT:  Give the epochs between checkpoints, or 0 for none/,
	'checkpoint_every: a negative count is refused, with a hint');
like(error_as('alice', q{SELECT hanami.check_options(hanami.network('{"layers": [2, 3]}', 1), '{"checkpoint_interval": "often"}')}),
	qr/checkpoint_interval must be a number/, 'checkpoint_interval: not a number is refused');
like(error_as('alice', q{SELECT hanami.check_options(hanami.network('{"layers": [2, 3]}', 1), '{"checkpoint_interval": -5}')}),
	qr/option "checkpoint_interval" is out of range/, 'checkpoint_interval: a negative interval is refused');
is(error_as('alice', q{SELECT hanami.check_options(hanami.network('{"kind": "hanami", "layers": [2, 3]}', 1),
	'{"checkpoint_every": 0, "checkpoint_interval": 0}')}), '', 'both 0 (no checkpoints) is fine, growing kind too');

# 1. dense, adam, batches of one row: the worker killed with SIGKILL
psql_as('alice', q{SELECT hanami.create_model('dense', '{"layers": [2, 128, 128, 3], "activation": "tanh"}', 'team', 1)});
crash_and_compare('dense', 'dense', 'SELECT a, b, y FROM pts ORDER BY id',
	'{"epochs": 80, "device": "cpu", "batch_size": 1, "learning_rate": 0.01, "checkpoint_every": 1, "validation_split": 0.1}',
	sub { my ($pid) = @_; kill 'KILL', $pid; });

# 2. a growing network (its image grows after the checkpoint): the server
# stopped in immediate mode
psql_as('alice', q{SELECT hanami.create_model('grow', '{"kind": "hanami", "layers": [2, 48, 3]}', 'team', 2)});
crash_and_compare('growing', 'grow', 'SELECT a, b, y FROM many ORDER BY id', '{"epochs": 150, "checkpoint_every": 1}',
	sub { $node->stop('immediate'); $node->start; });

# 3. a checkpoint of other rows: resumed anyway, and the note says so
psql_as('alice', q{SELECT hanami.create_model('moving', '{"layers": [2, 128, 128, 3], "activation": "tanh"}', 'team', 3)});
$node->safe_psql('postgres', 'CREATE TABLE moving AS SELECT * FROM pts; GRANT SELECT ON moving TO PUBLIC');
my $m = psql_as('alice', q{SELECT hanami.train_async('team/moving', 'SELECT a, b, y FROM moving ORDER BY id',
	'{"epochs": 60, "device": "cpu", "batch_size": 1, "checkpoint_every": 1}')});
my ($mepoch, $mpid) = wait_checkpoint($m, 2);
ok($mepoch >= 2, 'rows that change: the job made a checkpoint');
$node->safe_psql('postgres', 'UPDATE moving SET a = 1 - a WHERE id % 10 = 0');
kill 'KILL', $mpid;
is(wait_state($m, 'succeeded', 300), 'succeeded', 'rows that change: the job resumes and succeeds');
like(psql_as('alice', "SELECT note FROM hanami.jobs WHERE id = $m"),
	qr/resumed from the checkpoint of epoch \d+; the rows differ/, 'its note says the rows differ');
is(psql_as('alice', "SELECT l.metrics->>'resume_rows_changed' FROM hanami.jobs j "
	. "JOIN hanami.log('team/moving') l ON l.commit_id = j.commit_id WHERE j.id = $m"), 'true',
	'and so do the commit\'s metrics');

# 4. a worker that dies every time: the attempt cap still ends the job
my $c = psql_as('alice', q{SELECT hanami.train_async('team/dense', 'SELECT a, b, y FROM pts ORDER BY id',
	'{"epochs": 1000000, "batch_size": 1, "checkpoint_every": 1}')});
my $starts = 0;
for (1 .. 3)
{
	my ($e, $pid) = wait_checkpoint($c, 1);
	last unless $pid;
	$starts++;
	kill 'KILL', $pid;
	$node->poll_query_until('postgres', "SELECT state <> 'running' OR worker_pid <> $pid FROM hanami.job_queue WHERE id = $c");
}
is($starts, 3, 'the job ran three times, killed each time');
is(wait_state($c, 'failed', 120), 'failed', 'after the third start the job fails');
like(psql_as('alice', "SELECT error FROM hanami.jobs WHERE id = $c"), qr/exited before finishing 3 times/,
	'with an error that says how often its worker died');
is($node->safe_psql('postgres', "SELECT count(*) FROM hanami.job_checkpoints WHERE job_id = $c"), '0',
	'its checkpoint is gone');

$node->stop;

# 5. without shared_preload_libraries: no launcher; the first session that
# waits for (or submits) a job reaps the interrupted one, and it resumes
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->append_conf('postgresql.conf', "restart_after_crash = on\nmax_worker_processes = 16\n");
$plain->start;
$plain->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT g AS id, (g % 13)::real / 13 AS a, (g % 7)::real / 7 AS b,
		((g % 13) * 7 + (g % 7) * 3) % 3 AS y
		FROM generate_series(1, 1500) g;
	SELECT hanami.create_model('p', '{"layers": [2, 128, 128, 3], "activation": "tanh"}', seed => 4);
});
my $p = $plain->safe_psql('postgres', q{SELECT hanami.train_async('p', 'SELECT a, b, y FROM pts ORDER BY id',
	'{"epochs": 60, "device": "cpu", "batch_size": 1, "checkpoint_every": 1}')});
my $ppid = '';
for (1 .. 600)
{
	$ppid = $plain->safe_psql('postgres', "SELECT j.worker_pid FROM hanami.job_checkpoints c "
		. "JOIN hanami.job_queue j ON j.id = c.job_id WHERE c.job_id = $p AND j.state = 'running'");
	last if $ppid ne '';
	usleep(50_000);
}
ok($ppid ne '', 'without preloading: the job made a checkpoint');
kill 'KILL', $ppid;
$plain->poll_query_until('postgres', 'SELECT true');
is($plain->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $p"), 'running',
	'without preloading: after the crash the job still looks running (no launcher)');
is($plain->safe_psql('postgres', "SELECT hanami.wait($p, '300 s')"), 'succeeded',
	'hanami.wait reaps it: the job resumes and succeeds');
like($plain->safe_psql('postgres', "SELECT note FROM hanami.jobs WHERE id = $p"),
	qr/^resumed from the checkpoint of epoch \d+$/, 'from its checkpoint');
$plain->stop;
done_testing();
