/*
 * hanami_fn.c - SQL functions of the growing ("hanami") network kind that
 * other kinds do not have: hanami.reset_state(net).
 */
#include "hanami_glue.h"

PG_FUNCTION_INFO_V1(hanami_reset_state);

/*
 * reset_state(net) -> network: a copy whose spiking state (each neuron's
 * carried potential and refractory counter) is cleared.  Networks without
 * such state come back unchanged.
 */
Datum
hanami_reset_state(PG_FUNCTION_ARGS)
{
	DenseNet		net;
	HkNet	grow;
	HanamiNetwork *v = HanamiGetNetworkArg(fcinfo, 0, &net);

	if (net.hdr->kind != HANAMI_KIND_HANAMI)
		PG_RETURN_POINTER(v);
	v = HanamiNetworkCopy(v);
	HkBindTrusted(&grow, HANAMI_NET_IMAGE(v));
	HkResetState(&grow);
	PG_RETURN_POINTER(v);
}
