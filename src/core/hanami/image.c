/*
 * hanami/image.c - the image of a growing network: resolving and checking a
 * description, the cell geometry (distances, depths, where a section may
 * grow), writing a fresh image, and HkBind, the strict validation of
 * images that come from outside.
 */
#include "core/hanami/hanami.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loss.h"

_Static_assert(sizeof(HkHeader) == 320, "HkHeader must be 320 bytes");
_Static_assert(sizeof(HkCell) == 64, "HkCell must be 64 bytes");
_Static_assert(sizeof(HkNeuron) == 24, "HkNeuron must be 24 bytes");
_Static_assert(sizeof(HkSynapse) == 12, "HkSynapse must be 12 bytes");
_Static_assert(sizeof(HkBlock) == 32 + 12 * HK_SYNAPSES,
			   "HkBlock must be 800 bytes");
_Static_assert(HK_SYNAPSES <= 255, "n_used is 8 bits");
_Static_assert(HK_MAX_CELLS < HK_NO_AXON, "cell index is 16 bits");

#define UNREACHED 0xFFFF

/* Name of a cell type as users see it. */
const char *
HkCellTypeName(int type)
{
	switch (type)
	{
		case HK_CELL_HIDDEN:
			return "hidden";
		case HK_CELL_INPUT:
			return "input";
		case HK_CELL_OUTPUT:
			return "output";
		default:
			return NULL;
	}
}

/* Hexagon distance in axial coordinates (x, y), plus the layer difference. */
int
HkCellDistance(const HkCell *a, const HkCell *b)
{
	int			dq = (int) a->x - (int) b->x;
	int			dr = (int) a->y - (int) b->y;
	int			ds = dq + dr;

	return (abs(dq) + abs(dr) + abs(ds)) / 2 + abs((int) a->z - (int) b->z);
}

/*
 * Whether a section of a neuron in cell a may end in cell c, ignoring depth:
 * within max_distance of a, or, when a has an axon, within max_distance - 1
 * of the axon's target (the target itself included).  Returns the distance
 * from where the section starts (1 for a neighbour or the axon's target),
 * or 0 when not allowed.
 */
static int
HkReach(const HkCell *cells, int a, int c, uint32_t max_distance)
{
	const HkCell *ca = &cells[a];
	int			d;

	if (a == c || ca->type == HK_CELL_OUTPUT ||
		cells[c].type == HK_CELL_INPUT)
		return 0;
	if (ca->axon != HK_NO_AXON)
	{
		d = HkCellDistance(&cells[ca->axon], &cells[c]);
		return d < (int) max_distance ? d + 1 : 0;
	}
	d = HkCellDistance(ca, &cells[c]);
	return d <= (int) max_distance ? d : 0;
}

/*
 * Depth of every cell: hops from the nearest input cell, a hop going to a
 * neighbour (distance 1) or along an axon.  UNREACHED when there is no way.
 */
static void
HkComputeDepths(const HkCell *cells, int n, uint32_t max_distance,
				  uint16_t *depth)
{
	int			queue[HK_MAX_CELLS];
	int			head = 0;
	int			tail = 0;

	for (int c = 0; c < n; c++)
	{
		depth[c] = UNREACHED;
		if (cells[c].type == HK_CELL_INPUT)
		{
			depth[c] = 0;
			queue[tail++] = c;
		}
	}
	while (head < tail)
	{
		int			a = queue[head++];

		for (int c = 0; c < n; c++)
		{
			if (depth[c] != UNREACHED || HkReach(cells, a, c, max_distance) != 1)
				continue;
			depth[c] = (uint16_t) (depth[a] + 1);
			queue[tail++] = c;
		}
	}
}

/* Whether a section from cell a may end in cell c (c deeper, in reach). */
static inline bool
HkTargetAllowed(const HkCell *cells, int a, int c, uint32_t max_distance)
{
	return cells[c].depth != UNREACHED && cells[c].depth > cells[a].depth &&
		HkReach(cells, a, c, max_distance) > 0;
}

/* Number of cells a section from cell a may end in. */
static int
HkCountTargets(const HkCell *cells, int n, int a, uint32_t max_distance)
{
	int			k = 0;

	for (int c = 0; c < n; c++)
		if (HkTargetAllowed(cells, a, c, max_distance))
			k++;
	return k;
}

/*
 * Check the cell records shared by a description and an image: types,
 * sizes, distinct positions, axons, names, reachability and that every
 * non-output cell has somewhere to grow.  Fills in depth.  code is the
 * status to fail with.
 */
