/*
 * ocl.h - the OpenCL backend of the dense engine: finding platforms and
 * devices, per-device programs built from the kernel sources in kernels/
 * (embedded at build time), device sessions that own every buffer of one
 * call, dense forward/backward/update on a device, batched prediction, and
 * a whole fit on a device.
 *
 * Plain C with no PostgreSQL headers (like src/core): the glue in
 * src/pg/device.c turns OclError into SQL errors and ties a session's
 * release to a memory context.  CL types stay inside src/opencl.
 *
 * Nothing here runs until a caller asks: the first call that needs OpenCL
 * loads the platforms and builds the program for one device, then keeps it
 * for the life of the process.  Calls that may start threads (platform and
 * device set-up, context and program creation) and every enqueue run with
 * all asynchronous signals blocked, so driver threads inherit a mask that
 * keeps the host's signals on the calling thread.  Callbacks (interrupts,
 * progress) are always called with the caller's signal mask.
 */
#ifndef HANAMI_OPENCL_OCL_H
#define HANAMI_OPENCL_OCL_H

#include "core/common.h"
#include "core/dense/format.h"
#include "core/kind.h"
#include "core/optim.h"
#include "core/train.h"

#define OCL_MAX_PLATFORMS	8
#define OCL_MAX_DEVICES		32
#define OCL_NAME_LEN		128

/* An error from the OpenCL layer. */
typedef struct OclError
{
	HnError		base;			/* message (lowercase), detail; base.code */
	int			cl_status;		/* the CL error code of a failed call, or 0 */
	char		call[64];		/* the failed call, e.g. "clBuildProgram", or "" */
	bool		no_device;		/* no platform or no device matched */
} OclError;

/* One platform as clGetPlatformInfo describes it. */
typedef struct OclPlatformInfo
{
	char		name[OCL_NAME_LEN];
	char		vendor[OCL_NAME_LEN];
	char		version[OCL_NAME_LEN];
	int			n_devices;
} OclPlatformInfo;

/* One device as clGetDeviceInfo describes it. */
typedef struct OclDeviceInfo
{
	int			platform_index;
	int			device_index;	/* within its platform */
	char		platform[OCL_NAME_LEN];
	char		name[OCL_NAME_LEN];
	char		vendor[OCL_NAME_LEN];
	char		version[OCL_NAME_LEN];
	char		driver[OCL_NAME_LEN];
	const char *type;			/* "cpu", "gpu", "accelerator" or "other" */
	bool		is_gpu;			/* a GPU or an accelerator */
	uint64_t	global_memory;	/* bytes */
	uint64_t	max_alloc;		/* largest single buffer, bytes */
	uint64_t	local_memory;	/* bytes per work-group */
	uint32_t	compute_units;
	uint32_t	max_clock_mhz;
	size_t		max_work_group;
} OclDeviceInfo;

/*
 * Enumerate platforms and devices (cached after the first call in a
 * process).  Fills up to OCL_MAX_PLATFORMS platforms and OCL_MAX_DEVICES
 * devices; pointers may be NULL to get only counts.  Having no platform is
 * not an error: the counts are 0 and err->no_device is set with a message.
 */
HnStatus	OclEnumerate(const OclPlatformInfo **platforms, int *n_platforms,
						 const OclDeviceInfo **devices, int *n_devices,
						 OclError *err);

typedef struct OclDevice OclDevice;

/*
 * The device a selector names, ready to run (context, queue, program and
 * kernels built on first use, then cached per device).  Selector: NULL or
 * "" picks the first GPU, else the first accelerator, else the first device;
 * "P:D" picks device D of platform P (0-based); any other text picks the
 * first device whose platform, vendor or device name contains it (case
 * insensitive).
 */
OclDevice  *OclGetDevice(const char *selector, OclError *err);

/* Which device OclGetDevice would pick, without building anything; NULL
 * with err set when none matches. */
const OclDeviceInfo *OclFindDevice(const char *selector, OclError *err);

const OclDeviceInfo *OclDeviceGetInfo(const OclDevice *dev);

/* Process-wide counters: device buffers alive now, programs built. */
int64_t		OclLiveBuffers(void);
int			OclProgramsBuilt(void);

/*
 * A session owns the device buffers of one call.  OclSessionRelease finishes
 * the queue and releases them all; it never fails, is idempotent, and is
 * what an error or cancel path calls (the glue runs it from a memory
 * context reset callback).
 */
typedef struct OclSession OclSession;

OclSession *OclSessionCreate(OclDevice *dev, const HnAllocator *alloc,
							 OclError *err);
void		OclSessionRelease(OclSession *s);
void		OclSessionFree(OclSession *s, const HnAllocator *alloc);
int			OclSessionBuffers(const OclSession *s);

