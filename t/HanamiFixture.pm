# t/HanamiFixture.pm - a database holding models with history, and a
# fingerprint of everything stored, for the backup and upgrade tests.
#
#   HanamiFixture::node($name, @conf);       a started cluster with hanami preloaded
#   HanamiFixture::roles($node);             alice, bob (LOGIN); once per cluster
#   HanamiFixture::populate($node, $db);     project team, models, branches, a job
#   HanamiFixture::fingerprint($node, $db);  one text to compare across databases
#   HanamiFixture::fashion_csv($dir, $n);     Fashion-MNIST as CSV files (train, test)
package HanamiFixture;

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use IO::Uncompress::Gunzip;
use Test::More;

# A new cluster with shared_preload_libraries = 'hanami' and the given
# postgresql.conf lines, started.
sub node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n", "shared_preload_libraries = 'hanami'", @conf) . "\n");
	$node->start;
	return $node;
}

sub roles
{
	my ($node) = @_;
	$node->safe_psql('postgres', q{
		CREATE ROLE alice LOGIN;
		CREATE ROLE bob LOGIN;
	});
	return;
}

sub psql_as
{
	my ($node, $db, $role, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', $role ]);
}

# Project "team" (alice admin, bob member) with a dense model trained three
# times and branched, bob's own model, a growing-kind model, and a finished
# background job with its training log.  Works on every released version.
sub populate
{
	my ($node, $db) = @_;
	$node->safe_psql($db, q{
		CREATE TABLE pts AS
			SELECT (g % 7)::real AS a, (g % 5)::real AS b, ((g % 7 + g % 5) % 2) AS y
			FROM generate_series(1, 300) g;
		GRANT SELECT ON pts TO PUBLIC;
		SELECT hanami.create_project('team');
		SELECT hanami.add_member('team', 'alice', 'admin');
		SELECT hanami.add_member('team', 'bob', 'member');
	});
	psql_as($node, $db, 'alice', q{
		SELECT hanami.create_model('iris', '{"layers": [2, 16, 2]}', 'team', 1);
		SELECT hanami.train('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 3}', 'first');
		SELECT hanami.train('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 2}', 'second');
		SELECT hanami.branch('team/iris', 'exp');
		SELECT hanami.train('team/iris@exp', 'SELECT a, b, y FROM pts', '{"epochs": 4, "learning_rate": 0.05}', 'on exp');
		SELECT hanami.create_model('grow', '{"kind": "hanami", "layers": [2, 8, 2]}', 'team', 2);
		SELECT hanami.train('team/grow', 'SELECT a, b, y FROM pts', '{"epochs": 1}', 'grown');
	});
	psql_as($node, $db, 'bob', q{
		SELECT hanami.create_model('bobnet', '{"layers": [2, 4, 2]}', 'team', 3);
	});
	my $job = psql_as($node, $db, 'alice', q{
		SELECT hanami.train_async('team/bobnet', 'SELECT a, b, y FROM pts', '{"epochs": 2}', 'by a job')});
	is(psql_as($node, $db, 'alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded',
		"$db: the fixture's job succeeded");
	return;
}

# Everything stored, as one text: every commit (ids, parent, branch, message,
# author, date, metrics, size, the md5 of its network and its predictions
# on fixed inputs), branches, projects, finished jobs and the training log.
sub fingerprint
{
	my ($node, $db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(line, E'\n' ORDER BY line) FROM (
			SELECT pg_catalog.format('commit %s %s %s %s %s %s %s %s %s %s md5=%s p1=%s p2=%s c=%s',
				r.rolname, m.name, m.kind, m.owner, k.id, k.parent, k.branch, k.message, k.author,
				k.created_at, md5(hanami.load_commit(k.id)::bytea),
				hanami.predict(r.rolname || '/' || m.name || '#' || k.id, '{1, 2}'),
				hanami.predict(r.rolname || '/' || m.name || '#' || k.id, '{6, 0}'),
				hanami.predict_class(r.rolname || '/' || m.name || '#' || k.id, '{3, 4}')) ||
				' metrics=' || k.metrics::text || ' bytes=' || k.bytes AS line
			FROM hanami.commits k
			JOIN hanami.model_catalog m ON m.id = k.model_id
			JOIN pg_roles r ON r.oid = m.project
			UNION ALL
			SELECT pg_catalog.format('branch %s %s %s %s', m.name, b.name, b.head, b.project)
			FROM hanami.branches b JOIN hanami.model_catalog m ON m.id = b.model_id
			UNION ALL
			SELECT pg_catalog.format('project %s %s %s', p.project, p.created_by, p.created_at)
			FROM hanami.projects p
			UNION ALL
			SELECT pg_catalog.format('block %s %s %s', b.project, encode(b.hash, 'hex'), md5(b.data))
			FROM hanami.blocks b
			UNION ALL
			SELECT pg_catalog.format('job %s %s %s %s %s %s %s', j.id, j.model, j.state, j.submitted_by,
				j.commit_id, j.epoch, j.query)
			FROM hanami.job_queue j WHERE j.state IN ('succeeded', 'failed', 'cancelled')
			UNION ALL
			SELECT pg_catalog.format('log %s %s %s %s %s', l.job_id, l.commit_id, l.epoch, l.loss, l.logged_at)
			FROM hanami.training_log l
		) s
	});
}

# Fashion-MNIST from Debian's dataset-fashion-mnist, written as CSV files
# (id, x real[] of the 784 raw pixels 0..255, label) into $out: returns the
# paths of the training and test splits, the training split cut to its first
# $train_rows images when given.  A data set that is missing is a failed
# test (a floor that cannot be checked is a failure, not a silent skip):
# then it returns an empty list.
sub fashion_csv
{
	my ($out, $train_rows) = @_;
	my $dir = '/usr/share/datasets/fashion-mnist';
	my @files = map { "$dir/$_" } qw(train-images-idx3-ubyte.gz
	  train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz);
	if (grep { !-r $_ } @files)
	{
		fail("Fashion-MNIST found in $dir (install dataset-fashion-mnist: t/setup-deps.sh)");
		return ();
	}
	_idx_csv($files[0], $files[1], "$out/train.csv", $train_rows);
	_idx_csv($files[2], $files[3], "$out/test.csv");
	return ("$out/train.csv", "$out/test.csv");
}

# Read a gzipped idx-ubyte file: (dimensions, raw bytes after the header).
sub _read_idx
{
	my ($path) = @_;
	my $data;
	IO::Uncompress::Gunzip::gunzip($path => \$data)
	  or die "gunzip $path: $IO::Uncompress::Gunzip::GunzipError";
	my ($zero, $type, $ndim) = unpack('nCC', $data);
	die "$path is not idx-ubyte" unless $zero == 0 && $type == 8;
	my @dims = unpack("N$ndim", substr($data, 4));
	return (\@dims, substr($data, 4 + 4 * $ndim));
}

# Write the first $max images (all when undef) of a split as CSV.
sub _idx_csv
{
	my ($images, $labels, $path, $max) = @_;
	my ($idim, $img) = _read_idx($images);
	my ($ldim, $lab) = _read_idx($labels);
	my $n = defined $max && $max < $idim->[0] ? $max : $idim->[0];
	my $d = $idim->[1] * $idim->[2];
	die "labels do not match images" unless $ldim->[0] == $idim->[0];
	open(my $fh, '>', $path) or die "$path: $!";
	for my $i (0 .. $n - 1)
	{
		print $fh $i + 1, ',"{', join(',', unpack("C$d", substr($img, $i * $d, $d))), '}",',
		  ord(substr($lab, $i, 1)), "\n";
	}
	close($fh);
	return $n;
}

1;
