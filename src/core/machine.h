/*
 * machine.h - the CPUs and memory this process may use: what the machine
 * has, narrowed by the affinity mask and a container's cgroup limits.
 */
#ifndef HANAMI_CORE_MACHINE_H
#define HANAMI_CORE_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

/* CPUs this process may run on (affinity mask, cgroup CPU quota); >= 1. */
int			HnMachineCpus(void);

/* Memory this process may use in bytes (system, cgroup limit); 0 unknown. */
uint64_t	HnMachineMemory(void);

#endif							/* HANAMI_CORE_MACHINE_H */
