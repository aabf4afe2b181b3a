/*
 * fuzz_image.c - libFuzzer target for the binary image of a network.
 *
 * Every value that enters PostgreSQL through the type's binary input
 * (network_recv), the bytea cast (network_from_bytea) or a function argument
 * goes through DenseBind, which checks a dense image itself and hands an image
 * of the growing kind to HkBind.  This target feeds arbitrary bytes to
 * DenseBind, laid out as the server holds them (4 bytes into an 8-byte aligned
 * block, after the varlena length word), and checks:
 *
 *   - a rejection is a clean HANAMI_E_INVALID_FORMAT with a message, and
 *     validation never writes to the image;
 *   - an accepted image supports everything a valid value must, without a
 *     sanitizer report:
 *       * what info() and the text form read (names of kinds, activations,
 *         losses and cell types; sizes);
 *       * the text form's round trip: the text network_out writes, read
 *         back as network_in reads it, gives the input byte for byte, and
 *         info() writes a JSON object;
 *       * inference on zero, ordinary and huge finite inputs (for the
 *         growing kind also the carried spiking state, which must still
 *         validate afterwards, and reset_state);
 *       * a short fit and an evaluation on a few rows; a fit that succeeds
 *         must leave an image that validates (the server stores it
 *         without checking it again), and so must a reduction pass.
 *
 * A broken expectation aborts with a message on stderr, which libFuzzer
 * reports as a crash with its reproducer.  Build and run: `make fuzz`.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "core/dense/step.h"
#include "core/common.h"
#include "core/dense/dense.h"
#include "core/dense/dtype.h"
#include "core/dense/format.h"
#include "core/graph/graph.h"
#include "core/hanami/kind.h"
#include "core/dense/kind.h"
#include "core/fit.h"
#include "core/json.h"
#include "core/train.h"

/* Rows for inference and training (finite, any magnitude). */
#define FUZZ_ROWS 4

static void
Fail(const char *fmt,...)
__attribute__((format(printf, 1, 2), noreturn));

/* Report a broken expectation and abort: libFuzzer saves the input. */
static void
Fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "fuzz_image: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/*
 * A copy of len bytes laid out like a varlena's payload: 4 bytes into a
 * block from malloc (so 4 but not 8-byte aligned), the length word poisoned
 * for AddressSanitizer so reads before the image are caught as well as
 * reads past its end.  Free with ImageFree.
 */
static void *
ImageCopy(const void *src, size_t len)
{
	char	   *block = malloc(len + 4);

	if (block == NULL)
		Fail("out of memory for a copy of %zu bytes", len);
	memset(block, 0, 4);
	ASAN_POISON_MEMORY_REGION(block, 4);
	if (len > 0)
		memcpy(block + 4, src, len);
	return block + 4;
}

static void
ImageFree(void *image)
{
	char	   *block = (char *) image - 4;

	ASAN_UNPOISON_MEMORY_REGION(block, 4);
	free(block);
}

/* NetBind an image that must be valid; fail naming what produced it. */
static void
ExpectValid(void *image, size_t len, const char *after)
{
	HnNet		net;
	HnError		err;

	if (NetBind(&net, image, len, &err) != HANAMI_OK)
		Fail("the image no longer validates after %s: %s (%s)",
			 after, err.message, err.detail);
}

/*
 * The text form's round trip: the text network_out writes (the kind's
 * to_json), read back as network_in reads it (NetFromJson), gives the image
 * byte for byte; and info() is a JSON object.
 */
