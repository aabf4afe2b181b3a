/*
 * plot.c - pictures of a learning curve: hanami.sparkline() (one line of
 * block characters for psql) and hanami.plot() (an SVG line chart).
 *
 * Both read a "series" object: keys naming arrays of equal length, such as
 * hanami.learning_curve()'s {"epochs": [...], "loss": [...], ...}.  "epochs",
 * when present, is the x axis; every other key is a series.  null and the
 * strings "NaN", "Infinity" and "-Infinity" (how jsonb holds a non-finite
 * float8) are missing values: they are skipped.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "jsonutil.h"

/* At most this many values per series, and this many series, are drawn. */
#define PLOT_MAX_POINTS 10000
#define PLOT_MAX_SERIES 16
/* The sparkline has at most this many characters; longer series are averaged. */
#define SPARK_MAX_CHARS 60
#define PLOT_MIN_SIZE 120
#define PLOT_MAX_SIZE 4000

typedef struct Series
{
	char	   *name;
	double	   *v;				/* NAN for a missing value */
	int			nfinite;
} Series;

typedef struct Curve
{
	int			n;				/* values per series */
	double	   *x;				/* "epochs", or 1..n */
	bool		has_epochs;
	int			nseries;
	Series		series[PLOT_MAX_SERIES];
} Curve;

static double
element_value(JsonbValue *e, const char *name, int i)
{
	if (e->type == jbvNull)
		return NAN;
	if (e->type == jbvNumeric)
	{
		double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
														   NumericGetDatum(e->val.numeric)));

		return isfinite(d) ? d : NAN;
	}
	if (e->type == jbvString)
	{
		char	   *s = pnstrdup(e->val.string.val, e->val.string.len);

		if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 ||
			strcmp(s, "-Infinity") == 0)
			return NAN;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("value %d of series \"%s\" is not a number", i + 1, name),
			 errhint("Series values are numbers, null (missing) or \"NaN\"/\"Infinity\"/\"-Infinity\" (skipped).")));
	return NAN;					/* keep the compiler quiet */
}

/* Read one array into a palloc'd vector; *n is its length. */
static double *
read_array(JsonbValue *val, const char *name, int *n)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	double	   *v;
	int			i = 0;
	int			len;

	if (val->type != jbvBinary || !JsonContainerIsArray(val->val.binary.data) ||
		JsonContainerIsScalar(val->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("series \"%s\" must be an array of numbers", name)));
	len = JsonContainerSize(val->val.binary.data);
	if (len > PLOT_MAX_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("series \"%s\" has %d values, more than the %d that can be drawn",
						name, len, PLOT_MAX_POINTS),
				 errhint("Draw every k-th value, or a range of epochs.")));
	v = palloc(sizeof(double) * Max(len, 1));
	it = JsonbIteratorInit(val->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type == jbvBinary)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value %d of series \"%s\" is not a number", i + 1, name)));
		v[i] = element_value(&e, name, i);
		i++;
	}
	*n = i;
	return v;
}

/*
 * Read a series object (or, when allow_array, a bare array of numbers, as a
 * series named "values").
 */
