/*
 * ocl_runtime.c - platforms, devices and programs: enumeration (once per
 * process), device selection, lazy context/queue/program set-up cached per
 * device, CL error names, and the signal mask and handlers kept around
 * calls that may start driver threads or install a driver's handlers.
 */
/* dl_iterate_phdr (link.h) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "ocl_int.h"

#include <ctype.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const ocl_kernel_names[OCL_K_COUNT_] = {
	"hn_gemm64", "hn_gemm16", "hn_colsum", "hn_gather_input",
	"hn_gather_rows", "hn_loss_rows", "hn_output_scale", "hn_argmax_rows",
	"hn_check_finite", "hn_act_forward", "hn_softmax_rows",
	"hn_act_backward", "hn_softmax_backward_rows", "hn_sgd", "hn_adam",
	"hn_gemm_vec", "hn_transpose", "hn_grow_predict", "hn_dense_compact",
	"hn_dense_compact_vec"
};

/* What OclEnumerate found, once per process. */
static bool ocl_enumerated;
static HnStatus ocl_enum_status;
static OclError ocl_enum_error;
static int	ocl_n_platforms;
static int	ocl_n_devices;
static OclPlatformInfo ocl_platforms[OCL_MAX_PLATFORMS];
static struct OclDevice ocl_devices[OCL_MAX_DEVICES];
static OclDeviceInfo ocl_infos[OCL_MAX_DEVICES];
static int	ocl_programs_built;

/*
 * The process's signal handlers as they were before the first OpenCL call
 * (a server backend's own), and whether each could be read.  A driver may
 * install handlers of its own when it starts: PoCL's LLVM replaces those of
 * SIGUSR1 (its "info" signal), SIGUSR2, SIGXFSZ and the fatal signals,
 * once per process.  A backend's SIGUSR1 handler carries every procsignal
 * (parallel workers' messages, cache invalidation catch-up, barriers), so
 * without it a parallel query waited for its finished workers forever.
 */
static struct sigaction ocl_handlers[NSIG];
static bool ocl_handler_saved[NSIG];
static bool ocl_handlers_saved;

/* Remember the handlers, before the first OpenCL call only. */
static void
OclHandlersSave(void)
{
	if (ocl_handlers_saved)
		return;
	for (int s = 1; s < NSIG; s++)
		ocl_handler_saved[s] = s != SIGKILL && s != SIGSTOP &&
			sigaction(s, NULL, &ocl_handlers[s]) == 0;
	ocl_handlers_saved = true;
}

/*
 * Put the remembered handlers back when SIGUSR1's is no longer the one
 * remembered: a driver registered its own (all at once, so SIGUSR1 tells).
 */
static void
OclHandlersCheck(void)
{
	struct sigaction now;

	if (!ocl_handlers_saved || !ocl_handler_saved[SIGUSR1] ||
		sigaction(SIGUSR1, NULL, &now) != 0)
		return;
	if (now.sa_handler == ocl_handlers[SIGUSR1].sa_handler &&
		now.sa_flags == ocl_handlers[SIGUSR1].sa_flags)
		return;
	for (int s = 1; s < NSIG; s++)
		if (ocl_handler_saved[s])
			sigaction(s, &ocl_handlers[s], NULL);
}

/*
 * Block every signal but those a fault raises synchronously (and remember
 * the handlers before the first call).
 */
