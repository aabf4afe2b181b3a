/*
 * rng.c - xoshiro256** seeded through splitmix64: the only source of
 * randomness in the engine, so every result depends on the seed alone.
 */
#include "core/rng.h"

#include <math.h>

#define HANAMI_TWO_PI 6.283185307179586476925

/* One step of splitmix64, used to expand a seed into a full state. */
static uint64_t
RngSplitMix(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* Rotate left by k bits. */
static inline uint64_t
RngRotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Seed the state; splitmix64 never yields the all-zero state. */
void
RngSeed(HnRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = RngSplitMix(&x);
}

/* Next 64 random bits (xoshiro256**). */
uint64_t
RngNext(HnRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = RngRotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = RngRotl(s[3], 45);
	return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
double
RngUniform(HnRng *rng)
{
	return (double) (RngNext(rng) >> 11) * 0x1.0p-53;
}

/* Standard normal deviate by the Box-Muller transform (one per call). */
double
RngNormal(HnRng *rng)
{
	double		u1 = 1.0 - RngUniform(rng);	/* (0, 1] */
	double		u2 = RngUniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(HANAMI_TWO_PI * u2);
}

/* Unbiased integer in [0, n) by rejection; 0 when n is 0. */
uint64_t
RngBelow(HnRng *rng, uint64_t n)
{
	uint64_t	threshold;
	uint64_t	r;

	if (n <= 1)
		return 0;
	threshold = (0 - n) % n;	/* 2^64 mod n */
	do
		r = RngNext(rng);
	while (r < threshold);
	return r % n;
}

/* Fisher-Yates shuffle of n values. */
void
RngShuffle(HnRng *rng, int64_t *v, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--)
	{
		int64_t		j = (int64_t) RngBelow(rng, (uint64_t) i + 1);
		int64_t		tmp = v[i];

		v[i] = v[j];
		v[j] = tmp;
	}
}
