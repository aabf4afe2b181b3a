/*
 * device.h - choosing where training and batched inference run (the CPU engine or an OpenCL
 * device) from options.device and the GUCs hanami.device and
 * hanami.opencl_device, and running it there: src/pg/device.c.
 */
#ifndef HANAMI_PG_DEVICE_H
#define HANAMI_PG_DEVICE_H

#include "postgres.h"

#include "core/fit.h"

#include "lib/stringinfo.h"
#include "opencl/ocl.h"

/* hanami.device */
typedef enum HanamiDeviceKind
{
	HANAMI_DEVICE_AUTO = 0,
	HANAMI_DEVICE_CPU,
	HANAMI_DEVICE_OPENCL
} HanamiDeviceKind;

extern int	hanami_device;
extern char *hanami_opencl_device;

/* Define hanami.device and hanami.opencl_device (from _PG_init). */
extern void HanamiDeviceDefineGucs(void);

/*
 * Check an options.device value ("auto", "cpu", "opencl" or
 * "opencl:SELECTOR") and return a palloc'd copy; an error names the option.
 */
extern char *HanamiDeviceCheckOption(const char *value);

/*
 * The OpenCL device a call runs on, or NULL for the CPU engine.  option is
 * options.device (NULL: the GUCs decide).  "opencl" is an error when no
 * device is there or the backend cannot run net (OclCanPredict: a spiking
 * growing network); "auto" picks a device only for a dense network: a GPU
 * or accelerator when a batch does enough work (batch rows times
 * parameters) for it to be faster, and falls back to the CPU on any
 * trouble.
 */
extern OclDevice *HanamiDeviceChoose(const char *option, const HnNet *net,
									 int64 batch);

/* True when option (or, without one, hanami.device) asks for OpenCL. */
extern bool HanamiDeviceWantsOpenCL(const char *option);

/*
 * HnFit on rows in memory where options.device says: the CPU engine, or,
 * for a kind with dense layers, OclTrainFit with the device's buffers
 * released however the call ends; "auto" never takes a device for a network
 * it does not train (OclAutoPicks: compact weights, training for pow2).
 * Device errors are raised as SQL errors;
 * engine errors come back in err like HnFit's.
 */
extern HnStatus HanamiDeviceFit(HnNet *net, const HnDataset *data,
								const char *device,
								const HnTrainOptions *opt,
								const HnCallbacks *cb,
								const HnAllocator *alloc,
								HnTrainResult *res, HnError *err);

/* A session on dev whose buffers are released when cxt is reset or deleted. */
extern OclSession *HanamiDeviceSession(MemoryContext cxt, OclDevice *dev);

/* Raise an OpenCL error as a SQL error. */
extern void HanamiDeviceReport(const OclError *err) pg_attribute_noreturn();

/* Append the OpenCL devices to capabilities()'s "devices" array (each with
 * a leading comma), and the "opencl" member (with a leading comma). */
extern void HanamiAppendOpenCLDevices(StringInfo buf);
extern void HanamiAppendOpenCLSummary(StringInfo buf);

#endif							/* HANAMI_PG_DEVICE_H */
