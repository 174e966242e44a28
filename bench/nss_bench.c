/*
 * nss_bench: the cost of one NSS passwd backend, called the way glibc calls it, for
 * `make bench`.
 *
 *   nss_bench [-t MS] [-r REPS] LIBRARY SERVICE N PREFIX UID0
 *
 * dlopens LIBRARY (a soname or a path; "libc.so.6" for `files`, whose functions glibc
 * 2.34+ carries itself) and calls _nss_SERVICE_getpwnam_r, _getpwuid_r and
 * _setpwent/_getpwent_r/_endpwent directly: no nsswitch.conf and no nscd, so what is
 * timed is the backend alone. The backend must hold exactly the N accounts
 * PREFIX000001..PREFIXnnnnnn with uids UID0+1..UID0+N, which bench/nss.sh generates for
 * every backend alike.
 *
 * Prints one line per operation, "OP NS", NS the median over REPS batches of about MS
 * milliseconds each of the time per call (per entry for the enumeration), except
 *   first        the very first call of the process, a getpwnam_r hit, alone: what a
 *                fresh process pays to open the backend's files (nss_rotsec reads the
 *                store into memory there, store_read.c), once per process
 * and then:
 *   pwnam_hit    an existing name, spread over the whole set (a linear backend scans
 *                half of it on average)
 *   pwnam_miss   a name that is not there (a linear backend scans all of it)
 *   pwuid_hit, pwuid_miss   the same by uid
 *   ent          setpwent, getpwent_r to the end, endpwent: ns per entry
 * Every answer is checked (the right name for the uid and the other way round, NOTFOUND
 * for a miss, exactly N entries): a wrong or missing answer stops with exit 1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*setpwent_fn)(int);
typedef enum nss_status (*getpwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*endpwent_fn)(void);

static pwnam_fn pwnam;
static pwuid_fn pwuid;
static setpwent_fn setent;
static getpwent_fn getent;
static endpwent_fn endent;

static long n_accounts;
static const char *prefix;
static unsigned long uid0;
static char buf[16384];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The i-th key of a call sequence: a stride prime to N walks the whole set. */
static long key_index(long i)
{
	return 1 + (long)(((unsigned long)i * 7919UL) % (unsigned long)n_accounts);
}

static int fail(const char *op, long i, enum nss_status st, int err)
{
	fprintf(stderr, "nss_bench: %s, call %ld: status %d, errno %d (%s)\n", op, i, (int)st, err,
	        strerror(err));
	return -1;
}

/* `calls` calls of op starting at call number `first`; 0, or -1 on a wrong answer. */
static int run(const char *op, long first, long calls)
{
	struct passwd pw;
	char name[64];
	int err = 0;

	for (long i = first; i < first + calls; i++) {
		long k = key_index(i);
		enum nss_status st;

		if (strcmp(op, "pwnam_hit") == 0) {
			snprintf(name, sizeof(name), "%s%06ld", prefix, k);
			st = pwnam(name, &pw, buf, sizeof(buf), &err);
			if (st != NSS_STATUS_SUCCESS || pw.pw_uid != uid0 + (unsigned long)k)
				return fail(op, i, st, err);
		} else if (strcmp(op, "pwnam_miss") == 0) {
			snprintf(name, sizeof(name), "nosuch%06ld", k);
			st = pwnam(name, &pw, buf, sizeof(buf), &err);
			if (st != NSS_STATUS_NOTFOUND)
				return fail(op, i, st, err);
		} else if (strcmp(op, "pwuid_hit") == 0) {
			snprintf(name, sizeof(name), "%s%06ld", prefix, k);
			st = pwuid((uid_t)(uid0 + (unsigned long)k), &pw, buf, sizeof(buf), &err);
			if (st != NSS_STATUS_SUCCESS || strcmp(pw.pw_name, name) != 0)
				return fail(op, i, st, err);
		} else {
			st = pwuid((uid_t)(uid0 + (unsigned long)n_accounts + (unsigned long)k),
			           &pw, buf, sizeof(buf), &err);
			if (st != NSS_STATUS_NOTFOUND)
				return fail(op, i, st, err);
		}
	}
	return 0;
}