void
OclSignalsBlock(sigset_t *old)
{
	sigset_t	all;

	OclHandlersSave();
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

/*
 * Put back the handlers if a driver replaced them, then the mask
 * OclSignalsBlock saved (the signals stay blocked while the handlers go
 * back, so none arrives at a foreign handler).
 */
void
OclSignalsRestore(const sigset_t *old)
{
	OclHandlersCheck();
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The name of a CL status code, as the headers spell it. */
const char *
OclStatusName(cl_int status)
{
	switch (status)
	{
#define OCL_NAME(x) case x: return #x
			OCL_NAME(CL_SUCCESS);
			OCL_NAME(CL_DEVICE_NOT_FOUND);
			OCL_NAME(CL_DEVICE_NOT_AVAILABLE);
			OCL_NAME(CL_COMPILER_NOT_AVAILABLE);
			OCL_NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE);
			OCL_NAME(CL_OUT_OF_RESOURCES);
			OCL_NAME(CL_OUT_OF_HOST_MEMORY);
			OCL_NAME(CL_PROFILING_INFO_NOT_AVAILABLE);
			OCL_NAME(CL_MEM_COPY_OVERLAP);
			OCL_NAME(CL_IMAGE_FORMAT_MISMATCH);
			OCL_NAME(CL_IMAGE_FORMAT_NOT_SUPPORTED);
			OCL_NAME(CL_BUILD_PROGRAM_FAILURE);
			OCL_NAME(CL_MAP_FAILURE);
			OCL_NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET);
			OCL_NAME(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
			OCL_NAME(CL_COMPILE_PROGRAM_FAILURE);
			OCL_NAME(CL_LINKER_NOT_AVAILABLE);
			OCL_NAME(CL_LINK_PROGRAM_FAILURE);
			OCL_NAME(CL_DEVICE_PARTITION_FAILED);
			OCL_NAME(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
			OCL_NAME(CL_INVALID_VALUE);
			OCL_NAME(CL_INVALID_DEVICE_TYPE);
			OCL_NAME(CL_INVALID_PLATFORM);
			OCL_NAME(CL_INVALID_DEVICE);
			OCL_NAME(CL_INVALID_CONTEXT);
			OCL_NAME(CL_INVALID_QUEUE_PROPERTIES);
			OCL_NAME(CL_INVALID_COMMAND_QUEUE);
			OCL_NAME(CL_INVALID_HOST_PTR);
			OCL_NAME(CL_INVALID_MEM_OBJECT);
			OCL_NAME(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
			OCL_NAME(CL_INVALID_IMAGE_SIZE);
			OCL_NAME(CL_INVALID_SAMPLER);
			OCL_NAME(CL_INVALID_BINARY);
			OCL_NAME(CL_INVALID_BUILD_OPTIONS);
			OCL_NAME(CL_INVALID_PROGRAM);
			OCL_NAME(CL_INVALID_PROGRAM_EXECUTABLE);
			OCL_NAME(CL_INVALID_KERNEL_NAME);
			OCL_NAME(CL_INVALID_KERNEL_DEFINITION);
			OCL_NAME(CL_INVALID_KERNEL);
			OCL_NAME(CL_INVALID_ARG_INDEX);
			OCL_NAME(CL_INVALID_ARG_VALUE);
			OCL_NAME(CL_INVALID_ARG_SIZE);
			OCL_NAME(CL_INVALID_KERNEL_ARGS);
			OCL_NAME(CL_INVALID_WORK_DIMENSION);
			OCL_NAME(CL_INVALID_WORK_GROUP_SIZE);
			OCL_NAME(CL_INVALID_WORK_ITEM_SIZE);
			OCL_NAME(CL_INVALID_GLOBAL_OFFSET);
			OCL_NAME(CL_INVALID_EVENT_WAIT_LIST);
			OCL_NAME(CL_INVALID_EVENT);
			OCL_NAME(CL_INVALID_OPERATION);
			OCL_NAME(CL_INVALID_GL_OBJECT);
			OCL_NAME(CL_INVALID_BUFFER_SIZE);
			OCL_NAME(CL_INVALID_MIP_LEVEL);
			OCL_NAME(CL_INVALID_GLOBAL_WORK_SIZE);
			OCL_NAME(CL_INVALID_PROPERTY);
			OCL_NAME(CL_INVALID_IMAGE_DESCRIPTOR);
			OCL_NAME(CL_INVALID_COMPILER_OPTIONS);
			OCL_NAME(CL_INVALID_LINKER_OPTIONS);
			OCL_NAME(CL_INVALID_DEVICE_PARTITION_COUNT);
#undef OCL_NAME
		case -1001:
			return "CL_PLATFORM_NOT_FOUND_KHR";
	}
	return "unknown CL error";
}

/* Reset err to "no error". */
void
OclErrorClear(OclError *err)
{
	memset(err, 0, sizeof(*err));
}

/* Fill err for a failed CL call (what: the object involved, or NULL). */
HnStatus
OclClError(OclError *err, const char *call, const char *what, cl_int status)
{
	if (err == NULL)
		return HANAMI_E_INTERNAL;
	OclErrorClear(err);
	err->cl_status = status;
	if (what != NULL && what[0] != '\0')
		snprintf(err->call, sizeof(err->call), "%s(%s)", call, what);
	else
		snprintf(err->call, sizeof(err->call), "%s", call);
	return HnSetError(&err->base, HANAMI_E_INTERNAL, NULL,
					  "OpenCL call %s failed: %s (%d)", err->call,
					  OclStatusName(status), (int) status);
}

/* A "no device" error with a finished message. */
static HnStatus
OclNoDevice(OclError *err, const char *detail, const char *message)
{
	OclErrorClear(err);
	err->no_device = true;
	return HnSetError(&err->base, HANAMI_E_INVALID_ARGUMENT, detail, "%s",
					  message);
}

/* Copy a string property of a platform into buf. */
static void
OclPlatformString(cl_platform_id p, cl_platform_info what, char *buf, size_t len)
{
	buf[0] = '\0';
	if (clGetPlatformInfo(p, what, len, buf, NULL) != CL_SUCCESS)
		buf[0] = '\0';
	buf[len - 1] = '\0';
}

/* Copy a string property of a device into buf. */
static void
OclDeviceString(cl_device_id d, cl_device_info what, char *buf, size_t len)
{
	buf[0] = '\0';
	if (clGetDeviceInfo(d, what, len, buf, NULL) != CL_SUCCESS)
		buf[0] = '\0';
	buf[len - 1] = '\0';
}

/* Fill one device record from clGetDeviceInfo. */
static void
OclDescribeDevice(OclDeviceInfo *info, cl_device_id d)
{
	cl_device_type type = 0;
	cl_ulong	u = 0;
	cl_uint		cu = 0;
	size_t		wg = 0;

	OclDeviceString(d, CL_DEVICE_NAME, info->name, sizeof(info->name));
	OclDeviceString(d, CL_DEVICE_VENDOR, info->vendor, sizeof(info->vendor));
	OclDeviceString(d, CL_DEVICE_VERSION, info->version, sizeof(info->version));
	OclDeviceString(d, CL_DRIVER_VERSION, info->driver, sizeof(info->driver));
	clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof(type), &type, NULL);
	if (type & CL_DEVICE_TYPE_GPU)
		info->type = "gpu";
	else if (type & CL_DEVICE_TYPE_ACCELERATOR)
		info->type = "accelerator";
	else if (type & CL_DEVICE_TYPE_CPU)
		info->type = "cpu";
	else
		info->type = "other";
	info->is_gpu = (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
	if (clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(u), &u, NULL) == CL_SUCCESS)
		info->global_memory = u;
	if (clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof(u), &u, NULL) == CL_SUCCESS)
		info->max_alloc = u;
	if (clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(u), &u, NULL) == CL_SUCCESS)
		info->local_memory = u;
	if (clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof(cu), &cu, NULL) == CL_SUCCESS)
		info->compute_units = cu;
	if (clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof(cu), &cu, NULL) == CL_SUCCESS)
		info->max_clock_mhz = cu;
	if (clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof(wg), &wg, NULL) == CL_SUCCESS)
		info->max_work_group = wg;
}