static void
TextRoundTrip(const void *image, size_t len)
{
	void	   *copy = ImageCopy(image, len);
	HnNet		net;
	HnBuf		text;
	HnBuf		info;
	HnError		err;
	HnJsonDoc	doc;
	void	   *again;
	size_t		again_len;

	NetBindTrusted(&net, copy);
	HnBufInit(&text, &HnMallocAllocator);
	if (NetToJson(&net, &text, &err) != HANAMI_OK)
		Fail("no text form of an accepted image: %s", err.message);
	if (NetFromJson(text.data, text.len, NULL, &HnMallocAllocator, &again,
					&again_len, &err) != HANAMI_OK)
		Fail("the text form of an accepted image is rejected: %s (%s)",
			 err.message, err.detail);
	if (again_len != len || memcmp(again, image, len) != 0)
		Fail("the text form's round trip changes the image");
	free(again);
	HnBufFree(&text);

	HnBufInit(&info, &HnMallocAllocator);
	if (NetInfo(&net, &info, &err) != HANAMI_OK)
		Fail("no info() of an accepted image: %s", err.message);
	if (HnJsonParse(info.data, info.len, &HnMallocAllocator, &doc, &err) != HANAMI_OK)
		Fail("info() is not JSON: %s (%s)", err.message, err.detail);
	if (doc.root->type != HN_JSON_OBJECT)
		Fail("info() is not an object");
	HnJsonFree(&doc);
	HnBufFree(&info);
	if (memcmp(copy, image, len) != 0)
		Fail("the text form or info() wrote to the image");
	ImageFree(copy);
}

/* Input rows of n values: zeros, ordinary values, huge ones, mixed. */
static float *
MakeRows(uint32_t n)
{
	float	   *x = malloc(sizeof(float) * FUZZ_ROWS * (size_t) (n ? n : 1));

	if (x == NULL)
		Fail("out of memory for %u inputs", n);
	for (uint32_t j = 0; j < n; j++)
	{
		x[0 * n + j] = 0.0f;
		x[1 * n + j] = (float) ((int) (j % 7) - 3) * 0.75f;
		x[2 * n + j] = (j & 1) ? -1e30f : 1e30f;
		x[3 * n + j] = (j % 3 == 0) ? FLT_MAX : (j % 3 == 1) ? -FLT_MIN : 123.5f;
	}
	return x;
}

/* Targets in [0, 1] for n outputs, one row after another. */
static float *
MakeTargets(uint32_t n)
{
	float	   *y = malloc(sizeof(float) * FUZZ_ROWS * (size_t) (n ? n : 1));

	if (y == NULL)
		Fail("out of memory for %u targets", n);
	for (int r = 0; r < FUZZ_ROWS; r++)
		for (uint32_t j = 0; j < n; j++)
			y[r * n + j] = (j == (uint32_t) r % n) ? 1.0f : 0.0f;
	return y;
}

/* ------------------------------------------------------------------ dense */

/* What info() and the text form read from a dense network. */
static void
DenseInfo(const DenseNet *net)
{
	const HnHeader *h = net->hdr;

	if (LossName((HnLoss) h->loss) == NULL)
		Fail("accepted a dense network with loss %u", h->loss);
	for (uint32_t l = 0; l < h->n_layers; l++)
		if (ActName((HnActivation) net->layers[l].activation) == NULL)
			Fail("accepted layer %u with activation %u", l,
				 net->layers[l].activation);
	if (DenseMaxWidth(net) == 0)
		Fail("accepted a dense network without units");
}

/* Equal values, NaN equal to NaN. */
static bool
SameValues(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
			return false;
	return true;
}

/*
 * Inference as run() and run_batch() do it: a folded workspace, the rows
 * in one batch and one by one, which must agree.  Compared as values, not
 * bits: a row alone skips its zero inputs, a batch adds their zero
 * products, so an output that is exactly zero may differ in its sign when
 * a bias and an output shift are -0.
 */
static void
DenseRun(const DenseNet *net, const float *x)
{
	uint32_t	ni = net->hdr->n_inputs;
	uint32_t	no = net->hdr->n_outputs;
	HnError		err;
	DenseWork *w = DenseWorkCreate(net, FUZZ_ROWS, false, &HnMallocAllocator, &err);
	float	   *batch = malloc(sizeof(float) * FUZZ_ROWS * no);
	float	   *one = malloc(sizeof(float) * no);

	if (w == NULL || batch == NULL || one == NULL)
		Fail("no inference workspace: %s", w ? "out of memory" : err.message);
	DenseWorkFold(net, w);
	DensePredict(net, w, x, FUZZ_ROWS, batch);
	for (int r = 0; r < FUZZ_ROWS; r++)
	{
		DensePredict(net, w, x + (size_t) r * ni, 1, one);
		if (!SameValues(one, batch + (size_t) r * no, no))
			Fail("row %d alone gives other outputs than in a batch", r);
	}
	free(one);
	free(batch);
	DenseWorkFree(w, &HnMallocAllocator);
}

