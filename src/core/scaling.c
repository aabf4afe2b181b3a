/*
 * scaling.c - robust input scaling from a fixed-seed sample of the training
 * rows (see scaling.h for the statistics and their error).
 */
#include "core/scaling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void ScaleRadixSort(float *v, int64_t m, uint32_t *tmp);
static void ScaleFromSorted(const float *v, int64_t m, float *shift, float *mul);

/* Features sorted per block in ScaleFitRows. */
#define HANAMI_SCALE_BLOCK	64

/* Rows a sample of rows of n_features values holds at most. */
int64_t
ScaleSampleRows(uint32_t n_features)
{
	int64_t		cap;

	cap = HANAMI_SCALE_MAX_VALUES / (n_features ? n_features : 1);
	if (cap > HANAMI_SCALE_MAX_ROWS)
		cap = HANAMI_SCALE_MAX_ROWS;
	if (cap < HANAMI_SCALE_MIN_ROWS)
		cap = HANAMI_SCALE_MIN_ROWS;
	return cap;
}

/* An empty sample without storage for the rows. */
void
ScaleSampleInit(HnScaleSample *s, uint32_t n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->cap = ScaleSampleRows(n);
	RngSeed(&s->rng, HANAMI_SCALE_SEED);
}

/*
 * Algorithm R: the first cap rows fill the slots; row i (from 0) after them
 * replaces slot j for j drawn uniformly from 0..i when j < cap, so every row
 * seen so far is in the sample with the same probability cap / (i + 1).
 */
int64_t
ScaleSampleSlot(HnScaleSample *s)
{
	int64_t		i = s->seen++;
	uint64_t	j;

	if (i < s->cap)
		return i;
	j = RngBelow(&s->rng, (uint64_t) i + 1);
	return j < (uint64_t) s->cap ? (int64_t) j : -1;
}

/* Rows the sample holds. */
int64_t
ScaleSampleHeld(const HnScaleSample *s)
{
	return s->seen < s->cap ? s->seen : s->cap;
}

/* An empty sample holding copies of its rows. */
HnScaleSample *
ScaleSampleCreate(uint32_t n, const HnAllocator *alloc, HnError *err)
{
	HnScaleSample *s = HnAlloc(alloc, sizeof(HnScaleSample));
	size_t		bytes;

	if (s != NULL)
	{
		ScaleSampleInit(s, n);
		if (HnMulSize((size_t) s->cap, (size_t) (n ? n : 1), &bytes) &&
			HnMulSize(bytes, sizeof(float), &bytes))
			s->x = HnAlloc(alloc, bytes);
	}
	if (s == NULL || s->x == NULL)
	{
		ScaleSampleFree(s, alloc);
		HnSetError(err, HANAMI_E_NOMEM, NULL,
				   "out of memory for the input scaling sample");
		return NULL;
	}
	return s;
}

/* Offer a row; copy it into its slot when the sample keeps it. */
void
ScaleSampleAdd(HnScaleSample *s, const float *row)
{
	int64_t		slot = ScaleSampleSlot(s);

	if (slot >= 0)
		memcpy(s->x + (size_t) slot * s->n, row, sizeof(float) * s->n);
}

