# t/030_standby.pl - stored models replicate to a hot standby, where predict
# and evaluate work read-only and training is refused.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT a::real AS a, b::real AS b, (a # b) AS y
		FROM generate_series(0, 1) a, generate_series(0, 1) b, generate_series(1, 25);
	SELECT hanami.create_model('xor', '{"layers": [2, 8, 2], "activation": "tanh"}', seed => 1);
	SELECT hanami.train('xor', 'SELECT a, b, y FROM pts', '{"epochs": 200, "learning_rate": 0.05, "batch_size": 4}');
});
$primary->backup('bk');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

my $classes = q{SELECT string_agg(hanami.predict_class('xor', ARRAY[a, b]::real[])::text, ',' ORDER BY a, b)
	FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b)};
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
is($standby->safe_psql('postgres', $classes), '0,1,1,0', 'predict works on the standby');
is($standby->safe_psql('postgres', $classes), $primary->safe_psql('postgres', $classes),
	'standby and primary predict the same');
is($standby->safe_psql('postgres', q{SELECT hanami.evaluate('xor', 'SELECT a, b, y FROM pts') ->> 'accuracy'}),
	'1', 'evaluate works on the standby');

my ($ret, $stdout, $stderr) = $standby->psql('postgres',
	q{SELECT hanami.train('xor', 'SELECT a, b, y FROM pts')});
isnt($ret, 0, 'training is refused on the standby');
like($stderr, qr/read-only transaction|recovery/, 'with a read-only error');

# a new commit on the primary reaches the standby
$primary->safe_psql('postgres', q{SELECT hanami.save('xor', hanami.network('{"layers": [2, 8, 2]}', 7), 'replaced')});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT message FROM hanami.log('xor') LIMIT 1}), 'replaced',
	'the new commit is on the standby');
is($standby->safe_psql('postgres', q{SELECT hanami.predict('xor', '{1,0}') = hanami.run(hanami.network('{"layers": [2, 8, 2]}', 7), '{1,0}')}),
	't', 'predict on the standby follows the new head');

$standby->stop;
$primary->stop;
done_testing();
