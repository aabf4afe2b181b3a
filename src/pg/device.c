/*
 * device.c - the PostgreSQL side of the OpenCL backend: the GUCs
 * hanami.device and hanami.opencl_device, options.device, the choice
 * between the CPU engine and a device, device sessions released by memory
 * context callbacks (so an error or a cancel frees every device buffer),
 * OpenCL errors as SQL errors, and the devices capabilities() lists.
 *
 * Nothing here runs in the postmaster: _PG_init only defines the GUCs, and
 * OpenCL is first touched by the first call that needs it in a backend or
 * worker.
 */
#include "postgres.h"

#include "device.h"
#include "errors.h"
#include "jsonutil.h"

#include "utils/guc.h"
#include "utils/memutils.h"

int			hanami_device = HANAMI_DEVICE_AUTO;
char	   *hanami_opencl_device = NULL;

static const struct config_enum_entry device_options[] = {
	{"auto", HANAMI_DEVICE_AUTO, false},
	{"cpu", HANAMI_DEVICE_CPU, false},
	{"opencl", HANAMI_DEVICE_OPENCL, false},
	{NULL, 0, false}
};

/* See device.h. */
void
HanamiDeviceDefineGucs(void)
{
	DefineCustomEnumVariable("hanami.device",
							 "Where dense training and batched inference run: auto, cpu or opencl.",
							 "auto uses an OpenCL GPU when one is there and the work is large enough; opencl fails when no OpenCL device is found.",
							 &hanami_device,
							 HANAMI_DEVICE_AUTO, device_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("hanami.opencl_device",
							   "The OpenCL device to use: empty (the first GPU, else the first device), \"P:D\", or part of a platform, vendor or device name.",
							   "hanami.capabilities() lists the platforms and devices with their indexes.",
							   &hanami_opencl_device,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

/* See device.h. */
char *
HanamiDeviceCheckOption(const char *value)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "cpu") != 0 &&
		strcmp(value, "opencl") != 0 && strncmp(value, "opencl:", 7) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown device \"%s\"", value),
				 errhint("Valid devices are: auto, cpu, opencl, opencl:SELECTOR (\"P:D\" or part of a device name).")));
	return pstrdup(value);
}

/* The device kind and OpenCL selector an option (or the GUCs) asks for. */
static HanamiDeviceKind
DeviceRequest(const char *option, const char **selector)
{
	*selector = hanami_opencl_device;
	if (option == NULL)
		return (HanamiDeviceKind) hanami_device;
	if (strcmp(option, "cpu") == 0)
		return HANAMI_DEVICE_CPU;
	if (strcmp(option, "opencl") == 0)
		return HANAMI_DEVICE_OPENCL;
	if (strncmp(option, "opencl:", 7) == 0)
	{
		*selector = option + 7;
		return HANAMI_DEVICE_OPENCL;
	}
	return HANAMI_DEVICE_AUTO;
}

/* See device.h. */
bool
HanamiDeviceWantsOpenCL(const char *option)
{
	const char *selector;

	return DeviceRequest(option, &selector) == HANAMI_DEVICE_OPENCL;
}

/* See device.h. */
void
HanamiDeviceReport(const OclError *err)
{
	if (err->no_device)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s", err->base.message),
				 err->base.detail[0] ? errdetail("%s", err->base.detail) : 0,
				 errhint("Install an OpenCL driver (pocl-opencl-icd for the CPU, the GPU vendor's ICD), check hanami.opencl_device against hanami.capabilities(), or use the device \"cpu\".")));
	if (err->cl_status != 0 || err->call[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("%s", err->base.message),
				 err->base.detail[0] ? errdetail("%s", err->base.detail) : 0,
				 errhint("See docs/devices.md; the device \"cpu\" always works.")));
	HanamiReportError(&err->base, 0);
}

