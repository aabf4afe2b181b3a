/*
 * machine.c - the CPUs and memory this process may use (see machine.h).
 *
 * The answers honour what a container or a service manager imposes: the
 * CPUs of the affinity mask and the cgroup's CPU quota, the cgroup's memory
 * limit and the machine's memory, whichever is smaller.  The process's own
 * cgroup is read from /proc/self/cgroup, under cgroup v2 or v1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "core/machine.h"

#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The directory of this process's cgroup for a controller ("cpu",
 * "memory"): under cgroup v2 the unified hierarchy's, under v1 the
 * controller's own; "" when it cannot be found.
 */
static void
CgroupDir(const char *controller, char *dir, size_t size)
{
	FILE	   *f = fopen("/proc/self/cgroup", "r");
	char		line[4096];
	bool		v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;

	dir[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *ctl = strchr(line, ':');
		char	   *path = ctl ? strchr(ctl + 1, ':') : NULL;

		if (path == NULL)
			continue;
		*path++ = '\0';
		ctl++;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, "/") == 0)
			path = "";
		if (v2 && ctl[0] == '\0')
		{
			snprintf(dir, size, "/sys/fs/cgroup%s", path);
			break;
		}
		if (!v2)
		{
			/* "cpu,cpuacct" lists several controllers */
			for (char *tok = strtok(ctl, ","); tok; tok = strtok(NULL, ","))
				if (strcmp(tok, controller) == 0)
				{
					snprintf(dir, size, "/sys/fs/cgroup/%s%s", controller, path);
					if (access(dir, F_OK) != 0)
						snprintf(dir, size, "/sys/fs/cgroup/%s", controller);
					break;
				}
			if (dir[0])
				break;
		}
	}
	fclose(f);
}

/* The first line of a small file, or false. */
static bool
ReadLine(const char *path, char *buf, size_t size)
{
	FILE	   *f = fopen(path, "r");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int) size, f) != NULL;
	fclose(f);
	return ok;
}

/* CPUs allowed by a cgroup quota, or 0 when none is set. */
static int
CgroupCpuLimit(void)
{
	char		dir[4200];
	char		path[4300];
	char		buf[128];
	double		quota = 0,
				period = 0;

	CgroupDir("cpu", dir, sizeof(dir));
	if (dir[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/cpu.max", dir);
	if (ReadLine(path, buf, sizeof(buf)))
	{
		if (strncmp(buf, "max", 3) == 0 || sscanf(buf, "%lf %lf", &quota, &period) != 2)
			return 0;
	}
	else
	{
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
		if (!ReadLine(path, buf, sizeof(buf)) || sscanf(buf, "%lf", &quota) != 1)
			return 0;
		snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
		if (!ReadLine(path, buf, sizeof(buf)) || sscanf(buf, "%lf", &period) != 1)
			return 0;
	}
	if (quota <= 0 || period <= 0)
		return 0;
	return (int) ceil(quota / period);
}

int
HnMachineCpus(void)
{
	int			n = 0;
	int			limit;
	cpu_set_t	set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
	{
		long		online = sysconf(_SC_NPROCESSORS_ONLN);

		n = online > 0 ? (int) online : 1;
	}
	limit = CgroupCpuLimit();
	if (limit > 0 && limit < n)
		n = limit;
	return n;
}

/* A cgroup memory limit in bytes, or 0 when none is set. */
static uint64_t
CgroupMemoryLimit(void)
{
	char		dir[4200];
	char		path[4300];
	char		buf[128];
	unsigned long long v;

	CgroupDir("memory", dir, sizeof(dir));
	if (dir[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	if (ReadLine(path, buf, sizeof(buf)))
		return strncmp(buf, "max", 3) != 0 && sscanf(buf, "%llu", &v) == 1 ? (uint64_t) v : 0;
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
	if (ReadLine(path, buf, sizeof(buf)) && sscanf(buf, "%llu", &v) == 1)
		return (uint64_t) v;
	return 0;
}

uint64_t
HnMachineMemory(void)
{
	long		pages = sysconf(_SC_PHYS_PAGES);
	long		page = sysconf(_SC_PAGESIZE);
	uint64_t	mem = pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0;
	uint64_t	limit = CgroupMemoryLimit();

	if (limit > 0 && (mem == 0 || limit < mem))
		mem = limit;
	return mem;
}
