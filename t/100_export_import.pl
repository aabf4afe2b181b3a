# t/100_export_import.pl - moving models between databases: a dense model
# with two branches and a growing model are exported on one cluster (psql
# \copy and server-side COPY) and imported on another by ordinary roles;
# every commit's network bytes and predictions, the history, branches,
# authorship and origin must match.  One-branch exports, a second import
# sharing blocks, reading with read access only, and damaged, truncated,
# reordered, foreign and forged streams, an existing name and a project
# without rights, after which nothing is left behind.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();

my $node_a = PostgreSQL::Test::Cluster->new('export_a');
$node_a->init;
$node_a->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node_a->start;

my $node_b = PostgreSQL::Test::Cluster->new('export_b');
$node_b->init;
$node_b->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node_b->start;

my $dir = Cwd::abs_path($node_a->basedir);

sub psql_as
{
	my ($node, $role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# the error of a statement that must fail (verbose: with its SQLSTATE)
sub error_as
{
	my ($node, $role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $role ]);
	return $ret == 0 ? "(no error; output: $out)" : $err;
}

# ---------------------------------------------------------------- node A
$node_a->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE ROLE alice LOGIN;
	CREATE ROLE eve LOGIN;		-- a member of alice's project: may read, not write
	CREATE ROLE mallory LOGIN;	-- no access
	GRANT alice TO eve;
	CREATE TABLE flowers AS
		SELECT ARRAY[sin(g), cos(g * 1.3), sin(g * 0.7) + 1, (g % 5) / 5.0]::real[] AS x, g % 3 AS y
		FROM generate_series(1, 150) g;
	CREATE TABLE pairs AS
		SELECT ARRAY[a, -b, a * b * 1000]::real[] AS x, (a > b)::int AS y
		FROM generate_series(1, 6) a, generate_series(1, 5) b;
	GRANT SELECT ON flowers, pairs TO PUBLIC;
});

psql_as($node_a, 'alice', q{
	SELECT hanami.create_model('iris', '{"layers": [4, 8, 3]}', seed => 1);
	SELECT hanami.train('iris', 'SELECT x, y FROM flowers', '{"epochs": 5}', 'first fit');
	SELECT hanami.train('iris', 'SELECT x, y FROM flowers', '{"epochs": 3, "learning_rate": 0.05}');
	SELECT hanami.branch('iris', 'tuned');
	SELECT hanami.train('iris@tuned', 'SELECT x, y FROM flowers', '{"epochs": 4, "optimizer": "adam"}', 'adam');
	SELECT hanami.train('iris@tuned', 'SELECT x, y FROM flowers WHERE y > 0', '{"epochs": 2}', 'two classes');
	SELECT hanami.train('iris', 'SELECT x, y FROM flowers', '{"epochs": 6}', 'longer');
	SELECT hanami.create_model('grow', '{"kind": "hanami", "layers": [3, 8, 2]}', seed => 4);
	SELECT hanami.train('grow', 'SELECT x, y FROM pairs', '{"epochs": 3}', 'grow 1');
	SELECT hanami.train('grow', 'SELECT x, y FROM pairs', '{"epochs": 2}', 'grow 2');
});
is(psql_as($node_a, 'alice', q{SELECT string_agg(name || ':' || kind || ':' || commits || ':' || branches, ',' ORDER BY name) FROM hanami.models}),
	'grow:hanami:3:1,iris:dense:6:2', 'node A: a dense model with 6 commits on 2 branches, a growing one with 3');

# exports: psql \copy by alice, server-side COPY (binary) by the superuser
psql_as($node_a, 'alice', qq{
	\\copy (SELECT * FROM hanami.export('iris')) TO '$dir/iris.chunks'
	\\copy (SELECT * FROM hanami.export('iris\@tuned')) TO '$dir/iris_tuned.chunks'
});
$node_a->safe_psql('postgres', "COPY (SELECT * FROM hanami.export('alice/grow')) TO '$dir/grow.chunks' (FORMAT binary)");

like(error_as($node_a, 'alice', q{SELECT count(*) FROM hanami.export('iris#2')}),
	qr/cannot export a single commit.*\n.*HINT:.*hanami\.branch/, 'exporting one commit is an error with a hint');
