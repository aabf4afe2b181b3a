# t/180_demo_tour.pl - the SQL of examples/demo.sh's tour
# (examples/demo-tour.sql) runs as the demo runs it, on scikit-learn's
# digits, and does what it shows: the job succeeds, the branch exists, bob
# predicts classes by name, the evaluation is good, the curve is a
# well-formed SVG with the job's series, and carol (another project) sees
# nothing and cannot use the model.
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

# The digits, written as the demo writes them (python3-sklearn, t/setup-deps.sh).
my ($out, $err) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$root/examples/datasets.py", "$tmp/data" ],
	'<', \undef, '>', \$out, '2>', \$err)
  or BAIL_OUT("examples/datasets.py failed (python3-sklearn missing? run t/setup-deps.sh):\n$err");

my $node = HanamiFixture::node('tour');
$node->safe_psql('postgres', 'CREATE DATABASE hanami_demo');
$node->safe_psql('hanami_demo', qq{
	CREATE EXTENSION hanami;
	CREATE TABLE digits (id int, x real[], label int, is_test boolean);
	\\copy digits FROM '$tmp/data/digits.csv' WITH (FORMAT csv, HEADER true)
});
is($node->safe_psql('hanami_demo', 'SELECT count(*) FROM digits'), '1797', 'the digits are loaded');

# As examples/demo.sh runs it: on stdin, queries echoed, quiet.
my $curve = "$tmp/learning-curve.svg";
my ($stdout, $stderr) = ('', '');
my @psql = ('psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'hanami_demo',
	'-v', 'ON_ERROR_STOP=1', '-P', 'pager=off', '-e', '-q', '-v', "curve_file=$curve");
IPC::Run::run(\@psql, '<', "$root/examples/demo-tour.sql", '>', \$stdout, '2>', \$stderr,
	IPC::Run::timeout(600));
is($? >> 8, 0, 'the tour runs to its end') or diag("stdout:\n$stdout\nstderr:\n$stderr");

# Every step's header is printed.
for my $step (1 .. 10)
{
	like($stdout, qr/^=== $step\. /m, "step $step has its header");
}

# The job: progress was shown while it ran, and it succeeded.
like($stderr, qr/NOTICE:  job 1: (queued|running)/, 'the job\'s progress is shown before it ends');
like($stderr, qr/NOTICE:  job 1: succeeded epoch 40\/40  100%/, 'the progress ends with the job\'s success');
like($stdout, qr/^ succeeded$/m, 'hanami.wait returns succeeded');
is($node->safe_psql('hanami_demo', q{
	SELECT state || ' ' || model || ' ' || branch || ' ' || (commit_id IS NOT NULL)
	FROM hanami.jobs WHERE id = 1}), 'succeeded recognizer main true',
	'the job succeeded and stored a commit on main');

# The branch and its history.
is($node->safe_psql('hanami_demo', q{
	SELECT string_agg(b.name, ',' ORDER BY b.name)
	FROM hanami.branches b JOIN hanami.model_catalog m ON m.id = b.model_id
	WHERE m.name = 'recognizer'}), 'finetune,main', 'the branch exists next to main');
like($stdout, qr/^\s+3 \|\s+2 \| finetune \| fine-tune the output layer \| alice/m,
	'the log shows the fine-tuning on the branch, by alice');
like($stdout, qr/"unchanged": \[\s*\+\s*"layer 1 \(hidden\)"/, 'the diff shows the frozen hidden layer unchanged');

# bob predicts classes by name.
my ($step7) = ($stdout =~ /^=== 7\. (.*?)^=== 8\. /ms);
my @pred = (($step7 // '') =~ /^\s+\d+ \|\s+(\d) \|\s+(\d+)$/mg);
is(scalar(@pred), 10, 'bob\'s query gives five rows of label and predicted class');
ok(!grep({ $_ < 0 || $_ > 9 } @pred), 'every predicted class is a digit');
is(HanamiFixture::psql_as($node, 'hanami_demo', 'bob', q{
	SELECT count(*) FROM digits WHERE is_test
	AND hanami.predict_class('digits_lab/recognizer', x) BETWEEN 0 AND 9}), '450',
	'bob, in his own session, gets a class for every held-out row');

# The evaluation.
my ($acc) = ($stdout =~ /^ digits_lab\/recognizer\s+\|\s+([0-9.]+) \|/m);
ok(defined $acc && $acc > 0.9, 'the held-out accuracy of main is above 0.9')
  or diag('accuracy: ' . ($acc // 'not printed'));
like($stdout, qr/^ digits_lab\/recognizer\@finetune\s+\|\s+[0-9.]+ \|\s+[0-9.]+ \| 450$/m,
	'the branch is evaluated on the 450 held-out rows');

# The learning curve: a sparkline, and the SVG file.
# (bytes: the bars are U+2581 to U+2588 in UTF-8)
like($stdout, qr/^ loss (?:\xe2\x96[\x81-\x88]){40} min [0-9.e-]+ \(epoch 40\) max/m,
	'the loss sparkline has 40 epochs');
ok(-s $curve, 'the SVG file is written');
is($node->safe_psql('hanami_demo', "SELECT xml_is_well_formed_document(pg_read_file('$curve'))"), 't',
	'the SVG is a well-formed XML document');
my $svg = slurp_file($curve);
like($svg, qr/\A<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/, 'the file is an SVG image');
like($svg, qr/>digits_lab\/recognizer, job 1</, 'with the title');
for my $series ('loss', 'val_loss', 'val_accuracy')
{
	like($svg, qr/>$series</, "the legend names $series");
}
unlike($svg, qr/rows_per_second/, 'rows per second are left out');

# carol, of another project, sees nothing.
like($stdout, qr/models \| jobs \| log_rows\s*\n-+\+-+\+-+\s*\n\s+0 \|\s+0 \|\s+0$/m,
	'carol sees no model, job or log row');
like($stderr, qr/ERROR:  model "recognizer" does not exist/, 'carol\'s use of the model fails as if it did not exist');
is(HanamiFixture::psql_as($node, 'hanami_demo', 'carol', q{
	SELECT (SELECT count(*) FROM hanami.models) + (SELECT count(*) FROM hanami.commits)
	     + (SELECT count(*) FROM hanami.jobs) + (SELECT count(*) FROM hanami.training_log)}), '0',
	'carol, in her own session, sees no model, commit, job or log row');
my ($rc, $o, $e) = $node->psql('hanami_demo',
	q{SELECT hanami.predict_class('digits_lab/recognizer', x) FROM digits LIMIT 1},
	extra_params => [ '-U', 'carol' ]);
ok($rc != 0 && $e =~ /model "recognizer" does not exist/, 'carol, in her own session, cannot predict with it');

# Only that error: nothing else went wrong.
my @errors = ($stderr =~ /^.*ERROR:.*$/mg);
is(scalar(@errors), 1, 'the tour shows exactly one error, carol\'s') or diag($stderr);

$node->stop;
done_testing();
