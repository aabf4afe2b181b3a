/*
 * evaluate.c - the evaluator (see fit.h): a network measured on rows in
 * memory or streamed in chunks, through the kind's inference, with one class
 * rule and one-pass statistics of the targets.
 */
#include "core/fit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ports.h"
#include "core/stats.h"

/* Rows per batch when evaluating. */
#define HANAMI_EVAL_BATCH	256

/* One evaluation in progress. */
typedef struct Eval
{
	HnNet	   *net;
	const HnKindFit *kf;
	const HnCallbacks *cb;
	HnEvalResult *res;
	void	   *work;			/* the kind's inference scratch */
	int			batch;
	uint32_t	n_in;
	uint32_t	n_out;
	uint32_t	n_cls;			/* confusion matrix: n_cls x n_cls */
	bool		one_class;		/* one output giving a class */
	bool		checked;		/* the rows were checked already */
	bool		carries;		/* rows depend on each other: in order,
								 * the state cleared at sequence starts */
	float	   *xb;				/* gathered inputs of a batch */
	float	   *out;			/* outputs of a batch */
	float	   *tb;				/* targets of a batch */
	HnColumnStats ystats;		/* target values */
	int64_t		done;
	int64_t		labelled;
	int64_t		correct;
	double		loss;
	double		se;
	double		ae;
	/* per output port, when the network has several (res->ports) */
	int			n_ports;		/* 0: none */
	HnPort		ports[HANAMI_MAX_PORTS];
	double		port_se[HANAMI_MAX_PORTS];
	double		port_ae[HANAMI_MAX_PORTS];
	int64_t		port_correct[HANAMI_MAX_PORTS];
	int64_t		port_labelled[HANAMI_MAX_PORTS];
} Eval;

/*
 * True class of row r of ds, or -1 when it has none: its class index, or
 * the 0/1 target of a network whose one output gives a class.
 */
static int
EvalTrueClass(const Eval *e, const HnDataset *ds, int64_t r)
{
	if (ds->cls != NULL)
		return ds->cls[r];
	if (e->one_class)
	{
		float		y = ds->y[r];

		if (y == 0.0f || y == 1.0f)
			return (int) y;
	}
	return -1;
}

/* HANAMI_E_OUTPUT_NOT_FINITE unless every output of a row is finite. */
static HnStatus
EvalCheckOutputs(const Eval *e, const float *y, int64_t row, HnError *err)
{
	char		detail[HANAMI_ERRMSG_LEN];

	for (uint32_t j = 0; j < e->n_out; j++)
	{
		if (isfinite(y[j]))
			continue;
		snprintf(detail, sizeof(detail), "Output %" PRIu32 " of row %" PRId64 " is %s.",
				 j + 1, row + 1,
				 isnan(y[j]) ? "NaN" : y[j] > 0 ? "Infinity" : "-Infinity");
		return HnSetError(err, HANAMI_E_OUTPUT_NOT_FINITE, detail,
						  "network output is not finite");
	}
	return HANAMI_OK;
}

/*
 * The class a port's targets t (count values) give: one-hot, or 0/1 for one
 * unit; -1 when they are not a class.
 */
static int
PortTrueClass(const float *t, uint32_t count)
{
	int			c = -1;

	if (count == 1)
		return t[0] == 0.0f || t[0] == 1.0f ? (int) t[0] : -1;
	for (uint32_t j = 0; j < count; j++)
	{
		if (t[j] == 1.0f && c < 0)
			c = (int) j;
		else if (t[j] != 0.0f)
			return -1;
	}
	return c;
}

