# t/200_stream.pl - online learning from a stream: scikit-learn's digits
# arrive one row at a time through an AFTER INSERT trigger that calls
# hanami.learn(); the background learner's result is about as accurate as a
# one-epoch online fit of the same rows in the same order; rolled-back
# samples are never learned; a learner killed with SIGKILL mid-stream loses
# no sample and learns none twice; a dense network's scaling follows running
# statistics and its streamed accuracy matches the online fit too; another project's role can neither learn
# into the model nor read its queue nor tell that it exists; an ingest-only
# role can learn and do nothing else; beyond hanami.max_learners a model's
# learner waits, its samples queued.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

use lib dirname(__FILE__);
use HanamiFixture;

my $root = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..'));
my $tmp = tempdir(CLEANUP => 1);

my ($out, $err) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$root/examples/datasets.py", "$tmp/data" ],
	'<', \undef, '>', \$out, '2>', \$err)
  or BAIL_OUT("examples/datasets.py failed (python3-sklearn missing? run t/setup-deps.sh):\n$err");

my $node = HanamiFixture::node('stream', 'restart_after_crash = on');
$node->safe_psql('postgres', qq{
	CREATE EXTENSION hanami;
	CREATE ROLE alice LOGIN;
	CREATE ROLE ingest LOGIN;
	CREATE ROLE mallory LOGIN;
	CREATE TABLE digits (id int, x real[], label int, is_test boolean);
	\\copy digits FROM '$tmp/data/digits.csv' WITH (FORMAT csv, HEADER true)
	GRANT SELECT ON digits TO alice, ingest;
	CREATE TABLE stream (id int, x real[], label int);
	GRANT SELECT, INSERT ON stream TO alice, ingest;
	CREATE FUNCTION stream_learn() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		PERFORM hanami.learn('alice/digits', NEW.x, NEW.label);
		RETURN NEW;
	END \$\$;
	CREATE TRIGGER stream_learn AFTER INSERT ON stream FOR EACH ROW EXECUTE FUNCTION stream_learn();
});

sub psql_as { my ($role, $sql) = @_; return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]); }

sub error_as
{
	my ($role, $sql) = @_;
	my ($stdout, $stderr) = ('', '');
	$node->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', $role, '-v', 'ON_ERROR_STOP=1' ]);
	return $stderr;
}

my $spec = '{"kind": "hanami", "layers": [64, 256, 10]}';
my $fit = '"learning_rate": 0.05, "learning_rate_end": 0.05';
psql_as('alice', qq{SELECT hanami.create_model('digits', '$spec', NULL, 1)});

# --- options, checked when learning is enabled
like(error_as('alice', q{SELECT hanami.enable_learning('digits', '{"epochs": 3}')}),
	qr/option "epochs" does not apply to online learning/, 'enable_learning refuses epochs');
like(error_as('alice', q{SELECT hanami.enable_learning('digits', '{"commit_every": 0}')}),
	qr/option "commit_every" must be an integer from 1 to 1000000/, 'commit_every is checked');
like(error_as('alice', q{SELECT hanami.enable_learning('digits', '{"commit_interval": "soon"}')}),
	qr/option "commit_interval" must be a number of seconds/, 'commit_interval is checked');
like(error_as('alice', q{SELECT hanami.enable_learning('digits', '{"learning_rate": -1}')}),
	qr/learning_rate/, 'the kind\'s own options are checked as fit checks them');
like(error_as('alice', q{SELECT hanami.learn('digits', array_fill(1, ARRAY[64])::real[], 3)}),
	qr/learning is not enabled for model "digits"/, 'learn before enable_learning says so to a writer');

psql_as('alice', qq{SELECT hanami.enable_learning('digits', '{$fit, "commit_every": 200, "commit_interval": 2}')});
psql_as('alice', q{SELECT hanami.grant_learn('digits', 'ingest')});

like(error_as('ingest', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[63])::real[], 3)}),
	qr/input has 63 values; the model takes 64/, 'a sample of the wrong shape is refused');
like(error_as('ingest', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[64])::real[], 10)}),
	qr/class 10 is out of range/, 'a class out of range is refused');
