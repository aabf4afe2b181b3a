/*
 * network_fn.c - SQL functions that make or describe a network value:
 * hanami.network(spec, seed), hanami.info(net) and hanami.reset_state(net).
 */
#include "postgres.h"

#include "network.h"

PG_FUNCTION_INFO_V1(hanami_network);
PG_FUNCTION_INFO_V1(hanami_info);

/*
 * network(spec jsonb, seed int DEFAULT NULL): a new network with weights
 * drawn from seed; with a NULL seed, from the spec's "seed" or 0.  Always
 * deterministic, and the same as the text input of the spec (PostgreSQL
 * reads network('literal') as a cast to the type).
 */
Datum
hanami_network(PG_FUNCTION_ARGS)
{
	Jsonb	   *spec;
	bool		has_seed = false;
	uint32		seed = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("network spec must not be null")));
	spec = PG_GETARG_JSONB_P(0);
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		int32		s = PG_GETARG_INT32(1);

		if (s < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("seed must not be negative")));
		has_seed = true;
		seed = (uint32) s;
	}
	PG_RETURN_POINTER(HanamiNetworkFromJsonb(spec, has_seed, seed,
											 ERRCODE_INVALID_PARAMETER_VALUE));
}

/* info(net) -> jsonb: kind, layers, sizes and training counters. */
Datum
hanami_info(PG_FUNCTION_ARGS)
{
	HnNet		net;

	HanamiGetNetworkArg(fcinfo, 0, &net);
	PG_RETURN_JSONB_P(HanamiNetInfo(&net));
}

PG_FUNCTION_INFO_V1(hanami_reset_state);

/*
 * reset_state(net) -> network: a copy whose carried state (kind.h; the
 * spiking state of a hanami network: each neuron's carried potential and
 * refractory counter) is cleared.  Networks without such state come back
 * unchanged.
 */
Datum
hanami_reset_state(PG_FUNCTION_ARGS)
{
	HnNet		net;
	HanamiNetwork *v = HanamiGetNetworkArg(fcinfo, 0, &net);

	if (net.kind->state_size(&net) == 0)
		PG_RETURN_POINTER(v);
	v = HanamiNetworkCopy(v);
	NetBindTrusted(&net, HANAMI_NET_IMAGE(v));
	net.kind->state_reset(&net);
	PG_RETURN_POINTER(v);
}