static bool OclContains(const char *hay, const char *needle);

/* Enumerate platforms and devices once; signals blocked by the caller. */
static void
OclEnumerateOnce(void)
{
	cl_platform_id plats[OCL_MAX_PLATFORMS];
	cl_uint		np = 0;
	cl_int		rc;

	ocl_enumerated = true;
	OclErrorClear(&ocl_enum_error);
	rc = clGetPlatformIDs(OCL_MAX_PLATFORMS, plats, &np);
	if (rc == -1001 || (rc == CL_SUCCESS && np == 0))
	{
		ocl_enum_status = OclNoDevice(&ocl_enum_error,
									  "The OpenCL ICD loader found no platform (no driver, or OCL_ICD_VENDORS names an empty directory).",
									  "no OpenCL platform found");
		return;
	}
	if (rc != CL_SUCCESS)
	{
		ocl_enum_status = OclClError(&ocl_enum_error, "clGetPlatformIDs", NULL, rc);
		return;
	}
	if (np > OCL_MAX_PLATFORMS)
		np = OCL_MAX_PLATFORMS;
	for (cl_uint p = 0; p < np; p++)
	{
		OclPlatformInfo *pi = &ocl_platforms[ocl_n_platforms++];
		cl_device_id devs[OCL_MAX_DEVICES];
		cl_uint		nd = 0;

		OclPlatformString(plats[p], CL_PLATFORM_NAME, pi->name, sizeof(pi->name));
		OclPlatformString(plats[p], CL_PLATFORM_VENDOR, pi->vendor, sizeof(pi->vendor));
		OclPlatformString(plats[p], CL_PLATFORM_VERSION, pi->version, sizeof(pi->version));
		rc = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, OCL_MAX_DEVICES, devs, &nd);
		if (rc != CL_SUCCESS)
			nd = 0;				/* a platform without devices is skipped */
		if (nd > OCL_MAX_DEVICES)
			nd = OCL_MAX_DEVICES;
		pi->n_devices = 0;
		for (cl_uint d = 0; d < nd && ocl_n_devices < OCL_MAX_DEVICES; d++)
		{
			struct OclDevice *dev = &ocl_devices[ocl_n_devices];
			OclDeviceInfo *info = &ocl_infos[ocl_n_devices];

			memset(dev, 0, sizeof(*dev));
			memset(info, 0, sizeof(*info));
			info->platform_index = (int) p;
			info->device_index = (int) d;
			snprintf(info->platform, sizeof(info->platform), "%s", pi->name);
			OclDescribeDevice(info, devs[d]);
			dev->platform = plats[p];
			dev->device = devs[d];
			dev->info = *info;
			pi->n_devices++;
			ocl_n_devices++;
		}
	}
	if (ocl_n_devices == 0)
	{
		bool		pocl = false;

		for (int p = 0; p < ocl_n_platforms; p++)
			pocl |= OclContains(ocl_platforms[p].name, "Portable Computing Language");
		ocl_enum_status = OclNoDevice(&ocl_enum_error, pocl ?
									  "PoCL lists no device when it cannot create its kernel cache: set POCL_CACHE_DIR to a directory the server can write." :
									  "The OpenCL platforms list no device.",
									  "no OpenCL device found");
	}
	else
		ocl_enum_status = HANAMI_OK;
}