like(error_as('ingest', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[64])::real[], ARRAY[1]::real[])}),
	qr/learns classes, not target values/, 'target values for a model of classes are refused');
like(error_as('ingest', q{SELECT hanami.learn('alice/digits', ARRAY[1, NULL]::real[], 1)}),
	qr/input has 2 values|NULL/, 'NULLs and wrong sizes are refused');

# --- the stream: one row per transaction, through the trigger, as ingest
my $t0 = time;
my $inserts = $node->safe_psql('postgres', q{
	SELECT string_agg(format('INSERT INTO stream VALUES (%s, %L, %s);', id, x, label), E'\n' ORDER BY id)
	FROM digits WHERE NOT is_test});
my $ntrain = $node->safe_psql('postgres', 'SELECT count(*) FROM digits WHERE NOT is_test');
psql_as('ingest', $inserts);
my $stream_seconds = time - $t0;
is(psql_as('ingest', 'SELECT count(*) FROM stream'), $ntrain, "the $ntrain training rows were inserted one by one");
note(sprintf('%d rows through the trigger in %.2f s', $ntrain, $stream_seconds));

my $cid = psql_as('alice', q{SELECT hanami.flush_learning('digits', '2 min')});
ok($cid =~ /^\d+$/, "flush_learning returns the commit with every sample: $cid");
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '0', 'the queue is empty once flushed');
is(psql_as('alice', q{SELECT learned FROM hanami.learning}), $ntrain, 'the learning row counts every sample once');
is(psql_as('alice', q{SELECT sum((metrics->>'learned')::int) FROM hanami.log('digits') WHERE message LIKE 'learn:%'}),
	$ntrain, 'the commits together learned every sample once');
ok(psql_as('alice', q{SELECT count(*) FROM hanami.log('digits') WHERE message LIKE 'learn:%'}) >= 2,
	'the learner committed along the way (commit_every 200)');
is(psql_as('alice', q{SELECT hanami.flush_learning('digits')}), '', 'flush with nothing queued does nothing');

