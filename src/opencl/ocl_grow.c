/*
 * ocl_grow.c - batched inference on a device for every kind the backend
 * runs (OclPredictor, ocl.h): dense networks through OclDense, growing
 * networks through the kernel hn_grow_predict (kernels/growing.cl), the
 * device twin of HkPredict: one work-item per row, the network's neuron and
 * section records uploaded as they are in the image, once per predictor.
 */
#include "ocl_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/hanami/hanami.h"

/* A growing network on a device. */
typedef struct OclGrow
{
	OclSession *s;
	int			n_cells;
	int			n_in;
	int			n_out;
	int			n_neurons;
	int			max_batch;
	cl_mem		cells;			/* int4 per cell: type, first, count, io */
	cl_mem		order;			/* cells by depth */
	cl_mem		neurons;
	cl_mem		blocks;
	cl_mem		x;
	cl_mem		sum;			/* n_neurons * max_batch */
	cl_mem		out;
	cl_mem		cls;
} OclGrow;

struct OclPredictor
{
	OclDense   *dense;			/* one of the two */
	OclGrow    *grow;
};

/* See ocl.h. */
bool
OclCanPredict(const HnNet *net, char *why, size_t why_len)
{
	const char *msg = NULL;

	if ((net->kind->caps & HANAMI_CAP_LAYERED) && net->kind->dense_view &&
		net->kind->dense_view(net) != NULL &&
		net->kind->dense_view(net)->n_programs > 0)
		msg = "the OpenCL backend cannot run custom activations";
	else if (net->kind->caps & HANAMI_CAP_LAYERED)
		return true;
	else if (!(net->kind->caps & HANAMI_CAP_SECTIONS))
		msg = "the OpenCL backend runs dense and growing networks only";
	else if (!HnRowsIndependent(net))
		msg = "a spiking network carries its state from row to row, so its batches run on the CPU, in order";
	if (msg == NULL)
		return true;
	if (why != NULL && why_len > 0)
		snprintf(why, why_len, "%s", msg);
	return false;
}

/* Upload a growing network and make buffers for max_batch rows. */
static OclGrow *
OclGrowCreate(OclSession *s, const HkNet *net, int max_batch,
			  const HnAllocator *alloc, OclError *err)
{
	uint32_t	nc = net->gh->n_cells;
	uint32_t	nn = net->gh->n_neurons;
	size_t		batch = (size_t) (max_batch > 0 ? max_batch : 1);
	OclGrow    *g;
	int32_t    *cells = NULL;
	int32_t    *order = NULL;
	HkWork	   *w = NULL;
	HnError		herr;

	if ((uint64_t) nn * batch > (uint64_t) INT_MAX ||
		(uint64_t) net->hdr->n_inputs * batch > (uint64_t) INT_MAX)
	{
		HnSetError(&err->base, HANAMI_E_TOO_LARGE,
				   "Use a smaller batch size, or the device \"cpu\".",
				   "the network's buffers are too large for the OpenCL kernels");
		return NULL;
	}
	g = HnAllocZero(alloc, sizeof(OclGrow));
	cells = HnAlloc(alloc, sizeof(int32_t) * 4 * nc);
	order = HnAlloc(alloc, sizeof(int32_t) * nc);
	/* the CPU's order of the cells: its workspace has it */
	w = HkWorkCreate(net, false, alloc, &herr);
	if (g == NULL || cells == NULL || order == NULL || w == NULL)
	{
		HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
				   "out of memory for an OpenCL network");
		goto fail;
	}
	for (uint32_t c = 0; c < nc; c++)
	{
		cells[4 * c] = net->cells[c].type;
		cells[4 * c + 1] = (int32_t) net->cells[c].first_neuron;
		cells[4 * c + 2] = (int32_t) net->cells[c].n_neurons;
		cells[4 * c + 3] = (int32_t) net->cells[c].io_offset;
		order[c] = w->order[c];
	}
	g->s = s;
	g->n_cells = (int) nc;
	g->n_in = (int) net->hdr->n_inputs;
	g->n_out = (int) net->hdr->n_outputs;
	g->n_neurons = (int) nn;
	g->max_batch = (int) batch;

