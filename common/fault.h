/*
 * Fault points for test builds.
 *
 * Crash safety is only as good as its proof: every step of a store write and of a
 * rotation carries a named fault point, so the tests can kill the process (SIGKILL,
 * like a power cut as far as our files are concerned) or make the step fail at exactly
 * that place and then check that the store is intact and the rotation resumable.
 *
 * Fault points exist only when built with -DROTSEC_FAULTS (the test build). In a
 * release build RS_FAULT() is the constant 0 and nothing reads the environment.
 *
 *   ROTSEC_FAULT=NAME        SIGKILL the process when it reaches point NAME
 *   ROTSEC_FAULT=NAME@N      ... when it reaches NAME for the Nth time (1 = the first)
 *   ROTSEC_FAULT_FAIL=NAME   make point NAME fail with EIO (the caller's error path runs)
 *
 * Stop points (RS_FAULT_STOP) are not fault points: a process never fails or dies at one,
 * and ROTSEC_FAULT_LOG does not list them. They mark where another user could act between
 * a check and a use (trust.c, after a path rotsec writes is walked):
 *   ROTSEC_FAULT_STOP=NAME   SIGSTOP the process at stop point NAME: the test changes
 *                            something under it, as that user would, and sends SIGCONT
 *   ROTSEC_FAULT_LOG=FILE    append the name of every point reached to FILE
 */
#ifndef ROTSEC_FAULT_H
#define ROTSEC_FAULT_H

#ifdef ROTSEC_FAULTS
int rs_fault(const char *point);
void rs_fault_stop(const char *point);
#define RS_FAULT(point)      rs_fault(point)
#define RS_FAULT_STOP(point) rs_fault_stop(point)
#else
#define RS_FAULT(point) 0
#define RS_FAULT_STOP(point)                                                                       \
	do {                                                                                       \
	} while (0)
#endif

#endif