/*
 * How a dense fit may fail: diverging, or non-finite values; a network with
 * compact weights (dense/dtype.h) is refused, always.
 */
static bool
DenseFitMayFail(const DenseNet *net, HnStatus code)
{
	if (DenseDtypeOf(net) != DENSE_DTYPE_F32)
		return code == HANAMI_E_UNSUPPORTED;
	return code == HANAMI_E_DIVERGED || code == HANAMI_E_NOT_FINITE ||
		code == HANAMI_E_OUTPUT_NOT_FINITE;
}

/* After a fit that succeeded: a float32 network, valid. */
static void
ExpectFitted(const DenseNet *net, void *copy, size_t len, const char *what)
{
	if (DenseDtypeOf(net) != DENSE_DTYPE_F32)
		Fail("%s trained a network with %s weights", what,
			 DenseDtypeName(DenseDtypeOf(net)));
	ExpectValid(copy, len, what);
}

/* A short fit on a copy, and an evaluation. */
static void
DenseTrain(const void *image, size_t len, const float *x)
{
	DenseNet		net;
	HnError		err;
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev;
	void	   *copy = ImageCopy(image, len);
	float	   *y;
	HnDataset	ds;

	DenseBindTrusted(&net, copy);
	y = MakeTargets(net.hdr->n_outputs);
	ds = (HnDataset) {FUZZ_ROWS, net.hdr->n_inputs, net.hdr->n_outputs, x, y, NULL};

	memset(&ev, 0, sizeof(ev));
	/* huge inputs may overflow inside: that is an error, never NaN results */
	if (TrainEvaluate(&net, &ds, NULL, &HnMallocAllocator, &ev, &err) != HANAMI_OK &&
		err.code != HANAMI_E_OUTPUT_NOT_FINITE)
		Fail("evaluation fails: %s", err.message);

	TrainOptionsDefaults(&opt, HANAMI_OPT_ADAM);
	opt.epochs = 2;
	opt.batch_size = 3;
	opt.seed = 7;
	if (TrainFit(&net, &ds, &opt, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK)
		ExpectFitted(&net, copy, len, "a dense fit");
	else if (!DenseFitMayFail(&net, err.code))
		Fail("a dense fit fails: %s", err.message);

	/* sgd, and a refit of the scaling */
	memcpy(copy, image, len);
	TrainOptionsDefaults(&opt, HANAMI_OPT_SGD);
	opt.rescale = true;
	if (TrainFit(&net, &ds, &opt, NULL, &HnMallocAllocator, &res, &err) == HANAMI_OK)
		ExpectFitted(&net, copy, len, "a dense sgd fit");
	else if (!DenseFitMayFail(&net, err.code))
		Fail("a dense sgd fit fails: %s", err.message);
	free(y);
	ImageFree(copy);
}

static void
DenseAccepted(const DenseNet *net, const void *image, size_t len)
{
	float	   *x = MakeRows(net->hdr->n_inputs);

	DenseInfo(net);
	TextRoundTrip(image, len);
	DenseRun(net, x);
	DenseTrain(image, len, x);
	free(x);
}

/* ------------------------------------------------------------------- grow */

/* What info() and the text form read from a growing network. */
static void
HkInfo(const HkNet *net, size_t len)
{
	HkStats st;

	HkGetStats(net, &st);
	if (st.bytes != len || st.cells != net->gh->n_cells ||
		st.synapses != net->gh->n_synapses)
		Fail("the sizes of an accepted growing image do not add up");
	for (uint32_t c = 0; c < net->gh->n_cells; c++)
	{
		const HkCell *cell = &net->cells[c];

		if (HkCellTypeName(cell->type) == NULL)
			Fail("accepted cell %u of type %u", c, cell->type);
		if (cell->axon != HK_NO_AXON && cell->axon >= net->gh->n_cells)
			Fail("accepted cell %u with axon %u", c, cell->axon);
	}
}

/*
 * Inference on a copy, as run(net, x, reset) does it: the spiking state
 * carries from row to row and must leave a valid value; then reset_state.
 */
static void
HkRun(const void *image, size_t len, const float *x)
{
	void	   *copy = ImageCopy(image, len);
	HkNet	net;
	HkWork *w;
	HnError		err;
	float	   *out;

	HkBindTrusted(&net, copy);
	w = HkWorkCreate(&net, false, &HnMallocAllocator, &err);
	out = malloc(sizeof(float) * (net.hdr->n_outputs ? net.hdr->n_outputs : 1));
	if (w == NULL || out == NULL)
		Fail("no inference workspace: %s", w ? "out of memory" : err.message);
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < FUZZ_ROWS; r++)
			HkPredict(&net, w, x + (size_t) r * net.hdr->n_inputs, out);
	ExpectValid(copy, len, "inference that carries the spiking state");
	HkResetState(&net);
	ExpectValid(copy, len, "reset_state");
	HkWorkFree(w, &HnMallocAllocator);
	free(out);
	ImageFree(copy);
}

