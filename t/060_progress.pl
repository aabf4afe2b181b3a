# t/060_progress.pl - long synchronous training reports progress: with
# options.verbose, fit() and train() send a NOTICE per epoch, and train()
# leaves one training_log row per epoch.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('progress');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, (g % 2) AS y FROM generate_series(1, 100) g;
	SELECT hanami.create_model('m', '{"layers": [1, 4, 2]}', seed => 1);
});

my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT hanami.fit(hanami.network('{"layers": [1, 4, 2]}', 1), 'SELECT a, y FROM pts', '{"epochs": 3, "verbose": true, "validation_split": 0.2}') IS NOT NULL});
is($ret, 0, 'verbose fit runs');
like($err, qr/NOTICE:  epoch 1: loss [-0-9.e]+, validation loss [-0-9.e]+, validation accuracy [0-9.]+/, 'fit: NOTICE for epoch 1');
like($err, qr/NOTICE:  epoch 3: loss/, 'fit: NOTICE for epoch 3');
like($err, qr/NOTICE:  trained 3 epochs on 80 rows, stopped by epochs/, 'fit: a closing NOTICE');

($ret, $out, $err) = $node->psql('postgres',
	q{SELECT hanami.train('m', 'SELECT a, y FROM pts', '{"epochs": 2, "verbose": true}')});
is($ret, 0, 'verbose train runs');
like($err, qr/NOTICE:  epoch 1: loss [-0-9.e]+\n.*NOTICE:  epoch 2: loss/s, 'train: a NOTICE per epoch');
is($node->safe_psql('postgres', q{SELECT string_agg(epoch::text, ',' ORDER BY epoch) FROM hanami.training_log WHERE commit_id = (SELECT max(commit_id) FROM hanami.log('m'))}),
	'1,2', 'train: training_log has both epochs, linked to the commit');
isnt($node->safe_psql('postgres', q{SELECT count(*) FROM hanami.training_log WHERE loss IS NULL}), undef, 'losses recorded');

$node->stop;
done_testing();