/* See ocl.h. */
HnStatus
OclEnumerate(const OclPlatformInfo **platforms, int *n_platforms,
			 const OclDeviceInfo **devices, int *n_devices, OclError *err)
{
	if (!ocl_enumerated)
	{
		sigset_t	old;

		OclSignalsBlock(&old);
		OclEnumerateOnce();
		OclSignalsRestore(&old);
	}
	if (platforms)
		*platforms = ocl_platforms;
	if (n_platforms)
		*n_platforms = ocl_n_platforms;
	if (devices)
		*devices = ocl_infos;
	if (n_devices)
		*n_devices = ocl_n_devices;
	if (ocl_enum_status != HANAMI_OK && err != NULL)
		*err = ocl_enum_error;
	else if (err != NULL)
		OclErrorClear(err);
	return ocl_enum_status;
}

/* True when hay contains needle, ignoring case. */
static bool
OclContains(const char *hay, const char *needle)
{
	size_t		n = strlen(needle);

	for (; *hay; hay++)
	{
		size_t		i;

		for (i = 0; i < n; i++)
			if (tolower((unsigned char) hay[i]) != tolower((unsigned char) needle[i]))
				break;
		if (i == n)
			return true;
	}
	return n == 0;
}

/* Index into ocl_devices of the device a selector names, or -1. */
static int
OclSelect(const char *sel)
{
	int			p;
	int			d;
	char		tail;

	if (sel == NULL || sel[0] == '\0')
	{
		for (int i = 0; i < ocl_n_devices; i++)
			if (strcmp(ocl_infos[i].type, "gpu") == 0)
				return i;
		for (int i = 0; i < ocl_n_devices; i++)
			if (ocl_infos[i].is_gpu)
				return i;
		return ocl_n_devices > 0 ? 0 : -1;
	}
	if (sscanf(sel, "%d:%d%c", &p, &d, &tail) == 2)
	{
		for (int i = 0; i < ocl_n_devices; i++)
			if (ocl_infos[i].platform_index == p && ocl_infos[i].device_index == d)
				return i;
		return -1;
	}
	for (int i = 0; i < ocl_n_devices; i++)
		if (OclContains(ocl_infos[i].platform, sel) ||
			OclContains(ocl_infos[i].name, sel) ||
			OclContains(ocl_infos[i].vendor, sel))
			return i;
	return -1;
}