like(error_as($node_a, 'mallory', q{SELECT count(*) FROM hanami.export('alice/iris')}),
	qr/model "iris" does not exist/, 'a role without access cannot export');
my $chunks_after_header = q{SELECT count(*) || ':' || md5(string_agg(c, '' ORDER BY n)) FROM hanami.export('alice/iris') WITH ORDINALITY e(c, n) WHERE n > 1};
is(psql_as($node_a, 'eve', $chunks_after_header), psql_as($node_a, 'alice', $chunks_after_header),
	'a reader (no write access) exports the same chunks as the owner');
like(error_as($node_a, 'eve', q{SELECT hanami.train('alice/iris', 'SELECT x, y FROM flowers')}),
	qr/permission denied for model "iris"/, 'while that reader may not write the model');

# the chunks: magic, version, types and ordinals, sizes
is(psql_as($node_a, 'alice', q{
	SELECT string_agg(encode(substr(c, 6, 1), 'escape'), '' ORDER BY n)
	FROM hanami.export('iris') WITH ORDINALITY e(c, n)
	WHERE substr(c, 1, 5) = '\x484e4d5801' AND substr(c, 7, 4) = int4send((n - 1)::int)}),
	'HBCBCBCBCBCBCE', 'chunks: HNMX, version 1, ordinals 0.., header, blocks before each commit, end');
is(psql_as($node_a, 'alice', q{
	SELECT (h - 'exported_at' - 'hanami')::text || ' ' || (h->>'hanami' = (SELECT extversion FROM pg_extension WHERE extname = 'hanami'))
		   || ' ' || ((h->>'exported_at')::timestamptz = now())
	FROM (SELECT convert_from(substr(c, 11), 'UTF8')::jsonb AS h FROM hanami.export('iris') c LIMIT 1) s}),
	'{"ref": "iris", "kind": "dense", "model": "iris", "owner": "alice", "blocks": 18, "branch": null, "format": "hanami-export", "commits": 6, "project": "alice", "block_bytes": 3240, "exported_by": "alice", "format_version": 1} true true',
	'the header describes the model and counts its commits and blocks');

# a bigger network (4 MB): block chunks of at most 1 MB that carry every block
psql_as($node_a, 'alice', q{SELECT hanami.create_model('wide', '{"layers": [1000, 1000, 10]}', seed => 2)});
is(psql_as($node_a, 'alice', q{
	WITH b AS (SELECT c FROM hanami.export('wide') c WHERE get_byte(c, 5) = 66)
	SELECT (SELECT count(*) >= 4 FROM b) || ':' ||
		   (SELECT bool_and(length(c) - 10 <= 1048576) FROM b) || ':' ||
		   ((SELECT sum(length(c) - 10) FROM b) =
			(SELECT k.bytes + 36 * count(*) FROM hanami.commits k
			 JOIN hanami.commit_blocks cb ON cb.commit_id = k.id
			 JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'wide' GROUP BY k.bytes))}),
	'true:true:true', 'a 4 MB network goes in block chunks of at most 1 MB that hold all its bytes');

# ---------------------------------------------------------------- node B
$node_b->safe_psql('postgres', qq{
	CREATE EXTENSION hanami;
	CREATE ROLE carol LOGIN;
	CREATE ROLE dave LOGIN;
	SELECT hanami.create_project('lab');
	SELECT hanami.add_member('lab', 'carol');
	CREATE TABLE iris_chunks (ordinal int GENERATED ALWAYS AS IDENTITY, chunk bytea);
	CREATE TABLE tuned_chunks (ordinal int GENERATED ALWAYS AS IDENTITY, chunk bytea);
	CREATE TABLE grow_chunks (ordinal int GENERATED ALWAYS AS IDENTITY, chunk bytea);
	\\copy iris_chunks (chunk) FROM '$dir/iris.chunks'
	\\copy tuned_chunks (chunk) FROM '$dir/iris_tuned.chunks'
	COPY grow_chunks (chunk) FROM '$dir/grow.chunks' (FORMAT binary);
	GRANT SELECT ON iris_chunks, tuned_chunks, grow_chunks TO PUBLIC;
	-- damaged copies of a stream: SQL that edits a chunk's JSON
	CREATE FUNCTION set_field(c bytea, key text, val jsonb) RETURNS bytea LANGUAGE sql
		AS \$\$ SELECT substr(c, 1, 10) || convert_to(jsonb_set(convert_from(substr(c, 11), 'UTF8')::jsonb, ARRAY[key], val)::text, 'UTF8') \$\$;
	CREATE FUNCTION field(c bytea, key text) RETURNS jsonb LANGUAGE sql
		AS \$\$ SELECT convert_from(substr(c, 11), 'UTF8')::jsonb -> key \$\$;
});