/*
 * A dense network's parameters and the buffers for batches of up to
 * max_batch rows on one device.  With optim (training) it also holds the
 * gradient and the optimizer's moments.  Every function is the device twin
 * of an engine function; outputs are read back only where a pointer is
 * given.
 */
typedef struct OclDense OclDense;

OclDense   *OclDenseCreate(OclSession *s, const DenseNet *net, int max_batch,
						   const HnOptimConfig *optim,
						   const HnAllocator *alloc, OclError *err);

/* DenseForward: scale and forward n raw input rows; y gets the outputs
 * (n * n_outputs, network space) when not NULL. */
HnStatus	OclDenseForward(OclDense *d, const float *x, int n, float *y,
							OclError *err);

/* DenseBackward after OclDenseForward of the same n rows: targets t in
 * network space; *loss_sum gets the rows' summed loss, grad (n_params
 * floats, only train_mask layers meaningful) the gradient when not NULL. */
HnStatus	OclDenseBackward(OclDense *d, const float *t, int n,
							 uint64_t train_mask, double *loss_sum,
							 float *grad, OclError *err);

/* OptimStep on the gradient of the last OclDenseBackward. */
HnStatus	OclDenseOptimStep(OclDense *d, uint64_t train_mask, OclError *err);

/* Copy the device's parameters into params (n_params floats). */
HnStatus	OclDenseReadParams(OclDense *d, float *params, OclError *err);

/*
 * DensePredict over n rows in chunks of max_batch, one upload and one
 * download per chunk: out (n * n_outputs, output scaling applied) and cls
 * (n classes, HnOutputClass's rule; -1 for a row with an output that is NaN
 * or infinite) when not NULL.
 */
HnStatus	OclDensePredict(OclDense *d, const float *x, int64_t n, float *out,
							int32_t *cls, OclError *err);

/*
 * Batched inference of a network of any kind the backend can run: a dense
 * network (HANAMI_CAP_LAYERED, OclDense) or a growing network whose rows
 * are independent (HANAMI_CAP_SECTIONS and not spiking; ocl_grow.c, one
 * work-item per row).  The network is uploaded once, at create.
 */
typedef struct OclPredictor OclPredictor;

/*
 * Whether OclPredictorCreate can run net; when not, why gets a sentence
 * for a message ("..." without a final period).
 */
bool		OclCanPredict(const HnNet *net, char *why, size_t why_len);

OclPredictor *OclPredictorCreate(OclSession *s, const HnNet *net,
								 int max_batch, const HnAllocator *alloc,
								 OclError *err);

/*
 * n rows in chunks of max_batch: out (n * n_outputs, in the network's
 * units) and cls (HnOutputClass's rule; -1 for a row with an output that
 * is NaN or infinite) when not NULL.
 */
HnStatus	OclPredictorRun(OclPredictor *p, const float *x, int64_t n,
							float *out, int32_t *cls, OclError *err);

/*
 * TrainFit on a device: the fit driver (core/fit.h HnFit) with the OpenCL
 * stepper, so the same checks, validation split, shuffling, scaling, stop
 * conditions, counters and callbacks as on the CPU.  The rows are uploaded
 * once and the weights stay on the device, coming back for validation and
 * at the end.  cb->interrupt is called before every batch with at most a
 * few batches in flight, so a cancel waits for little device work.
 * Buffers belong to s.
 */
HnStatus	OclTrainFit(OclSession *s, DenseNet *net, const HnDataset *data,
						const HnTrainOptions *opt, const HnCallbacks *cb,
						const HnAllocator *alloc, HnTrainResult *res,
						OclError *err);

/*
 * "device": "auto" looks for a device only when a batch costs at least this
 * many multiply-adds (rows times parameters, forward): below it, the
 * launches and transfers of a batch cost more than the CPU engine's work.
 */
#define OCL_AUTO_WORK		((int64_t) 8 * 1024 * 1024)

/*
 * Whether "device": "auto" may run net on a device (is_gpu: a GPU or an
 * accelerator; a CPU device such as PoCL never, the CPU engine is faster on
 * the same cores), for training (train) or inference, batch rows at a time:
 * dense networks only, batch * parameters >= OCL_AUTO_WORK, and for
 * training never a network the backend refuses to train (compact weights,
 * training for pow2: dense/dtype.h), which trains on the CPU.
 */
bool		OclAutoPicks(const HnNet *net, bool train, int64_t batch,
						 bool is_gpu);

/* The kernels' OpenCL C source (kernels/, embedded at build time). */
extern const char OclKernelSource[];

#endif							/* HANAMI_OPENCL_OCL_H */