/* Add one row's figures per output port: outputs y, targets t. */
static void
EvalPorts(Eval *e, const float *y, const float *t)
{
	for (int p = 0; p < e->n_ports; p++)
	{
		const HnPort *port = &e->ports[p];

		for (uint32_t j = port->offset; j < port->offset + port->count; j++)
		{
			double		d = (double) y[j] - t[j];

			e->port_se[p] += d * d;
			e->port_ae[p] += fabs(d);
		}
		if (port->classes)
		{
			int			c = PortTrueClass(t + port->offset, port->count);

			if (c >= 0)
			{
				e->port_labelled[p]++;
				e->port_correct[p] +=
					HnOutputClass(y + port->offset, port->count) == c;
			}
		}
	}
}

/* Add one row's figures: its class, and its errors for target values. */
static void
EvalRow(Eval *e, const HnDataset *ds, int64_t r, const float *y)
{
	int			c = EvalTrueClass(e, ds, r);

	if (c >= 0)
	{
		int			p = HnOutputClass(y, e->n_out);

		e->labelled++;
		e->correct += p == c;
		if (e->res->confusion != NULL)
			e->res->confusion[(size_t) c * e->n_cls + (size_t) p]++;
	}
	if (ds->y != NULL)
	{
		const float *t = ds->y + (size_t) r * e->n_out;

		for (uint32_t j = 0; j < e->n_out; j++)
		{
			double		d = (double) y[j] - t[j];

			e->se += d * d;
			e->ae += fabs(d);
		}
		StatsAdd(&e->ystats, t);
		EvalPorts(e, y, t);
	}
}

/*
 * Evaluate count rows of ds in the order given (NULL: in their order),
 * named row0 + k + 1 when not given by order.  Returns with e->res->
 * interrupted set when the hook says stop.
 */
static HnStatus
EvalRows(Eval *e, const HnDataset *ds, const int64_t *order, int64_t count,
		 int64_t row0, HnError *err)
{
	for (int64_t r0 = 0, n = 0; r0 < count; r0 += n)
	{
		const float *x = ds->x + (size_t) r0 * e->n_in;
		HnStatus	st;

		n = count - r0 < e->batch ? count - r0 : e->batch;
		/* a sequence starts: clear the state, and end the batch before
		 * the next one */
		if (e->carries && ds->starts != NULL)
		{
			if (ds->starts[order ? order[r0] : r0])
				e->net->kind->state_reset(e->net);
			for (int64_t k = 1; k < n; k++)
				if (ds->starts[order ? order[r0 + k] : r0 + k])
				{
					n = k;
					break;
				}
		}

		if (e->cb && e->cb->interrupt && e->cb->interrupt(e->cb->ctx))
		{
			e->res->interrupted = true;
			return HANAMI_OK;
		}
		if (order != NULL)
		{
			for (int k = 0; k < n; k++)
				memcpy(e->xb + (size_t) k * e->n_in,
					   ds->x + (size_t) order[r0 + k] * e->n_in,
					   e->n_in * sizeof(float));
			x = e->xb;
		}
		e->net->kind->predict(e->net, e->work, x, (int) n, e->out);
		for (int k = 0; k < n; k++)
		{
			int64_t		r = order ? order[r0 + k] : r0 + k;
			float	   *y = e->out + (size_t) k * e->n_out;

			st = EvalCheckOutputs(e, y, order ? r : row0 + r, err);
			if (st != HANAMI_OK)
				return st;
			EvalRow(e, ds, r, y);
			HnTargetValues(e->n_out, ds->cls ? ds->cls[r] : 0,
						   ds->y ? ds->y + (size_t) r * e->n_out : NULL,
						   e->tb + (size_t) k * e->n_out);
		}
		if (ds->y != NULL && e->kf->targets != NULL)
			e->kf->targets(e->net, e->tb, (int) n);
		e->loss += e->kf->loss(e->net, e->out, e->tb, (int) n);
		e->done += n;
	}
	return HANAMI_OK;
}

