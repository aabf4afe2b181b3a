/*
 * kind.h - the network-kind interface: one table of operations per kind,
 * found once from the image header, and the registry of every kind.
 *
 * A kind (dense/, hanami/) owns its binary layout behind the common header
 * (image.h), its JSON description, inference, training step and storage
 * layout.  Everything outside a kind's folder - the fit driver, the
 * evaluator, the PostgreSQL glue, the OpenCL backend - holds an HnNet and
 * calls net->kind->...; none of it tests which kind a network is.  Adding a
 * kind is one folder of files that defines an HnKind, and one line in the
 * registry (kind.c).
 */
#ifndef HANAMI_CORE_KIND_H
#define HANAMI_CORE_KIND_H

#include "core/common.h"
#include "core/image.h"

struct HnJson;					/* json.h: a parsed JSON value */
struct HnBuf;					/* json.h: a growing text buffer */
struct HnKindFit;				/* fit.h: a kind's training and evaluation */
struct DenseNet;				/* dense/format.h: layers of units */
struct HkNet;					/* hanami/hanami.h: cells and sections */

/* Room for a kind's bound view of its image (a few pointers). */
#define HANAMI_VIEW_BYTES	80

typedef struct HnKind HnKind;

/*
 * A network image of any kind, validated (or trusted) and bound.  view holds
 * the kind's own pointers into the image (dense/format.h DenseNet, hanami.h
 * HkNet), reached through the kind's accessor (DenseOf, HkOf).  An HnNet
 * may be copied as long as the image does not move; a fit of a kind whose
 * networks grow may move it (net->hdr and net->len then say where it is).
 */
typedef struct HnNet
{
	const HnKind *kind;
	HnHeader   *hdr;			/* the image starts with it */
	size_t		len;			/* bytes of the image */
	union
	{
		void	   *align_ptr;
		double		align_dbl;
		unsigned char bytes[HANAMI_VIEW_BYTES];
	}			view;
} HnNet;

/* What a network's outputs mean. */
typedef enum HnOutputs
{
	HANAMI_OUTPUTS_VALUES = 0,	/* real values (regression) */
	HANAMI_OUTPUTS_CLASSES		/* class scores: the class is the argmax (one
								 * output: 1 when >= 0.5) */
} HnOutputs;

/*
 * Capabilities (HnKind.caps).  Whether the rows of a batch are independent
 * is a question about one network, not its kind: HnRowsIndependent below.
 */
#define HANAMI_CAP_LAYERED				0x0002	/* has a dense layer view
												 * (dense_view): the OpenCL
												 * backend can run it */
#define HANAMI_CAP_SECTIONS			0x0004	/* has a view of cells and
												 * sections (section_view):
												 * the OpenCL backend can run
												 * its inference */

/* Options of a description read from JSON. */
typedef struct HnJsonIn
{
	bool		has_seed;		/* seed overrides the description's */
	uint32_t	seed;
} HnJsonIn;

/* Receives one named byte range of an image (the store's blocks). */
typedef void (*HnSegmentFn) (void *ctx, size_t offset, size_t len,
							 const char *name);

/*
 * Where paged inference gets the segments of an image it does not hold
 * (HnKind.predict_paged): fetch returns the bytes of segment i (numbered
 * from 0 in the order of the kind's segments; 0 is the head, which the
 * caller holds) and sets *len; they stay valid until the next call of
 * fetch.  NULL with err set when the segment cannot be had.
 */
typedef struct HnPager
{
	void	   *ctx;
	const void *(*fetch) (void *ctx, int segment, size_t *len, HnError *err);
} HnPager;

struct HnKind
{
	HnKindId	id;				/* HnHeader.kind */
	const char *name;			/* "dense", "hanami": JSON "kind", messages */
	uint32_t	caps;			/* HANAMI_CAP_* */
	uint16_t	max_version;	/* newest format version its bind reads
								 * (0: HANAMI_FORMAT_VERSION) */

