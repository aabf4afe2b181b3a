/*
 * ports.h - a network's named inputs and outputs ("ports"), and the options
 * that map a query's columns onto them.
 *
 * A port is a named range of the values a network takes (its input ports,
 * which together are the input row) or gives (its output ports, which
 * together are the prediction), in the order the network declares them.
 * A kind says what its ports are (kind.h HnKind.ports); a kind that does
 * not has one input port "input" and one output port "output" covering
 * everything.
 *
 * The options "inputs" ({"layer": ["col", ...] or "col", ...}) and
 * "targets" ({"layer": "col", ...}) of fit(), verify() and the functions
 * built on them name, for every port, the columns of a query that feed it;
 * they are read here (HnPortMapRead) against the network's ports, so that
 * an unknown or missing port is an error before any row is read.
 */
#ifndef HANAMI_CORE_PORTS_H
#define HANAMI_CORE_PORTS_H

#include "core/common.h"
#include "core/kind.h"

struct HnJson;

/* Ports a network may have, of each direction. */
#define HANAMI_MAX_PORTS	64

/*
 * One port: its name (unique among the ports of its direction), where its
 * values sit in the row (inputs) or the prediction (outputs), how many
 * there are, and for an output whether its target may be a class index
 * (softmax, or one sigmoid unit: the class is its argmax, or 1 when the
 * one value is at least 0.5).
 */
typedef struct HnPort
{
	char		name[HANAMI_NAME_LEN];
	uint32_t	offset;
	uint32_t	count;
	bool		classes;
} HnPort;

/*
 * The ports of net (outputs: its output ports, else its input ports), in
 * its order, into out (room for max); returns how many there are (which
 * may exceed max: only max are written).  Through the kind's ports
 * operation, or one port "input"/"output" covering everything when the
 * kind has none (classes: the kind's outputs are class scores).
 */
int			HnPorts(const HnNet *net, bool outputs, HnPort *out, int max);

/* One port's columns, from the "inputs" or "targets" option. */
typedef struct HnPortColumns
{
	char	   *port;			/* the port's name */
	int			n_columns;
	char	  **columns;
} HnPortColumns;

/* Every port of one direction with its columns, in the network's order. */
typedef struct HnPortMap
{
	int			n;				/* 0: the option was not given */
	HnPortColumns *ports;
} HnPortMap;

/*
 * Read option key ("inputs" or "targets") of obj (absent: map->n = 0) for
 * the input or output ports of net: an object whose keys are port names
 * and whose values are a column name, or (inputs only) a non-empty array
 * of them.  Every port must be named, no unknown one may be; the map lists
 * the ports in the network's order whatever the order of the keys.
 * Strings from alloc (HnPortMapFree releases them); on failure nothing is
 * left allocated.  Errors are HANAMI_E_INVALID_ARGUMENT naming the option
 * and the port.
 */
HnStatus	HnPortMapRead(const HnNet *net, const struct HnJson *obj,
						  const char *key, const HnAllocator *alloc,
						  HnPortMap *map, HnError *err);

/* Free what HnPortMapRead allocated; the map is then empty. */
void		HnPortMapFree(HnPortMap *map, const HnAllocator *alloc);

/*
 * The input row of net from a JSON object {"port": [numbers], ...} that
 * gives every input port its count values (x: n_inputs floats).  An
 * unknown or missing port, a value that is not an array of finite numbers:
 * HANAMI_E_INVALID_ARGUMENT; a wrong count: HANAMI_E_DIMENSION.
 */
HnStatus	HnPortsGather(const HnNet *net, const struct HnJson *obj,
						  float *x, HnError *err);

#endif							/* HANAMI_CORE_PORTS_H */
