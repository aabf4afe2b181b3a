/*
 * growing.cl - inference of a growing ("hanami") network: the device twin
 * of HkPredict (src/core/hanami/predict.c) for networks whose rows are
 * independent (not spiking).
 *
 * One work-item runs one row through the whole network: the cells in depth
 * order, each input neuron's chain of sections, each hidden neuron's
 * log2(1 + max(0, m)) down its chain, the sigmoid outputs, adding the
 * synapses' contributions in the same order as the CPU.  The network is
 * the image's own records, read as 32-bit words (little-endian, packed to
 * 4 bytes like the image):
 *
 *   neurons  HkNeuron, 6 words: section, section_neg, bias (float), ...
 *   blocks   HkBlock, 200 words: source, next, lower (float), range
 *            (float), target_cell | n_used << 16 | flags << 24, grain,
 *            2 reserved, then 64 synapses of 3 words: weight (float),
 *            border (float), target (low 16 bits)
 *
 * cells holds, per cell by index, (type, first_neuron, n_neurons,
 * io_offset); order lists the cells by depth.  sum is the rows' scratch:
 * neuron i of row r at sum[i * stride + r].
 */

#define HK_NONE_W			0xFFFFFFFFu
#define HK_GAP_W			0xFFFFu
#define HK_NEURON_WORDS		6
#define HK_BLOCK_WORDS		200
#define HK_SYN0				8
#define HK_PARALLEL_W		0x04u
#define HK_CELL_HIDDEN_W	0
#define HK_CELL_INPUT_W		1

/* Walk one section with x of potential (HkWalkSection). */
static void
hk_walk_section(__global const uint *b, float x, __global float *sum,
				const size_t stride)
{
	int			n = (int) ((b[4] >> 16) & 0xFFu);
	int			i = 0;
	__global const uint *s = b + HK_SYN0;

	for (; i < n && x >= as_float(s[3 * i + 1]); i++)
	{
		uint		t = s[3 * i + 2] & 0xFFFFu;

		if (t != HK_GAP_W)
			sum[t * stride] += as_float(s[3 * i]);
		x -= as_float(s[3 * i + 1]);
	}
	if (i == n)
		return;
	if (x > 0.0f)
	{
		uint		t = s[3 * i + 2] & 0xFFFFu;

		if (t != HK_GAP_W)
			sum[t * stride] += as_float(s[3 * i]) * (x / as_float(s[3 * i + 1]));
	}
}

/* A parallel section: every synapse adds weight * x. */
static void
hk_parallel_section(__global const uint *b, float x, __global float *sum,
					const size_t stride)
{
	int			n = (int) ((b[4] >> 16) & 0xFFu);
	__global const uint *s = b + HK_SYN0;

	for (int i = 0; i < n; i++)
	{
		uint		t = s[3 * i + 2] & 0xFFFFu;

		if (t != HK_GAP_W)
			sum[t * stride] += as_float(s[3 * i]) * x;
	}
}

/* Send potential p down the chain starting at block first (HkWalkChain). */
static void
hk_walk_chain(__global const int4 *cells, __global const uint *blocks,
			  uint first, float p, __global float *sum, const size_t stride)
{
	uint		b = first;

	while (b != HK_NONE_W)
	{
		__global const uint *blk = blocks + (size_t) b * HK_BLOCK_WORDS;
		int			tc = (int) (blk[4] & 0xFFFFu);
		__global float *tsum = sum + (size_t) cells[tc].y * stride;
		float		x = p - as_float(blk[2]);
		float		range = as_float(blk[3]);

		if (x <= 0.0f)
			break;
		if (x > range)
			x = range;
		if ((blk[4] >> 24) & HK_PARALLEL_W)
			hk_parallel_section(blk, x, tsum, stride);
		else
			hk_walk_section(blk, x, tsum, stride);
		b = blk[1];
	}
}

/*
 * rows input rows (n_in raw values each) through the network: out gets
 * n_out sigmoid outputs per row.
 */
__kernel void
hn_grow_predict(__global const int4 *cells, __global const int *order,
				const int n_cells, __global const uint *neurons,
				__global const uint *blocks, __global const float *x,
				const int rows, const int n_in, const int n_out,
				const int n_neurons, const int stride,
				__global float *sum, __global float *out)
{
	int			r = get_global_id(0);
	__global float *rs;
	__global const float *xr;
	size_t		st = (size_t) stride;

	if (r >= rows)
		return;
	rs = sum + r;
	xr = x + (size_t) r * n_in;
	for (int i = 0; i < n_neurons; i++)
		rs[(size_t) i * st] = 0.0f;
	for (int k = 0; k < n_cells; k++)
	{
		int4		c = cells[order[k]];
		int			first = c.y;
		int			n = c.z;

		if (c.x == HK_CELL_INPUT_W)
		{
			__global const float *in = xr + c.w;

			for (int j = 0; j < n; j++)
			{
				__global const uint *nr = neurons + (size_t) (first + j) * HK_NEURON_WORDS;

				if (in[j] > 0.0f)
					hk_walk_chain(cells, blocks, nr[0], in[j], rs, st);
				else if (in[j] < 0.0f)
					hk_walk_chain(cells, blocks, nr[1], -in[j], rs, st);
			}
		}
		else if (c.x == HK_CELL_HIDDEN_W)
		{
			for (int j = 0; j < n; j++)
			{
				int			i = first + j;
				__global const uint *nr = neurons + (size_t) i * HK_NEURON_WORDS;
				float		m = rs[(size_t) i * st] + as_float(nr[2]);
				float		h = m > 0.0f ? log2(1.0f + m) : 0.0f;

				if (h > 0.0f)
					hk_walk_chain(cells, blocks, nr[0], h, rs, st);
			}
		}
		else
		{
			__global float *o = out + (size_t) r * n_out + c.w;

			for (int j = 0; j < n; j++)
			{
				int			i = first + j;
				float		b = as_float(neurons[(size_t) i * HK_NEURON_WORDS + 2]);

				o[j] = 1.0f / (1.0f + exp(-(rs[(size_t) i * st] + b)));
			}
		}
	}
}
