/*
 * scaling.h - the learned input scaling of a dense network: a robust centre
 * and range of every feature, taken from a uniform sample of the training
 * rows that is the same whether the rows are held in memory or streamed.
 *
 * The sample: reservoir sampling (Vitter's algorithm R) of whole rows with a
 * fixed seed, holding at most ScaleSampleRows(n_features) rows (4096 rows,
 * fewer for very wide rows so that a sample takes at most about 16 MB).
 * Which rows it keeps depends only on their number and position, never on
 * their values, so rows offered in the same order give the same sample
 * whether they come from memory or from a stream in chunks; with no more
 * rows than the sample holds it keeps them all and the statistics are exact.
 *
 * The statistics of each feature, over the sampled values sorted (-0 counts
 * as +0), with quantiles by linear interpolation between order statistics
 * (q(p) at position (m - 1) p, as R's default and numpy's "linear"):
 *
 *   centre = the median q(0.5)
 *   range  = the larger of twice the interquartile range q(0.75) - q(0.25)
 *            and four times the median distance from the centre of the
 *            values that differ from it: for values spread evenly between
 *            two bounds both are the distance between them, so clean data
 *            scale about as they did with the maximum minus the minimum;
 *            the second keeps a feature that sits at one value in most
 *            rows (a border pixel, a rare flag) from a range of zero or
 *            nearly zero
 *   shift  = centre, mul = 1 / range, and mul 1 for a constant feature or
 *            a range whose inverse is not a finite nonzero float.
 *
 * A fit that learns this scaling also sets HANAMI_FLAG_INPUT_CLIP: scaled
 * inputs are clipped to -+HANAMI_INPUT_CLIP (dense/format.h).
 *
 * Robustness: the quartiles move little until a quarter of a feature's
 * values are wild, the median distance of the off-centre values until half
 * of those are; the mean, minimum and maximum used before were moved
 * without limit by a single value.  Error of the sample: with m sampled rows
 * a quantile's rank is off by about sqrt(p (1 - p) / m) (0.7 percentile
 * points for the quartiles at m = 4096) and, by the Dvoretzky-Kiefer-
 * Wolfowitz inequality, by more than sqrt(ln(2 / d) / (2 m)) for some
 * quantile with probability at most d (4.2 points at d = 1e-6, m = 4096;
 * drawing without replacement only tightens this); there is no sampling
 * error when the sample holds every row.
 */
#ifndef HANAMI_CORE_SCALING_H
#define HANAMI_CORE_SCALING_H

#include "core/common.h"
#include "core/rng.h"

/* Rows a sample holds at most, and at least whatever the row width. */
#define HANAMI_SCALE_MAX_ROWS	4096
#define HANAMI_SCALE_MIN_ROWS	32
/* Values (rows x features) a sample of wide rows is held to. */
#define HANAMI_SCALE_MAX_VALUES	((int64_t) 1 << 22)
/* The sample's seed, fixed: the scaling depends on the rows alone. */
#define HANAMI_SCALE_SEED		UINT64_C(0x68616E616D69)

/*
 * The range taken from running statistics (online learning: a mean and a
 * standard deviation, no sample): 2.698 standard deviations, twice the
 * interquartile range of a normal distribution, which is what the sampled
 * scaling gives a normally distributed feature.
 */
#define HANAMI_SCALE_SD_RANGE	2.698

/* Rows a sample of rows of n_features values holds at most. */
int64_t		ScaleSampleRows(uint32_t n_features);

/*
 * A reservoir of rows.  x is NULL when the caller keeps the rows itself
 * (rows in memory: it records which row went to which slot); otherwise it
 * holds cap rows of n values, slot after slot.
 */
typedef struct HnScaleSample
{
	uint32_t	n;				/* values per row */
	int64_t		cap;			/* slots: ScaleSampleRows(n) */
	int64_t		seen;			/* rows offered so far */
	HnRng		rng;
	float	   *x;				/* cap rows of n values, or NULL */
} HnScaleSample;

/* An empty sample of rows of n values, without storage for them. */
void		ScaleSampleInit(HnScaleSample *s, uint32_t n);

/*
 * Offer the next row: the slot (0..cap-1) it replaces or fills, or -1 when
 * the sample passes it over.
 */
int64_t		ScaleSampleSlot(HnScaleSample *s);

/* Rows the sample holds: min(seen, cap). */
int64_t		ScaleSampleHeld(const HnScaleSample *s);

/* An empty sample holding copies of the rows; NULL with err set on failure. */
HnScaleSample *ScaleSampleCreate(uint32_t n, const HnAllocator *alloc,
								 HnError *err);

/* Offer a row of n values; copied when the sample keeps it. */
void		ScaleSampleAdd(HnScaleSample *s, const float *row);

/*
 * The scaling of every feature from a sample made by ScaleSampleCreate:
 * ScaleFitRows over the rows it holds (identity for an empty sample).
 */
HnStatus	ScaleSampleFit(const HnScaleSample *s, float *shift, float *mul,
						   const HnAllocator *alloc, HnError *err);

void		ScaleSampleFree(HnScaleSample *s, const HnAllocator *alloc);

/*
 * The scaling of each of n features, shift[n] and mul[n], from m >= 1 rows
 * of n finite values (row i at rows[i]; their order does not matter):
 * ScaleFromValues on every feature's m values, a block of features at a
 * time.  Only fails for want of memory (a buffer of at most 64 m floats).
 */
HnStatus	ScaleFitRows(const float *const *rows, int64_t m, uint32_t n,
						 float *shift, float *mul, const HnAllocator *alloc,
						 HnError *err);

/*
 * The scaling of one feature from its m >= 1 finite sampled values (in any
 * order; v is normalized and sorted in place): see the top of this file.
 */
void		ScaleFromValues(float *v, int64_t m, float *shift, float *mul);

#endif							/* HANAMI_CORE_SCALING_H */
