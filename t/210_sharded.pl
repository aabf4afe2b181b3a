# t/210_sharded.pl - training across shards: three local clusters, a
# coordinator and two shards that each hold half of scikit-learn's digits
# (split by id).  hanami.train_sharded(), run by an ordinary role that
# reaches the shards through dblink with a password, learns the scaling
# once from both shards, trains rounds of local fits averaged by rows and
# commits once; its held-out accuracy is within 1 point of training on one
# node with the same total epochs; row-level security on a shard applies
# to the role the connection names; a round that fails once is tried again
# on fresh connections, a round that fails twice, or a shard that cannot
# be reached, ends the call with nothing committed.
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

use lib dirname(__FILE__);
use HanamiFixture;

my $root = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..'));
my $tmp = tempdir(CLEANUP => 1);
my ($out, $err) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$root/examples/datasets.py", "$tmp/data" ],
	'<', \undef, '>', \$out, '2>', \$err)
  or BAIL_OUT("examples/datasets.py failed (python3-sklearn missing? run t/setup-deps.sh):\n$err");

my $coord = HanamiFixture::node('coord');
my @shards = map { HanamiFixture::node("shard$_") } (1, 2);

my $digits = qq{
	CREATE TABLE digits (id int, x real[], label int, is_test boolean);
	\\copy digits FROM '$tmp/data/digits.csv' WITH (FORMAT csv, HEADER true)
};
$coord->safe_psql('postgres', qq{
	CREATE EXTENSION hanami;
	CREATE EXTENSION dblink;
	CREATE ROLE alice LOGIN;
	$digits
	GRANT SELECT ON digits TO alice;
});
for my $i (0, 1)
{
	my $s = $shards[$i];
	# the shard holds the rows of one parity of id; alice logs in with a password
	$s->safe_psql('postgres', qq{
		CREATE EXTENSION hanami;
		CREATE ROLE alice LOGIN PASSWORD 'sesame';
		$digits
		DELETE FROM digits WHERE id % 2 <> $i;
		GRANT SELECT ON digits TO alice;
		-- a failure to inject: flaky() raises at the calls fail_at names
		CREATE SEQUENCE calls;
		CREATE TABLE fail_at (lo bigint, hi bigint);
		CREATE FUNCTION flaky() RETURNS bigint LANGUAGE plpgsql AS \$\$
		DECLARE v bigint := nextval('calls');
		BEGIN
			IF EXISTS (SELECT FROM fail_at WHERE v BETWEEN lo AND hi) THEN
				RAISE EXCEPTION 'failure injected at call %', v;
			END IF;
			RETURN v;
		END \$\$;
		GRANT USAGE ON SEQUENCE calls TO alice;
		GRANT SELECT ON fail_at TO alice;
	});
	# dblink asks a non-superuser for a password-authenticated connection
	my $hba = $s->data_dir . '/pg_hba.conf';
	open(my $fh, '<', $hba) or die;
	my $conf = do { local $/; <$fh> };
	close $fh;
	open($fh, '>', $hba) or die;
	print $fh "local all alice scram-sha-256\n$conf";
	close $fh;
	$s->reload;
}
my @conn = map { sprintf('host=%s port=%d dbname=postgres user=alice password=sesame', $_->host, $_->port) } @shards;
my $shards_json = '[' . join(', ', map { qq{"$_"} } @conn) . ']';

sub as_alice { my ($sql) = @_; return $coord->safe_psql('postgres', $sql, extra_params => [ '-U', 'alice' ]); }