static HnStatus
HkCheckCells(HkCell *cells, int n, uint32_t max_distance, bool image,
			   HnStatus code, HnError *err)
{
	uint16_t	depth[HK_MAX_CELLS];
	int			inputs = 0;
	int			outputs = 0;
	char		detail[HANAMI_ERRMSG_LEN];

	for (int c = 0; c < n; c++)
	{
		const HkCell *cell = &cells[c];
		const char *nul = memchr(cell->name, '\0', HANAMI_NAME_LEN);

		if (HkCellTypeName(cell->type) == NULL)
			return HnSetError(err, code, NULL,
							  "cell %d has an invalid type (%d)", c, cell->type);
		if (cell->n_neurons < 1 || cell->n_neurons > HK_MAX_CELL_NEURONS)
		{
			snprintf(detail, sizeof(detail),
					 "A cell has 1 to %d neurons.", HK_MAX_CELL_NEURONS);
			return HnSetError(err, code, detail,
							  "cell %d has %" PRIu32 " neurons", c, cell->n_neurons);
		}
		if (abs(cell->x) > HK_MAX_COORD || abs(cell->y) > HK_MAX_COORD ||
			abs(cell->z) > HK_MAX_COORD)
			return HnSetError(err, code,
							  "Cell coordinates lie between -1000 and 1000.",
							  "cell %d has a coordinate out of range", c);
		if (cell->type == HK_CELL_INPUT)
			inputs++;
		if (cell->type == HK_CELL_OUTPUT)
			outputs++;
		if (nul == NULL)
			return HnSetError(err, code,
							  "A cell name has at most 31 bytes.",
							  "name of cell %d is too long", c);
		for (const char *p = cell->name; p < nul; p++)
			if (*p < 0x20 || *p > 0x7e)
				return HnSetError(err, code,
								  "Cell names may contain printable ASCII characters only.",
								  "name of cell %d contains a non-printable character", c);
		if (image)
			for (const char *p = nul; p < cell->name + HANAMI_NAME_LEN; p++)
				if (*p != '\0')
					return HnSetError(err, code,
									  "The bytes after a cell name must be zero.",
									  "name of cell %d is not zero-padded", c);
		if (cell->axon != HK_NO_AXON)
		{
			if (cell->axon >= n || cell->axon == c)
				return HnSetError(err, code, NULL,
								  "cell %d has an invalid axon target (%u)",
								  c, (unsigned) cell->axon);
			if (cell->type == HK_CELL_OUTPUT)
				return HnSetError(err, code,
								  "Output cells grow no sections, so an axon from one leads nowhere.",
								  "output cell %d cannot have an axon", c);
			if (cells[cell->axon].type == HK_CELL_INPUT)
				return HnSetError(err, code,
								  "Sections never end in an input cell.",
								  "axon of cell %d points to input cell %u",
								  c, (unsigned) cell->axon);
		}
		for (int o = 0; o < c; o++)
		{
			if (cells[o].x == cell->x && cells[o].y == cell->y &&
				cells[o].z == cell->z)
			{
				snprintf(detail, sizeof(detail),
						 "Cells %d and %d are both at %d,%d,%d.", o, c,
						 cell->x, cell->y, cell->z);
				return HnSetError(err, code, detail,
								  "two cells have the same position");
			}
			if (cell->name[0] != '\0' &&
				strncmp(cells[o].name, cell->name, HANAMI_NAME_LEN) == 0)
				return HnSetError(err, code, NULL,
								  "cell name \"%s\" is used twice", cell->name);
		}
	}
	if (inputs == 0 || outputs == 0)
		return HnSetError(err, code,
						  "A growing network needs at least one input cell and one output cell.",
						  "network has %d input and %d output cells", inputs, outputs);

	HkComputeDepths(cells, n, max_distance, depth);
	for (int c = 0; c < n; c++)
	{
		if (image && cells[c].depth != depth[c])
			return HnSetError(err, code,
							  "A cell's depth must be its distance in hops from the nearest input cell.",
							  "cell %d has depth %u instead of %u", c,
							  (unsigned) cells[c].depth, (unsigned) depth[c]);
		cells[c].depth = depth[c];
	}
	for (int c = 0; c < n; c++)
	{
		const HkCell *cell = &cells[c];

		if (depth[c] == UNREACHED)
		{
			snprintf(detail, sizeof(detail),
					 "Cells connect to neighbours (hexagon distance 1) and along axons; no path leads from an input cell to the %s cell at %d,%d,%d.",
					 HkCellTypeName(cell->type), cell->x, cell->y, cell->z);
			return HnSetError(err, code, detail,
							  "cell %d cannot be reached from an input cell", c);
		}
	}
	for (int c = 0; c < n; c++)
	{
		const HkCell *cell = &cells[c];

		if (cell->type != HK_CELL_OUTPUT &&
			HkCountTargets(cells, n, c, max_distance) == 0)
		{
			snprintf(detail, sizeof(detail),
					 "Sections grow into deeper cells within max_connection_distance (%u); the %s cell at %d,%d,%d has none.",
					 max_distance, HkCellTypeName(cell->type),
					 cell->x, cell->y, cell->z);
			return HnSetError(err, code, detail,
							  "cell %d has no cell to grow into", c);
		}
	}
	return HANAMI_OK;
}

/* Cell records of a spec (positions, types, counts, axons, names). */
static void
HkSpecCells(const HkSpec *spec, HkCell *cells)
{
	uint32_t	first = 0;
	uint32_t	in_off = 0;
	uint32_t	out_off = 0;

	memset(cells, 0, sizeof(HkCell) * (size_t) spec->n_cells);
	for (int c = 0; c < spec->n_cells; c++)
	{
		const HkCellSpec *cs = &spec->cells[c];
		HkCell *cell = &cells[c];

		cell->x = cs->x;
		cell->y = cs->y;
		cell->z = cs->z;
		cell->type = (uint8_t) cs->type;
		cell->n_neurons = cs->count;
		cell->first_neuron = first;
		cell->axon = cs->axon < 0 ? HK_NO_AXON : (uint16_t) cs->axon;
		memcpy(cell->name, cs->name, strnlen(cs->name, HANAMI_NAME_LEN - 1));
		if (cs->type == HK_CELL_INPUT)
		{
			cell->io_offset = in_off;
			in_off += cs->count;
		}
		else if (cs->type == HK_CELL_OUTPUT)
		{
			cell->io_offset = out_off;
			out_off += cs->count;
		}
		first += cs->count;
	}
}

