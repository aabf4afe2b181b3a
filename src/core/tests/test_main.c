/*
 * test_main.c - the engine's unit test runner: runs every suite and prints
 * "N passed, N failed" (the harness is in harness.c).
 */
#include "harness.h"

/* Run every suite; exit 1 if anything failed. */
int
main(void)
{
	TestMathSuite();
	TestFormatSuite();
	TestDenseSuite();
	TestTrainSuite();
	TestFastSuite();
	TestScalingSuite();
	TestGrowSuite();
	TestKindSuite();
	TestFitSuite();
	TestJsonSuite();
	TestCheckpointSuite();
	TestReshapeSuite();
	TestOnlineSuite();
	TestExprSuite();
	TestDtypeSuite();
	TestGrowPagingSuite();
	TestHebbianSuite();
	TestCustomActSuite();
	TestPortsSuite();
	TestGraphSuite();
	TestEmbedSuite();
	TestHistorySuite();
	return TestSummary();
}