is(psql_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY ordinal', 'iris')}),
	psql_as($node_b, 'carol', q{SELECT id FROM hanami.model_catalog WHERE name = 'iris'}), 'import returns the new model\'s id');
psql_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM grow_chunks ORDER BY ordinal', 'grow', 'lab')});

# Every commit, keyed by its id on node A: parent, branch, message, metrics,
# created_at, the md5 of its network bytes and the predictions for a few
# inputs (real[] text output is exact).
sub commits_sql
{
	my ($model, $key, $parent_key, $inputs) = @_;
	return qq{
	SELECT string_agg(concat_ws(' | ', $key, coalesce(($parent_key)::text, '-'), k.branch, k.message, k.metrics::text,
							   md5(hanami.load('$model#' || k.id)::bytea), p.out), E'\n' ORDER BY $key)
	FROM hanami.commits k
	JOIN hanami.models m ON m.model_id = k.model_id AND m.project || '/' || m.name = '$model'
	CROSS JOIN LATERAL (
		SELECT string_agg(hanami.predict('$model#' || k.id, v.x)::text, ' ' ORDER BY v.n) AS out
		FROM (VALUES $inputs) v(n, x)) p};
}
my $iris_inputs = q{(1, '{5.1, 3.5, 1.4, 0.2}'::real[]), (2, '{0.3, -0.9, 1.2, 0.8}'), (3, '{-1, 0, 2, 100}')};
my $grow_inputs = q{(1, '{1, -2, 2000}'::real[]), (2, '{6, -1, 6000}'), (3, '{0, 0, 0}'), (4, '{3, -5, 15000}')};
my $parent_on_b = q{(SELECT q.origin->>'commit' FROM hanami.commits q WHERE q.id = k.parent)};

my $iris_a = psql_as($node_a, 'alice', commits_sql('alice/iris', 'k.id', 'k.parent', $iris_inputs));
my $iris_b = psql_as($node_b, 'carol', commits_sql('carol/iris', q{(k.origin->>'commit')::int8}, $parent_on_b, $iris_inputs));
is(scalar(() = $iris_a =~ /\n/g) + 1, 6, 'node A: 6 iris commits to compare');
is($iris_b, $iris_a, 'iris: every commit has the same network bytes, predictions, parent, branch, message and metrics');
my $grow_a = psql_as($node_a, 'alice', commits_sql('alice/grow', 'k.id', 'k.parent', $grow_inputs));
my $grow_b = psql_as($node_b, 'carol', commits_sql('lab/grow', q{(k.origin->>'commit')::int8}, $parent_on_b, $grow_inputs));
is(scalar(() = $grow_a =~ /\n/g) + 1, 3, 'node A: 3 growing commits to compare');
is($grow_b, $grow_a, 'growing model: every commit has the same network bytes, predictions and history');
is(psql_as($node_b, 'carol', q{SELECT count(DISTINCT md5(hanami.load('carol/iris#' || k.id)::bytea)) FROM hanami.commits k JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'iris'}),
	'6', 'the 6 compared commits all differ from each other');

my $branches_sql = q{SELECT string_agg(b.name || ':' || %s, ',' ORDER BY b.name) FROM hanami.branches b JOIN hanami.models m ON m.model_id = b.model_id AND m.name = '%s'};
is(psql_as($node_b, 'carol', sprintf($branches_sql, q{(SELECT k.origin->>'commit' FROM hanami.commits k WHERE k.id = b.head)}, 'iris')),
	psql_as($node_a, 'alice', sprintf($branches_sql, 'b.head', 'iris')), 'iris: the same branches with the same heads');