/* Resolve a description's defaults and check it. */
HnStatus
HkSpecFinalize(HkSpec *spec, HnError *err)
{
	HkCell	cells[HK_MAX_CELLS];
	uint64_t	neurons = 0;
	char		detail[HANAMI_ERRMSG_LEN];
	HnStatus	st;

	if (spec->n_cells < 2 || spec->n_cells > HK_MAX_CELLS)
	{
		snprintf(detail, sizeof(detail),
				 "A growing network has 2 to %d cells.", HK_MAX_CELLS);
		return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						  "network has %d cells", spec->n_cells);
	}
	if (spec->max_distance == 0)
		spec->max_distance = 1;
	if (spec->max_distance > HK_MAX_DISTANCE)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "max_connection_distance is 1 to 16.",
						  "max_connection_distance %u is out of range",
						  spec->max_distance);
	if (spec->neurons == 0)
		spec->neurons = HK_DEFAULT_NEURONS;
	if (spec->refractory == 0)
		spec->refractory = 1;
	if (spec->refractory > HK_MAX_REFRACTORY)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "refractory_time is 1 to 255.",
						  "refractory_time %u is out of range", spec->refractory);
	if (spec->cooldown != 0 && !(spec->cooldown > 1.0 && spec->cooldown <= FLT_MAX))
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "The carried potential is divided by neuron_cooldown at every input, so it must be greater than 1.",
						  "neuron_cooldown must be greater than 1");
	if (spec->reduction_threshold == 0)
		spec->reduction_threshold = 1;
	if (spec->reduction_threshold > HK_COUNTER_CAP)
		return HnSetError(err, HANAMI_E_INVALID_SPEC,
						  "reduction_threshold is 1 to 100.",
						  "reduction_threshold %u is out of range",
						  spec->reduction_threshold);
	if (spec->max_blocks == 0)
		spec->max_blocks = HK_DEFAULT_MAX_BLOCKS;
	for (int c = 0; c < spec->n_cells; c++)
	{
		HkCellSpec *cs = &spec->cells[c];

		if (cs->count == 0 && cs->type == HK_CELL_HIDDEN)
			cs->count = spec->neurons;
		neurons += cs->count;
		if (cs->axon >= spec->n_cells)
			return HnSetError(err, HANAMI_E_INVALID_SPEC, NULL,
							  "cell %d has an invalid axon target", c);
	}
	if (neurons > HK_MAX_NEURONS)
	{
		snprintf(detail, sizeof(detail),
				 "A growing network has at most %d neurons.",
				 HK_MAX_NEURONS);
		return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						  "network has too many neurons (%" PRIu64 ")", neurons);
	}
	HkSpecCells(spec, cells);
	st = HkCheckCells(cells, spec->n_cells, spec->max_distance, false,
						HANAMI_E_INVALID_SPEC, err);
	if (st != HANAMI_OK)
		return st;
	if (spec->max_blocks < 1 ||
		HkImageSize((uint32_t) spec->n_cells, (uint32_t) neurons,
					  spec->max_blocks, NULL) == 0)
	{
		size_t		fixed = HkImageSize((uint32_t) spec->n_cells,
										  (uint32_t) neurons, 0, err);

		if (fixed == 0)
			return err ? err->code : HANAMI_E_TOO_LARGE;
		snprintf(detail, sizeof(detail),
				 "A network value holds at most %zu bytes, so at most %zu sections here.",
				 (size_t) HANAMI_MAX_BYTES,
				 (HANAMI_MAX_BYTES - fixed) / sizeof(HkBlock));
		return HnSetError(err, HANAMI_E_INVALID_SPEC, detail,
						  "max_sections %u is too large", spec->max_blocks);
	}
	return HANAMI_OK;
}

/* Bytes of an image; 0 with err set when over HANAMI_MAX_BYTES. */
size_t
HkImageSize(uint32_t n_cells, uint32_t n_neurons, uint32_t n_blocks,
			  HnError *err)
{
	size_t		bytes = sizeof(HnHeader) + sizeof(HkHeader);
	size_t		part;

	if (!HnMulSize(n_cells, sizeof(HkCell), &part) ||
		!HnAddSize(bytes, part, &bytes) ||
		!HnMulSize(n_neurons, sizeof(HkNeuron), &part) ||
		!HnAddSize(bytes, part, &bytes) ||
		!HnMulSize(n_blocks, sizeof(HkBlock), &part) ||
		!HnAddSize(bytes, part, &bytes) ||
		bytes > HANAMI_MAX_BYTES)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "A network value holds at most %zu bytes; this one would need more.",
				 (size_t) HANAMI_MAX_BYTES);
		HnSetError(err, HANAMI_E_TOO_LARGE, detail, "network is too large");
		return 0;
	}
	return bytes;
}

/* Total neurons of a finalized spec. */
uint32_t
HkSpecNeurons(const HkSpec *spec)
{
	uint32_t	n = 0;

	for (int c = 0; c < spec->n_cells; c++)
		n += spec->cells[c].count;
	return n;
}

/* Bytes of the fresh image of a finalized spec. */
size_t
HkSpecImageSize(const HkSpec *spec, HnError *err)
{
	return HkImageSize((uint32_t) spec->n_cells, HkSpecNeurons(spec), 0, err);
}

/* Bind net to an image already known to be valid. */
void
HkBindTrusted(HkNet *net, void *buf)
{
	char	   *base = buf;
	HkHeader *gh = (HkHeader *) (base + sizeof(HnHeader));

	net->hdr = buf;
	net->gh = gh;
	net->cells = (HkCell *) (base + sizeof(HnHeader) + sizeof(HkHeader));
	net->neurons = (HkNeuron *) (net->cells + gh->n_cells);
	net->blocks = (HkBlock *) (net->neurons + gh->n_neurons);
}

/*
 * Count live synapses; set n_synapses and n_params.  Reads nothing outside
 * the blocks even before the image is validated (the text form recounts
 * what it read, then validates): a count of used synapses over the block's
 * room counts the room, and HkBind rejects it.
 */
void
HkRecount(HkNet *net)
{
	uint64_t	live = 0;
	uint64_t	biased = 0;

	for (uint32_t b = 0; b < net->gh->n_blocks; b++)
	{
		const HkBlock *blk = &net->blocks[b];
		int			used = blk->n_used < HK_SYNAPSES ? blk->n_used : HK_SYNAPSES;

		for (int i = 0; i < used; i++)
			live += blk->syn[i].target != HK_GAP;
	}
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
		if (net->cells[c].type != HK_CELL_INPUT)
			biased += net->cells[c].n_neurons;
	net->gh->n_synapses = (uint32_t) live;
	net->hdr->n_params = live + biased;
}

