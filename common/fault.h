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
 *   ROTSEC_FAULT_STOP=NAME   SIGSTOP the process at point NAME: the test changes something
 *                            under it (as another user would, between a check and a use)
 *                            and sends SIGCONT
 *   ROTSEC_FAULT_LOG=FILE    append the name of every point reached to FILE
 */
#ifndef ROTSEC_FAULT_H
#define ROTSEC_FAULT_H

#ifdef ROTSEC_FAULTS
int rs_fault(const char *point);
#define RS_FAULT(point) rs_fault(point)
#else
#define RS_FAULT(point) 0
#endif

#endif
