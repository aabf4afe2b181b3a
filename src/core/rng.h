/*
 * rng.h - a small deterministic random generator (xoshiro256** seeded by
 * splitmix64), so results depend only on the seed, never on libc.
 */
#ifndef HANAMI_CORE_RNG_H
#define HANAMI_CORE_RNG_H

#include <stdint.h>

typedef struct HnRng
{
	uint64_t	s[4];
} HnRng;

void		RngSeed(HnRng *rng, uint64_t seed);
uint64_t	RngNext(HnRng *rng);
double		RngUniform(HnRng *rng);	/* [0, 1) */
double		RngNormal(HnRng *rng);	/* standard normal */
uint64_t	RngBelow(HnRng *rng, uint64_t n);	/* [0, n), unbiased */
void		RngShuffle(HnRng *rng, int64_t *v, int64_t n);

#endif							/* HANAMI_CORE_RNG_H */