/* The scaling from the rows the sample holds. */
HnStatus
ScaleSampleFit(const HnScaleSample *s, float *shift, float *mul,
			   const HnAllocator *alloc, HnError *err)
{
	int64_t		m = ScaleSampleHeld(s);
	const float **rows;
	HnStatus	st;

	if (m == 0)
	{
		for (uint32_t j = 0; j < s->n; j++)
		{
			shift[j] = 0.0f;
			mul[j] = 1.0f;
		}
		return HANAMI_OK;
	}
	rows = HnAlloc(alloc, sizeof(float *) * (size_t) m);
	if (rows == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the input scaling sample");
	for (int64_t i = 0; i < m; i++)
		rows[i] = s->x + (size_t) i * s->n;
	st = ScaleFitRows(rows, m, s->n, shift, mul, alloc, err);
	HnFree(alloc, rows);
	return st;
}

/* Free a sample made by ScaleSampleCreate; NULL is ignored. */
void
ScaleSampleFree(HnScaleSample *s, const HnAllocator *alloc)
{
	if (s == NULL)
		return;
	HnFree(alloc, s->x);
	HnFree(alloc, s);
}

/* The scaling of n features from m rows, a block of features at a time. */
HnStatus
ScaleFitRows(const float *const *rows, int64_t m, uint32_t n,
			 float *shift, float *mul, const HnAllocator *alloc,
			 HnError *err)
{
	size_t		block = n < HANAMI_SCALE_BLOCK ? n : HANAMI_SCALE_BLOCK;
	float	   *buf;

	if (m < 1)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "no rows to learn the input scaling from");
	/* the block's columns, then two columns of scratch for the sort */
	buf = HnAlloc(alloc, sizeof(float) * ((block ? block : 1) + 2) * (size_t) m);
	if (buf == NULL)
		return HnSetError(err, HANAMI_E_NOMEM, NULL,
						  "out of memory for the input scaling");
	for (uint32_t b0 = 0; b0 < n; b0 += (uint32_t) block)
	{
		uint32_t	bn = n - b0 < block ? n - b0 : (uint32_t) block;

		/* the block's columns, one after the other: row by row reads */
		for (int64_t i = 0; i < m; i++)
		{
			const float *row = rows[i] + b0;

#if defined(__GNUC__)
			/* sampled rows are scattered over the data: fetch ahead */
			if (i + 8 < m)
			{
				__builtin_prefetch(rows[i + 8] + b0);
				__builtin_prefetch(rows[i + 8] + b0 + 16);
				__builtin_prefetch(rows[i + 8] + b0 + 32);
				__builtin_prefetch(rows[i + 8] + b0 + 48);
			}
#endif
			for (uint32_t j = 0; j < bn; j++)
				buf[(size_t) j * m + i] = row[j];
		}
		for (uint32_t j = 0; j < bn; j++)
		{
			float	   *v = buf + (size_t) j * m;

			ScaleRadixSort(v, m, (uint32_t *) (buf + block * (size_t) m));
			ScaleFromSorted(v, m, shift + b0 + j, mul + b0 + j);
		}
	}
	HnFree(alloc, buf);
	return HANAMI_OK;
}

/* Ascending order of finite floats without -0 (a total order). */
static int
ScaleCompare(const void *a, const void *b)
{
	float		x = *(const float *) a;
	float		y = *(const float *) b;

	return (x > y) - (x < y);
}

/* q(p) of the sorted v[0..m): linear between the order statistics. */
static double
ScaleQuantile(const float *v, int64_t m, double p)
{
	double		h = (double) (m - 1) * p;
	int64_t		lo = (int64_t) floor(h);
	double		f = h - (double) lo;

	if (f == 0.0 || lo + 1 >= m)
		return v[lo];
	return (double) v[lo] + f * ((double) v[lo + 1] - (double) v[lo]);
}

/*
 * The median distance from c of the values of the sorted v[0..m) that differ
 * from c, or 0 when none does: the distances below c grow from the last
 * value under c down, those above from the first value over c up, and the
 * two runs merge in order.
 */
static double
ScaleOffCentreDistance(const float *v, int64_t m, double c)
{
	int64_t		a = 0;			/* first value >= c */
	int64_t		b;				/* first value > c */
	int64_t		k;
	int64_t		lo;
	int64_t		i;
	int64_t		j;
	double		d_lo = 0.0;
	double		d_hi = 0.0;

	while (a < m && (double) v[a] < c)
		a++;
	b = a;
	while (b < m && (double) v[b] == c)
		b++;
	k = a + (m - b);
	if (k == 0)
		return 0.0;
	lo = (k - 1) / 2;
	i = a - 1;
	j = b;
	for (int64_t t = 0; t <= lo + 1 && t < k; t++)
	{
		double		dl = i >= 0 ? c - (double) v[i] : INFINITY;
		double		du = j < m ? (double) v[j] - c : INFINITY;
		double		d;

		if (dl <= du)
		{
			d = dl;
			i--;
		}
		else
		{
			d = du;
			j++;
		}
		if (t == lo)
			d_lo = d;
		else
			d_hi = d;
	}
	/* q(0.5) of the k distances: the middle one, or halfway between two */
	if (k % 2 == 1)
		return d_lo;
	return d_lo + 0.5 * (d_hi - d_lo);
}

