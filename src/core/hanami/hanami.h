/*
 * hanami/hanami.h - the growing "hanami" network kind (HANAMI_KIND_HANAMI): its binary
 * layout, its description, and the engine entry points.
 *
 * A growing network is a grid of cells (hexagons, optionally stacked in z).
 * Input cells hold one neuron per input value, output cells one per output,
 * hidden cells a fixed number of neurons.  A neuron that fires sends its
 * potential down a *section*: a chain of synapses that all end in one target
 * cell.  Each synapse has a weight, a target neuron and a *border*; the
 * potential is spent border by border, so synapse i contributes
 *
 *     weight_i * clamp((x - border_0 - ... - border_(i-1)) / border_i, 0, 1)
 *
 * to its target: a piecewise linear response of the target to the source,
 * saturating at the sum of the weights however large the value.  While
 * training, a potential that runs past the last synapse grows new ones
 * (borders of one grain near zero, then growing with the potential already
 * covered, so any magnitude needs logarithmically many), a synapse the
 * potential ends near the middle of splits in two (the second half to a new
 * target), and a section whose 64 synapses are used continues in a new
 * section.  Hidden neurons compute log2(1 + max(0, m)) of their summed input
 * m plus a learned bias.  Learning is backpropagation through the synapses
 * a row walked (the training step traces them), with the secant slope of a walked
 * section as its gradient; each synapse counts the rows it helped in, and
 * the reduction pass (hanami/reduce.c) removes those that did not help.
 *
 * Sections from a hidden neuron into an output cell are *parallel* (OpenHanami's
 * output connections): every synapse gets the whole potential x and adds
 * weight * x; they are made with one synapse per output neuron, border 1.
 * Output neurons compute a sigmoid of their summed input plus a bias.
 *
 * Image (little-endian, 4-byte packed like dense/format.h):
 *
 *   HnHeader             72 bytes: kind = HANAMI_KIND_HANAMI, n_layers = cells,
 *                        loss = cross_entropy, n_params = live synapses +
 *                        hidden and output neurons (their biases)
 *   HkHeader         320 bytes: settings, counts, growth history
 *   HkCell[n_cells]  64 bytes each, in description order
 *   HkNeuron[n]      24 bytes each; cell c owns neurons
 *                        first_neuron .. first_neuron + n_neurons - 1
 *   HkBlock[blocks]  800 bytes each: one section (32-byte header and
 *                        64 synapses of 12 bytes)
 *
 * Blocks only ever grow at the end: growing a network appends blocks and
 * leaves the bytes of the earlier ones where they were, so a store that keeps
 * blocks by content shares the unchanged ones between versions.  A section's
 * continuation always has a larger block index than the section itself, so
 * chains cannot loop.
 *
 * Spiking state (each neuron's carried potential and refractory counter)
 * lives in the neuron records, so a value (and a stored commit) can carry a
 * state: HkPredict reads and updates it, so the glue's run(net, x, reset)
 * carries it from row to row of one query in its per-call copy (the pure
 * run() restores the value's state before every call); a fit clears it at
 * the start of every epoch and returns the network with a cleared state;
 * HkResetState clears it (hanami.reset_state, run(net, x, reset)).
 */
#ifndef HANAMI_CORE_GROW_H
#define HANAMI_CORE_GROW_H

#include "core/common.h"
#include "core/image.h"
#include "core/kind.h"
#include "core/train.h"

#define HK_SYNAPSES		64	/* synapses in one block (section) */
#define HK_MAX_CELLS		256
#define HK_MAX_CELL_NEURONS 65535	/* a synapse target is 16 bits */
#define HK_MAX_NEURONS		(1 << 22)
#define HK_MAX_DISTANCE	16
#define HK_MAX_COORD		1000	/* cell coordinates: -1000..1000 */
#define HK_MAX_REFRACTORY	255
#define HK_HISTORY			16	/* epochs kept in the growth history */
#define HK_COUNTER_CAP		100	/* helped this often: persistent */
#define HK_NONE			0xFFFFFFFFu	/* no section */
#define HK_GAP				0xFFFF	/* synapse target of a removed synapse */
#define HK_NO_AXON			0xFFFF
#define HK_DEFAULT_NEURONS 256
#define HK_DEFAULT_MAX_BLOCKS 65536
#define HK_GRAIN			8	/* a section's grain: its first
											 * potential / 8 */

