/*
 * ocl_source.c - the OpenCL C source of every kernel, embedded in the
 * library: kernels.inc is generated at build time from kernels/NAME.cl
 * (concatenated in file-name order) by src/opencl/embed.sh.
 */
#include "ocl.h"

const char	OclKernelSource[] =
#include "kernels.inc"
;