my ($acc_stream, $acc_fit) = split /\|/, psql_as('alice', qq{
	SELECT (hanami.verify(hanami.load('digits'), 'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4),
	       (hanami.verify(hanami.fit(hanami.network('$spec', 1), 'SELECT x, label FROM digits WHERE NOT is_test ORDER BY id',
	                                 '{$fit, "epochs": 1, "batch_size": 1, "shuffle": false}'),
	                      'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4)});
note("held-out accuracy: streamed $acc_stream, one-epoch online fit $acc_fit");
ok($acc_fit > 0.5, "the one-epoch online fit learned something: $acc_fit");
# a growing network's growth draws restart with each batch the learner
# reads, so the result moves with how the stream was cut; it must reach
# the online fit within 2 points (above it is fine)
ok($acc_stream >= $acc_fit - 0.02, "the streamed model reaches the online fit within 2 points: $acc_stream vs $acc_fit");

# --- rolled back: nothing queued, nothing learned
my $commits = psql_as('alice', q{SELECT count(*) FROM hanami.log('digits')});
my $learned = psql_as('alice', q{SELECT learned FROM hanami.learning});
psql_as('ingest', q{
	BEGIN;
	INSERT INTO stream SELECT id, x, label FROM stream ORDER BY id LIMIT 50;
	ROLLBACK;
	BEGIN;
	SAVEPOINT a;
	INSERT INTO stream SELECT id, x, label FROM stream ORDER BY id LIMIT 10;
	ROLLBACK TO a;
	COMMIT;});
sleep 1.5;
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '0', 'rolled-back samples were never queued');
is(psql_as('alice', q{SELECT hanami.flush_learning('digits')}), '', 'so there is nothing to flush');
is(psql_as('alice', q{SELECT count(*) FROM hanami.log('digits')}), $commits, 'and no commit was made');
is(psql_as('alice', q{SELECT learned FROM hanami.learning}), $learned, 'and nothing was learned');

# --- the learner killed with SIGKILL mid-stream
psql_as('alice', qq{SELECT hanami.enable_learning('digits', '{$fit, "commit_every": 40, "commit_interval": 60}')});
my $before = psql_as('alice', q{SELECT learned FROM hanami.learning});
my $stream2 = $node->safe_psql('postgres', q{
	SELECT string_agg(format('INSERT INTO stream VALUES (%s, %L, %s);', 10000 + id, x, label), E'\n' ORDER BY id)
	FROM digits WHERE NOT is_test});
# from a file, so that the stream flows while this script watches
open(my $fh, '>', "$tmp/stream2.sql") or die;
print $fh $stream2;
close $fh;
my ($o2, $e2) = ('', '');
my $h = IPC::Run::start([ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-U', 'ingest', '-d', 'postgres',
	'-f', "$tmp/stream2.sql" ], '<', \undef, '>', \$o2, '2>', \$e2);
my $pid = '';
for (1 .. 600)
{
	$pid = $node->safe_psql('postgres', q{
		SELECT pid FROM pg_stat_activity WHERE backend_type = 'hanami learner'
		AND (SELECT learned FROM hanami.learning) > } . ($before + 80) . ' LIMIT 1');
	last if $pid ne '';
	sleep 0.05;
}
ok($pid ne '', 'a learner runs while rows stream in, after some commits');
kill 'KILL', $pid if $pid;
$h->finish;    # the server restarts every backend: the stream's session ends too
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
my $inserted = psql_as('alice', 'SELECT count(*) FROM stream WHERE id >= 10000');
ok($inserted > 0, "rows were inserted before the crash: $inserted");
# the rest of the stream, after the crash
psql_as('ingest', qq{INSERT INTO stream SELECT 10000 + id, x, label FROM digits
	WHERE NOT is_test AND 10000 + id NOT IN (SELECT id FROM stream) ORDER BY id});
psql_as('alice', q{SELECT hanami.flush_learning('digits', '2 min')});
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '0', 'after the crash the learner consumed the queue');
is(psql_as('alice', q{SELECT learned FROM hanami.learning}) - $before, $ntrain,
	'every sample of the second stream was learned once: none lost, none twice');
is(psql_as('alice', q{
	SELECT sum((metrics->>'learned')::int) FROM hanami.log('digits') WHERE message LIKE 'learn:%'}),
	2 * $ntrain, 'the commits say so too');
is(psql_as('alice', q{
	SELECT count(*) FROM (SELECT int8range((metrics->>'first_sample')::int8, (metrics->>'last_sample')::int8, '[]') r
	                      FROM hanami.log('digits') WHERE message LIKE 'learn:%') a
	JOIN (SELECT int8range((metrics->>'first_sample')::int8, (metrics->>'last_sample')::int8, '[]') r, commit_id
	      FROM hanami.log('digits') WHERE message LIKE 'learn:%') b ON a.r && b.r}),
	psql_as('alice', q{SELECT count(*) FROM hanami.log('digits') WHERE message LIKE 'learn:%'}),
	'no two learning commits cover the same samples');

is(psql_as('alice', q{SELECT string_agg(DISTINCT k.author::text, ',') FROM hanami.log('digits') l
	JOIN hanami.commits k ON k.id = l.commit_id WHERE l.message LIKE 'learn:%'}), 'alice',
	'every learning commit was made as alice, the writer who enabled learning, not as a superuser');

# --- a dense network from the stream: its input scaling follows running
# statistics of every sample learned, the optimizer's state goes on from
# batch to batch and across commits, and a learner killed mid-stream
# resumes both from its last commit
$node->safe_psql('postgres', q{
	CREATE TABLE dstream (id int, x real[], label int);
	GRANT SELECT, INSERT ON dstream TO alice, ingest;
	CREATE FUNCTION dstream_learn() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM hanami.learn('alice/ddigits', NEW.x, NEW.label);
		RETURN NEW;
	END $$;
	CREATE TRIGGER dstream_learn AFTER INSERT ON dstream FOR EACH ROW EXECUTE FUNCTION dstream_learn();
});
my $dspec = '{"layers": [64, 64, 10]}';
psql_as('alice', qq{SELECT hanami.create_model('ddigits', '$dspec', NULL, 1)});
psql_as('alice', q{SELECT hanami.enable_learning('ddigits', '{"batch_size": 1, "commit_every": 100, "commit_interval": 60}')});
psql_as('alice', q{SELECT hanami.grant_learn('ddigits', 'ingest')});
my $dmid = psql_as('alice', q{SELECT model_id FROM hanami.resolve('ddigits')});
# the learner's state: samples in its running statistics (online.h: a u64 at byte 44)
my $stats_count = qq{SELECT sum(get_byte(state, 44 + i)::numeric * 256 ^ i)::int8
	FROM hanami.learning, generate_series(0, 7) i WHERE model_id = $dmid};
open($fh, '>', "$tmp/dstream.sql") or die;
print $fh $node->safe_psql('postgres', q{
	SELECT string_agg(format('INSERT INTO dstream VALUES (%s, %L, %s);', id, x, label), E'\n' ORDER BY id)
	FROM digits WHERE NOT is_test});
close $fh;
($o2, $e2) = ('', '');
$h = IPC::Run::start([ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-U', 'ingest', '-d', 'postgres',
	'-f', "$tmp/dstream.sql" ], '<', \undef, '>', \$o2, '2>', \$e2);
$pid = '';
for (1 .. 600)
{
	$pid = $node->safe_psql('postgres', qq{
		SELECT pid FROM pg_stat_activity WHERE application_name = 'hanami learner $dmid'
		AND (SELECT learned FROM hanami.learning WHERE model_id = $dmid) >= 200 LIMIT 1});
	last if $pid ne '';
	sleep 0.05;
}
ok($pid ne '', 'the dense model\'s learner runs while rows stream in, after some commits');
my ($committed, $counted) = split /\|/, psql_as('alice', qq{SELECT learned, ($stats_count) FROM hanami.learning WHERE model_id = $dmid});
is($counted, $committed, "its running statistics at the last commit count the $committed samples committed");
kill 'KILL', $pid if $pid;
$h->finish;
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
psql_as('ingest', q{INSERT INTO dstream SELECT id, x, label FROM digits
	WHERE NOT is_test AND id NOT IN (SELECT id FROM dstream) ORDER BY id});
ok(psql_as('alice', q{SELECT hanami.flush_learning('ddigits', '2 min')}) =~ /^\d+$/, 'the dense stream is flushed after the crash');
is(psql_as('alice', qq{SELECT learned FROM hanami.learning WHERE model_id = $dmid}), $ntrain,
	'every sample of the dense stream was learned once');
is(psql_as('alice', $stats_count), $ntrain,
	'the running statistics hold every sample once: those learned before the crash were not counted again');
is(psql_as('alice', q{SELECT hanami.info(hanami.load('ddigits'))->>'input_scaling'}), 'fitted',
	'the committed network has its input scaling');
my ($dacc_stream, $dacc_fit) = split /\|/, psql_as('alice', qq{
	SELECT (hanami.verify(hanami.load('ddigits'), 'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4),
	       (hanami.verify(hanami.fit(hanami.network('$dspec', 1), 'SELECT x, label FROM digits WHERE NOT is_test ORDER BY id',
	                                 '{"batch_size": 1, "epochs": 1, "shuffle": false}'),
	                      'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4)});
note("dense, held-out accuracy: streamed $dacc_stream, one-epoch online fit $dacc_fit");
ok($dacc_fit > 0.8, "the dense one-epoch online fit learned: $dacc_fit");
like(error_as('alice', qq{UPDATE hanami.learning SET state = '\\x00' WHERE model_id = $dmid}), qr/permission denied/,
	'not even a writer of the model can write the learner\'s state');
ok($dacc_stream >= $dacc_fit - 0.02,
	"the dense streamed model, killed once, reaches the one-epoch online fit within 2 points: $dacc_stream vs $dacc_fit");

# --- target values, a dense network: learn(model, real[], real[])
psql_as('alice', q{SELECT hanami.create_model('sum', '{"layers": [2, 8, 1], "activation": "tanh"}', NULL, 2)});
psql_as('alice', q{SELECT hanami.enable_learning('sum', '{"targets": "values", "batch_size": 1, "optimizer": "sgd",
	"learning_rate": 0.01, "commit_every": 64}')});
like(error_as('alice', q{SELECT hanami.learn('sum', ARRAY[1, 2]::real[], 3)}), qr/learns target values, not classes/,
	'a class for a model of values is refused');
like(error_as('alice', q{SELECT hanami.learn('sum', ARRAY[1, 2]::real[], ARRAY[1, 2]::real[])}),
	qr/target has 2 values; the model takes 1/, 'target values of the wrong shape are refused');
psql_as('alice', join("\n", map { my ($a, $b) = ($_ % 7, $_ % 5);
	"SELECT hanami.learn('sum', ARRAY[$a, $b]::real[], ARRAY[" . ($a + $b) . "]::real[]);" } 1 .. 200));
ok(psql_as('alice', q{SELECT hanami.flush_learning('sum')}) =~ /^\d+$/, 'a dense network learns target values from the queue');
is(psql_as('alice', q{SELECT learned FROM hanami.learning l JOIN hanami.model_catalog m ON m.id = l.model_id
	WHERE m.name = 'sum'}), '200', 'all 200 of them, once');
# its input and output scaling follow running statistics of the samples
# (online.h: inputs counted at byte 44; targets after 2 x 2 means and m2s)
is(psql_as('alice', q{SELECT string_agg(n::text, ',') FROM (SELECT sum(get_byte(l.state, at + i)::numeric * 256 ^ i)::int8 n
	FROM hanami.learning l JOIN hanami.model_catalog m ON m.id = l.model_id, generate_series(0, 7) i, (VALUES (44), (88)) a(at)
	WHERE m.name = 'sum' GROUP BY at ORDER BY at) s}),
	'200,200', 'its running statistics of inputs and targets hold the 200 samples');
is(psql_as('alice', q{SELECT (hanami.info(hanami.load('sum'))->>'input_scaling') || ',' || (hanami.info(hanami.load('sum'))->'trained'->>'samples')}),
	'fitted,200', 'the committed network has its scaling, and trained on the 200 samples');
ok(psql_as('alice', q{SELECT abs((hanami.predict('sum', ARRAY[3, 2]::real[]))[1] - 5) < 1.5}) eq 't',
	'and predicts about the sum (scaled back to the targets\' units)');

# --- tenants
my $mid = psql_as('alice', q{SELECT model_id FROM hanami.resolve('digits')});
my $nope = error_as('mallory', q{SELECT hanami.learn('alice/nosuchmodel', array_fill(1, ARRAY[64])::real[], 1)});
(my $nope_for_digits = $nope) =~ s/nosuchmodel/digits/g;
is(error_as('mallory', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[64])::real[], 1)}), $nope_for_digits,
	'another project\'s role gets the error of a model that does not exist');
like($nope, qr/does not exist/, 'which says the model does not exist');
for my $role ('mallory', 'ingest')
{
	is(psql_as($role, q{SELECT (SELECT count(*) FROM hanami.learn_queue) + (SELECT count(*) FROM hanami.learning)
		+ (SELECT count(*) FROM hanami.learn_grants)}), '0', "$role sees no queue, learning or grant row");
	like(error_as($role, qq{INSERT INTO hanami.learn_queue (model_id, project, input, class, queued_by)
		VALUES ($mid, 'alice', array_fill(1, ARRAY[64])::real[], 1, 'alice')}),
		qr/permission denied/, "$role cannot write the queue directly");
	like(error_as($role, qq{INSERT INTO hanami.learning (model_id, project, branch, commit_every, commit_interval, targets, inputs, outputs)
		VALUES ($mid, 'alice', 'main', 1, 1, 'classes', 64, 10)}),
		qr/row-level security|permission denied/, "$role cannot enable learning by writing the table");
	like(error_as($role, q{SELECT hanami.enable_learning('alice/digits')}), qr/does not exist|permission denied/,
		"$role cannot enable learning");
	like(error_as($role, q{SELECT hanami.grant_learn('alice/digits', 'mallory')}), qr/does not exist|permission denied/,
		"$role cannot grant learn");
	like(error_as($role, q{SELECT hanami.flush_learning('alice/digits')}), qr/does not exist|permission denied/,
		"$role cannot flush");
	like(error_as($role, qq{SELECT hanami.learning_wake($mid, true)}), qr/permission denied for model $mid/,
		"$role cannot wake the learner");
	is(error_as($role, qq{SELECT hanami.learning_wake($mid, true)}), error_as($role, q{SELECT hanami.learning_wake(999999, true)}) =~ s/999999/$mid/gr,
		"$role gets the same error for a model id that does not exist");
}
like(error_as('ingest', q{SELECT hanami.predict_class('alice/digits', array_fill(1, ARRAY[64])::real[])}),
	qr/does not exist/, 'the ingest role cannot use the model otherwise');
is(error_as('ingest', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[64])::real[], 1)}), '',
	'the ingest role may learn');
psql_as('alice', q{SELECT hanami.revoke_learn('digits', 'ingest')});
like(error_as('ingest', q{SELECT hanami.learn('alice/digits', array_fill(1, ARRAY[64])::real[], 1)}),
	qr/does not exist/, 'once revoked, learn fails like for a model it cannot see');
is(psql_as('alice', q{SELECT hanami.disable_learning('digits')}), 't', 'disable_learning');
like(error_as('alice', q{SELECT hanami.learn('digits', array_fill(1, ARRAY[64])::real[], 1)}),
	qr/learning is not enabled/, 'learn after disable_learning is refused');
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '1', 'a queued sample stays queued when learning is disabled');
psql_as($_, q{DELETE FROM hanami.learn_queue}) for ('mallory', 'ingest');
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '1', 'neither another project\'s role nor the ingest role can delete it');
psql_as('alice', q{DELETE FROM hanami.learn_queue});
is(psql_as('alice', q{SELECT count(*) FROM hanami.learn_queue}), '0', 'a writer of the model can');

# --- learner slots: with hanami.max_learners = 1, a second model's learner
# waits (its sample stays queued) while another runs, and starts later
$node->safe_psql('postgres', q{ALTER SYSTEM SET hanami.max_learners = 1; SELECT pg_reload_conf();});
psql_as('alice', q{SELECT hanami.create_model('busy', '{"kind": "hanami", "layers": [2, 8, 2]}', NULL, 3)});
psql_as('alice', q{SELECT hanami.create_model('waits', '{"kind": "hanami", "layers": [2, 8, 2]}', NULL, 3)});
psql_as('alice', q{SELECT hanami.enable_learning('busy'), hanami.enable_learning('waits')});
my $busy = psql_as('alice', q{SELECT model_id FROM hanami.resolve('busy')});
my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
$bg->query_until(qr/streaming/, q{\echo streaming
DO $$BEGIN FOR i IN 1 .. 80 LOOP
	PERFORM hanami.learn('busy', ARRAY[i % 2, 1]::real[], i % 2); COMMIT; PERFORM pg_sleep(0.1);
END LOOP; END$$;
});
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'hanami learner $busy'"),
	'one model\'s learner runs');
my $log_at = -s $node->logfile;
psql_as('alice', q{SELECT hanami.learn('waits', ARRAY[1, 0]::real[], 1)});
ok($node->wait_for_log(qr/hanami learner of model \d+ not started: hanami\.max_learners learners run already/, $log_at),
	'the second model\'s learner does not start beyond hanami.max_learners');
is(psql_as('alice', q{SELECT (SELECT count(*) FROM hanami.learn_queue q JOIN hanami.model_catalog m ON m.id = q.model_id
	WHERE m.name = 'waits') || ',' || (SELECT count(*) FROM hanami.log('waits'))}), '1,1',
	'its sample stays queued, nothing committed');
$bg->quit;
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'hanami learner'"),
	'the first learner ends once its stream does');
ok(psql_as('alice', q{SELECT hanami.flush_learning('waits')}) =~ /^\d+$/, 'then the waiting model\'s learner runs and commits');
is(psql_as('alice', q{SELECT metrics->>'learned' FROM hanami.log('waits') LIMIT 1}), '1', 'what was queued for it');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET hanami.max_learners; SELECT pg_reload_conf();});

$node->stop;
done_testing();