	/*
	 * Image.  bind validates an untrusted image of net->len bytes at
	 * net->hdr whose common header (magic, version, kind) NetBind checked,
	 * reading nothing outside it, and fills net->view.  bind_trusted only
	 * fills the view (images this process built or checked).
	 */
	HnStatus	(*bind) (HnNet *net, HnError *err);
	void		(*bind_trusted) (HnNet *net);

	/*
	 * Description.  from_json reads a description or a whole text form
	 * (root is a JSON object whose "kind" names this kind) into a new image
	 * allocated from alloc.  to_json writes the text form (everything needed
	 * to rebuild the value); info writes a JSON object summarizing the
	 * network for hanami.info().
	 */
	HnStatus	(*from_json) (const struct HnJson *root, const HnJsonIn *in,
							  const HnAllocator *alloc, void **image,
							  size_t *len, HnError *err);
	HnStatus	(*to_json) (const HnNet *net, struct HnBuf *out, HnError *err);
	HnStatus	(*info) (const HnNet *net, struct HnBuf *out, HnError *err);

	/*
	 * Inference.  work_create makes scratch for up to max_batch rows at a
	 * time (never per row); predict runs n <= max_batch rows of n_inputs raw
	 * values into out (n * n_outputs, in the units the network was trained
	 * on).  A kind that carries state between rows (state_size > 0) reads
	 * and updates it in the image.
	 */
	void	   *(*work_create) (const HnNet *net, int max_batch,
								const HnAllocator *alloc, HnError *err);
	void		(*work_free) (void *work, const HnAllocator *alloc);

	/*
	 * Optional (NULL: nothing to do): prepare work for many calls of
	 * predict on a network that no longer changes (dense: fold the input
	 * shift into the first layer; the same bits for a row, alone or in a
	 * batch, as evaluation gets).
	 */
	void		(*work_tune) (const HnNet *net, void *work);
	void		(*predict) (HnNet *net, void *work, const float *x, int n,
							float *out);

	/*
	 * Whether the rows of one predict call never affect each other on this
	 * network (a dense network: always; a growing one: unless it is
	 * spiking, whose carried state goes from row to row).  Then predict
	 * only reads the image, so batched inference may split a batch's rows
	 * across threads, each with its own work, or run them on a device, and
	 * the results are those of the rows run alone.  Otherwise a batch runs
	 * in order on one thread.
	 */
	bool		(*rows_independent) (const HnNet *net);
	/*
	 * What the outputs are; for HANAMI_OUTPUTS_VALUES, why (a sentence for
	 * a message: "The network's output layer is identity (loss mse), so its
	 * outputs are values, not class probabilities.") when why is not NULL.
	 */
	HnOutputs	(*outputs) (const HnNet *net, char *why, size_t why_len);

	/* Carried state: its size in bytes (0: none), save, load, clear. */
	size_t		(*state_size) (const HnNet *net);
	void		(*state_save) (const HnNet *net, void *dst);
	void		(*state_load) (HnNet *net, const void *src);
	void		(*state_reset) (HnNet *net);

	/*
	 * The network as dense layers (dense/format.h), for backends that run
	 * layers of units (OpenCL); NULL for a kind without HANAMI_CAP_LAYERED.
	 */
	struct DenseNet *(*dense_view) (const HnNet *net);

	/*
	 * The network as cells, neurons and sections (hanami/hanami.h), for
	 * backends that walk sections (OpenCL inference); NULL for a kind
	 * without HANAMI_CAP_SECTIONS.
	 */
	const struct HkNet *(*section_view) (const HnNet *net);

	/* Storage: the image as named byte ranges, in order, covering it all. */
	void		(*segments) (const HnNet *net, HnSegmentFn emit, void *ctx);

	/*
	 * Optional (NULL: the kind's architecture cannot be changed): a new
	 * image of the architecture that spec (a JSON object: the kind's own
	 * reshape description) describes, allocated from alloc, keeping what
	 * net learned (dense: dense/reshape.c).  Appends to changes a JSON
	 * object saying what changed (layers kept, widened, added, removed) and
	 * whether the function the network computes was kept.  The same net and
	 * spec always give the same bytes.
	 */
	HnStatus	(*reshape) (const HnNet *net, const struct HnJson *spec,
							const HnAllocator *alloc, void **image,
							size_t *len, struct HnBuf *changes, HnError *err);