sub error_as_alice
{
	my ($sql) = @_;
	my ($stdout, $stderr) = ('', '');
	$coord->psql('postgres', $sql, stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', 'alice', '-v', 'ON_ERROR_STOP=1' ]);
	return $stderr;
}

my $query = 'SELECT x, label FROM digits, flaky() WHERE NOT is_test';
my $fit = '"batch_size": 8';
as_alice(q{
	SELECT hanami.create_model('sharded', '{"layers": [64, 32, 10]}', NULL, 1);
	SELECT hanami.create_model('single', '{"layers": [64, 32, 10]}', NULL, 1);
	SELECT hanami.create_model('flaky', '{"layers": [64, 32, 10]}', NULL, 1);
	SELECT hanami.create_model('broken', '{"layers": [64, 32, 10]}', NULL, 1);
});

# --- options are checked before any shard is reached
like(error_as_alice(q{SELECT hanami.train_sharded('sharded', 'SELECT 1', '{"rounds": 2}')}),
	qr/option "shards" must be an array/, 'shards are required');
like(error_as_alice(qq{SELECT hanami.train_sharded('sharded', 'SELECT 1', '{"shards": $shards_json, "epochs": 3}')}),
	qr/do not apply to sharded training/, 'epochs is refused: rounds and local_epochs say it');
like(error_as_alice(qq{SELECT hanami.train_sharded('sharded', 'SELECT 1', '{"shards": $shards_json, "rounds": 0}')}),
	qr/option "rounds" must be from 1 to 10000/, 'rounds are checked');

# --- sharded against single-node training, 20 epochs each
my $cid = as_alice(qq{SELECT hanami.train_sharded('sharded', '$query',
	'{"shards": $shards_json, "rounds": 20, "local_epochs": 1, $fit}')});
ok($cid =~ /^\d+$/, "train_sharded commits once: $cid");
as_alice(qq{SELECT hanami.train('single', 'SELECT x, label FROM digits WHERE NOT is_test', '{"epochs": 20, $fit}')});
my ($acc_sharded, $acc_single) = split /\|/, as_alice(q{
	SELECT (hanami.evaluate('sharded', 'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4),
	       (hanami.evaluate('single', 'SELECT x, label FROM digits WHERE is_test')->>'accuracy')::numeric(6,4)});
note("held-out accuracy: sharded $acc_sharded, single node $acc_single");
ok($acc_single >= 0.9, "single-node training learned: $acc_single");
ok($acc_sharded >= $acc_single - 0.01, "sharded training is within 1 point of single-node training: $acc_sharded vs $acc_single");
is(as_alice(q{SELECT metrics->>'shards' || ',' || (metrics->>'rounds') || ',' || (metrics->>'rows') || ',' || (metrics->>'retried_rounds')
	FROM hanami.log('sharded') WHERE message = 'train_sharded'}),
	'2,20,' . $coord->safe_psql('postgres', 'SELECT count(*) FROM digits WHERE NOT is_test') . ',0',
	'the commit says how many shards, rounds and rows');
is(as_alice(q{SELECT count(*) || ',' || bool_and(loss > 0 AND rows_per_second > 0 AND seconds > 0)
	FROM hanami.training_log l JOIN hanami.model_catalog m ON m.id = l.model_id WHERE m.name = 'sharded'}),
	'20,true', 'training_log has each round with its loss, rows per second and seconds');
ok(as_alice(q{SELECT (SELECT loss FROM hanami.training_log l JOIN hanami.model_catalog m ON m.id = l.model_id
	WHERE m.name = 'sharded' AND epoch = 20) < (SELECT loss FROM hanami.training_log l JOIN hanami.model_catalog m
	ON m.id = l.model_id WHERE m.name = 'sharded' AND epoch = 1)}) eq 't', 'the loss fell from round 1 to round 20');
is(as_alice(q{SELECT hanami.info(hanami.load('sharded'))->>'input_scaling'}), 'fitted',
	'the scaling was learned once, before the rounds');

# --- shards named as foreign servers: the caller's user mappings say who
# connects (dblink_fdw, a password in the mapping)
for my $i (0, 1)
{
	$coord->safe_psql('postgres', sprintf(q{
		CREATE SERVER shard%d FOREIGN DATA WRAPPER dblink_fdw OPTIONS (host '%s', port '%d', dbname 'postgres');
		CREATE USER MAPPING FOR alice SERVER shard%d OPTIONS (user 'alice', password 'sesame');
		GRANT USAGE ON FOREIGN SERVER shard%d TO alice;
	}, $i + 1, $shards[$i]->host, $shards[$i]->port, $i + 1, $i + 1));
}
$cid = as_alice(qq{SELECT hanami.train_sharded('sharded', '$query', '{"shards": ["shard1", "shard2"], "rounds": 1}', 'servers')});
ok($cid =~ /^\d+$/, 'shards named as foreign servers train through the caller\'s user mappings');
is(as_alice(q{SELECT metrics->>'rows' FROM hanami.log('sharded') WHERE message = 'servers'}),
	$coord->safe_psql('postgres', 'SELECT count(*) FROM digits WHERE NOT is_test'), 'over every shard\'s rows');

# --- row-level security on a shard applies to the role the connection names
$shards[0]->safe_psql('postgres', q{
	ALTER TABLE digits ENABLE ROW LEVEL SECURITY;
	CREATE POLICY quarter ON digits FOR SELECT TO alice USING (id % 4 = 0);
});
my $visible = $shards[0]->safe_psql('postgres', 'SELECT count(*) FROM digits WHERE NOT is_test AND id % 4 = 0')
	+ $shards[1]->safe_psql('postgres', 'SELECT count(*) FROM digits WHERE NOT is_test');
as_alice(qq{SELECT hanami.train_sharded('sharded', '$query', '{"shards": $shards_json, "rounds": 1}', 'rls')});
is(as_alice(q{SELECT metrics->>'rows' FROM hanami.log('sharded') WHERE message = 'rls'}), $visible,
	"a shard trains only on the rows its policy shows alice: $visible rows in all");
$shards[0]->safe_psql('postgres', 'DROP POLICY quarter ON digits; ALTER TABLE digits DISABLE ROW LEVEL SECURITY');

# --- a round that fails once is tried again
my $next = $shards[1]->safe_psql('postgres', q{SELECT last_value + 1 FROM calls});
# calls: count, sample, then one per round: fail at round 2's
$shards[1]->safe_psql('postgres', 'INSERT INTO fail_at VALUES (' . ($next + 3) . ', ' . ($next + 3) . ')');
$cid = as_alice(qq{SELECT hanami.train_sharded('flaky', '$query', '{"shards": $shards_json, "rounds": 3}')});
ok($cid =~ /^\d+$/, 'a round that failed once was tried again and the training committed');
is(as_alice(q{SELECT metrics->>'retried_rounds' FROM hanami.log('flaky') WHERE message = 'train_sharded'}), '1',
	'the commit says one round was tried again');
is(as_alice(q{SELECT count(*) FROM hanami.training_log l JOIN hanami.model_catalog m ON m.id = l.model_id WHERE m.name = 'flaky'}),
	'3', 'and logs each of the 3 rounds once');

# --- a round that fails twice: an error, nothing committed
$shards[1]->safe_psql('postgres', 'TRUNCATE fail_at; INSERT INTO fail_at SELECT last_value + 3, last_value + 100 FROM calls');
my $before = as_alice(q{SELECT count(*) FROM hanami.log('broken')});
like(error_as_alice(qq{SELECT hanami.train_sharded('broken', '$query', '{"shards": $shards_json, "rounds": 3}')}),
	qr/sharded training of model "broken" failed in round \d \(tried twice\).*failure injected/s,
	'a round failing twice ends the call, saying why');
is(as_alice(q{SELECT count(*) FROM hanami.log('broken')}), $before, 'and nothing was committed');
$shards[1]->safe_psql('postgres', 'TRUNCATE fail_at');

# --- a shard that cannot be reached
$shards[1]->stop;
like(error_as_alice(qq{SELECT hanami.train_sharded('broken', '$query', '{"shards": $shards_json, "rounds": 1}')}),
	qr/cannot connect to shard 2 of sharded training/, 'a shard that is down: the call fails at once');
is(as_alice(q{SELECT count(*) FROM hanami.log('broken')}), $before, 'nothing committed');
like(error_as_alice(q{SELECT hanami.train_sharded('broken', 'SELECT 1', '{"shards": ["host=/nonexistent dbname=x"]}')}),
	qr/cannot connect to shard 1/, 'a connection string that leads nowhere');

# --- without dblink
$coord->safe_psql('postgres', 'DROP EXTENSION dblink CASCADE');
like(error_as_alice(qq{SELECT hanami.train_sharded('broken', '$query', '{"shards": $shards_json}')}),
	qr/needs the dblink extension/, 'without dblink the call says what it needs');

$coord->stop;
$shards[0]->stop;
done_testing();
