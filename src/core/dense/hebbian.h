/*
 * dense/hebbian.h - local (Hebbian) learning for dense networks: the fit
 * option "rule": "hebbian" and its stepper (dense/hebbian.c).
 *
 * Hidden layers learn from their inputs only, by a competitive Oja rule;
 * the output layer is a read-out trained by the delta rule (the gradient of
 * the loss on the output layer alone, with the fit's optimizer).  Labels
 * never reach a hidden layer.  The rule and its equations: docs/graia.md.
 */
#ifndef HANAMI_CORE_DENSE_HEBBIAN_H
#define HANAMI_CORE_DENSE_HEBBIAN_H

#include "core/dense/format.h"
#include "core/fit.h"

struct HnJson;

/* The keys only a Hebbian fit takes (listed in DenseOptionKeys). */
#define DENSE_HEBB_OPTION_KEYS \
	"rule", "hebbian_rule", "hebbian_learning_rate", "winners", \
	"anti_hebbian", "hebbian_norm", "readout"

/* Defaults of the rule's options. */
#define DENSE_HEBB_RATE			0.02
#define DENSE_HEBB_WINNERS		1
#define DENSE_HEBB_ANTI			0.0
#define DENSE_HEBB_NORM			1.0

/* The options of a Hebbian fit (HnTrainOptions.kind_options of a dense fit). */
typedef struct DenseHebbOptions
{
	uint32_t	magic;			/* DENSE_HEBB_MAGIC */
	float		rate;			/* eta, > 0 */
	int			winners;		/* k units per row learn, >= 1 */
	float		anti;			/* delta: the unit ranked k + 1 unlearns */
	float		norm;			/* the length every unit's weights tend to */
	bool		readout;		/* the output layer learns (delta rule) */
} DenseHebbOptions;

#define DENSE_HEBB_MAGIC	0x48454242	/* "HEBB" */

/*
 * Read "rule" and the Hebbian options from obj (after the dense ones: opt
 * holds its train_mask and optimizer).  With "rule": "hebbian",
 * opt->kind_options becomes a DenseHebbOptions from alloc and the output
 * layer's bit of train_mask follows "readout"; with the default rule
 * ("backprop") every Hebbian option is refused, and so are the optimizer's
 * options when the read-out does not learn.  Errors name the option.
 */
HnStatus	DenseHebbReadOptions(const DenseNet *net, const struct HnJson *obj,
								 const HnAllocator *alloc, HnTrainOptions *opt,
								 HnError *err);

/* The Hebbian options of a dense fit, or NULL for backpropagation. */
const DenseHebbOptions *DenseHebbOf(const HnTrainOptions *opt);

/*
 * HnKindFit.rule_stepper of the dense kind: the Hebbian stepper when opt
 * asks for it (why: a sentence saying it runs only on the CPU engine), else
 * NULL.
 */
const HnStepperOps *DenseRuleStepper(const HnNet *net,
									 const HnTrainOptions *opt,
									 const char **why);

extern const HnStepperOps DenseHebbStepper;

#endif							/* HANAMI_CORE_DENSE_HEBBIAN_H */