is(psql_as($node_b, 'carol', sprintf($branches_sql, q{(SELECT k.origin->>'commit' FROM hanami.commits k WHERE k.id = b.head)}, 'grow')),
	psql_as($node_a, 'alice', sprintf($branches_sql, 'b.head', 'grow')), 'growing model: the same branch and head');
is(psql_as($node_b, 'carol', q{SELECT project || ':' || owner || ':' || kind FROM hanami.models WHERE name = 'grow'}),
	'lab:carol:hanami', 'the growing model went to project lab, owned by the importer, with its kind');

# authorship and origin
is(psql_as($node_b, 'carol', q{SELECT string_agg(DISTINCT k.author::text || ':' || (k.origin->>'author') || ':' || (k.origin->>'model') || ':' || (k.origin->>'project'), ',') FROM hanami.commits k}),
	'carol:alice:grow:alice,carol:alice:iris:alice', 'the importer is the author of every commit; origin names the original author, model and project');
is(psql_as($node_b, 'carol', q{SELECT string_agg((k.origin->>'commit') || '@' || extract(epoch FROM (k.origin->>'created_at')::timestamptz), ',' ORDER BY k.id) FROM hanami.commits k JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'iris'}),
	psql_as($node_a, 'alice', q{SELECT string_agg(k.id || '@' || extract(epoch FROM k.created_at), ',' ORDER BY k.id) FROM hanami.commits k JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'iris'}),
	'origin keeps each commit\'s original id and creation time, to the microsecond');
is($node_b->safe_psql('postgres', 'SELECT count(*) FROM hanami.training_log'), '0', 'the training log is not carried');

# one branch: exactly its head's ancestry
psql_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM tuned_chunks ORDER BY ordinal', 'iris_tuned')});
is(psql_as($node_b, 'carol', q{SELECT string_agg(k.origin->>'commit', ',' ORDER BY k.id) FROM hanami.commits k JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'iris_tuned'}),
	psql_as($node_a, 'alice', q{SELECT string_agg(commit_id::text, ',' ORDER BY commit_id) FROM hanami.log('iris@tuned')}),
	'a one-branch export holds exactly the ancestry of the branch head');
is(psql_as($node_b, 'carol', sprintf($branches_sql, q{(SELECT k.origin->>'commit' FROM hanami.commits k WHERE k.id = b.head)}, 'iris_tuned')),
	psql_as($node_a, 'alice', q{SELECT 'tuned:' || head FROM hanami.branches WHERE name = 'tuned'}), 'and only that branch');
is(psql_as($node_b, 'carol', q{SELECT md5(hanami.load('iris_tuned@tuned')::bytea) = md5(hanami.load('iris@tuned')::bytea)}),
	't', 'its head is the same network');

# a second import of the same export into the same database shares blocks
my $blocks_sql = q{SELECT count(*) FROM hanami.blocks WHERE project = 'carol'::regrole};
my $blocks = psql_as($node_b, 'carol', $blocks_sql);
psql_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY ordinal', 'iris_again')});
is(psql_as($node_b, 'carol', $blocks_sql), $blocks, 'a second import adds no blocks to the project');
is(psql_as($node_b, 'carol', commits_sql('carol/iris_again', q{(k.origin->>'commit')::int8}, $parent_on_b, $iris_inputs)),
	$iris_a, 'and gives the same commits');
# straight from an export in the same database, and a re-export keeps the first origin
psql_as($node_b, 'carol', q{SELECT hanami.import($$SELECT * FROM hanami.export('iris')$$, 'iris_copy')});
is(psql_as($node_b, 'carol', q{SELECT string_agg(DISTINCT (k.origin->>'model') || ':' || (k.origin->>'author'), ',') FROM hanami.commits k JOIN hanami.models m ON m.model_id = k.model_id AND m.name = 'iris_copy'}),
	'iris:alice', 'exporting an imported model keeps its commits\' first origin');
is(psql_as($node_b, 'carol', $blocks_sql), $blocks, 'a copy within the database adds no blocks either');

# ------------------------------------------------------------- failures
my $state_sql = q{SELECT (SELECT count(*) FROM hanami.model_catalog) || ' ' || (SELECT count(*) FROM hanami.commits) || ' '
	|| (SELECT count(*) FROM hanami.commit_blocks) || ' ' || (SELECT count(*) FROM hanami.blocks) || ' '
	|| (SELECT count(*) FROM hanami.branches)};