/* The scaling of one feature from its sampled values; see scaling.h. */
void
ScaleFromValues(float *v, int64_t m, float *shift, float *mul)
{
	if (m < 1)
	{
		*shift = 0.0f;
		*mul = 1.0f;
		return;
	}
	for (int64_t i = 0; i < m; i++)
		if (v[i] == 0.0f)
			v[i] = 0.0f;		/* -0 sorts and counts as +0 */
	qsort(v, (size_t) m, sizeof(float), ScaleCompare);
	ScaleFromSorted(v, m, shift, mul);
}

/*
 * Sort m finite floats ascending, -0 as +0, in place: the same order as
 * qsort with ScaleCompare (a total order on such values, so the result is
 * the same array), by their bits made unsigned keys that order like the
 * values, three passes of 11, 11 and 10 bits whose counts are taken in the
 * one pass that makes the keys; tmp holds 2 m keys.  A pass whose digit is
 * the same in every key is skipped.
 */
static void
ScaleRadixSort(float *v, int64_t m, uint32_t *tmp)
{
	static const int shifts[3] = {0, 11, 22};
	static const uint32_t masks[3] = {0x7FF, 0x7FF, 0x3FF};
	uint32_t   *a = tmp;
	uint32_t   *b = tmp + m;
	uint32_t	count[3][2048];

	/* the keys, and the three digits' counts in the same pass */
	memset(count, 0, sizeof(count));
	for (int64_t i = 0; i < m; i++)
	{
		uint32_t	u;
		uint32_t	k;
		float		f = v[i] == 0.0f ? 0.0f : v[i];

		memcpy(&u, &f, sizeof(u));
		k = (u & UINT32_C(0x80000000)) ? ~u : u | UINT32_C(0x80000000);
		a[i] = k;
		count[0][k & 0x7FF]++;
		count[1][(k >> 11) & 0x7FF]++;
		count[2][k >> 22]++;
	}
	for (int p = 0; p < 3; p++)
	{
		uint32_t   *c = count[p];
		uint32_t	sum = 0;
		int			sh = shifts[p];
		uint32_t	mask = masks[p];
		uint32_t   *t;

		if (c[(a[0] >> sh) & mask] == (uint32_t) m)
			continue;			/* one digit everywhere: order unchanged */
		for (uint32_t d = 0; d <= mask; d++)
		{
			uint32_t	n = c[d];

			c[d] = sum;
			sum += n;
		}
		for (int64_t i = 0; i < m; i++)
			b[c[(a[i] >> sh) & mask]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (int64_t i = 0; i < m; i++)
	{
		uint32_t	k = a[i];
		uint32_t	u = (k & UINT32_C(0x80000000)) ? k & UINT32_C(0x7FFFFFFF) : ~k;

		memcpy(v + i, &u, sizeof(u));
	}
}

/* The scaling of one feature from its values sorted ascending. */
static void
ScaleFromSorted(const float *v, int64_t m, float *shift, float *mul)
{
	double		centre;
	double		iqr;
	double		off;
	double		range;
	float		f;

	centre = ScaleQuantile(v, m, 0.5);
	iqr = ScaleQuantile(v, m, 0.75) - ScaleQuantile(v, m, 0.25);
	off = ScaleOffCentreDistance(v, m, centre);
	/* each is the whole range of values spread evenly around the centre */
	range = 2.0 * iqr > 4.0 * off ? 2.0 * iqr : 4.0 * off;
	f = (float) (1.0 / range);
	*shift = (float) centre;
	if (*shift == 0.0f)
		*shift = 0.0f;
	if (!(range > 0.0) || !isfinite(f) || f == 0.0f)
		f = 1.0f;
	*mul = f;
}