/* Cell types (stored). */
typedef enum HkCellType
{
	HK_CELL_HIDDEN = 0,
	HK_CELL_INPUT = 1,
	HK_CELL_OUTPUT = 2
} HkCellType;

/* HkHeader.flags */
#define HK_SPIKING		0x0001	/* potentials carry between inputs */
#define HK_REDUCTION	0x0002	/* reduction pass after every epoch */
#define HK_GROUPED		0x0004	/* blocks come in the order of their
								 * source's cell (HkGroup): each cell's
								 * sections are one run, so the image can be
								 * paged cell by cell */
#define HK_FLAGS_ALL	0x0007

/* Code the whole and the paged walk share, kept out of line. */
#define HK_NOINLINE __attribute__((noinline))

/* HkBlock.flags */
#define HK_SECTION_NEGATIVE 0x01	/* fed by the negative part of an input */
#define HK_SECTION_CONTINUATION 0x02	/* continues another section:
											 * lower = its lower + its range,
											 * or its lower when both are
											 * parallel */
#define HK_SECTION_PARALLEL 0x04	/* hidden -> output: weight * x each */
#define HK_SECTION_FLAGS_ALL 0x07

#pragma pack(push, 4)

/* Sizes after one epoch, for the growth history. */
typedef struct HkEpoch
{
	uint32_t	epoch;			/* header epochs at the end of that epoch */
	uint32_t	sections;		/* blocks holding at least one synapse */
	uint32_t	synapses;		/* live synapses */
	uint32_t	blocks;
} HkEpoch;

typedef struct HkHeader
{
	uint32_t	grow_size;		/* sizeof(HkHeader) */
	uint32_t	block_synapses; /* HK_SYNAPSES */
	uint32_t	n_cells;		/* == HnHeader.n_layers */
	uint32_t	n_neurons;
	uint32_t	n_blocks;		/* blocks in the image */
	uint32_t	max_blocks;		/* growth stops here */
	uint32_t	flags;			/* HK_* */
	uint32_t	max_distance;	/* max_connection_distance, 1..16 */
	float		cooldown;		/* spiking: carried potential is divided by
								 * this every input (> 1); 0 when not spiking */
	uint32_t	refractory;		/* inputs a neuron ignores after taking one,
								 * plus one: 1..255 */
	uint32_t	reduction_threshold;	/* reduction keeps synapses that helped
										 * at least this often since the last
										 * pass, 1..100 */
	uint32_t	n_synapses;		/* live synapses */
	uint32_t	n_history;		/* entries used in history */
	uint32_t	reserved[3];	/* zero */
	HkEpoch history[HK_HISTORY];	/* oldest first */
} HkHeader;

typedef struct HkCell
{
	int16_t		x;				/* axial hexagon coordinates, and a layer */
	int16_t		y;
	int16_t		z;
	uint8_t		type;			/* HkCellType */
	uint8_t		reserved8;		/* zero */
	uint32_t	first_neuron;
	uint32_t	n_neurons;		/* 1..65535 */
	uint32_t	io_offset;		/* first input or output index; 0 for hidden */
	uint16_t	axon;			/* cell its sections grow around, or NO_AXON */
	uint16_t	depth;			/* hops from the nearest input cell */
	uint32_t	reserved[2];	/* zero */
	char		name[HANAMI_NAME_LEN];	/* NUL-terminated, NUL-padded */
} HkCell;

typedef struct HkNeuron
{
	uint32_t	section;		/* first section, or HK_NONE */
	uint32_t	section_neg;	/* inputs: first section of negative values */
	float		bias;			/* hidden and output neurons; 0 for inputs */
	float		potential;		/* spiking: carried potential */
	uint16_t	refractory;		/* spiking: inputs still to ignore */
	uint16_t	reserved16;		/* zero */
	uint32_t	reserved;		/* zero */
} HkNeuron;

typedef struct HkSynapse
{
	float		weight;
	float		border;			/* > 0 */
	uint16_t	target;			/* neuron within the target cell, or GAP */
	uint8_t		counter;		/* times it helped, up to COUNTER_CAP */
	uint8_t		reserved;		/* zero */
} HkSynapse;