/* Write the fresh image of a finalized spec with n_blocks empty blocks. */
HnStatus
HkCreate(void *buf, size_t len, const HkSpec *spec, uint32_t n_blocks,
		   HnError *err)
{
	uint32_t	neurons = HkSpecNeurons(spec);
	size_t		size = HkImageSize((uint32_t) spec->n_cells, neurons,
									 n_blocks, err);
	HnHeader   *hdr = buf;
	HkNet	net;
	HkHeader *gh;

	if (size == 0)
		return err ? err->code : HANAMI_E_TOO_LARGE;
	if (len != size)
		return HnSetError(err, HANAMI_E_INTERNAL, NULL,
						  "network buffer has %zu bytes instead of %zu", len, size);
	memset(buf, 0, len);
	hdr->magic = HANAMI_MAGIC;
	hdr->version = HANAMI_FORMAT_VERSION;
	hdr->kind = HANAMI_KIND_HANAMI;
	hdr->header_size = sizeof(HnHeader);
	hdr->total_size = len;
	hdr->n_layers = (uint32_t) spec->n_cells;
	hdr->loss = HANAMI_LOSS_CROSS_ENTROPY;
	hdr->seed = spec->seed;
	gh = (HkHeader *) ((char *) buf + sizeof(HnHeader));
	gh->grow_size = sizeof(HkHeader);
	gh->block_synapses = HK_SYNAPSES;
	gh->n_cells = (uint32_t) spec->n_cells;
	gh->n_neurons = neurons;
	gh->n_blocks = n_blocks;
	gh->max_blocks = spec->max_blocks;
	gh->max_distance = spec->max_distance;
	gh->cooldown = (float) spec->cooldown;
	gh->refractory = spec->refractory;
	gh->reduction_threshold = spec->reduction_threshold;
	if (spec->cooldown > 0 || spec->refractory > 1)
		gh->flags |= HK_SPIKING;
	if (spec->reduction)
		gh->flags |= HK_REDUCTION;
	HkBindTrusted(&net, buf);
	HkSpecCells(spec, net.cells);
	/* depths as checked by HkSpecFinalize */
	{
		uint16_t	depth[HK_MAX_CELLS];

		HkComputeDepths(net.cells, spec->n_cells, spec->max_distance, depth);
		for (int c = 0; c < spec->n_cells; c++)
		{
			HkCell *cell = &net.cells[c];

			cell->depth = depth[c];
			if (cell->type == HK_CELL_INPUT)
				hdr->n_inputs += cell->n_neurons;
			else if (cell->type == HK_CELL_OUTPUT)
				hdr->n_outputs += cell->n_neurons;
		}
	}
	for (uint32_t i = 0; i < neurons; i++)
	{
		net.neurons[i].section = HK_NONE;
		net.neurons[i].section_neg = HK_NONE;
	}
	HkRecount(&net);
	return HANAMI_OK;
}

/* Index of the cell that owns neuron i (cells hold consecutive ranges). */
static int
HkCellOf(const HkNet *net, uint32_t i)
{
	int			lo = 0;
	int			hi = (int) net->gh->n_cells - 1;

	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (net->cells[mid].first_neuron <= i)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Whether n bytes at p are all zero. */
static bool
HkAllZero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			return false;
	return true;
}

#define BAD(...) HnSetError(err, HANAMI_E_INVALID_FORMAT, __VA_ARGS__)

