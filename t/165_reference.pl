# t/165_reference.pl - docs/reference.md is current: docs/reference.sh
# regenerates it from this build's catalog and it must equal the checked-in
# page; every function, type, table, view and setting has a description;
# and where README.md and docs/ name a function's arguments (named
# arguments `name => value`, signatures such as `log(model)`), the names
# are the catalog's.
use strict;
use warnings;

use Cwd ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;

my $root = Cwd::getcwd();
my $node = HanamiFixture::node('reference');
$node->safe_psql('postgres', 'CREATE EXTENSION hanami');
my $dir = Cwd::abs_path($node->basedir);

sub slurp
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "cannot read $file: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	return $text;
}

# ------------------------------------------------- every object described
my $members = q{
	SELECT classid, objid FROM pg_depend
	WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hanami')};
my $nfuncs = $node->safe_psql('postgres', qq{
	SELECT count(*) FROM ($members) m WHERE classid = 'pg_proc'::regclass});
cmp_ok($nfuncs, '>=', 50, "the extension has its functions ($nfuncs)");
is($node->safe_psql('postgres', qq{
	SELECT string_agg(pg_describe_object(classid, objid, 0), ', ' ORDER BY 1)
	FROM ($members) m
	WHERE classid IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
	  AND NOT (classid = 'pg_class'::regclass
			   AND (SELECT relkind FROM pg_class WHERE oid = objid) NOT IN ('r', 'p', 'v', 'm'))
	  AND NOT (classid = 'pg_type'::regclass
			   AND (SELECT typtype = 'c' OR typelem <> 0 FROM pg_type WHERE oid = objid))
	  AND obj_description(objid, CASE classid WHEN 'pg_proc'::regclass THEN 'pg_proc'
				WHEN 'pg_class'::regclass THEN 'pg_class' ELSE 'pg_type' END) IS NULL}),
	'', 'every function, type, table and view of the extension has a COMMENT');
is($node->safe_psql('postgres', q{
	SELECT string_agg(name, ', ') FROM pg_settings
	WHERE name LIKE 'hanami.%' AND coalesce(short_desc, '') = ''}),
	'', 'every hanami.* setting has a description');

# ------------------------------------------------------ the page is current
my ($out, $err) = ('', '');
my $fresh = "$dir/reference.md";
my $ran = IPC::Run::run([ "$root/docs/reference.sh", '-d', $node->connstr('postgres'), '-o', $fresh ],
	'>', \$out, '2>', \$err);
ok($ran && -s $fresh, 'docs/reference.sh writes the reference from the catalog') or diag("$out\n$err");
my $page = -s $fresh ? slurp($fresh) : '';
like($page, qr/^### hanami\.fit\(net hanami\.network, query text, options jsonb\)$/m, 'the page describes fit()');
like($page, qr/^\| `hanami\.threads` \| integer \| user \| 1 \|/m, 'the page lists the settings');
unlike($page, qr/\(no comment\)/, 'the page has no undescribed object');
my $current = -f "$root/docs/reference.md" && $page eq slurp("$root/docs/reference.md");
ok($current, 'docs/reference.md is current')
  or diag("docs/reference.md differs from the catalog (- checked in, + generated):\n"
	  . `diff -u "$root/docs/reference.md" "$fresh" 2>&1 | head -n 60`
	  . "Regenerate it: make install && docs/reference.sh (HANAMI_PG_PREFIX=... for a private copy), then commit docs/reference.md");

# --------------------------------------- argument names in the docs
# input argument names of every overload, by function name ('-': unnamed)
my %args;
for my $row (split /\n/, $node->safe_psql('postgres', qq{
	SELECT p.proname, coalesce(array_to_string(ARRAY(
		SELECT coalesce(nullif(p.proargnames[i], ''), '-')
		FROM generate_series(1, coalesce(array_length(p.proallargtypes, 1), p.pronargs)) i
		WHERE coalesce(p.proargmodes[i], 'i') IN ('i', 'b', 'v')), ','), '')
	FROM pg_proc p WHERE p.oid IN (SELECT objid FROM ($members) m WHERE classid = 'pg_proc'::regclass)}))
{
	my ($name, $list) = split /\|/, $row, 2;
	push @{ $args{$name} }, [ split /,/, $list, -1 ];
}

# split_args(TEXT): the top-level arguments of a call, quotes and brackets respected
sub split_args
{
	my ($text) = @_;
	my @parts;
	my ($cur, $depth, $quote) = ('', 0, '');
	for my $c (split //, $text)
	{
		if ($quote) { $quote = '' if $c eq $quote; }
		elsif ($c eq "'" || $c eq '"') { $quote = $c; }
		elsif ($c =~ /[(\[{]/) { $depth++; }
		elsif ($c =~ /[)\]}]/) { $depth--; }
		elsif ($c eq ',' && $depth == 0) { push @parts, $cur; $cur = ''; next; }
		$cur .= $c;
	}
	push @parts, $cur;
	return map { s/^\s+|\s+$//gr } @parts;
}

# the text between the parenthesis at $pos and its match
sub balanced
{
	my ($text, $pos) = @_;
	my ($depth, $quote) = (0, '');
	for (my $i = $pos; $i < length $text; $i++)
	{
		my $c = substr($text, $i, 1);
		if ($quote) { $quote = '' if $c eq $quote; next; }
		if ($c eq "'") { $quote = $c; next; }
		$depth++ if $c eq '(';
		$depth-- if $c eq ')';
		return substr($text, $pos + 1, $i - $pos - 1) if $depth == 0;
	}
	return undef;
}

my (@wrong, $named, $signatures);
my @files = grep { !m{/reference\.md$} } ("$root/README.md", glob("$root/docs/*.md"));
for my $file (@files)
{
	my $text = slurp($file);
	my $short = $file =~ s{^\Q$root\E/}{}r;
	# named arguments in calls, anywhere (code blocks included)
	while ($text =~ /\b(?:hanami\.)?(\w+)\(/g)
	{
		my ($fn, $open) = ($1, pos($text) - 1);
		next unless $args{$fn};
		my $inner = balanced($text, $open) // next;
		for my $arg (split_args($inner))
		{
			next unless $arg =~ /^(\w+)\s*=>/;
			$named++;
			push @wrong, "$short: $fn(... $1 => ...): $fn has no argument $1"
			  unless grep { my $o = $_; grep { $_ eq $1 } @$o } @{ $args{$fn} };
		}
	}
	# signatures in inline code: `fn(name [type] [DEFAULT x], ...) [-> type]`;
	# every argument a lowercase bare name, compared by position with the
	# catalog's (unnamed arguments match any name); a span with a value, an
	# expression or a placeholder like N is an example call, not checked
	while ($text =~ /`(?:hanami\.)?(\w+)(\([^`]*\))(?:\s*(?:->|OVER)[^`]*)?`/g)
	{
		my ($fn, $paren) = ($1, $2);
		next unless $args{$fn};
		my $inner = balanced($paren, 0) // next;
		next unless length($inner) + 2 == length($paren);
		$inner =~ s/[\[\]]//g;    # optional arguments: [, options]
		my @given = split_args($inner);
		next if @given == 1 && $given[0] eq '';
		my @names = map { /^([a-z_][a-z0-9_]*)(?:\s+[a-z].*)?$/ && !/['":.@]/ ? $1 : undef } @given;
		next if grep { !defined } @names;    # a call with values: an example, not a signature
		$signatures++;
		my $match = grep {
			my $o = $_;
			@$o >= @given && !grep { $o->[$_] ne '-' && $names[$_] ne $o->[$_] } 0 .. $#names
		} @{ $args{$fn} };
		push @wrong, "$short: `$fn$paren`: the arguments of $fn are "
		  . join(' or ', map { '(' . join(', ', @$_) . ')' } @{ $args{$fn} })
		  unless $match;
	}
}
cmp_ok($named // 0, '>=', 2, 'the docs use named arguments (checked: ' . ($named // 0) . ')');
cmp_ok($signatures // 0, '>=', 20, 'the docs give signatures (checked: ' . ($signatures // 0) . ')');
is(join("\n", @wrong), '', "argument names in README.md and docs/ are the catalog's");

$node->stop;
done_testing();