/* The device for inference (train false) or a fit; see device.h. */
static OclDevice *
DeviceChoose(const char *option, const HnNet *net, int64 batch, bool train)
{
	const char *selector;
	HanamiDeviceKind kind = DeviceRequest(option, &selector);
	const OclDeviceInfo *info;
	OclDevice  *dev;
	OclError	err;

	if (kind == HANAMI_DEVICE_CPU)
		return NULL;
	if (kind == HANAMI_DEVICE_OPENCL)
	{
		char		why[HANAMI_ERRMSG_LEN];

		if (!OclCanPredict(net, why, sizeof(why)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s", why),
					 errhint("Use the device \"cpu\" or \"auto\" for this network of kind \"%s\".",
							 net->kind->name)));
		dev = OclGetDevice(selector, &err);
		if (dev == NULL)
			HanamiDeviceReport(&err);
		return dev;
	}

	/*
	 * auto: only a GPU or accelerator, only for enough work, never an
	 * error; only dense networks (a growing network's rows walk sections of
	 * their own: it runs on a device only when asked for), and a fit only
	 * of what the device trains (not compact weights, not training for
	 * pow2), never custom activations: OclAutoPicks
	 */
	if (!OclAutoPicks(net, train, batch, true))
		return NULL;
	info = OclFindDevice(selector, &err);
	if (info == NULL || !OclAutoPicks(net, train, batch, info->is_gpu))
		return NULL;
	dev = OclGetDevice(selector, &err);
	if (dev == NULL)
		ereport(WARNING,
				(errmsg("OpenCL device \"%s\" cannot be used, running on the CPU", info->name),
				 errdetail("%s", err.base.message)));
	return dev;
}

/* See device.h. */
OclDevice *
HanamiDeviceChoose(const char *option, const HnNet *net, int64 batch)
{
	return DeviceChoose(option, net, batch, false);
}

/* Release a session's buffers when its memory context goes away. */
static void
SessionResetCallback(void *arg)
{
	OclSessionRelease((OclSession *) arg);
}

/* See device.h. */
OclSession *
HanamiDeviceSession(MemoryContext cxt, OclDevice *dev)
{
	HnAllocator alloc = HanamiPallocAllocator(cxt);
	MemoryContextCallback *cb;
	OclSession *s;
	OclError	err;

	cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
	s = OclSessionCreate(dev, &alloc, &err);
	if (s == NULL)
		HanamiDeviceReport(&err);
	cb->func = SessionResetCallback;
	cb->arg = s;
	MemoryContextRegisterResetCallback(cxt, cb);
	return s;
}

/* See device.h. */
HnStatus
HanamiDeviceFit(HnNet *net, const HnDataset *data, const char *device,
				const HnTrainOptions *opt, const HnCallbacks *cb,
				const HnAllocator *alloc, HnTrainResult *res, HnError *err)
{
	int64		batch = Min((int64) opt->batch_size, data->n);
	HnRows		rows = {data, NULL, 0, NULL};
	OclDevice  *dev;
	MemoryContext cxt;
	MemoryContext old;
	HnAllocator dalloc;
	OclSession *s;
	OclError	oerr;
	HnStatus	st;

	/*
	 * a training rule of the kind's own (dense: "rule": "hebbian") has no
	 * device stepper: an error when OpenCL was asked for, else the CPU
	 */
	if (net->kind->fit != NULL && net->kind->fit->rule_stepper != NULL)
	{
		const char *why = NULL;

		if (net->kind->fit->rule_stepper(net, opt, &why) != NULL)
		{
			if (HanamiDeviceWantsOpenCL(device))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("option \"rule\" cannot train on an OpenCL device"),
						 why ? errdetail("%s", why) : 0,
						 errhint("Use the device \"cpu\" or \"auto\" for this rule, or \"rule\": \"backprop\" on OpenCL; see docs/devices.md.")));
			return HnFit(net, &rows, opt, NULL, cb, alloc, res, err);
		}
	}

	/* a kind without dense layers always trains on the CPU */
	dev = (net->kind->caps & HANAMI_CAP_LAYERED) ?
		DeviceChoose(device, net, batch, true) : NULL;
	if (dev == NULL)
		return HnFit(net, &rows, opt, NULL, cb, alloc, res, err);

	/*
	 * Host buffers and the session live in a context of their own: deleted
	 * below, or with its parent when an error or a cancel unwinds, which
	 * releases the device buffers either way.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "hanami opencl fit",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	s = HanamiDeviceSession(cxt, dev);
	dalloc = HanamiPallocAllocator(cxt);
	st = OclTrainFit(s, net->kind->dense_view(net), data, opt, cb, &dalloc,
					 res, &oerr);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (st != HANAMI_OK)
	{
		if (oerr.no_device || oerr.cl_status != 0 || oerr.call[0] != '\0')
			HanamiDeviceReport(&oerr);
		*err = oerr.base;
	}
	return st;
}

/* Append "key": "string". */
static void
AppendStringField(StringInfo buf, const char *key, const char *value, bool comma)
{
	appendStringInfo(buf, "%s\"%s\": ", comma ? ", " : "", key);
	HanamiAppendJsonString(buf, value);
}