/* Check the common header and the grow header of an image of len bytes. */
static HnStatus
HkCheckHeaders(const HnHeader *hdr, const HkHeader *gh, size_t len,
				 HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];
	size_t		expect;

	if (hdr->header_size != sizeof(HnHeader))
		return BAD(NULL, "invalid network header size %" PRIu32, hdr->header_size);
	if (hdr->flags != 0)
		return BAD("Growing networks keep their flags in the growth header.",
				   "network value has unknown flags 0x%" PRIX32, hdr->flags);
	if (hdr->total_size != (uint64_t) len)
	{
		snprintf(detail, sizeof(detail),
				 "The header says %" PRIu64 " bytes but the value has %zu.",
				 hdr->total_size, len);
		return BAD(detail, "network value size does not match its header");
	}
	if (hdr->reserved[0] != 0 || hdr->reserved[1] != 0)
		return BAD("Reserved fields must be zero in this format version.",
				   "network header has nonzero reserved fields");
	if (len < sizeof(HnHeader) + sizeof(HkHeader))
		return BAD("The value ends inside its growth header.",
				   "network value is truncated");
	if (gh->grow_size != sizeof(HkHeader) ||
		gh->block_synapses != HK_SYNAPSES)
		return BAD(NULL, "invalid growth header (size %" PRIu32 ", %" PRIu32 " synapses per block)",
				   gh->grow_size, gh->block_synapses);
	if (gh->n_cells < 2 || gh->n_cells > HK_MAX_CELLS ||
		hdr->n_layers != gh->n_cells)
		return BAD(NULL, "network value has an invalid cell count (%" PRIu32 ")",
				   gh->n_cells);
	if (gh->n_neurons < gh->n_cells || gh->n_neurons > HK_MAX_NEURONS)
		return BAD(NULL, "network value has an invalid neuron count (%" PRIu32 ")",
				   gh->n_neurons);
	expect = HkImageSize(gh->n_cells, gh->n_neurons, gh->n_blocks, NULL);
	if (expect == 0 || expect != len)
	{
		snprintf(detail, sizeof(detail),
				 "Its %" PRIu32 " cells, %" PRIu32 " neurons and %" PRIu32 " blocks need %zu bytes but the value has %zu.",
				 gh->n_cells, gh->n_neurons, gh->n_blocks, expect, len);
		return BAD(detail, "network value size does not match its contents");
	}
	if (gh->max_blocks < 1 || gh->n_blocks > gh->max_blocks ||
		HkImageSize(gh->n_cells, gh->n_neurons, gh->max_blocks, NULL) == 0)
		return BAD(NULL, "network value has an invalid section limit (%" PRIu32 " of %" PRIu32 ")",
				   gh->n_blocks, gh->max_blocks);
	if ((gh->flags & ~(uint32_t) HK_FLAGS_ALL) != 0)
		return BAD("The value may come from a newer version of hanami.",
				   "network value has unknown growth flags 0x%" PRIX32,
				   gh->flags & ~(uint32_t) HK_FLAGS_ALL);
	if (gh->max_distance < 1 || gh->max_distance > HK_MAX_DISTANCE)
		return BAD(NULL, "invalid max_connection_distance %" PRIu32, gh->max_distance);
	if (gh->refractory < 1 || gh->refractory > HK_MAX_REFRACTORY)
		return BAD(NULL, "invalid refractory_time %" PRIu32, gh->refractory);
	if (!(gh->cooldown == 0.0f ||
		  (gh->cooldown > 1.0f && gh->cooldown <= FLT_MAX)))
		return BAD("neuron_cooldown is 0 (not spiking) or a finite number greater than 1.",
				   "invalid neuron_cooldown");
	if (((gh->flags & HK_SPIKING) != 0) !=
		(gh->cooldown > 0.0f || gh->refractory > 1))
		return BAD("A network is spiking exactly when it has a neuron_cooldown or a refractory_time above 1.",
				   "spiking flag does not match the settings");
	if (gh->reduction_threshold < 1 ||
		gh->reduction_threshold > HK_COUNTER_CAP)
		return BAD(NULL, "invalid reduction_threshold %" PRIu32,
				   gh->reduction_threshold);
	if (gh->n_history > HK_HISTORY ||
		!HkAllZero(&gh->history[gh->n_history],
					 sizeof(HkEpoch) * (HK_HISTORY - gh->n_history)) ||
		!HkAllZero(gh->reserved, sizeof(gh->reserved)))
		return BAD("Reserved fields and unused history entries must be zero.",
				   "network value has an invalid growth header");
	if (hdr->loss != HANAMI_LOSS_CROSS_ENTROPY)
		return BAD("Growing networks have sigmoid outputs and cross_entropy loss.",
				   "invalid loss (%" PRIu32 ") for a growing network", hdr->loss);
	return HANAMI_OK;
}

/* Check cell records against the headers: ranges, io offsets, geometry. */
static HnStatus
HkCheckImageCells(HkNet *net, HnError *err)
{
	const HnHeader *hdr = net->hdr;
	const HkHeader *gh = net->gh;
	uint32_t	first = 0;
	uint32_t	in_off = 0;
	uint32_t	out_off = 0;
	HkCell	copy[HK_MAX_CELLS];

	for (uint32_t c = 0; c < gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		if (cell->reserved8 != 0 || cell->reserved[0] != 0 || cell->reserved[1] != 0)
			return BAD("Reserved fields must be zero in this format version.",
					   "cell %" PRIu32 " has a nonzero reserved field", c);
		if (cell->first_neuron != first)
			return BAD("Cells hold consecutive ranges of neurons, in order.",
					   "cell %" PRIu32 " starts at neuron %" PRIu32 " instead of %" PRIu32,
					   c, cell->first_neuron, first);
		if (cell->n_neurons < 1 || cell->n_neurons > HK_MAX_CELL_NEURONS ||
			cell->n_neurons > gh->n_neurons - first)
			return BAD(NULL, "cell %" PRIu32 " has an invalid neuron count (%" PRIu32 ")",
					   c, cell->n_neurons);
		first += cell->n_neurons;
		if (cell->type == HK_CELL_INPUT)
		{
			if (cell->io_offset != in_off)
				return BAD(NULL, "input cell %" PRIu32 " has an invalid input offset", c);
			in_off += cell->n_neurons;
		}
		else if (cell->type == HK_CELL_OUTPUT)
		{
			if (cell->io_offset != out_off)
				return BAD(NULL, "output cell %" PRIu32 " has an invalid output offset", c);
			out_off += cell->n_neurons;
		}
		else if (cell->io_offset != 0)
			return BAD(NULL, "hidden cell %" PRIu32 " has a nonzero input offset", c);
	}
	if (first != gh->n_neurons)
		return BAD(NULL, "cells hold %" PRIu32 " neurons, the header says %" PRIu32,
				   first, gh->n_neurons);
	if (hdr->n_inputs != in_off || hdr->n_outputs != out_off)
		return BAD(NULL, "network header says %" PRIu32 " inputs and %" PRIu32 " outputs; the cells have %" PRIu32 " and %" PRIu32,
				   hdr->n_inputs, hdr->n_outputs, in_off, out_off);
	/* geometry on a copy: the check writes depths */
	memcpy(copy, net->cells, sizeof(HkCell) * gh->n_cells);
	return HkCheckCells(copy, (int) gh->n_cells, gh->max_distance, true,
						  HANAMI_E_INVALID_FORMAT, err);
}