#define OCL_MAKE(field, bytes, init, what) \
	do { \
		if (((field) = OclBuffer(s, (bytes), (init), (what), err)) == NULL) \
			goto fail; \
	} while (0)

	OCL_MAKE(g->cells, sizeof(int32_t) * 4 * nc, cells, "network's cells");
	OCL_MAKE(g->order, sizeof(int32_t) * nc, order, "network's cells");
	OCL_MAKE(g->neurons, sizeof(HkNeuron) * nn, net->neurons, "network's neurons");
	OCL_MAKE(g->blocks, sizeof(HkBlock) * (size_t) net->gh->n_blocks,
			 net->gh->n_blocks ? net->blocks : NULL, "network's sections");
	OCL_MAKE(g->x, sizeof(float) * batch * (size_t) g->n_in, NULL, "input rows of a batch");
	OCL_MAKE(g->sum, sizeof(float) * batch * nn, NULL, "neuron sums of a batch");
	OCL_MAKE(g->out, sizeof(float) * batch * (size_t) g->n_out, NULL, "outputs of a batch");
	OCL_MAKE(g->cls, sizeof(int32_t) * batch, NULL, "classes of a batch");
#undef OCL_MAKE
	HkWorkFree(w, alloc);
	HnFree(alloc, cells);
	HnFree(alloc, order);
	return g;

fail:
	/* the session releases the buffers made so far */
	HkWorkFree(w, alloc);
	HnFree(alloc, cells);
	HnFree(alloc, order);
	HnFree(alloc, g);
	return NULL;
}

/* n rows through a growing network, in chunks of max_batch rows. */
static HnStatus
OclGrowPredict(OclGrow *g, const float *x, int64_t n, float *out,
			   int32_t *cls, OclError *err)
{
	for (int64_t r0 = 0; r0 < n; r0 += g->max_batch)
	{
		int			rows = (int) (n - r0 < g->max_batch ? n - r0 : g->max_batch);
		HnStatus	st;

		/* x must outlive the upload: wait for it */
		st = OclWrite(g->s, g->x, 0, (size_t) rows * g->n_in * sizeof(float),
					  x + (size_t) r0 * g->n_in, true, err);
		if (st == HANAMI_OK)
			st = OCL_RUN1(g->s, OCL_K_GROW_PREDICT, rows, err, "mmimmmiiiiimm",
						  g->cells, g->order, g->n_cells, g->neurons, g->blocks,
						  g->x, rows, g->n_in, g->n_out, g->n_neurons,
						  g->max_batch, g->sum, g->out);
		if (st == HANAMI_OK && cls != NULL)
			st = OCL_RUN1(g->s, OCL_K_ARGMAX, rows, err, "miim",
						  g->out, rows, g->n_out, g->cls);
		if (st == HANAMI_OK && out != NULL)
			st = OclRead(g->s, g->out, 0, (size_t) rows * g->n_out * sizeof(float),
						 out + (size_t) r0 * g->n_out, err);
		if (st == HANAMI_OK && cls != NULL)
			st = OclRead(g->s, g->cls, 0, (size_t) rows * sizeof(int32_t),
						 cls + r0, err);
		if (st != HANAMI_OK)
			return st;
	}
	return HANAMI_OK;
}

/* See ocl.h. */
OclPredictor *
OclPredictorCreate(OclSession *s, const HnNet *net, int max_batch,
				   const HnAllocator *alloc, OclError *err)
{
	OclPredictor *p;
	char		why[HANAMI_ERRMSG_LEN];

	OclErrorClear(err);
	if (!OclCanPredict(net, why, sizeof(why)))
	{
		HnSetError(&err->base, HANAMI_E_INVALID_ARGUMENT,
				   "Use the device \"cpu\" for this network.", "%s", why);
		return NULL;
	}
	p = HnAllocZero(alloc, sizeof(OclPredictor));
	if (p == NULL)
	{
		HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
				   "out of memory for an OpenCL network");
		return NULL;
	}
	if (net->kind->caps & HANAMI_CAP_LAYERED)
		p->dense = OclDenseCreate(s, net->kind->dense_view(net), max_batch,
								  NULL, alloc, err);
	else
		p->grow = OclGrowCreate(s, net->kind->section_view(net), max_batch,
								alloc, err);
	if (p->dense == NULL && p->grow == NULL)
	{
		HnFree(alloc, p);
		return NULL;
	}
	return p;
}

/* See ocl.h. */
HnStatus
OclPredictorRun(OclPredictor *p, const float *x, int64_t n, float *out,
				int32_t *cls, OclError *err)
{
	OclErrorClear(err);
	if (p->dense != NULL)
		return OclDensePredict(p->dense, x, n, out, cls, err);
	return OclGrowPredict(p->grow, x, n, out, cls, err);
}