my $state = $node_b->safe_psql('postgres', $state_sql);
my $last = $node_b->safe_psql('postgres', 'SELECT max(ordinal) FROM iris_chunks');

# the failing imports go to project lab, which has none of iris's blocks, so
# a failure after some blocks and commits were written must remove them
my $hash = $node_b->safe_psql('postgres', q{SELECT encode(substr(chunk, 11, 32), 'hex') FROM iris_chunks WHERE ordinal = 2});
like(error_as($node_b, 'carol', q{SELECT hanami.import($$SELECT CASE WHEN ordinal = 2 THEN set_byte(chunk, 60, get_byte(chunk, 60) # 255) ELSE chunk END FROM iris_chunks ORDER BY ordinal$$, 'bad', 'lab')}),
	qr/ERROR:  XX001: block $hash in chunk 1 of the export does not match its hash/, 'a changed byte in a block: an error naming the block (data_corrupted)');
like(error_as($node_b, 'carol', qq{SELECT hanami.import('SELECT chunk FROM iris_chunks WHERE ordinal < $last ORDER BY ordinal', 'bad', 'lab')}),
	qr/the export is truncated: it ends after chunk ${\($last - 2)} without its end chunk/, 'a stream without its end chunk is truncated');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks WHERE ordinal <= 5 ORDER BY ordinal', 'bad', 'lab')}),
	qr/the export is truncated/, 'so is one cut after a few commits');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY CASE ordinal WHEN 4 THEN 5 WHEN 5 THEN 4 ELSE ordinal END', 'bad', 'lab')}),
	qr/chunk 4 of the export arrived where chunk 3 was expected/, 'chunks out of order');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks WHERE ordinal <> 4 ORDER BY ordinal', 'bad', 'lab')}),
	qr/chunk 4 of the export arrived where chunk 3 was expected.*\n.*DETAIL:  A chunk is missing, repeated or out of order/, 'a missing chunk');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM (SELECT ordinal, chunk FROM iris_chunks UNION ALL SELECT ordinal, chunk FROM iris_chunks WHERE ordinal = 3) s ORDER BY ordinal', 'bad', 'lab')}),
	qr/chunk 2 of the export arrived where chunk 3 was expected/, 'a repeated chunk');
like(error_as($node_b, 'carol', q{SELECT hanami.import($$SELECT hanami.network('{"layers": [2, 2]}')::bytea$$, 'bad', 'lab')}),
	qr/ERROR:  22023: not a hanami model export\n.*DETAIL:  Its first chunk does not start with "HNMX"/, 'a bytea that is not an export');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks WHERE false', 'bad', 'lab')}),
	qr/not a hanami model export\n.*DETAIL:  The query returned no rows/, 'an empty stream');
