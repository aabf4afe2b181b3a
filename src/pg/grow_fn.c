/*
 * grow_fn.c - SQL functions of the growing ("hanami") network kind that
 * other kinds do not have: hanami.reset_state(net).
 */
#include "grow_glue.h"

PG_FUNCTION_INFO_V1(hanami_reset_state);

/*
 * reset_state(net) -> network: a copy whose spiking state (each neuron's
 * carried potential and refractory counter) is cleared.  Networks without
 * such state come back unchanged.
 */
Datum
hanami_reset_state(PG_FUNCTION_ARGS)
{
	HnNet		net;
	HnGrowNet	grow;
	HanamiNetwork *v = HanamiGetNetworkArg(fcinfo, 0, &net);

	if (net.hdr->kind != HANAMI_KIND_GROW)
		PG_RETURN_POINTER(v);
	v = HanamiNetworkCopy(v);
	GrowBindTrusted(&grow, HANAMI_NET_IMAGE(v));
	GrowResetState(&grow);
	PG_RETURN_POINTER(v);
}