typedef struct HkBlock
{
	uint32_t	source;			/* neuron index */
	uint32_t	next;			/* continuation (larger index), or NONE */
	float		lower;			/* potential where this section starts */
	float		range;			/* potential it covers; FLT_MAX: open end
								 * (always, for parallel sections) */
	uint16_t	target_cell;
	uint8_t		n_used;			/* synapses in use, 0..64 */
	uint8_t		flags;			/* HK_SECTION_* */
	float		grain;			/* smallest border of new synapses: the
								 * potential that opened the chain /
								 * HK_GRAIN */
	uint32_t	reserved[2];	/* zero */
	HkSynapse syn[HK_SYNAPSES];	/* unused ones are zero */
} HkBlock;

#pragma pack(pop)

/* A growing network bound to its image. */
typedef struct HkNet
{
	HnHeader   *hdr;
	HkHeader *gh;
	HkCell *cells;
	HkNeuron *neurons;
	HkBlock *blocks;
} HkNet;

/* A cell of a description. */
typedef struct HkCellSpec
{
	int16_t		x;
	int16_t		y;
	int16_t		z;
	HkCellType type;
	uint32_t	count;			/* neurons; 0 = the default for hidden cells */
	int			axon;			/* index of the axon's target cell, or -1 */
	char		name[HANAMI_NAME_LEN];
} HkCellSpec;

/* A description of a growing network, before the image exists. */
typedef struct HkSpec
{
	int			n_cells;
	HkCellSpec cells[HK_MAX_CELLS];
	uint32_t	max_distance;	/* 0: default 1 */
	uint32_t	neurons;		/* default hidden cell size; 0: 256 */
	double		cooldown;		/* 0: not spiking; else > 1 */
	uint32_t	refractory;		/* 0: default 1 */
	bool		reduction;
	uint32_t	reduction_threshold;	/* 0: default 1 */
	uint32_t	max_blocks;		/* 0: default */
	uint32_t	seed;
} HkSpec;

/* Sizes of a network, for info() and the reduction report. */
typedef struct HkStats
{
	uint32_t	cells;
	uint32_t	neurons;
	uint32_t	sections;		/* blocks with at least one live synapse */
	uint64_t	synapses;
	uint32_t	blocks;
	uint64_t	bytes;			/* the image */
} HkStats;

/* hanami/image.c: descriptions, images and validation */

/*
 * Resolve defaults and check a description: 2..256 cells, at least one input
 * and one output cell, distinct positions, counts in range, the axon
 * targets, and that every cell can be reached from an input and every
 * non-output cell has a cell to grow into.
 */
HnStatus	HkSpecFinalize(HkSpec *spec, HnError *err);

/* Bytes of an image with n_blocks blocks; 0 with err set when too large. */
size_t		HkImageSize(uint32_t n_cells, uint32_t n_neurons,
						  uint32_t n_blocks, HnError *err);

/* Neurons of a finalized spec. */
uint32_t	HkSpecNeurons(const HkSpec *spec);

/* Bytes of the fresh image of a finalized spec (no blocks yet). */
size_t		HkSpecImageSize(const HkSpec *spec, HnError *err);

/*
 * Write the fresh image of a finalized spec into buf (exactly
 * HkSpecImageSize bytes), with n_blocks zeroed blocks appended (0 for a
 * new network; the text form passes the count it carries).
 */
HnStatus	HkCreate(void *buf, size_t len, const HkSpec *spec,
					   uint32_t n_blocks, HnError *err);

/*
 * Validate an image of kind HANAMI_KIND_HANAMI whose common header fields
 * (magic, version, kind) NetBind has checked, and bind net to it.  Checks
 * every size, offset, index, chain and float; never reads outside len.
 */
HnStatus	HkBind(HkNet *net, void *buf, size_t len, HnError *err);

/* Bind without validation: for images this process built or checked. */
void		HkBindTrusted(HkNet *net, void *buf);

/* Recount live synapses and parameters into the headers. */
void		HkRecount(HkNet *net);

/* Sizes of a bound network. */
void		HkGetStats(const HkNet *net, HkStats *stats);

/* Hexagon distance between two cells (axial x, y; layers in z). */
int			HkCellDistance(const HkCell *a, const HkCell *b);