/* Check one neuron record. */
static HnStatus
HkCheckNeuron(const HkNet *net, uint32_t i, const HkCell *cell,
				HnError *err)
{
	const HkNeuron *nr = &net->neurons[i];
	uint32_t	nb = net->gh->n_blocks;
	bool		spiking = (net->gh->flags & HK_SPIKING) != 0;

	if (nr->reserved16 != 0 || nr->reserved != 0)
		return BAD("Reserved fields must be zero in this format version.",
				   "neuron %" PRIu32 " has a nonzero reserved field", i);
	if ((nr->section != HK_NONE && nr->section >= nb) ||
		(nr->section_neg != HK_NONE && nr->section_neg >= nb))
		return BAD(NULL, "neuron %" PRIu32 " points to a section that does not exist", i);
	if (cell->type == HK_CELL_OUTPUT && nr->section != HK_NONE)
		return BAD("Output neurons grow no sections.",
				   "output neuron %" PRIu32 " has a section", i);
	if (cell->type != HK_CELL_INPUT && nr->section_neg != HK_NONE)
		return BAD("Only input neurons send negative values.",
				   "neuron %" PRIu32 " has a section for negative values", i);
	if (!isfinite(nr->bias) || !isfinite(nr->potential))
		return BAD("Biases and potentials must be finite numbers.",
				   "neuron %" PRIu32 " has a value that is not finite", i);
	if (cell->type == HK_CELL_INPUT && nr->bias != 0.0f)
		return BAD("Input neurons pass their values on unchanged.",
				   "input neuron %" PRIu32 " has a bias", i);
	if ((cell->type != HK_CELL_HIDDEN || !spiking) &&
		(nr->potential != 0.0f || nr->refractory != 0))
		return BAD("Only hidden neurons of a spiking network carry state.",
				   "neuron %" PRIu32 " carries state", i);
	if (nr->refractory >= net->gh->refractory)
		return BAD(NULL, "neuron %" PRIu32 " has an invalid refractory counter", i);
	return HANAMI_OK;
}

/*
 * Check block b (at blocks[b - base]) - its header and synapses; counts its
 * live synapses.
 */
static HnStatus
HkCheckBlock(const HkNet *net, const HkBlock *blocks, uint32_t base,
			 uint32_t b, uint64_t *live, HnError *err)
{
	const HkBlock *blk = &blocks[b - base];
	int			src_cell;
	const HkCell *tcell;
	bool		neg = (blk->flags & HK_SECTION_NEGATIVE) != 0;

	if (blk->reserved[0] != 0 || blk->reserved[1] != 0 ||
		(blk->flags & ~HK_SECTION_FLAGS_ALL) != 0)
		return BAD("Reserved fields must be zero in this format version.",
				   "section %" PRIu32 " has a nonzero reserved field", b);
	if (blk->source >= net->gh->n_neurons)
		return BAD(NULL, "section %" PRIu32 " has an invalid source neuron", b);
	if (blk->next != HK_NONE &&
		(blk->next <= b || blk->next >= net->gh->n_blocks))
		return BAD("A section continues in a later section.",
				   "section %" PRIu32 " has an invalid continuation", b);
	src_cell = HkCellOf(net, blk->source);
	if (neg && net->cells[src_cell].type != HK_CELL_INPUT)
		return BAD(NULL, "section %" PRIu32 " takes negative values from a non-input neuron", b);
	if (blk->target_cell >= net->gh->n_cells ||
		!HkTargetAllowed(net->cells, src_cell, blk->target_cell,
						   net->gh->max_distance))
		return BAD("Sections end in a deeper cell within max_connection_distance.",
				   "section %" PRIu32 " has an invalid target cell", b);
	if (!(blk->lower >= 0.0f && blk->lower <= FLT_MAX) ||
		!(blk->range > 0.0f && blk->range <= FLT_MAX))
		return BAD(NULL, "section %" PRIu32 " has an invalid potential range", b);
	if (!(blk->grain > 0.0f && blk->grain <= FLT_MAX))
		return BAD(NULL, "section %" PRIu32 " has an invalid grain", b);
	if (((blk->flags & HK_SECTION_PARALLEL) != 0) !=
		(net->cells[src_cell].type == HK_CELL_HIDDEN &&
		 net->cells[blk->target_cell].type == HK_CELL_OUTPUT))
		return BAD("Exactly the sections from hidden neurons into output cells are parallel.",
				   "section %" PRIu32 " has an invalid parallel flag", b);
	if ((blk->flags & HK_SECTION_PARALLEL) && blk->range != FLT_MAX)
		return BAD(NULL, "parallel section %" PRIu32 " has a closed range", b);
	if (!(blk->flags & HK_SECTION_PARALLEL) &&
		blk->next != HK_NONE && blk->range == FLT_MAX)
		return BAD(NULL, "section %" PRIu32 " has an open range but continues", b);
	if (blk->n_used > HK_SYNAPSES)
		return BAD(NULL, "section %" PRIu32 " uses %u synapses", b,
				   (unsigned) blk->n_used);
	tcell = &net->cells[blk->target_cell];
	for (int i = 0; i < blk->n_used; i++)
	{
		const HkSynapse *s = &blk->syn[i];

		if (!(s->border > 0.0f && s->border <= FLT_MAX) || !isfinite(s->weight) ||
			((blk->flags & HK_SECTION_PARALLEL) && s->border != 1.0f))
			return BAD("Weights must be finite and borders finite and positive (1 in parallel sections).",
					   "synapse %d of section %" PRIu32 " has an invalid weight or border",
					   i, b);
		if (s->reserved != 0 || s->counter > HK_COUNTER_CAP)
			return BAD(NULL, "synapse %d of section %" PRIu32 " has an invalid counter", i, b);
		if (s->target == HK_GAP)
		{
			if (s->weight != 0.0f || s->counter != 0)
				return BAD(NULL, "removed synapse %d of section %" PRIu32 " has a weight", i, b);
		}
		else
		{
			if (s->target >= tcell->n_neurons)
				return BAD(NULL, "synapse %d of section %" PRIu32 " has an invalid target neuron",
						   i, b);
			(*live)++;
		}
	}
	if (!HkAllZero(&blk->syn[blk->n_used],
					 sizeof(HkSynapse) * (HK_SYNAPSES - blk->n_used)))
		return BAD("Unused synapses must be zero.",
				   "section %" PRIu32 " has data in unused synapses", b);
	return HANAMI_OK;
}

