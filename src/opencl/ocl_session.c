/*
 * ocl_session.c - device sessions: the buffers of one call and their
 * release, transfers, kernel launches with their arguments, and the
 * throttle that keeps only a few batches queued ahead of the host.
 */
#include "ocl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Device buffers alive in this process (all sessions). */
static int64_t ocl_live_buffers;

/* See ocl.h. */
int64_t
OclLiveBuffers(void)
{
	return ocl_live_buffers;
}

/* See ocl.h. */
OclSession *
OclSessionCreate(OclDevice *dev, const HnAllocator *alloc, OclError *err)
{
	OclSession *s = HnAllocZero(alloc, sizeof(OclSession));

	if (s == NULL)
	{
		OclErrorClear(err);
		HnSetError(&err->base, HANAMI_E_NOMEM, NULL,
				   "out of memory for an OpenCL session");
		return NULL;
	}
	s->dev = dev;
	return s;
}

/* See ocl.h. */
void
OclSessionRelease(OclSession *s)
{
	sigset_t	old;

	if (s == NULL || s->dev == NULL)
		return;
	OclSignalsBlock(&old);
	/* kernels still queued may use the buffers: let them finish first */
	if (s->n_buffers > 0 || s->marks > 0)
		clFinish(s->dev->queue);
	for (int i = 0; i < OCL_IN_FLIGHT; i++)
		if (s->ring[i] != NULL)
		{
			clReleaseEvent(s->ring[i]);
			s->ring[i] = NULL;
		}
	for (int i = s->n_buffers - 1; i >= 0; i--)
	{
		clReleaseMemObject(s->buffers[i]);
		s->buffers[i] = NULL;
		ocl_live_buffers--;
	}
	s->n_buffers = 0;
	s->marks = 0;
	OclSignalsRestore(&old);
}

/* See ocl.h. */
void
OclSessionFree(OclSession *s, const HnAllocator *alloc)
{
	if (s == NULL)
		return;
	OclSessionRelease(s);
	HnFree(alloc, s);
}

/* See ocl.h. */
int
OclSessionBuffers(const OclSession *s)
{
	return s ? s->n_buffers : 0;
}

/* Largest single buffer of the session's device. */
uint64_t
OclMaxAlloc(const OclSession *s)
{
	return s->dev->info.max_alloc;
}

/* A buffer owned by the session; NULL with err set on failure. */
cl_mem
OclBuffer(OclSession *s, size_t bytes, const void *init, const char *what,
		  OclError *err)
{
	cl_mem_flags flags = CL_MEM_READ_WRITE;
	cl_int		rc;
	cl_mem		mem;
	sigset_t	old;

	if (bytes == 0)
		bytes = sizeof(float);
	if (s->n_buffers >= OCL_SESSION_MAX_BUFFERS)
	{
		OclErrorClear(err);
		HnSetError(&err->base, HANAMI_E_TOO_LARGE, NULL,
				   "too many OpenCL buffers in one call");
		return NULL;
	}
	if (s->dev->info.max_alloc > 0 && bytes > s->dev->info.max_alloc)
	{
		char		detail[HANAMI_ERRMSG_LEN];

		OclErrorClear(err);
		snprintf(detail, sizeof(detail),
				 "The %s need %zu bytes; the device's largest buffer is %llu bytes.",
				 what, bytes, (unsigned long long) s->dev->info.max_alloc);
		HnSetError(&err->base, HANAMI_E_TOO_LARGE, detail,
				   "the %s do not fit in one OpenCL buffer", what);
		return NULL;
	}
	if (init != NULL)
		flags |= CL_MEM_COPY_HOST_PTR;
	OclSignalsBlock(&old);
	mem = clCreateBuffer(s->dev->context, flags, bytes, (void *) init, &rc);
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
	{
		OclClError(err, "clCreateBuffer", what, rc);
		return NULL;
	}
	s->buffers[s->n_buffers++] = mem;
	ocl_live_buffers++;
	return mem;
}

/* Enqueue a write of bytes at offset from src. */
HnStatus
OclWrite(OclSession *s, cl_mem buf, size_t offset, size_t bytes,
		 const void *src, bool blocking, OclError *err)
{
	cl_int		rc;
	sigset_t	old;

	if (bytes == 0)
		return HANAMI_OK;
	OclSignalsBlock(&old);
	rc = clEnqueueWriteBuffer(s->dev->queue, buf, blocking ? CL_TRUE : CL_FALSE,
							  offset, bytes, src, 0, NULL, NULL);
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
		return OclClError(err, "clEnqueueWriteBuffer", NULL, rc);
	return HANAMI_OK;
}