static void
read_curve(Jsonb *j, Curve *c, const char *fn, bool allow_array)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	val;
	JsonbIteratorToken tok;
	char	   *first = NULL;

	memset(c, 0, sizeof(*c));
	c->n = -1;
	if (allow_array && JB_ROOT_IS_ARRAY(j) && !JB_ROOT_IS_SCALAR(j))
	{
		Series	   *s = &c->series[0];

		val.type = jbvBinary;
		val.val.binary.data = &j->root;
		val.val.binary.len = VARSIZE(j) - VARHDRSZ;
		s->name = "values";
		s->v = read_array(&val, s->name, &c->n);
		c->nseries = 1;
	}
	else if (!JB_ROOT_IS_OBJECT(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() needs a JSON object of series", fn),
				 errhint("Give an object of equally long arrays, such as hanami.learning_curve()'s {\"epochs\": [1, 2], \"loss\": [0.9, 0.5]}.")));
	else
	{
		it = JsonbIteratorInit(&j->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *name;
			double	   *v;
			int			n;

			if (tok != WJB_KEY)
				continue;
			name = pnstrdup(k.val.string.val, k.val.string.len);
			tok = JsonbIteratorNext(&it, &val, true);
			Assert(tok == WJB_VALUE);
			v = read_array(&val, name, &n);
			if (c->n >= 0 && n != c->n)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("series \"%s\" has %d value%s but \"%s\" has %d",
								name, n, n == 1 ? "" : "s", first, c->n),
						 errhint("Every array of a series object has one value per point.")));
			if (c->n < 0)
			{
				c->n = n;
				first = name;
			}
			if (strcmp(name, "epochs") == 0)
			{
				for (int i = 0; i < n; i++)
					if (isnan(v[i]))
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("value %d of \"epochs\" is missing", i + 1),
								 errhint("\"epochs\" is the x axis: every point needs one.")));
				c->x = v;
				c->has_epochs = true;
				continue;
			}
			if (c->nseries >= PLOT_MAX_SERIES)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("more than %d series to draw", PLOT_MAX_SERIES),
						 errhint("Remove keys with the jsonb - operator: series - 'rows_per_second'.")));
			c->series[c->nseries].name = name;
			c->series[c->nseries].v = v;
			c->nseries++;
		}
	}
	if (c->n < 0)
		c->n = 0;
	if (!c->x)
	{
		c->x = palloc(sizeof(double) * Max(c->n, 1));
		for (int i = 0; i < c->n; i++)
			c->x[i] = i + 1;
	}
	for (int s = 0; s < c->nseries; s++)
		for (int i = 0; i < c->n; i++)
			if (!isnan(c->series[s].v[i]))
				c->series[s].nfinite++;
}

static void
append_number(StringInfo buf, double v)
{
	appendStringInfo(buf, "%.4g", v);
}

/* ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(hanami_sparkline);

/*
 * hanami.sparkline(series jsonb) -> text, e.g.
 * "loss █▆▄▃▂▁ min 0.1021 (epoch 6) max 0.8845 (epoch 1)".
 */