/* See device.h. */
void
HanamiAppendOpenCLDevices(StringInfo buf)
{
	const OclDeviceInfo *devs;
	const OclDeviceInfo *chosen;
	int			nd = 0;
	OclError	err;

	if (OclEnumerate(NULL, NULL, &devs, &nd, &err) != HANAMI_OK)
		return;
	chosen = OclFindDevice(hanami_opencl_device, &err);
	for (int i = 0; i < nd; i++)
	{
		const OclDeviceInfo *d = &devs[i];

		appendStringInfo(buf, ", {\"type\": \"opencl\", \"id\": \"%d:%d\"",
						 d->platform_index, d->device_index);
		AppendStringField(buf, "platform", d->platform, true);
		AppendStringField(buf, "name", d->name, true);
		AppendStringField(buf, "device_type", d->type, true);
		AppendStringField(buf, "vendor", d->vendor, true);
		AppendStringField(buf, "version", d->version, true);
		AppendStringField(buf, "driver", d->driver, true);
		appendStringInfo(buf, ", \"global_memory\": " UINT64_FORMAT
						 ", \"max_alloc\": " UINT64_FORMAT
						 ", \"local_memory\": " UINT64_FORMAT
						 ", \"compute_units\": %u, \"max_clock_mhz\": %u"
						 ", \"selected\": %s}",
						 d->global_memory, d->max_alloc, d->local_memory,
						 d->compute_units, d->max_clock_mhz,
						 d == chosen ? "true" : "false");
	}
}

/* See device.h. */
void
HanamiAppendOpenCLSummary(StringInfo buf)
{
	const OclPlatformInfo *plats;
	int			np = 0;
	OclError	err;
	HnStatus	st = OclEnumerate(&plats, &np, NULL, NULL, &err);

	appendStringInfoString(buf, ", \"opencl\": {\"platforms\": [");
	for (int p = 0; p < np; p++)
	{
		appendStringInfoString(buf, p ? ", {" : "{");
		AppendStringField(buf, "name", plats[p].name, false);
		AppendStringField(buf, "vendor", plats[p].vendor, true);
		AppendStringField(buf, "version", plats[p].version, true);
		appendStringInfo(buf, ", \"devices\": %d}", plats[p].n_devices);
	}
	appendStringInfoString(buf, "], \"error\": ");
	if (st != HANAMI_OK)
		HanamiAppendJsonString(buf, err.base.message);
	else
		appendStringInfoString(buf, "null");
	AppendStringField(buf, "device", device_options[hanami_device].name, true);
	AppendStringField(buf, "opencl_device", hanami_opencl_device ? hanami_opencl_device : "", true);
	appendStringInfo(buf, ", \"programs_built\": %d, \"live_buffers\": " INT64_FORMAT "}",
					 OclProgramsBuilt(), (int64) OclLiveBuffers());
}