like(error_as($node_b, 'carol', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY ordinal', 'iris')}),
	qr/ERROR:  42710: model "iris" already exists in project carol/, 'an existing name');
like(error_as($node_b, 'dave', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY ordinal', 'iris', 'lab')}),
	qr/ERROR:  42501: permission denied for project lab/, 'a role that is not a member of the target project');
like(error_as($node_b, 'dave', q{SELECT hanami.import('SELECT chunk FROM iris_chunks ORDER BY ordinal', 'iris', 'carol')}),
	qr/permission denied for project carol/, 'nor into another role\'s own project');

# forged streams: consistent chunk sequence, wrong content
like(error_as($node_b, 'carol', qq{SELECT hanami.import(\$\$SELECT CASE WHEN ordinal = 1 THEN set_field(chunk, 'commits', '5') ELSE chunk END FROM iris_chunks ORDER BY ordinal\$\$, 'bad', 'lab')}),
	qr/the export is incomplete\n.*DETAIL:  Its header announced 5 commits/, 'counts that do not match');
like(error_as($node_b, 'carol', q{SELECT hanami.import($$SELECT CASE WHEN ordinal = 5 THEN set_field(chunk, 'parent', '1') ELSE chunk END FROM iris_chunks ORDER BY ordinal$$, 'bad', 'lab')}),
	qr/commit 1 of the export names parent 1, which is not an earlier commit of the export/, 'a parent that is not an earlier commit');
like(error_as($node_b, 'carol', q{SELECT hanami.import($$SELECT CASE WHEN ordinal = 5 THEN set_field(chunk, 'blocks', field((SELECT chunk FROM iris_chunks WHERE ordinal = 3), 'blocks')) ELSE chunk END FROM iris_chunks ORDER BY ordinal$$, 'bad', 'lab')}),
	qr/commit 1 of the export does not reassemble to the network it was exported as/, 'a commit whose block list was swapped for another\'s');
# the blocks of commit 0 left out (and the counts fixed): into carol's own
# project, where they are stored already, only the check of what the stream
# carried finds it
my $n0 = $node_b->safe_psql('postgres', q{SELECT jsonb_array_length(field(chunk, 'blocks')) FROM iris_chunks WHERE ordinal = 3});
like(error_as($node_b, 'carol', qq{SELECT hanami.import(\$\$
	SELECT CASE WHEN ordinal = 1 THEN set_field(chunk, 'blocks', to_jsonb(field(chunk, 'blocks')::int - $n0))
				WHEN ordinal = 2 THEN substr(chunk, 1, 10)
				WHEN ordinal = $last THEN set_field(chunk, 'blocks', to_jsonb(field(chunk, 'blocks')::int - $n0))
				ELSE chunk END FROM iris_chunks ORDER BY ordinal\$\$, 'forged')}),
	qr/commit 0 of the export uses block [0-9a-f]{64}, which the export does not carry/, 'a commit using a block the stream did not carry');
like(error_as($node_b, 'carol', qq{SELECT hanami.import(\$\$
	SELECT CASE WHEN ordinal = 1 THEN set_field(chunk, 'blocks', to_jsonb(field(chunk, 'blocks')::int - $n0))
				WHEN ordinal = 2 THEN substr(chunk, 1, 10)
				WHEN ordinal = $last THEN set_field(chunk, 'blocks', to_jsonb(field(chunk, 'blocks')::int - $n0))
				ELSE chunk END FROM iris_chunks ORDER BY ordinal\$\$, 'forged', 'lab')}),
	qr/commit 0 of the export uses block [0-9a-f]{64}, which the export does not carry/, 'the same where the block is not stored at all');
# a well-formed stream whose one commit is not a network
like(error_as($node_b, 'carol', q{SELECT hanami.import($q$
	WITH v(d) AS (SELECT 'not a network'::bytea)
	SELECT '\x484e4d58014800000000'::bytea || convert_to('{"format": "hanami-export", "commits": 1, "blocks": 1, "kind": "dense", "model": "m", "project": "p"}', 'UTF8')
	UNION ALL SELECT '\x484e4d58014200000001'::bytea || sha256(d) || int4send(length(d)) || d FROM v
	UNION ALL SELECT '\x484e4d58014300000002'::bytea || convert_to(jsonb_build_object('commit', 0, 'parent', null, 'id', 1,
		'branch', 'main', 'message', '', 'author', 'x', 'created_at', now(), 'metrics', '{}'::jsonb, 'bytes', length(d),
		'sha256', encode(sha256(d), 'hex'), 'blocks', jsonb_build_array(jsonb_build_object('seq', 0, 'segment', 'data', 'hash', encode(sha256(d), 'hex'))))::text, 'UTF8') FROM v
	UNION ALL SELECT '\x484e4d58014500000003'::bytea || convert_to('{"branches": [{"name": "main", "head": 0}], "commits": 1, "blocks": 1, "chunks": 4}', 'UTF8')
	$q$, 'bad', 'lab')}),
	qr/commit 0 of the export is not a valid network: network value is too short/, 'a commit that is not a valid network');

is($node_b->safe_psql('postgres', $state_sql), $state, 'the failed imports left nothing behind (models, commits, blocks, branches)');
is(psql_as($node_b, 'carol', q{SELECT count(*) FROM hanami.blocks WHERE project = 'lab'::regrole AND hash IN (SELECT hash FROM hanami.blocks WHERE project = 'carol'::regrole)}),
	'0', 'no iris block reached project lab');

$node_a->stop;
$node_b->stop;
done_testing();