Datum
hanami_sparkline(PG_FUNCTION_ARGS)
{
	static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	Curve		c;
	Series	   *s = NULL;
	double		lo = INFINITY,
				hi = -INFINITY;
	int			ilo = 0,
				ihi = 0;
	int			chars;
	StringInfoData buf;

	read_curve(j, &c, "sparkline", true);
	/* the main series: loss, else the first with a value */
	for (int k = 0; k < c.nseries; k++)
		if (strcmp(c.series[k].name, "loss") == 0 && c.series[k].nfinite > 0)
			s = &c.series[k];
	for (int k = 0; k < c.nseries && !s; k++)
		if (c.series[k].nfinite > 0)
			s = &c.series[k];
	if (!s)
		PG_RETURN_NULL();

	for (int i = 0; i < c.n; i++)
	{
		if (isnan(s->v[i]))
			continue;
		if (s->v[i] < lo)
			lo = s->v[i], ilo = i;
		if (s->v[i] > hi)
			hi = s->v[i], ihi = i;
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s ", s->name);
	/* one character per point, or per bucket of points averaged */
	chars = Min(c.n, SPARK_MAX_CHARS);
	for (int b = 0; b < chars; b++)
	{
		int			from = (int) ((int64) b * c.n / chars);
		int			to = (int) ((int64) (b + 1) * c.n / chars);
		double		sum = 0;
		int			cnt = 0;

		for (int i = from; i < to; i++)
			if (!isnan(s->v[i]))
				sum += s->v[i], cnt++;
		if (cnt == 0)
			appendStringInfoChar(&buf, ' ');
		else
		{
			double		m = sum / cnt;
			int			level = hi > lo ? (int) lrint((m - lo) / (hi - lo) * 7.0) : 3;

			appendStringInfoString(&buf, blocks[Max(0, Min(7, level))]);
		}
	}
	appendStringInfoString(&buf, " min ");
	append_number(&buf, lo);
	appendStringInfo(&buf, " (%s ", c.has_epochs ? "epoch" : "point");
	append_number(&buf, c.x[ilo]);
	appendStringInfoString(&buf, ") max ");
	append_number(&buf, hi);
	appendStringInfo(&buf, " (%s ", c.has_epochs ? "epoch" : "point");
	append_number(&buf, c.x[ihi]);
	appendStringInfoChar(&buf, ')');
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* ------------------------------------------------------------------------ */

/* Text as XML character data or attribute value; control characters become spaces. */
static void
append_xml(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		switch (ch)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '"':
				appendStringInfoString(buf, "&quot;");
				break;
			case '\'':
				appendStringInfoString(buf, "&apos;");
				break;
			default:
				appendStringInfoChar(buf, ch < 0x20 ? ' ' : (char) ch);
		}
	}
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about want ticks. */
static double
nice_step(double span, int want)
{
	double		raw = span / want;
	double		p = pow(10.0, floor(log10(raw)));
	double		f = raw / p;

	return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * p;
}

/* The axis range [*lo, *hi] widened to whole steps; returns the step. */
static double
nice_range(double *lo, double *hi, int want)
{
	double		step;

	if (*hi - *lo <= fabs(*hi) * 1e-9 || *hi == *lo)
	{
		double		pad = *lo == 0 ? 1.0 : fabs(*lo) * 0.1;

		*lo -= pad;
		*hi += pad;
	}
	step = nice_step(*hi - *lo, want);
	*lo = floor(*lo / step) * step;
	*hi = ceil(*hi / step) * step;
	return step;
}

static char *
option_string(Jsonb *opt, const char *key, const char *dflt)
{
	JsonbValue *v = HanamiJsonbGet(&opt->root, key);

	if (!v)
		return (char *) dflt;
	return HanamiJsonbString(v, psprintf("option \"%s\"", key));
}

static int
option_size(Jsonb *opt, const char *key, int dflt)
{
	JsonbValue *v = HanamiJsonbGet(&opt->root, key);

	if (!v)
		return dflt;
	return (int) HanamiJsonbInt(v, psprintf("option \"%s\"", key),
								PLOT_MIN_SIZE, PLOT_MAX_SIZE);
}

PG_FUNCTION_INFO_V1(hanami_plot);

/* hanami.plot(series jsonb, options jsonb DEFAULT '{}') -> text (SVG) */
Datum
hanami_plot(PG_FUNCTION_ARGS)
{
	static const char *const colors[] = {
		"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
		"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
	};
	static const char *const allowed[] = {
		"title", "x_label", "y_label", "width", "height", NULL
	};
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	Jsonb	   *opt = PG_GETARG_JSONB_P(1);
	Curve		c;
	const char *title;
	const char *xlabel;
	const char *ylabel;
	int			width,
				height;
	double		left = 72,
				right,
				top = 40,
				bottom;
	double		xlo = INFINITY,
				xhi = -INFINITY,
				ylo = INFINITY,
				yhi = -INFINITY,
				xstep,
				ystep;
	int			legend_w = 0;
	StringInfoData b;

	if (!JB_ROOT_IS_OBJECT(opt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("plot() options must be a JSON object")));
	HanamiJsonbCheckKeys(&opt->root, "plot() option", allowed);
	read_curve(j, &c, "plot", false);
	title = option_string(opt, "title", "");
	width = option_size(opt, "width", 640);
	height = option_size(opt, "height", 400);

	for (int s = 0; s < c.nseries; s++)
		for (int i = 0; i < c.n; i++)
			if (!isnan(c.series[s].v[i]))
			{
				ylo = Min(ylo, c.series[s].v[i]);
				yhi = Max(yhi, c.series[s].v[i]);
				xlo = Min(xlo, c.x[i]);
				xhi = Max(xhi, c.x[i]);
			}
	if (!(ylo <= yhi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nothing to plot: no series has a finite value"),
				 errhint("A commit that was not made by training has no learning curve: {\"epochs\": []}.")));
	xlabel = option_string(opt, "x_label", c.has_epochs ? "epoch" : "point");
	ylabel = option_string(opt, "y_label", "");

	xstep = nice_range(&xlo, &xhi, 6);
	ystep = nice_range(&ylo, &yhi, 5);
	for (int s = 0; s < c.nseries; s++)
		legend_w = Max(legend_w, (int) strlen(c.series[s].name));
	right = width - Min(40 + 7 * legend_w, width / 3);
	bottom = height - 48;
	if (right - left < 40 || bottom - top < 40)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a plot of %d x %d pixels leaves no room for the chart", width, height)));

#define PX(x) (left + ((x) - xlo) / (xhi - xlo) * (right - left))
#define PY(y) (bottom - ((y) - ylo) / (yhi - ylo) * (bottom - top))

	initStringInfo(&b);
	appendStringInfo(&b,
					 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
					 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
					 width, height, width, height);
	appendStringInfo(&b, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height);
	if (*title)
	{
		appendStringInfo(&b, "<text class=\"title\" x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">",
						 (left + right) / 2);
		append_xml(&b, title);
		appendStringInfoString(&b, "</text>\n");
	}

	/* grid, ticks and tick labels */
	appendStringInfoString(&b, "<g class=\"axes\" stroke=\"#000\" stroke-width=\"1\">\n");
	appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, bottom, right, bottom);
	appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, top, left, bottom);
	appendStringInfoString(&b, "</g>\n<g class=\"ticks\" font-size=\"11\">\n");
	for (int k = 0; k <= (int) lrint((xhi - xlo) / xstep); k++)
	{
		double		t = xlo + k * xstep;
		double		px = PX(t);

		appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>",
						 px, bottom, px, bottom + 5);
		appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
						 px, top, px, bottom);
		appendStringInfo(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
						 px, bottom + 18, fabs(t) < xstep * 1e-9 ? 0.0 : t);
	}
	for (int k = 0; k <= (int) lrint((yhi - ylo) / ystep); k++)
	{
		double		t = ylo + k * ystep;
		double		py = PY(t);

		appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>",
						 left - 5, py, left, py);
		appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>",
						 left, py, right, py);
		appendStringInfo(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.6g</text>\n",
						 left - 8, py + 4, fabs(t) < ystep * 1e-9 ? 0.0 : t);
	}
	appendStringInfoString(&b, "</g>\n");
	appendStringInfo(&b, "<text class=\"x-label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">",
					 (left + right) / 2, height - 10);
	append_xml(&b, xlabel);
	appendStringInfoString(&b, "</text>\n");
	if (*ylabel)
	{
		appendStringInfo(&b, "<text class=\"y-label\" x=\"16\" y=\"%.1f\" text-anchor=\"middle\" "
						 "transform=\"rotate(-90 16 %.1f)\">", (top + bottom) / 2, (top + bottom) / 2);
		append_xml(&b, ylabel);
		appendStringInfoString(&b, "</text>\n");
	}

	/* one polyline per series with a value; dots when there are few points */
	for (int s = 0; s < c.nseries; s++)
	{
		Series	   *se = &c.series[s];
		const char *color = colors[s % lengthof(colors)];

		if (se->nfinite == 0)
			continue;
		appendStringInfo(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
		for (int i = 0, first = 1; i < c.n; i++)
			if (!isnan(se->v[i]))
			{
				appendStringInfo(&b, "%s%.1f,%.1f", first ? "" : " ", PX(c.x[i]), PY(se->v[i]));
				first = 0;
			}
		appendStringInfoString(&b, "\"/>\n");
		if (c.n <= 40)
			for (int i = 0; i < c.n; i++)
				if (!isnan(se->v[i]))
					appendStringInfo(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>",
									 PX(c.x[i]), PY(se->v[i]), color);
		if (c.n <= 40)
			appendStringInfoChar(&b, '\n');
	}

	/* legend: every series, in the order drawn */
	appendStringInfoString(&b, "<g class=\"legend\">\n");
	for (int s = 0; s < c.nseries; s++)
	{
		double		ly = top + 8 + 18 * s;

		appendStringInfo(&b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>",
						 right + 12, ly, right + 30, ly, colors[s % lengthof(colors)]);
		appendStringInfo(&b, "<text x=\"%.1f\" y=\"%.1f\">", right + 36, ly + 4);
		append_xml(&b, c.series[s].name);
		if (c.series[s].nfinite == 0)
			appendStringInfoString(&b, " (no values)");
		appendStringInfoString(&b, "</text>\n");
	}
	appendStringInfoString(&b, "</g>\n</svg>\n");

#undef PX
#undef PY
	PG_RETURN_TEXT_P(cstring_to_text_with_len(b.data, b.len));
}