/* A short fit with growth, an evaluation and a reduction pass. */
static void
HkTrain(const void *image, size_t len, const float *x)
{
	HkNet	net;
	HnNet		hn;
	HnRows		rows;
	HnTrainOptions opt;
	HkTrainOptions hk;
	HnTrainResult res;
	HnEvalResult ev;
	HnError		err;
	HnDataset	ds;
	float	   *y;
	void	   *fit;
	void	   *copy = ImageCopy(image, len);

	NetBindTrusted(&hn, copy);
	y = MakeTargets(hn.hdr->n_outputs);
	ds = (HnDataset) {FUZZ_ROWS, hn.hdr->n_inputs, hn.hdr->n_outputs, x, y, NULL};
	rows = (HnRows) {&ds, NULL, 0, NULL};

	memset(&ev, 0, sizeof(ev));
	if (HnEvaluate(&hn, &rows, NULL, &HnMallocAllocator, &ev, &err) != HANAMI_OK &&
		err.code != HANAMI_E_OUTPUT_NOT_FINITE)
		Fail("evaluation fails: %s", err.message);

	/* a fit may move the image to a larger buffer from the allocator */
	fit = malloc(len);
	if (fit == NULL)
		Fail("out of memory for a copy of %zu bytes", len);
	memcpy(fit, image, len);
	NetBindTrusted(&hn, fit);
	HkTrainOptionsDefaults(&opt, &hk, HkOf(&hn));
	opt.epochs = 2;
	opt.seed = 5;
	hk.reduction = true;
	if (HnFit(&hn, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res,
			  &err) == HANAMI_OK)
	{
		void	   *check = ImageCopy(hn.hdr, hn.len);

		ExpectValid(check, hn.len, "a growing fit");
		ImageFree(check);
	}
	else if (err.code != HANAMI_E_DIVERGED && err.code != HANAMI_E_NOT_FINITE &&
			 err.code != HANAMI_E_TOO_LARGE && err.code != HANAMI_E_OUTPUT_NOT_FINITE)
		Fail("a growing fit fails: %s", err.message);
	free(hn.hdr);

	memcpy(copy, image, len);
	HkBindTrusted(&net, copy);
	HkReduce(&net);
	ExpectValid(copy, len, "a reduction pass");
	free(y);
	ImageFree(copy);
}

static void
HkAccepted(void *image, size_t len)
{
	HkNet	net;
	float	   *x;

	HkBindTrusted(&net, image);
	x = MakeRows(net.hdr->n_inputs);
	HkInfo(&net, len);
	TextRoundTrip(image, len);
	HkRun(image, len, x);
	HkTrain(image, len, x);
	free(x);
}

