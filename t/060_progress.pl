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
my $last_commit = q{(SELECT max(commit_id) FROM hanami.log('m'))};
is($node->safe_psql('postgres', qq{SELECT string_agg(epoch::text, ',' ORDER BY epoch) FROM hanami.training_log WHERE commit_id = $last_commit}),
	'1,2', 'train: training_log has both epochs, linked to the commit');

# the losses are recorded: finite, and the ones the NOTICEs reported
is($node->safe_psql('postgres', qq{SELECT count(*) FROM hanami.training_log WHERE commit_id = $last_commit
	AND loss IS NOT NULL AND loss NOT IN ('NaN', 'Infinity', '-Infinity') AND loss >= 0}),
	'2', 'train: both epochs have a finite, non-negative loss');
is($node->safe_psql('postgres', q{SELECT count(*) FROM hanami.training_log WHERE loss IS NULL}),
	'0', 'no training_log row lacks its loss');
my %noticed = $err =~ /NOTICE:  epoch (\d+): loss (\S+)/g;
for my $row (split /\n/, $node->safe_psql('postgres',
	qq{SELECT epoch, loss FROM hanami.training_log WHERE commit_id = $last_commit ORDER BY epoch}))
{
	my ($epoch, $loss) = split /\|/, $row;
	my $said = $noticed{$epoch} // 'nothing';
	# the NOTICE prints 4 significant digits
	ok($said =~ /^[0-9.e+-]+$/ && abs($said - $loss) <= 1e-3 * abs($loss),
		"train: epoch $epoch: the logged loss $loss is the one the NOTICE reported ($said)");
}

$node->stop;
done_testing();