/* Name of a cell type ("input", "hidden", "output"). */
const char *HkCellTypeName(int type);

/* hanami/predict.c: inference */

/*
 * Scratch for one input row at a time: neuron values, summed inputs and,
 * when training, deltas and the active-neuron lists.  Allocated once per
 * call site or fit, never per row.
 */
typedef struct HkWork
{
	uint32_t	n_neurons;
	uint32_t	n_cells;
	uint16_t   *order;			/* cells by depth, then index */
	float	   *value;			/* potential sent down the sections */
	float	   *sum;			/* summed input of this row */
	float	   *pre;			/* pre-activation (hidden), for gradients */
	float	   *delta;			/* training: dLoss/dsum */
	uint8_t    *took;			/* spiking: the neuron took this input */
	uint32_t   *active;			/* training: active neurons, by cell */
	uint32_t   *n_active;		/* per cell (indexed by cell) */
	/* paged inference (HkWorkCreatePaged): */
	uint32_t	batch;			/* rows per chunk */
	float	   *bsum;			/* batch * n_neurons summed inputs */
	int32_t    *group_seg;		/* per cell: its segment, 0: no sections */
	uint32_t   *group_lo;		/* per cell: its blocks lo .. hi - 1 */
	uint32_t   *group_hi;
} HkWork;

HkWork *HkWorkCreate(const HkNet *net, bool training,
						   const HnAllocator *alloc, HnError *err);
void		HkWorkFree(HkWork *work, const HnAllocator *alloc);

/*
 * Scratch for paged inference on a head (HkBindHead): rows in chunks of up
 * to max_batch (fewer when their sums would take more than 16 MB), and
 * each cell's group of blocks.
 */
HkWork *HkWorkCreatePaged(const HkNet *head, int max_batch,
						  const HnAllocator *alloc, HnError *err);

/*
 * One input row (n_inputs raw values, any magnitude) through the network;
 * the n_outputs sigmoid outputs go to out.  With a spiking network the
 * neurons' carried state in the image is read and updated, so consecutive
 * calls on the same image form a sequence; otherwise the image is only read.
 */
void		HkPredict(HkNet *net, HkWork *work, const float *x,
						float *out);

/*
 * Paged inference.  An image is *grouped* (HK_GROUPED) when its blocks come
 * in the order of their source's cell: then the sections of each cell are
 * one run of blocks, a segment of the store of its own (the kind's
 * segments), and the head - headers, cells and neurons, with the spiking
 * state - is all a walk needs besides them.  The groups follow from the
 * head: a cell's group starts at the smallest first section of its neurons.
 *
 * HkPredictPaged runs n rows like HkPredict on a head bound by HkBindHead
 * (blocks NULL) with a work from HkWorkCreatePaged, fetching the group of
 * each cell it walks once per chunk of the work's rows, in the order of
 * HkPredict, and validating it (HkCheckSegment): the outputs are
 * HkPredict's bits on the whole image.  A failed fetch or a malformed
 * group is an error status.
 */
HnStatus	HkBindHead(HkNet *net, void *buf, size_t head_len,
					   size_t image_len, int32_t *seg, uint32_t *lo,
					   uint32_t *hi, HnError *err);
HnStatus	HkGroupRanges(const HkNet *net, int32_t *seg, uint32_t *lo,
						  uint32_t *hi, HnError *err);
HnStatus	HkCheckSegment(const HkNet *head, uint32_t c, const HkBlock *blocks,
						   size_t len, uint32_t lo, uint32_t hi, HnError *err);
HnStatus	HkPredictPaged(HkNet *head, HkWork *work, const struct HnPager *pager,
						   const float *x, int n, float *out, HnError *err);

/* Whether the blocks come in the order of their source's cell. */
bool		HkBlocksGrouped(const HkNet *net);

/*
 * Put the blocks in the order of their source's cell (a stable sort, so
 * each chain keeps its order and every continuation a larger index), fix
 * the neurons' and sections' indices, and set HK_GROUPED; a network
 * without blocks is left as it is.  The function the network computes does
 * not change (a walk follows indices; the order it adds in is the
 * neurons').  False when out of memory: the image is then unchanged.
 */
bool		HkGroup(HkNet *net, const HnAllocator *alloc);