/* See ocl.h. */
const OclDeviceInfo *
OclFindDevice(const char *selector, OclError *err)
{
	int			i;
	char		msg[HANAMI_ERRMSG_LEN];

	if (OclEnumerate(NULL, NULL, NULL, NULL, err) != HANAMI_OK)
		return NULL;
	i = OclSelect(selector);
	if (i < 0)
	{
		snprintf(msg, sizeof(msg), "no OpenCL device matches \"%.100s\"",
				 selector ? selector : "");
		OclNoDevice(err,
					"Give \"P:D\" (platform and device index, from 0) or part of a platform, vendor or device name.",
					msg);
		return NULL;
	}
	return &ocl_infos[i];
}

/* True when an executable named name is on PATH. */
static bool
OclOnPath(const char *name)
{
	const char *path = getenv("PATH");
	char		buf[4096];

	if (path == NULL || path[0] == '\0')
		return false;
	while (*path)
	{
		const char *end = strchr(path, ':');
		size_t		len = end ? (size_t) (end - path) : strlen(path);

		if (len > 0 && len + strlen(name) + 2 < sizeof(buf))
		{
			memcpy(buf, path, len);
			buf[len] = '/';
			strcpy(buf + len + 1, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

/* The LLVM libraries loaded in the process (first two distinct names). */
typedef struct OclLlvmSeen
{
	int			n;
	char		name[2][OCL_NAME_LEN];
} OclLlvmSeen;

static int
OclLlvmVisit(struct dl_phdr_info *info, size_t size, void *arg)
{
	OclLlvmSeen *seen = arg;
	const char *base = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;

	base = base ? base + 1 : info->dlpi_name;
	if (base == NULL || strncmp(base, "libLLVM", 7) != 0)
		return 0;
	for (int i = 0; i < seen->n; i++)
		if (strcmp(seen->name[i], base) == 0)
			return 0;
	if (seen->n < 2)
		snprintf(seen->name[seen->n++], OCL_NAME_LEN, "%s", base);
	return seen->n == 2;		/* two are enough to know */
}

/*
 * PoCL compiles kernels with LLVM and links them with the system's "ld"; a
 * server started with an empty environment has no PATH and PoCL aborts the
 * process.  And when the process already holds another LLVM - PostgreSQL's
 * JIT compiler loads its own, visible to every library loaded later - PoCL's
 * compiler runs into that one's symbols and crashes the process.  Refuse
 * cleanly instead.
 */
static HnStatus
OclPreflight(struct OclDevice *dev, OclError *err)
{
	OclLlvmSeen seen = {0};
	char		detail[HANAMI_ERRMSG_LEN];

	if (!OclContains(dev->info.platform, "Portable Computing Language"))
		return HANAMI_OK;
	if (!OclOnPath("ld"))
	{
		OclErrorClear(err);
		snprintf(err->call, sizeof(err->call), "clBuildProgram");
		return HnSetError(&err->base, HANAMI_E_INTERNAL,
						  "PoCL links kernels with \"ld\", and the server's PATH has none; set PATH (and POCL_CACHE_DIR) in the server's environment.",
						  "PoCL cannot build kernels: no \"ld\" on PATH");
	}
	dl_iterate_phdr(OclLlvmVisit, &seen);
	if (seen.n > 1)
	{
		OclErrorClear(err);
		snprintf(detail, sizeof(detail),
				 "The process has loaded %.40s and %.40s: PostgreSQL's JIT compiler and PoCL each bring their own LLVM, and PoCL's would run into the other's.",
				 seen.name[0], seen.name[1]);
		HnSetError(&err->base, HANAMI_E_UNSUPPORTED, detail,
				   "PoCL cannot build its kernels in a session that has used the JIT compiler");
		return HnSetHint(&err->base, "Run SET jit = off at the start of sessions that use the OpenCL device, or set jit = off for the role or database; the device \"cpu\" always works.");
	}
	return HANAMI_OK;
}

/* Release what OclMakeReady created so far. */
static void
OclUnready(struct OclDevice *dev)
{
	for (int k = 0; k < OCL_K_COUNT_; k++)
		if (dev->kernels[k])
		{
			clReleaseKernel(dev->kernels[k]);
			dev->kernels[k] = NULL;
		}
	if (dev->program)
		clReleaseProgram(dev->program);
	if (dev->queue)
		clReleaseCommandQueue(dev->queue);
	if (dev->context)
		clReleaseContext(dev->context);
	dev->program = NULL;
	dev->queue = NULL;
	dev->context = NULL;
	dev->ready = false;
}

/* The first part of a program's build log, into err's detail. */
static void
OclBuildLog(struct OclDevice *dev, OclError *err)
{
	char		log[HANAMI_ERRMSG_LEN];
	size_t		len = 0;

	log[0] = '\0';
	if (clGetProgramBuildInfo(dev->program, dev->device, CL_PROGRAM_BUILD_LOG,
							  sizeof(log), log, &len) != CL_SUCCESS)
	{
		/* too long for the buffer: fetch it whole, keep the start */
		char	   *all;

		if (clGetProgramBuildInfo(dev->program, dev->device,
								  CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS ||
			(all = malloc(len + 1)) == NULL)
			return;
		if (clGetProgramBuildInfo(dev->program, dev->device,
								  CL_PROGRAM_BUILD_LOG, len, all, NULL) == CL_SUCCESS)
		{
			all[len] = '\0';
			snprintf(log, sizeof(log), "%s", all);
		}
		free(all);
	}
	log[sizeof(log) - 1] = '\0';
	for (char *c = log; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	snprintf(err->base.detail, sizeof(err->base.detail), "Build log: %s", log);
}

/* Context, queue, program and kernels for dev; signals blocked by caller. */
static HnStatus
OclMakeReady(struct OclDevice *dev, OclError *err)
{
	cl_int		rc;
	const char *src = OclKernelSource;

	if (OclPreflight(dev, err) != HANAMI_OK)
		return err->base.code;
	dev->context = clCreateContext(NULL, 1, &dev->device, NULL, NULL, &rc);
	if (rc != CL_SUCCESS)
		goto fail_ctx;
	dev->queue = clCreateCommandQueue(dev->context, dev->device, 0, &rc);
	if (rc != CL_SUCCESS)
	{
		OclClError(err, "clCreateCommandQueue", NULL, rc);
		goto fail;
	}
	dev->program = clCreateProgramWithSource(dev->context, 1, &src, NULL, &rc);
	if (rc != CL_SUCCESS)
	{
		OclClError(err, "clCreateProgramWithSource", NULL, rc);
		goto fail;
	}
	rc = clBuildProgram(dev->program, 1, &dev->device, "-cl-std=CL1.2", NULL, NULL);
	if (rc != CL_SUCCESS)
	{
		OclClError(err, "clBuildProgram", NULL, rc);
		OclBuildLog(dev, err);
		goto fail;
	}
	for (int k = 0; k < OCL_K_COUNT_; k++)
	{
		dev->kernels[k] = clCreateKernel(dev->program, ocl_kernel_names[k], &rc);
		if (rc != CL_SUCCESS)
		{
			OclClError(err, "clCreateKernel", ocl_kernel_names[k], rc);
			goto fail;
		}
	}
	dev->ready = true;
	ocl_programs_built++;
	return HANAMI_OK;

fail_ctx:
	OclClError(err, "clCreateContext", NULL, rc);
fail:
	OclUnready(dev);
	return HANAMI_E_INTERNAL;
}

/* See ocl.h. */
OclDevice *
OclGetDevice(const char *selector, OclError *err)
{
	const OclDeviceInfo *info = OclFindDevice(selector, err);
	struct OclDevice *dev;
	sigset_t	old;
	HnStatus	st;

	if (info == NULL)
		return NULL;
	dev = &ocl_devices[info - ocl_infos];
	if (dev->ready)
		return dev;
	OclSignalsBlock(&old);
	st = OclMakeReady(dev, err);
	OclSignalsRestore(&old);
	return st == HANAMI_OK ? dev : NULL;
}

/* See ocl.h. */
const OclDeviceInfo *
OclDeviceGetInfo(const OclDevice *dev)
{
	return &dev->info;
}

/* See ocl.h. */
int
OclProgramsBuilt(void)
{
	return ocl_programs_built;
}