/* One whole enumeration; the number of entries, or -1. */
static long enumerate(void)
{
	struct passwd pw;
	enum nss_status st;
	long n = 0;
	int err = 0;

	if (setent(0) != NSS_STATUS_SUCCESS)
		return fail("setpwent", 0, NSS_STATUS_UNAVAIL, errno);
	while ((st = getent(&pw, buf, sizeof(buf), &err)) == NSS_STATUS_SUCCESS)
		n++;
	endent();
	if (st != NSS_STATUS_NOTFOUND)
		return fail("getpwent_r", n, st, err);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int bench_lookup(const char *op, int reps, double target_ms)
{
	double t, v[64];
	long calls, next = 0;

	/* Warm-up and calibration: the first call maps or reads the files. */
	if (run(op, next++, 1) < 0)
		return -1;
	t = now_ns();
	if (run(op, next++, 1) < 0)
		return -1;
	t = now_ns() - t;
	calls = (long)(target_ms * 1e6 / (t > 50 ? t : 50));
	calls = calls < 1 ? 1 : calls;
	for (int r = 0; r < reps; r++) {
		t = now_ns();
		if (run(op, next, calls) < 0)
			return -1;
		v[r] = (now_ns() - t) / (double)calls;
		next += calls;
	}
	printf("%s %.0f\n", op, median(v, reps));
	return 0;
}

static int bench_ent(int reps, double target_ms)
{
	double v[64], t;
	long n;

	n = enumerate(); /* warm-up */
	if (n < 0)
		return -1;
	if (n != n_accounts) {
		fprintf(stderr, "nss_bench: enumeration gave %ld entries, expected %ld\n", n,
		        n_accounts);
		return -1;
	}
	for (int r = 0; r < reps; r++) {
		long rounds = 0;

		t = now_ns();
		/* At least one enumeration; more when one is shorter than the target. */
		do {
			if (enumerate() != n)
				return -1;
			rounds++;
		} while (now_ns() - t < target_ms * 1e6);
		v[r] = (now_ns() - t) / (double)(rounds * n);
	}
	printf("ent %.0f\n", median(v, reps));
	return 0;
}

static void *sym(void *h, const char *service, const char *fn)
{
	char name[128];
	void *p;

	snprintf(name, sizeof(name), "_nss_%s_%s", service, fn);
	p = dlsym(h, name);
	if (!p)
		fprintf(stderr, "nss_bench: %s not found: %s\n", name, dlerror());
	return p;
}

int main(int argc, char **argv)
{
	static const char *const ops[] = {"pwnam_hit", "pwnam_miss", "pwuid_hit", "pwuid_miss"};
	double target_ms = 20;
	int reps = 7, opt;
	void *h;

	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't')
			target_ms = atof(optarg);
		else if (opt == 'r')
			reps = atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 5 || reps < 1 || reps > 64 || target_ms <= 0)
		goto usage;
	n_accounts = atol(argv[optind + 2]);
	prefix = argv[optind + 3];
	uid0 = strtoul(argv[optind + 4], NULL, 10);
	if (n_accounts < 1)
		goto usage;
	h = dlopen(argv[optind], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "nss_bench: %s\n", dlerror());
		return 1;
	}
	pwnam = (pwnam_fn)sym(h, argv[optind + 1], "getpwnam_r");
	pwuid = (pwuid_fn)sym(h, argv[optind + 1], "getpwuid_r");
	setent = (setpwent_fn)sym(h, argv[optind + 1], "setpwent");
	getent = (getpwent_fn)sym(h, argv[optind + 1], "getpwent_r");
	endent = (endpwent_fn)sym(h, argv[optind + 1], "endpwent");
	if (!pwnam || !pwuid || !setent || !getent || !endent)
		return 1;
	{
		double t = now_ns();

		if (run("pwnam_hit", 0, 1) < 0)
			return 1;
		printf("first %.0f\n", now_ns() - t);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (bench_lookup(ops[i], reps, target_ms) < 0)
			return 1;
	if (bench_ent(reps, target_ms) < 0)
		return 1;
	return 0;
usage:
	fprintf(stderr, "usage: nss_bench [-t MS] [-r REPS] LIBRARY SERVICE N PREFIX UID0\n");
	return 2;
}