/* Clear the spiking state (carried potentials, refractory counters). */
void		HkResetState(HkNet *net);

/*
 * Walk one section with x (> 0) of potential: add each synapse's
 * contribution to sum[] of the target cell's neurons (base: the target
 * cell's first neuron).  Returns the potential left after the section.
 * Exposed for the unit tests of the border walk.
 */
float		HkWalkSection(const HkBlock *b, float x, float *sum);

/* hanami/train.c and hanami/fit.c: training (the loop is fit.h's HnFit) */

/*
 * The options of a growing network's step (HnTrainOptions.kind_options).
 * The rest of a fit's options are the driver's: epochs, seed (mixed with
 * the network's seed and samples), shuffle, max_iterations (rows),
 * timeout, error_threshold; batches are always one row.
 */
typedef struct HkTrainOptions
{
	float		learning_rate;	/* at the first row */
	float		learning_rate_end;	/* at the last row: the rate falls
									 * linearly over the rows of the fit */
	bool		grow;			/* create sections and synapses */
	bool		reduction;		/* reduction pass after every epoch */
	/*
	 * Frozen cells (to_train/to_skip), bit c of word c / 64: cell c learns
	 * nothing.  The sections ending in it keep their synapses, weights,
	 * borders and counters (no growth, split or reduction touches them), no
	 * new section grows into it, and its neurons keep their biases; the
	 * gradient still passes through it to the cells that learn.  All zero:
	 * every cell learns.
	 */
	uint64_t	frozen[HK_MAX_CELLS / 64];
} HkTrainOptions;

/* Whether a fit's options freeze cell c. */
static inline bool
HkCellFrozen(const HkTrainOptions *hk, uint32_t c)
{
	return ((hk->frozen[c / 64] >> (c % 64)) & 1) != 0;
}

/*
 * Defaults of a fit of net: opt gets 1 epoch, batches of one row, shuffling
 * (not for spiking networks: their rows are a sequence), seed 0, and
 * kind_options = hk; hk gets the learning rate 0.04 falling to 0.004,
 * growth on, and reduction as the network's settings say.
 */
void		HkTrainOptionsDefaults(HnTrainOptions *opt, HkTrainOptions *hk,
								   const HkNet *net);

/* The step options of a fit: opt->kind_options, or the defaults for net. */
void		HkTrainOptionsOf(const HnTrainOptions *opt, const HnNet *net,
							 HkTrainOptions *hk);

/*
 * The stepper of a growing network, and what the kind contributes to fits:
 * online steps that may grow the image (into a new buffer from the fit's
 * allocator), targets in [0, 1] per output (or class indices, one-hot),
 * the summed binary cross-entropy of the sigmoid outputs as the loss.
 */
extern const struct HnStepperOps HkStepper;

/* hanami/options.c: the options of its fits (fit.h HnKindFit.options) */
struct HnJson;
extern const char *const HkOptionKeys[];
HnStatus	HkOptions(const HnNet *net, const struct HnJson *obj,
					  const HnAllocator *alloc, HnTrainOptions *opt,
					  HnError *err);
extern const struct HnKindFit HnHanamiFit;

/*
 * hanami/reshape.c: the kind's reshape (kind.h): cells widened, narrowed,
 * added or removed, keeping the sections that still fit.
 */
struct HnJson;
struct HnBuf;
HnStatus	HkReshape(const HnNet *net, const struct HnJson *spec,
					  const HnAllocator *alloc, void **image, size_t *len,
					  struct HnBuf *changes, HnError *err);

/* hanami/reduce.c: the reduction pass */

/*
 * Remove every synapse that helped fewer than reduction_threshold times since
 * the last pass (persistent ones, whose counter reached the cap, stay), then
 * start the counters of the survivors over.  A removed synapse leaves its
 * border as a gap, so the others keep their ranges; neighbouring gaps merge
 * and trailing ones go.  Returns the number of synapses removed.
 */
uint64_t	HkReduce(HkNet *net);

/*
 * The same, leaving alone the sections that end in a cell frozen by
 * hk (HkTrainOptions.frozen; NULL: none): their synapses and counters stay.
 */
uint64_t	HkReduceFrozen(HkNet *net, const HkTrainOptions *hk);

#endif							/* HANAMI_CORE_GROW_H */