/* ------------------------------------------------------------------ graph */

/*
 * A graph: its text form, inference on the rows through the kind, an
 * evaluation, and a short fit (targets as values, so any outputs take
 * them unless a softmax layer refuses them) that must leave a valid image.
 */
static void
GraphAccepted(void *image, size_t len)
{
	void	   *copy = ImageCopy(image, len);
	HnNet		net;
	HnRows		rows;
	HnDataset	ds;
	HnTrainOptions opt;
	HnTrainResult res;
	HnEvalResult ev;
	HnError		err;
	float	   *x;
	float	   *y;
	float	   *out;
	void	   *work;

	NetBindTrusted(&net, copy);
	x = MakeRows(net.hdr->n_inputs);
	y = MakeTargets(net.hdr->n_outputs);
	out = malloc(sizeof(float) * FUZZ_ROWS * net.hdr->n_outputs);
	TextRoundTrip(image, len);
	work = net.kind->work_create(&net, 2, &HnMallocAllocator, &err);
	if (work == NULL || out == NULL)
		Fail("no inference workspace: %s", work ? "out of memory" : err.message);
	net.kind->predict(&net, work, x, FUZZ_ROWS, out);
	net.kind->work_free(work, &HnMallocAllocator);
	ds = (HnDataset) {FUZZ_ROWS, net.hdr->n_inputs, net.hdr->n_outputs, x, y, NULL};
	rows = (HnRows) {&ds, NULL, 0, NULL};
	memset(&ev, 0, sizeof(ev));
	if (HnEvaluate(&net, &rows, NULL, &HnMallocAllocator, &ev, &err) != HANAMI_OK &&
		err.code != HANAMI_E_OUTPUT_NOT_FINITE && err.code != HANAMI_E_INVALID_ARGUMENT)
		Fail("a graph evaluation fails: %s", err.message);
	if (GraphOptions(&net, NULL, &HnMallocAllocator, &opt, &err) != HANAMI_OK)
		Fail("graph options fail: %s", err.message);
	opt.epochs = 2;
	opt.batch_size = 3;
	if (HnFit(&net, &rows, &opt, NULL, NULL, &HnMallocAllocator, &res,
			  &err) == HANAMI_OK)
		ExpectValid(copy, len, "a graph fit");
	else if (err.code != HANAMI_E_DIVERGED && err.code != HANAMI_E_NOT_FINITE &&
			 err.code != HANAMI_E_INVALID_ARGUMENT &&
			 err.code != HANAMI_E_OUTPUT_NOT_FINITE)
		Fail("a graph fit fails: %s", err.message);
	free(x);
	free(y);
	free(out);
	ImageFree(copy);
}

/* ------------------------------------------------------------------ entry */

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void	   *image;
	HnNet		net;
	HnError		err;
	HnStatus	st;

	/* larger than any image the fuzzer makes; keeps each run short */
	if (size > (1 << 20))
		return 0;
	image = ImageCopy(data, size);
	st = NetBind(&net, image, size, &err);
	if (size > 0 && memcmp(image, data, size) != 0)
		Fail("validation wrote to the image");
	if (st != HANAMI_OK)
	{
		if (st != HANAMI_E_INVALID_FORMAT)
			Fail("a malformed image is rejected with status %d: %s",
				 (int) st, err.message);
		if (err.message[0] < 'a' || err.message[0] > 'z')
			Fail("rejection without a proper message: \"%s\"", err.message);
		ImageFree(image);
		return 0;
	}
	if (net.hdr != image || net.len != size ||
		net.kind != HnKindById(net.hdr->kind))
		Fail("NetBind accepted an image without binding it");
	if (DenseOf(&net) != NULL)
		DenseAccepted(DenseOf(&net), image, size);
	else if (HkOf(&net) != NULL)
		HkAccepted(image, size);
	else if (GraphOf(&net) != NULL)
		GraphAccepted(image, size);
	else
		Fail("accepted an image of kind %u", net.hdr->kind);
	ImageFree(image);
	return 0;
}