/* Every chunk of a source, each checked first unless it was. */
static HnStatus
EvalSource(Eval *e, const HnRowSource *src, HnError *err)
{
	HnDataset	chunk;
	int64_t		k;

	src->start(src->ctx);
	while (!e->res->interrupted &&
		   (k = src->fetch(src->ctx, src->chunk, &chunk)) > 0)
	{
		HnStatus	st = HANAMI_OK;

		if (!e->checked)
			st = HnCheckRows(e->net, &chunk, e->done, err);
		if (st == HANAMI_OK)
			st = EvalRows(e, &chunk, NULL, k, e->done, err);
		if (st != HANAMI_OK)
			return st;
	}
	if (e->done == 0 && !e->res->interrupted)
		return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
						  "The query returned no rows.", "no rows to evaluate");
	return HANAMI_OK;
}

/* The figures from the sums. */
static void
EvalFinish(Eval *e, bool values)
{
	HnEvalResult *res = e->res;
	double		cnt = (double) e->done * e->n_out;
	double		ss_tot = StatsSumM2(&e->ystats);

	res->n = e->done;
	if (e->done == 0)
		return;
	res->loss = e->loss / (double) e->done;
	if (e->labelled == e->done)
		res->accuracy = (double) e->correct / (double) e->done;
	if (!values)
		return;
	res->mse = e->se / cnt;
	res->mae = e->ae / cnt;
	if (ss_tot > 0.0)
		res->r2 = 1.0 - e->se / ss_tot;
	else
		res->r2 = e->se == 0.0 ? 1.0 : NAN;
	for (int p = 0; p < e->n_ports; p++)
	{
		const HnPort *port = &e->ports[p];
		HnPortMetrics *m = &res->ports[p];
		double		pcnt = (double) e->done * port->count;
		double		ss = 0.0;

		for (uint32_t j = port->offset; j < port->offset + port->count; j++)
			ss += e->ystats.m2[j];
		memcpy(m->name, port->name, sizeof(m->name));
		m->classes = port->classes;
		m->accuracy = port->classes && e->port_labelled[p] == e->done ?
			(double) e->port_correct[p] / (double) e->done : NAN;
		m->mse = e->port_se[p] / pcnt;
		m->mae = e->port_ae[p] / pcnt;
		if (ss > 0.0)
			m->r2 = 1.0 - e->port_se[p] / ss;
		else
			m->r2 = e->port_se[p] == 0.0 ? 1.0 : NAN;
	}
	res->n_ports = e->n_ports;
}