	/*
	 * Paged inference, for a network larger than the memory it may hold;
	 * optional (both NULL: the kind's networks only run whole).  bind_head
	 * validates net->len bytes at net->hdr as the head (segment 0) of an
	 * image of image_len bytes, the common header checked (NetBindHead),
	 * and fills the view as far as the head goes: outputs, rows_independent,
	 * state_size and work_create (never work_tune) may then be called on
	 * it.  predict_paged runs n rows like predict, fetching the other
	 * segments through pager as it needs them, each once per max_batch rows
	 * of the work, with the kernels of predict in the same order: the
	 * outputs are the same bits as predict's on the whole image (untuned
	 * work).  A failed fetch or a malformed segment is an error status.
	 */
	HnStatus	(*bind_head) (HnNet *net, size_t image_len, HnError *err);
	HnStatus	(*predict_paged) (HnNet *head, void *work, const HnPager *pager,
								  const float *x, int n, float *out,
								  HnError *err);

	/*
	 * Averaging (hanami.average); optional (both NULL: the kind's networks
	 * are not averaged).  average_check says whether b may be averaged with
	 * a: the same architecture and everything else but the weights and
	 * biases the same (HANAMI_E_INVALID_ARGUMENT naming the first
	 * difference).  parameters gives the image's weights and biases, the
	 * floats an average takes the weighted mean of, and their count, or
	 * NULL when they are not floats (compact weights).
	 */
	HnStatus	(*average_check) (const HnNet *a, const HnNet *b, HnError *err);
	float	   *(*parameters) (const HnNet *net, size_t *n);

	/*
	 * Optional (NULL: the kind's weights have one format): a new image of
	 * net with its weights stored in the format named dtype ("f32",
	 * "pow2", "f16", "u8"), allocated from alloc (dense: dense/dtype.h).
	 */
	HnStatus	(*quantize) (const HnNet *net, const char *dtype,
							 const HnAllocator *alloc, void **image,
							 size_t *len, HnError *err);

	/* Training and evaluation (fit.h); NULL: the kind cannot be trained. */
	const struct HnKindFit *fit;

	/*
	 * Optional (NULL: a row's values have no names): the named groups of
	 * a row's input values (outputs false) or of a prediction's values
	 * (outputs true), in order, side by side: returns how many there are,
	 * and for i below that sets *name and *count (graph: its input and
	 * output layers).  For hanami.run_named (run_named.h).
	 */
	int			(*ports) (const HnNet *net, bool outputs, int i,
						  const char **name, uint32_t *count);
};

/* See HnKind.rows_independent. */
static inline bool
HnRowsIndependent(const HnNet *net)
{
	return net->kind->rows_independent(net);
}

/* The kind with this id or JSON name; NULL when there is none. */
const HnKind *HnKindById(int id);
const HnKind *HnKindByName(const char *name);

/* Name of a kind id ("dense", "hanami"), or NULL when unknown. */
const char *NetKindName(int id);

/* The registered kinds, for messages that list them: "dense", "hanami". */
int			HnKindCount(void);
const HnKind *HnKindAt(int i);

/*
 * Validate an image of len bytes and bind net to it: the single validation
 * path for every way a network enters (text input, binary receive, casts,
 * function arguments).  Checks the common header, finds the kind and runs
 * its bind.  buf must be 4-byte aligned.
 */
HnStatus	NetBind(HnNet *net, void *buf, size_t len, HnError *err);

/*
 * Validate the head (segment 0) of an image of image_len bytes, head_len
 * bytes at buf, and bind net to it for paged inference: the common header,
 * then the kind's bind_head.  HANAMI_E_UNSUPPORTED when the kind cannot
 * page.  buf must be 4-byte aligned.
 */
HnStatus	NetBindHead(HnNet *net, void *buf, size_t head_len,
						size_t image_len, HnError *err);

/* Bind an image this process built or checked (len from its header). */
void		NetBindTrusted(HnNet *net, void *buf);

#endif							/* HANAMI_CORE_KIND_H */
