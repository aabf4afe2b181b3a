/*
 * dense/act.c - a layer's activation, built-in or custom; see dense/act.h.
 */
#include "core/dense/act.h"

void
DenseActForward(const DenseNet *net, int l, float *v, size_t rows)
{
	HnActivation act = (HnActivation) net->layers[l].activation;
	size_t		n = net->layers[l].count;
	const DenseProgram *p = DenseProgramOf(net, l);

	if (p != NULL)
		HnExprForward(&p->f, v, rows * n);
	else if (act == HANAMI_ACT_SOFTMAX)
	{
		for (size_t r = 0; r < rows; r++)
			ActForward(act, v + r * n, n);
	}
	else
		ActForward(act, v, rows * n);
}

void
DenseActBackward(const DenseNet *net, int l, const float *z, const float *y,
				 float *g, size_t rows)
{
	HnActivation act = (HnActivation) net->layers[l].activation;
	size_t		n = net->layers[l].count;
	const DenseProgram *p = DenseProgramOf(net, l);

	if (p != NULL)
		HnExprBackward(&p->df, z, y, g, rows * n);
	else if (act == HANAMI_ACT_SOFTMAX)
	{
		for (size_t r = 0; r < rows; r++)
			ActBackward(act, z + r * n, y + r * n, g + r * n, n);
	}
	else
		ActBackward(act, z, y, g, rows * n);
}
