# t/175_plot_png.pl - hanami.plot()'s SVG of a real training's learning
# curve, rendered to PNG by rsvg-convert (librsvg): the image has the asked
# size, is mostly the white background, and each series' line is drawn in its
# own colour across the chart.  The PNG is decoded here (zlib and the PNG row
# filters), so the check needs no image library.
use strict;
use warnings;

use Compress::Zlib ();
use Cwd ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;

my ($rsvg) = grep { -x } map { "$_/rsvg-convert" } split /:/, $ENV{PATH};
BAIL_OUT('rsvg-convert is missing: install librsvg2-bin (t/setup-deps.sh)') unless $rsvg;

my $node = HanamiFixture::node('plot');
my $dir = Cwd::abs_path($node->basedir);
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS
		SELECT (g % 7)::real AS a, (g % 5)::real AS b, ((g % 7 + g % 5) > 5)::int AS y
		FROM generate_series(1, 300) g;
	SELECT hanami.create_model('m', '{"layers": [2, 16, 2]}', NULL, 1);
	SELECT hanami.train('m', 'SELECT a, b, y FROM pts', '{"epochs": 30, "validation_split": 0.2, "seed": 4}');
});

my $keys = $node->safe_psql('postgres',
	q{SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(hanami.learning_curve('m') - 'rows_per_second') k});
is($keys, 'epochs,loss,val_accuracy,val_loss', 'the curve of a training has loss, val_loss and val_accuracy');

my $svg = $node->safe_psql('postgres', q{
	SELECT hanami.plot(hanami.learning_curve('m') - 'rows_per_second',
	                   '{"title": "m <training>", "width": 480, "height": 320, "y_label": "loss / accuracy"}')});
like($svg, qr/^<svg /, 'plot() returns an SVG document');

# render it
my $svgfile = "$dir/curve.svg";
my $pngfile = "$dir/curve.png";
open(my $fh, '>', $svgfile) or die "cannot write $svgfile: $!";
print $fh $svg;
close $fh;
my ($out, $err);
my $ok = IPC::Run::run([ $rsvg, '-o', $pngfile, $svgfile ], '>', \$out, '2>', \$err);
ok($ok, 'rsvg-convert renders the SVG') or diag($err);
note("rendered to $pngfile");

# Decode an 8-bit RGB or RGBA, non-interlaced PNG into (width, height,
# channels, rows of bytes).
sub read_png
{
	my ($file) = @_;
	open(my $in, '<:raw', $file) or die "cannot read $file: $!";
	local $/;
	my $png = <$in>;
	close $in;
	die "$file is not a PNG" unless substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n";
	my ($w, $h, $depth, $ctype, $interlace);
	my $idat = '';
	my $pos = 8;
	while ($pos < length $png)
	{
		my ($len, $type) = unpack('Na4', substr($png, $pos, 8));
		my $data = substr($png, $pos + 8, $len);
		if ($type eq 'IHDR')
		{
			($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('NNCCCCC', $data);
		}
		$idat .= $data if $type eq 'IDAT';
		$pos += 12 + $len;
	}
	die "unexpected PNG format (depth $depth, colour type $ctype, interlace $interlace)"
	  unless $depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace;
	my $bpp = $ctype == 6 ? 4 : 3;
	my $raw = Compress::Zlib::uncompress($idat) // die "bad zlib data in $file";
	my $stride = $w * $bpp;
	my @rows;
	my @prev = (0) x $stride;
	for my $y (0 .. $h - 1)
	{
		my $off = $y * ($stride + 1);
		my $filter = ord(substr($raw, $off, 1));
		my @cur = unpack('C*', substr($raw, $off + 1, $stride));
		for my $i (0 .. $stride - 1)
		{
			my $a = $i >= $bpp ? $cur[ $i - $bpp ] : 0;
			my $b = $prev[$i];
			my $c = $i >= $bpp ? $prev[ $i - $bpp ] : 0;
			my $p;
			if    ($filter == 0) { $p = 0 }
			elsif ($filter == 1) { $p = $a }
			elsif ($filter == 2) { $p = $b }
			elsif ($filter == 3) { $p = int(($a + $b) / 2) }
			elsif ($filter == 4)
			{
				my $e = $a + $b - $c;
				my ($pa, $pb, $pc) = (abs($e - $a), abs($e - $b), abs($e - $c));
				$p = ($pa <= $pb && $pa <= $pc) ? $a : ($pb <= $pc ? $b : $c);
			}
			else { die "bad PNG row filter $filter" }
			$cur[$i] = ($cur[$i] + $p) & 0xff;
		}
		push @rows, [@cur];
		@prev = @cur;
	}
	return ($w, $h, $bpp, \@rows);
}

my ($w, $h, $bpp, $rows) = read_png($pngfile);
is("${w}x$h", '480x320', 'the PNG has the asked size');

# count white pixels, and for each series colour the pixels near it and the
# columns they span
my %colour = (loss => [ 0x1f, 0x77, 0xb4 ], val_loss => [ 0xd6, 0x27, 0x28 ], val_accuracy => [ 0x2c, 0xa0, 0x2c ]);
my $white = 0;
my (%count, %cols);
for my $y (0 .. $h - 1)
{
	my $r = $rows->[$y];
	for my $x (0 .. $w - 1)
	{
		my ($R, $G, $B) = @$r[ $x * $bpp .. $x * $bpp + 2 ];
		my $A = $bpp == 4 ? $r->[ $x * $bpp + 3 ] : 255;
		$white++ if $R > 245 && $G > 245 && $B > 245 && $A > 245;
		for my $s (keys %colour)
		{
			my $c = $colour{$s};
			next unless $A > 200 && abs($R - $c->[0]) < 24 && abs($G - $c->[1]) < 24 && abs($B - $c->[2]) < 24;
			$count{$s}++;
			$cols{$s}{$x} = 1;
		}
	}
}
my $frac = $white / ($w * $h);
cmp_ok($frac, '>', 0.6, sprintf('mostly white background (%.0f%%)', 100 * $frac));
cmp_ok($frac, '<', 0.995, 'but not blank');
for my $s (sort keys %colour)
{
	my $n = $count{$s} // 0;
	my $span = scalar keys %{ $cols{$s} // {} };
	# the chart is about 280 px wide, the legend's swatch 18 px; a line may
	# run under another one for a while
	cmp_ok($span, '>', 120, "the $s line is drawn across the chart ($n pixels over $span columns)");
}

$node->stop;
done_testing();