/* Evaluate in batches of max_batch rows; see fit.h. */
HnStatus
HnEvaluateRows(HnNet *net, const HnRows *rows, int max_batch, bool checked,
			   const HnCallbacks *cb, const HnAllocator *alloc,
			   HnEvalResult *res, HnError *err)
{
	int64_t    *confusion = res->confusion;
	HnPortMetrics *port_metrics = res->ports;
	const HnDataset *data = rows->data;
	bool		values = data ? data->y != NULL : !rows->source->classes;
	int64_t		n = data ? (rows->order ? rows->n : data->n) : -1;
	Eval		e;
	void	   *state = NULL;	/* the carried state, restored at the end */
	HnStatus	st;

	memset(res, 0, sizeof(*res));
	res->confusion = confusion;
	res->ports = port_metrics;
	res->loss = res->accuracy = res->mse = res->mae = res->r2 = NAN;
	memset(&e, 0, sizeof(e));
	e.kf = HnKindFitOf(net, "evaluated", err);
	if (e.kf == NULL)
		return err ? err->code : HANAMI_E_INVALID_ARGUMENT;
	e.net = net;
	e.cb = cb;
	e.res = res;
	e.checked = checked;
	e.n_in = net->hdr->n_inputs;
	e.n_out = net->hdr->n_outputs;
	e.n_cls = e.n_out >= 2 ? e.n_out : 2;
	e.one_class = e.n_out == 1 &&
		net->kind->outputs(net, NULL, 0) == HANAMI_OUTPUTS_CLASSES;
	e.batch = n >= 0 && n < max_batch ? (int) (n > 0 ? n : 1) : max_batch;
	/* figures per output port: several ports, rows with target values */
	if (port_metrics != NULL && values)
	{
		e.n_ports = HnPorts(net, true, e.ports, HANAMI_MAX_PORTS);
		if (e.n_ports < 2 || e.n_ports > HANAMI_MAX_PORTS)
			e.n_ports = 0;
	}
	/*
	 * A class index names one output of one set of classes: refused when
	 * the outputs are the values of several output layers (a graph's).
	 */
	if (!values && net->kind->ports != NULL &&
		net->kind->outputs(net, NULL, 0) != HANAMI_OUTPUTS_CLASSES)
	{
		HnPort		probe[2];

		if (HnPorts(net, true, probe, 2) > 1)
		{
			HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
					   "A class index says which output of one output layer is right; this network has several output layers.",
					   "class targets need a network with one output layer");
			return HnSetHint(err, "Name each output layer's target column with the \"targets\" option, or give a real[] of every output layer's values side by side.");
		}
	}
	if (data != NULL && !checked)
	{
		if (n == 0)
			return HnSetError(err, HANAMI_E_INVALID_ARGUMENT,
							  "The query returned no rows.",
							  "no rows to evaluate");
		st = HnCheckRows(net, data, 0, err);
		if (st != HANAMI_OK)
			return st;
	}
	if (confusion != NULL)
		memset(confusion, 0, (size_t) e.n_cls * e.n_cls * sizeof(int64_t));

	e.work = net->kind->work_create(net, e.batch, alloc, err);
	if (e.work == NULL)
		return err ? err->code : HANAMI_E_NOMEM;
	/* the same arithmetic as inline inference (run, classify) */
	if (net->kind->work_tune != NULL)
		net->kind->work_tune(net, e.work);
	st = HANAMI_OK;
	if (values)
		st = StatsInit(&e.ystats, e.n_out, alloc, err);
	e.out = HnAlloc(alloc, (size_t) e.batch * e.n_out * sizeof(float));
	e.tb = HnAlloc(alloc, (size_t) e.batch * e.n_out * sizeof(float));
	if (rows->order != NULL)
		e.xb = HnAlloc(alloc, (size_t) e.batch * e.n_in * sizeof(float));
	if (st == HANAMI_OK &&
		(e.out == NULL || e.tb == NULL || (rows->order && e.xb == NULL)))
		st = HnSetError(err, HANAMI_E_NOMEM, NULL,
						"out of memory for evaluation buffers");
	/* rows that depend on each other: a pass starts from a cleared state */
	e.carries = !HnRowsIndependent(net) && net->kind->state_size(net) > 0;
	if (st == HANAMI_OK && e.carries)
	{
		state = HnAlloc(alloc, net->kind->state_size(net));
		if (state == NULL)
			st = HnSetError(err, HANAMI_E_NOMEM, NULL,
							"out of memory for the carried state");
		else
		{
			net->kind->state_save(net, state);
			net->kind->state_reset(net);
		}
	}
	if (st == HANAMI_OK)
		st = data ? EvalRows(&e, data, rows->order, n, 0, err) :
			EvalSource(&e, rows->source, err);
	if (state != NULL)
	{
		net->kind->state_load(net, state);
		HnFree(alloc, state);
	}
	if (st == HANAMI_OK)
		EvalFinish(&e, values);

	net->kind->work_free(e.work, alloc);
	StatsFree(&e.ystats, alloc);
	HnFree(alloc, e.xb);
	HnFree(alloc, e.tb);
	HnFree(alloc, e.out);
	return st;
}

/* Evaluate net on rows; see fit.h. */
HnStatus
HnEvaluate(HnNet *net, const HnRows *rows, const HnCallbacks *cb,
		   const HnAllocator *alloc, HnEvalResult *res, HnError *err)
{
	return HnEvaluateRows(net, rows, HANAMI_EVAL_BATCH, false, cb, alloc, res,
						  err);
}