/* Read bytes at offset into dst, waiting for it (and all queued work). */
HnStatus
OclRead(OclSession *s, cl_mem buf, size_t offset, size_t bytes, void *dst,
		OclError *err)
{
	cl_int		rc;
	sigset_t	old;

	if (bytes == 0)
		return HANAMI_OK;
	OclSignalsBlock(&old);
	rc = clEnqueueReadBuffer(s->dev->queue, buf, CL_TRUE, offset, bytes, dst,
							 0, NULL, NULL);
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
		return OclClError(err, "clEnqueueReadBuffer", NULL, rc);
	return HANAMI_OK;
}

/* Set a kernel's arguments from sig and the variable arguments, enqueue it. */
HnStatus
OclRun(OclSession *s, OclKernelId k, int dims, const size_t *global,
	   const size_t *local, OclError *err, const char *sig,...)
{
	cl_kernel	kern = s->dev->kernels[k];
	size_t		g[3];
	size_t		l1[1];
	va_list		ap;
	cl_int		rc = CL_SUCCESS;
	cl_uint		arg = 0;
	sigset_t	old;

	/*
	 * 1-D kernels run in work-groups of 64 (or the device's largest, when
	 * smaller): one shape per kernel, so a driver that compiles per
	 * work-group size (PoCL) does it once.
	 */
	if (local == NULL && dims == 1)
	{
		l1[0] = s->dev->info.max_work_group > 0 && s->dev->info.max_work_group < 64 ?
			s->dev->info.max_work_group : 64;
		local = l1;
	}
	for (int d = 0; d < dims; d++)
	{
		size_t		l = local ? local[d] : 64;

		if (global[d] == 0)
			return HANAMI_OK;	/* nothing to do */
		g[d] = (global[d] + l - 1) / l * l;
	}
	va_start(ap, sig);
	for (const char *c = sig; *c && rc == CL_SUCCESS; c++, arg++)
	{
		switch (*c)
		{
			case 'm':
				{
					cl_mem		m = va_arg(ap, cl_mem);

					rc = clSetKernelArg(kern, arg, sizeof(cl_mem), &m);
					break;
				}
			case 'i':
				{
					cl_int		i = (cl_int) va_arg(ap, int);

					rc = clSetKernelArg(kern, arg, sizeof(cl_int), &i);
					break;
				}
			case 'f':
				{
					cl_float	f = (cl_float) va_arg(ap, double);

					rc = clSetKernelArg(kern, arg, sizeof(cl_float), &f);
					break;
				}
			default:
				rc = CL_INVALID_ARG_VALUE;
		}
	}
	va_end(ap);
	if (rc != CL_SUCCESS)
	{
		char		what[48];

		snprintf(what, sizeof(what), "%s, %u", ocl_kernel_names[k], arg - 1);
		return OclClError(err, "clSetKernelArg", what, rc);
	}
	OclSignalsBlock(&old);
	/* global work sizes are rounded up to a multiple of the local size */
	rc = clEnqueueNDRangeKernel(s->dev->queue, kern, (cl_uint) dims, NULL, g,
								local, 0, NULL, NULL);
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
		return OclClError(err, "clEnqueueNDRangeKernel", ocl_kernel_names[k], rc);
	return HANAMI_OK;
}

/* Mark the end of a batch; wait until at most OCL_IN_FLIGHT batches queue. */
HnStatus
OclThrottle(OclSession *s, OclError *err)
{
	int			slot = (int) (s->marks % OCL_IN_FLIGHT);
	cl_int		rc = CL_SUCCESS;
	const char *call = "clWaitForEvents";
	sigset_t	old;

	OclSignalsBlock(&old);
	if (s->ring[slot] != NULL)
	{
		rc = clWaitForEvents(1, &s->ring[slot]);
		clReleaseEvent(s->ring[slot]);
		s->ring[slot] = NULL;
	}
	if (rc == CL_SUCCESS)
	{
		call = "clEnqueueMarkerWithWaitList";
		rc = clEnqueueMarkerWithWaitList(s->dev->queue, 0, NULL, &s->ring[slot]);
	}
	if (rc == CL_SUCCESS)
	{
		call = "clFlush";
		rc = clFlush(s->dev->queue);
	}
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
		return OclClError(err, call, NULL, rc);
	s->marks++;
	return HANAMI_OK;
}

/* Wait for everything queued. */
HnStatus
OclFinish(OclSession *s, OclError *err)
{
	cl_int		rc;
	sigset_t	old;

	OclSignalsBlock(&old);
	rc = clFinish(s->dev->queue);
	OclSignalsRestore(&old);
	if (rc != CL_SUCCESS)
		return OclClError(err, "clFinish", NULL, rc);
	return HANAMI_OK;
}
