/*
 * hanami/kind.c - the operations of the hanami kind (kind.h) over its
 * layout, inference and training (hanami.h).
 */
#include "core/hanami/kind.h"

#include <stdio.h>
#include <string.h>

#include "core/hanami/json.h"
#include "core/ports.h"

_Static_assert(sizeof(HkNet) <= HANAMI_VIEW_BYTES,
			   "the hanami view must fit HnNet");

static HnStatus
HkKindBind(HnNet *net, HnError *err)
{
	return HkBind(HkOf(net), net->hdr, net->len, err);
}

static void
HkKindBindTrusted(HnNet *net)
{
	HkBindTrusted(HkOf(net), net->hdr);
}

/*
 * Rows run one at a time: max_batch only bounds what predict is given.  On
 * a head (bind_head: no blocks), paged rows run in chunks of max_batch.
 */
static void *
HkKindWorkCreate(const HnNet *net, int max_batch, const HnAllocator *alloc,
				 HnError *err)
{
	if (HkOf(net)->blocks == NULL)
		return HkWorkCreatePaged(HkOf(net), max_batch, alloc, err);
	return HkWorkCreate(HkOf(net), false, alloc, err);
}

static void
HkKindWorkFree(void *work, const HnAllocator *alloc)
{
	HkWorkFree(work, alloc);
}

/* Rows in order: a spiking network's state carries from one to the next. */
static void
HkKindPredict(HnNet *net, void *work, const float *x, int n, float *out)
{
	HkNet	   *h = HkOf(net);
	size_t		n_in = h->hdr->n_inputs;
	size_t		n_out = h->hdr->n_outputs;

	for (int r = 0; r < n; r++)
		HkPredict(h, work, x + (size_t) r * n_in, out + (size_t) r * n_out);
}

/*
 * Rows are independent unless the network is spiking: predict then carries
 * each neuron's potential and refractory count to the next row.
 */
static bool
HkKindRowsIndependent(const HnNet *net)
{
	return (HkOf(net)->gh->flags & HK_SPIKING) == 0;
}

/* Its cells, neurons and sections, for the OpenCL backend. */
static const HkNet *
HkKindSectionView(const HnNet *net)
{
	return HkOf(net);
}

/* Sigmoid outputs: a class score per output neuron. */
static HnOutputs
HkKindOutputs(const HnNet *net, char *why, size_t why_len)
{
	return HANAMI_OUTPUTS_CLASSES;
}

/*
 * A port per input cell and per output cell, in description order, named
 * after the cell; an unnamed cell is "input" or "output" when it is the
 * only one of its direction, else "cell<N>" (N its index, as to_train
 * numbers cells), as is a cell whose name an earlier port took.  Outputs
 * are sigmoid scores, so every output port may take a class.
 */
static int
HkKindPorts(const HnNet *net, bool outputs, HnPort *out, int max)
{
	const HkNet *h = HkOf(net);
	uint8_t		type = outputs ? HK_CELL_OUTPUT : HK_CELL_INPUT;
	int			total = 0;
	int			n = 0;

	for (uint32_t c = 0; c < h->gh->n_cells; c++)
		total += h->cells[c].type == type;
	for (uint32_t c = 0; c < h->gh->n_cells; c++)
	{
		const HkCell *cell = &h->cells[c];
		bool		taken = false;

		if (cell->type != type)
			continue;
		if (n < max)
		{
			HnPort	   *p = &out[n];

			memset(p, 0, sizeof(*p));
			for (int i = 0; i < n && cell->name[0]; i++)
				taken |= strcmp(out[i].name, cell->name) == 0;
			if (cell->name[0] && !taken)
				snprintf(p->name, sizeof(p->name), "%s", cell->name);
			else if (total == 1)
				snprintf(p->name, sizeof(p->name), "%s",
						 outputs ? "output" : "input");
			else
				snprintf(p->name, sizeof(p->name), "cell%u", c);
			p->offset = cell->io_offset;
			p->count = cell->n_neurons;
			p->classes = outputs;
		}
		n++;
	}
	return n;
}

