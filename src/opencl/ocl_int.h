/*
 * ocl_int.h - what the files of src/opencl share and nobody else sees: the
 * CL headers, the cached device record, kernel ids, the session layout,
 * error and signal helpers, and the device-side steps the fit is built of.
 */
#ifndef HANAMI_OPENCL_OCL_INT_H
#define HANAMI_OPENCL_OCL_INT_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <signal.h>

#include "ocl.h"

/* Kernels of the program, in the order of ocl_kernel_names. */
typedef enum OclKernelId
{
	OCL_K_GEMM64 = 0,
	OCL_K_GEMM16,
	OCL_K_COLSUM,
	OCL_K_GATHER_INPUT,
	OCL_K_GATHER_ROWS,
	OCL_K_LOSS_ROWS,
	OCL_K_OUTPUT_SCALE,
	OCL_K_ARGMAX,
	OCL_K_CHECK_FINITE,
	OCL_K_ACT_FORWARD,
	OCL_K_SOFTMAX,
	OCL_K_ACT_BACKWARD,
	OCL_K_SOFTMAX_BACKWARD,
	OCL_K_SGD,
	OCL_K_ADAM,
	OCL_K_GEMM_VEC,
	OCL_K_TRANSPOSE,
	OCL_K_GROW_PREDICT,
	OCL_K_DENSE_COMPACT,
	OCL_K_DENSE_COMPACT_VEC,
	OCL_K_COUNT_
} OclKernelId;

/*
 * Matrix product kernels: tiled through local memory (GPUs, accelerators)
 * or explicit 16-wide vectors per work-item (CPU devices such as PoCL,
 * where the tiled kernel is about 20 times slower).
 */
typedef enum OclGemmKind
{
	OCL_GEMM_AUTO = 0,			/* by device type */
	OCL_GEMM_TILED,
	OCL_GEMM_VECTOR
} OclGemmKind;

/* Force one kind for networks created from now on (tests, benchmarks). */
void		OclSetGemmKind(OclGemmKind kind);

extern const char *const ocl_kernel_names[OCL_K_COUNT_];

/* A device with its context, queue, program and kernels (once ready). */
struct OclDevice
{
	OclDeviceInfo info;
	cl_platform_id platform;
	cl_device_id device;
	bool		ready;
	cl_context	context;
	cl_command_queue queue;
	cl_program	program;
	cl_kernel	kernels[OCL_K_COUNT_];
};

/* Batches that may be queued ahead of the host in a fit. */
#define OCL_IN_FLIGHT		4

/* Buffers one session may own. */
#define OCL_SESSION_MAX_BUFFERS	(2 * HANAMI_MAX_LAYERS + 32)

struct OclSession
{
	OclDevice  *dev;
	int			n_buffers;
	cl_mem		buffers[OCL_SESSION_MAX_BUFFERS];
	int64_t		marks;			/* markers enqueued so far */
	cl_event	ring[OCL_IN_FLIGHT];
};

/* Blocking every asynchronous signal around calls that may start threads. */
void		OclSignalsBlock(sigset_t *old);
void		OclSignalsRestore(const sigset_t *old);

/* Fill err for a failed CL call and return HANAMI_E_INTERNAL. */
HnStatus	OclClError(OclError *err, const char *call, const char *what,
					   cl_int status);
const char *OclStatusName(cl_int status);
void		OclErrorClear(OclError *err);

/* A new buffer of bytes (copied from init when set), owned by s. */
cl_mem		OclBuffer(OclSession *s, size_t bytes, const void *init,
					  const char *what, OclError *err);

/* Enqueue a write or read of bytes at offset. */
HnStatus	OclWrite(OclSession *s, cl_mem buf, size_t offset, size_t bytes,
					 const void *src, bool blocking, OclError *err);
HnStatus	OclRead(OclSession *s, cl_mem buf, size_t offset, size_t bytes,
					void *dst, OclError *err);

/*
 * Set the arguments of a kernel from sig ('m' cl_mem, 'i' int, 'f' double
 * passed as a float) and enqueue it over global[dims] work-items (rounded up
 * to local, or to 64 when local is NULL).
 */
HnStatus	OclRun(OclSession *s, OclKernelId k, int dims, const size_t *global,
				   const size_t *local, OclError *err, const char *sig,...);

/* A 1-D launch over n work-items. */
#define OCL_RUN1(s, k, n, err, ...) \
	OclRun((s), (k), 1, (size_t[1]) {(size_t) (n)}, NULL, (err), __VA_ARGS__)

/* Enqueue a marker; wait until at most OCL_IN_FLIGHT are pending. */
HnStatus	OclThrottle(OclSession *s, OclError *err);
HnStatus	OclFinish(OclSession *s, OclError *err);

/* The dense network on a device (ocl_dense.c). */
struct OclDense
{
	OclSession *s;
	int			n_layers;
	uint32_t	counts[HANAMI_MAX_LAYERS];
	int			acts[HANAMI_MAX_LAYERS];
	size_t		offsets[HANAMI_MAX_LAYERS];	/* param_offset per layer */
	int			dtype;			/* DenseDtype of params as stored */
	int			q_zero[HANAMI_MAX_LAYERS];	/* DenseQuant per layer */
	float		q_scale[HANAMI_MAX_LAYERS];
	size_t		bias_offsets[HANAMI_MAX_LAYERS];	/* compact: in floats */
	int			loss;
	uint32_t	n_in;
	uint32_t	n_out;
	size_t		n_params;		/* compact: 4-byte words of params */
	int			max_batch;
	bool		training;
	HnOptimConfig optim;
	int64_t		step;
	cl_mem		params;
	cl_mem		in_shift;
	cl_mem		in_mul;
	float		in_clip;		/* DenseInputClip: 0 when not clipped */
	cl_mem		out_shift;
	cl_mem		out_mul;
	cl_mem		a[HANAMI_MAX_LAYERS];
	cl_mem		z[HANAMI_MAX_LAYERS];
	cl_mem		g[2];
	cl_mem		raw;			/* raw input rows of a batch */
	cl_mem		t;				/* targets of a batch */
	cl_mem		out;			/* scaled outputs of a batch */
	cl_mem		cls;			/* classes of a batch */
	cl_mem		row_loss;		/* losses of a batch's rows */
	cl_mem		flag;			/* one int */
	cl_mem		grad;
	cl_mem		m;
	cl_mem		v;
	bool		vector_gemm;	/* hn_gemm_vec, with wt for transposes */
	cl_mem		wt;				/* a transposed weight matrix */
};

/* Device steps on buffers already filled (a[0], targets). */
HnStatus	OclDenseForwardRows(OclDense *d, int n, OclError *err);
HnStatus	OclDenseLossRows(OclDense *d, cl_mem t, int n, cl_mem row_loss,
							 int loss_off, bool want_grad, OclError *err);
HnStatus	OclDenseBackwardRows(OclDense *d, int n, uint64_t train_mask,
								 OclError *err);
HnStatus	OclDenseStepRows(OclDense *d, uint64_t train_mask, OclError *err);
HnStatus	OclDenseParamsFinite(OclDense *d, bool *finite, OclError *err);

/* Largest buffer a session may allocate on its device, in bytes. */
uint64_t	OclMaxAlloc(const OclSession *s);

#endif							/* HANAMI_OPENCL_OCL_INT_H */