/*
 * Walk the chain starting at block first (a root of neuron i): every block
 * of it must belong to i with the same sign, and each continuation must
 * start where the previous section ends.  Counts the blocks visited.
 */
static HnStatus
HkCheckChain(const HkBlock *blocks, uint32_t base, uint32_t i, uint32_t first,
			 bool neg, uint64_t *visited, HnError *err)
{
	uint32_t	b = first;
	const HkBlock *prev = NULL;

	while (b != HK_NONE)
	{
		const HkBlock *blk = &blocks[b - base];
		bool		cont = (blk->flags & HK_SECTION_CONTINUATION) != 0;
		bool		bad;

		if (blk->source != i || ((blk->flags & HK_SECTION_NEGATIVE) != 0) != neg)
			return BAD(NULL, "section %" PRIu32 " is in the chain of another neuron", b);
		if (prev == NULL)
			bad = cont || blk->lower != 0.0f;
		else if ((prev->flags & HK_SECTION_PARALLEL) &&
				 (blk->flags & HK_SECTION_PARALLEL))
			bad = !cont || blk->lower != prev->lower ||
				blk->target_cell != prev->target_cell;
		else
			bad = !cont || (prev->flags & HK_SECTION_PARALLEL) ||
				blk->lower != prev->lower + prev->range;
		if (bad)
			return BAD("A chain starts at potential 0 and each section starts where the previous one ends (a parallel continuation where the previous starts).",
					   "section %" PRIu32 " has an invalid lower bound", b);
		(*visited)++;
		prev = blk;
		b = blk->next;			/* strictly increasing: the walk ends */
	}
	return HANAMI_OK;
}

/* Validate an untrusted growing image of len bytes and bind net to it. */
HnStatus
HkBind(HkNet *net, void *buf, size_t len, HnError *err)
{
	HnHeader   *hdr = buf;
	HkHeader *gh = (HkHeader *) ((char *) buf + sizeof(HnHeader));
	uint64_t	live = 0;
	uint64_t	visited = 0;
	uint64_t	biased = 0;
	HnStatus	st;

	if (len < sizeof(HnHeader) + sizeof(HkHeader))
	{
		char		detail[HANAMI_ERRMSG_LEN];

		snprintf(detail, sizeof(detail),
				 "The value has %zu bytes; the headers of a growing network need %zu.",
				 len, sizeof(HnHeader) + sizeof(HkHeader));
		return BAD(detail, "network value is too short");
	}
	st = HkCheckHeaders(hdr, gh, len, err);
	if (st != HANAMI_OK)
		return st;
	/* every record is now known to be inside the buffer */
	HkBindTrusted(net, buf);
	st = HkCheckImageCells(net, err);
	if (st != HANAMI_OK)
		return st;
	for (uint32_t c = 0; c < gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		if (cell->type != HK_CELL_INPUT)
			biased += cell->n_neurons;
		for (uint32_t i = cell->first_neuron;
			 i < cell->first_neuron + cell->n_neurons; i++)
		{
			st = HkCheckNeuron(net, i, cell, err);
			if (st != HANAMI_OK)
				return st;
		}
	}
	for (uint32_t b = 0; b < gh->n_blocks; b++)
	{
		st = HkCheckBlock(net, net->blocks, 0, b, &live, err);
		if (st != HANAMI_OK)
			return st;
		if ((gh->flags & HK_GROUPED) && b > 0 &&
			HkCellOf(net, net->blocks[b].source) <
			HkCellOf(net, net->blocks[b - 1].source))
			return BAD("The sections of a grouped network come in the order of their source's cell.",
					   "section %" PRIu32 " is out of its group", b);
	}
	for (uint32_t i = 0; i < gh->n_neurons; i++)
	{
		const HkNeuron *nr = &net->neurons[i];

		if (nr->section != HK_NONE &&
			(st = HkCheckChain(net->blocks, 0, i, nr->section, false, &visited, err)) != HANAMI_OK)
			return st;
		if (nr->section_neg != HK_NONE &&
			(st = HkCheckChain(net->blocks, 0, i, nr->section_neg, true, &visited, err)) != HANAMI_OK)
			return st;
	}
	if (visited != gh->n_blocks)
		return BAD("Every section belongs to exactly one neuron's chain.",
				   "network value has %" PRIu64 " sections outside the chains",
				   (uint64_t) gh->n_blocks - visited);
	if (live != gh->n_synapses || hdr->n_params != live + biased)
		return BAD(NULL, "network value has %" PRIu64 " synapses, the header says %" PRIu32,
				   live, gh->n_synapses);
	return HANAMI_OK;
}

/*
 * Validate the head of a grouped image for paged inference; see hanami.h.
 * The checks of HkBind on everything before the blocks, then the groups.
 */
HnStatus
HkBindHead(HkNet *net, void *buf, size_t head_len, size_t image_len,
		   int32_t *seg, uint32_t *lo, uint32_t *hi, HnError *err)
{
	HnHeader   *hdr = buf;
	HkHeader   *gh = (HkHeader *) ((char *) buf + sizeof(HnHeader));
	size_t		want;
	HnStatus	st;

	if (head_len < sizeof(HnHeader) + sizeof(HkHeader))
		return BAD("The head of a growing network is its headers, cells and neurons.",
				   "network head has %zu bytes, too few for its headers", head_len);
	st = HkCheckHeaders(hdr, gh, image_len, err);
	if (st != HANAMI_OK)
		return st;
	want = HkImageSize(gh->n_cells, gh->n_neurons, 0, NULL);
	if (head_len != want)
		return BAD("The head of a growing network is its headers, cells and neurons.",
				   "network head has %zu bytes instead of %zu", head_len, want);
	if (!(gh->flags & HK_GROUPED))
		return HnSetError(err, HANAMI_E_UNSUPPORTED,
						  "Only a network whose sections are grouped by cell (as every fit leaves them) can be paged.",
						  "this growing network's sections are not grouped by cell");
	HkBindTrusted(net, buf);
	net->blocks = NULL;			/* fetched cell by cell */
	st = HkCheckImageCells(net, err);
	if (st != HANAMI_OK)
		return st;
	for (uint32_t c = 0; c < gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		for (uint32_t i = cell->first_neuron;
			 i < cell->first_neuron + cell->n_neurons; i++)
		{
			st = HkCheckNeuron(net, i, cell, err);
			if (st != HANAMI_OK)
				return st;
		}
	}
	return HkGroupRanges(net, seg, lo, hi, err);
}