/* The spiking state lives in the neuron records: they are the state. */
static size_t
HkKindStateSize(const HnNet *net)
{
	const HkNet *h = HkOf(net);

	return (h->gh->flags & HK_SPIKING) ?
		sizeof(HkNeuron) * (size_t) h->gh->n_neurons : 0;
}

static void
HkKindStateSave(const HnNet *net, void *dst)
{
	memcpy(dst, HkOf(net)->neurons, HkKindStateSize(net));
}

static void
HkKindStateLoad(HnNet *net, const void *src)
{
	memcpy(HkOf(net)->neurons, src, HkKindStateSize(net));
}

static void
HkKindStateReset(HnNet *net)
{
	HkResetState(HkOf(net));
}

/* The head of a grouped image; see hanami.h HkBindHead. */
static HnStatus
HkKindBindHead(HnNet *net, size_t image_len, HnError *err)
{
	int32_t		seg[HK_MAX_CELLS];
	uint32_t	lo[HK_MAX_CELLS];
	uint32_t	hi[HK_MAX_CELLS];

	return HkBindHead(HkOf(net), net->hdr, net->len, image_len, seg, lo, hi,
					  err);
}

/* Segment s of the image is the group of the s-th cell with sections. */
static HnStatus
HkKindPredictPaged(HnNet *head, void *work, const HnPager *pager,
				   const float *x, int n, float *out, HnError *err)
{
	return HkPredictPaged(HkOf(head), work, pager, x, n, out, err);
}

/*
 * Headers, cells and neurons (with the spiking state: the head); then the
 * synapse blocks: of a grouped image (every fit leaves one), each cell's
 * sections as a segment of its own, which paged inference fetches as the
 * walk reaches the cell; otherwise all of them as one.
 */
static void
HkKindSegments(const HnNet *net, HnSegmentFn emit, void *ctx)
{
	const HkNet *h = HkOf(net);
	size_t		blocks = (size_t) ((const char *) h->blocks -
								   (const char *) net->hdr);
	int32_t		seg[HK_MAX_CELLS];
	uint32_t	lo[HK_MAX_CELLS];
	uint32_t	hi[HK_MAX_CELLS];

	emit(ctx, 0, blocks, "header");
	if (h->gh->n_blocks == 0 || !(h->gh->flags & HK_GROUPED) ||
		HkGroupRanges(h, seg, lo, hi, NULL) != HANAMI_OK)
	{
		emit(ctx, blocks, net->len - blocks, "sections");
		return;
	}
	for (uint32_t c = 0; c < h->gh->n_cells; c++)
	{
		char		name[HANAMI_NAME_LEN + 32];

		if (seg[c] == 0)
			continue;
		if (h->cells[c].name[0])
			snprintf(name, sizeof(name), "sections of cell %u (%s)", c,
					 h->cells[c].name);
		else
			snprintf(name, sizeof(name), "sections of cell %u", c);
		emit(ctx, blocks + (size_t) lo[c] * sizeof(HkBlock),
			 (size_t) (hi[c] - lo[c]) * sizeof(HkBlock), name);
	}
}

const HnKind HnHanamiKind = {
	.id = HANAMI_KIND_HANAMI,
	.name = "hanami",
	.caps = HANAMI_CAP_SECTIONS,
	.bind = HkKindBind,
	.bind_trusted = HkKindBindTrusted,
	.from_json = HkFromJson,
	.to_json = HkToJson,
	.info = HkInfoJson,
	.work_create = HkKindWorkCreate,
	.work_free = HkKindWorkFree,
	.predict = HkKindPredict,
	.rows_independent = HkKindRowsIndependent,
	.outputs = HkKindOutputs,
	.ports = HkKindPorts,
	.state_size = HkKindStateSize,
	.state_save = HkKindStateSave,
	.state_load = HkKindStateLoad,
	.state_reset = HkKindStateReset,
	.section_view = HkKindSectionView,
	.segments = HkKindSegments,
	.reshape = HkReshape,
	.bind_head = HkKindBindHead,
	.predict_paged = HkKindPredictPaged,
	.fit = &HnHanamiFit,
};