/*
 * The groups of a grouped image from its head (see hanami.h): a cell's
 * group starts at the smallest first section of its neurons (every block
 * is in a chain, and a chain only goes to larger blocks), and ends where
 * the next group starts.  The groups must come in cell order from block 0
 * and cover every block.
 */
HnStatus
HkGroupRanges(const HkNet *net, int32_t *seg, uint32_t *lo, uint32_t *hi,
			  HnError *err)
{
	uint32_t	nc = net->gh->n_cells;
	uint32_t	nb = net->gh->n_blocks;
	int32_t		n_seg = 0;
	int			prev = -1;

	for (uint32_t c = 0; c < nc; c++)
	{
		const HkCell *cell = &net->cells[c];
		uint32_t	start = HK_NONE;

		for (uint32_t i = cell->first_neuron;
			 i < cell->first_neuron + cell->n_neurons; i++)
		{
			if (net->neurons[i].section < start)
				start = net->neurons[i].section;
			if (net->neurons[i].section_neg < start)
				start = net->neurons[i].section_neg;
		}
		seg[c] = 0;
		lo[c] = hi[c] = 0;
		if (start == HK_NONE)
			continue;
		if ((prev < 0 && start != 0) || (prev >= 0 && start <= lo[prev]))
			return BAD("The sections of a grouped network come in the order of their source's cell.",
					   "the sections of cell %" PRIu32 " are out of order", c);
		if (prev >= 0)
			hi[prev] = start;
		seg[c] = ++n_seg;
		lo[c] = start;
		prev = (int) c;
	}
	if (prev >= 0)
		hi[prev] = nb;
	else if (nb > 0)
		return BAD("Every section belongs to exactly one neuron's chain.",
				   "network value has %" PRIu32 " sections outside the chains", nb);
	return HANAMI_OK;
}

/* Validate the fetched group of cell c; see hanami.h. */
HnStatus
HkCheckSegment(const HkNet *head, uint32_t c, const HkBlock *blocks,
			   size_t len, uint32_t lo, uint32_t hi, HnError *err)
{
	const HkCell *cell = &head->cells[c];
	uint64_t	live = 0;
	uint64_t	visited = 0;
	HnStatus	st;

	if (len != (size_t) (hi - lo) * sizeof(HkBlock) ||
		((uintptr_t) blocks & 3) != 0)
		return BAD("The network's head says how many sections each cell has.",
				   "the sections of cell %" PRIu32 " have %zu bytes instead of %zu",
				   c, len, (size_t) (hi - lo) * sizeof(HkBlock));
	for (uint32_t b = lo; b < hi; b++)
	{
		const HkBlock *blk = &blocks[b - lo];

		st = HkCheckBlock(head, blocks, lo, b, &live, err);
		if (st != HANAMI_OK)
			return st;
		if (HkCellOf(head, blk->source) != (int) c ||
			(blk->next != HK_NONE && blk->next >= hi))
			return BAD("The sections of a grouped network come in the order of their source's cell.",
					   "section %" PRIu32 " is out of its group", b);
	}
	for (uint32_t i = cell->first_neuron;
		 i < cell->first_neuron + cell->n_neurons; i++)
	{
		const HkNeuron *nr = &head->neurons[i];

		if ((nr->section != HK_NONE && (nr->section < lo || nr->section >= hi)) ||
			(nr->section_neg != HK_NONE &&
			 (nr->section_neg < lo || nr->section_neg >= hi)))
			return BAD(NULL, "neuron %" PRIu32 " points to a section outside its cell's group", i);
		if (nr->section != HK_NONE &&
			(st = HkCheckChain(blocks, lo, i, nr->section, false, &visited, err)) != HANAMI_OK)
			return st;
		if (nr->section_neg != HK_NONE &&
			(st = HkCheckChain(blocks, lo, i, nr->section_neg, true, &visited, err)) != HANAMI_OK)
			return st;
	}
	if (visited != hi - lo)
		return BAD("Every section belongs to exactly one neuron's chain.",
				   "the group of cell %" PRIu32 " has %" PRIu64 " sections outside the chains",
				   c, (uint64_t) (hi - lo) - visited);
	return HANAMI_OK;
}

/* Whether the blocks come in the order of their source's cell. */
bool
HkBlocksGrouped(const HkNet *net)
{
	for (uint32_t b = 1; b < net->gh->n_blocks; b++)
		if (HkCellOf(net, net->blocks[b].source) <
			HkCellOf(net, net->blocks[b - 1].source))
			return false;
	return true;
}

/* Sizes of a bound network. */
void
HkGetStats(const HkNet *net, HkStats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->cells = net->gh->n_cells;
	stats->neurons = net->gh->n_neurons;
	stats->blocks = net->gh->n_blocks;
	stats->bytes = net->hdr->total_size;
	for (uint32_t b = 0; b < net->gh->n_blocks; b++)
	{
		const HkBlock *blk = &net->blocks[b];
		uint32_t	live = 0;

		for (int i = 0; i < blk->n_used; i++)
			live += blk->syn[i].target != HK_GAP;
		stats->synapses += live;
		stats->sections += live > 0;
	}
}
