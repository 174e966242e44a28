/*
 * Delivery (rs_deliver_one, engine/deliver*.c): files replaced atomically with their owner
 * and mode, commands that get the secret on stdin and nowhere else, sealed files only the
 * consumer opens. Runs as root (CI is root): owners are changed and commands run as nobody.
 *
 * Command tests use small /bin/sh scripts written into the test's temp dir; each one records
 * what it saw (its stdin, /proc/self environ and cmdline, descriptors) into files there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "deliver.h"
#include "deliver_stderr.h"
#include "sealed.h"
#include "secret.h"

#define SECRET  "Zq8v3TnL0pXw7RkY2mB5cH9dJ4sF6gA1"
#define NOBODY  65534
#define NOGROUP 65534

struct fx {
	char dir[64];
	char path[160]; /* the file destination: DIR/secret.pw */
	char script[160];
	char why[RS_DELIVER_WHY_MAX];
	char *argv[4];
	struct rs_account_cfg acc;
	struct rs_delivery d;
	struct rs_secret s;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/rotsec-deliver.XXXXXX");
	if (rs_crypto_init() < 0 || !mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	(void)snprintf(f->path, sizeof(f->path), "%s/secret.pw", f->dir);
	strcpy(f->acc.name, "svc-test");
	f->d.kind = RS_DELIVER_FILE;
	f->d.file = f->path;
	f->d.mode = 0400;
	f->d.timeout = 10;
	strcpy(f->d.owner, "root");
	strcpy(f->d.group, "root");
	if (rs_secret_from(&f->s, SECRET, strlen(SECRET)) < 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unsetenv("ROTSEC_FAULT_FAIL");
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rs_secret_free(&f->s);
	free(f);
	return 0;
}

static int deliver(struct fx *f, uint64_t generation)
{
	f->why[0] = '\0';
	return rs_deliver_one(&f->acc, &f->d, &f->s, generation, f->why, sizeof(f->why));
}

/* Whatever happened, `why` never carries the secret. */
static void assert_why_clean(const struct fx *f)
{
	if (f->s.len && memmem(f->why, strlen(f->why), f->s.buf, f->s.len))
		fail_msg("why carries the secret: %s", f->why);
}

static void put_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Whole file into a malloc'ed, NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	assert_non_null(buf);
	if (fd < 0)
		fail_msg("%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);

			assert_non_null(bigger);
			buf = bigger;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void assert_file_is(const char *path, const char *want)
{
	char *got = slurp(path, NULL);
	int same = strcmp(got, want) == 0;

	if (!same)
		print_error("%s holds \"%s\", expected \"%s\"\n", path, got, want);
	free(got); /* before failing: a failed test must not also report a leak */
	assert_true(same);
}

static char *in_dir(const struct fx *f, const char *name, char *buf, size_t len)
{
	(void)snprintf(buf, len, "%s/%s", f->dir, name);
	return buf;
}

/* Names in `dir`; fails on any temp file (".NAME.XXXXXX") left behind. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_name[0] == '.')
			fail_msg("temp file %s/%s left behind", dir, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* A /bin/sh script in the temp dir, run with the temp dir as $1. */
static void use_script(struct fx *f, const char *body)
{
	char text[2048];

	(void)snprintf(f->script, sizeof(f->script), "%s/consumer.sh", f->dir);
	(void)snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
	put_file(f->script, text, 0755);
	f->argv[0] = f->script;
	f->argv[1] = f->dir;
	f->argv[2] = NULL;
	f->d.kind = RS_DELIVER_COMMAND;
	f->d.argv = f->argv;
	f->d.argc = 2;
	f->d.file = NULL;
}

/* ---- file ---- */

static void file_delivery_creates_the_file_with_exact_owner_group_mode_and_content(void **state)
{
	struct fx *f = *state;
	struct stat st;

	f->d.uid = NOBODY;
	f->d.gid = NOGROUP;
	f->d.mode = 0440;
	assert_int_equal(deliver(f, 1), 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, NOBODY);
	assert_int_equal(st.st_gid, NOGROUP);
	assert_int_equal(st.st_mode & 07777, 0440);
	assert_file_is(f->path, SECRET "\n");
	assert_int_equal(entries(f->dir), 1);
}

static void file_delivery_replaces_an_existing_file_with_a_new_inode(void **state)
{
	struct fx *f = *state;
	struct stat before, after;

	put_file(f->path, "old secret\n", 0400);
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(deliver(f, 2), 0);
	assert_int_equal(stat(f->path, &after), 0);
	/* A new inode renamed over the old name: a reader holding the old file open keeps
	 * reading the old secret whole, and nobody ever sees half of either. */
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_file_is(f->path, SECRET "\n");
	assert_int_equal(entries(f->dir), 1);
}

static void file_delivery_refuses_a_symlink_at_the_destination(void **state)
{
	struct fx *f = *state;
	char target[160];
	struct stat st;

	in_dir(f, "target", target, sizeof(target));
	put_file(target, "untouched\n", 0600);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_non_null(strstr(f->why, "symbolic link"));
	assert_why_clean(f);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_file_is(target, "untouched\n");
	assert_int_equal(entries(f->dir), 2);
}

static void file_delivery_refuses_to_replace_a_directory(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_non_null(strstr(f->why, "not a regular file"));
	assert_int_equal(entries(f->dir), 1);
}

static void file_delivery_refuses_any_mode_bit_for_others(void **state)
{
	static const mode_t modes[] = {0404, 0402, 0401, 0644, 0666};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		f->d.mode = modes[i];
		assert_int_equal(deliver(f, 1), -EPERM);
		assert_non_null(strstr(f->why, "others could read it"));
		assert_why_clean(f);
	}
	assert_int_equal(entries(f->dir), 0);
}

static void file_delivery_into_a_missing_directory_fails_and_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char path[200];

	(void)snprintf(path, sizeof(path), "%s/missing/secret.pw", f->dir);
	f->d.file = path;
	assert_int_equal(deliver(f, 1), -ENOENT);
	assert_true(f->why[0] != '\0');
	assert_why_clean(f);
	assert_int_equal(entries(f->dir), 0);
}

static void file_delivery_refuses_a_directory_writable_by_group(void **state)
{
	struct fx *f = *state;

	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_non_null(strstr(f->why, "writable by group or others"));
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(entries(f->dir), 0);
}

static void file_delivery_into_a_directory_owned_by_the_file_owner_is_allowed(void **state)
{
	struct fx *f = *state;
	char sub[160], path[200];
	struct stat st;

	in_dir(f, "home", sub, sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chown(sub, NOBODY, NOGROUP), 0);
	(void)snprintf(path, sizeof(path), "%s/secret.pw", sub);
	f->d.file = path;
	f->d.uid = NOBODY;
	f->d.gid = NOGROUP;
	assert_int_equal(deliver(f, 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, NOBODY);
	assert_file_is(path, SECRET "\n");
}

static void file_delivery_refuses_a_directory_owned_by_somebody_else(void **state)
{
	struct fx *f = *state;
	char sub[160], path[200];

	in_dir(f, "home", sub, sizeof(sub));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chown(sub, 1, 1), 0);
	(void)snprintf(path, sizeof(path), "%s/secret.pw", sub);
	f->d.file = path;
	f->d.uid = NOBODY;
	f->d.gid = NOGROUP;
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_non_null(strstr(f->why, "not owned by root"));
	assert_int_equal(entries(sub), 0);
}

static void file_delivery_refuses_a_relative_path(void **state)
{
	struct fx *f = *state;

	f->d.file = "secret.pw";
	assert_int_equal(deliver(f, 1), -EINVAL);
	f->d.file = "/tmp/";
	assert_int_equal(deliver(f, 1), -EINVAL);
}

/* A failure at `point` leaves the old file in place and no temp file beside it. */
static void fail_at(struct fx *f, const char *point)
{
#ifdef ROTSEC_FAULTS
	put_file(f->path, "old secret\n", 0400);
	setenv("ROTSEC_FAULT_FAIL", point, 1);
	assert_int_equal(deliver(f, 2), -EIO);
	unsetenv("ROTSEC_FAULT_FAIL");
	assert_non_null(strstr(f->why, "cannot write"));
	assert_why_clean(f);
	assert_file_is(f->path, "old secret\n");
	assert_int_equal(entries(f->dir), 1);
#else
	(void)f;
	(void)point;
	skip();
#endif
}

static void file_delivery_failing_at_write_keeps_the_old_file_and_no_temp_file(void **state)
{
	fail_at(*state, "atomic.write:secret.pw");
}

static void file_delivery_failing_before_commit_keeps_the_old_file_and_no_temp_file(void **state)
{
	fail_at(*state, "atomic.written:secret.pw");
}

static void file_delivery_failing_after_temp_creation_leaves_no_temp_file(void **state)
{
	struct fx *f = *state;

#ifdef ROTSEC_FAULTS
	setenv("ROTSEC_FAULT_FAIL", "atomic.created:secret.pw", 1);
	assert_int_equal(deliver(f, 1), -EIO);
	unsetenv("ROTSEC_FAULT_FAIL");
	assert_int_equal(entries(f->dir), 0);
#else
	(void)f;
	skip();
#endif
}

/* ---- command ---- */

static void command_receives_the_secret_and_a_newline_on_stdin(void **state)
{
	struct fx *f = *state;
	char out[160];

	use_script(f, "cat > \"$1/stdin\"\n");
	assert_int_equal(deliver(f, 7), 0);
	assert_file_is(in_dir(f, "stdin", out, sizeof(out)), SECRET "\n");
}

static void command_receives_a_secret_larger_than_the_pipe_buffer_whole(void **state)
{
	struct fx *f = *state;
	const size_t big = 1 << 20;
	char out[160], *got;
	size_t len;

	rs_secret_free(&f->s);
	assert_int_equal(rs_secret_alloc(&f->s, big), 0);
	memset(f->s.buf, 'x', big);
	use_script(f, "cat > \"$1/stdin\"\n");
	assert_int_equal(deliver(f, 7), 0);
	got = slurp(in_dir(f, "stdin", out, sizeof(out)), &len);
	assert_int_equal(len, big + 1);
	assert_int_equal(got[big - 1], 'x');
	assert_int_equal(got[big], '\n');
	free(got);
}

static void command_environment_is_exactly_path_account_and_generation(void **state)
{
	static const char *const want[] = {
	        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	        "ROTSEC_ACCOUNT=svc-test",
	        "ROTSEC_GENERATION=18446744073709551615",
	};
	struct fx *f = *state;
	char out[160], *env, *p;
	size_t len, n = 0;

	/* /proc/PID/environ is what execve received, before the shell adds anything. */
	use_script(f, "cat /proc/$$/environ > \"$1/environ\"\n");
	assert_int_equal(setenv("ROTSEC_TEST_LEAK", "from the daemon", 1), 0);
	assert_int_equal(deliver(f, UINT64_MAX), 0);
	unsetenv("ROTSEC_TEST_LEAK");
	env = slurp(in_dir(f, "environ", out, sizeof(out)), &len);
	for (p = env; p < env + len; p += strlen(p) + 1) {
		size_t i;

		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strcmp(p, want[i]) == 0)
				break;
		if (i == sizeof(want) / sizeof(want[0]))
			fail_msg("unexpected variable in the command's environment: %s", p);
		n++;
	}
	assert_int_equal(n, 3);
	free(env);
}

static void command_never_sees_the_secret_in_its_argv_or_environment(void **state)
{
	struct fx *f = *state;
	char out[160], *got;
	size_t len;

	use_script(f, "cat /proc/$$/cmdline > \"$1/cmdline\"\n"
	              "cat /proc/$$/environ > \"$1/environ\"\n"
	              "cat > \"$1/stdin\"\n");
	assert_int_equal(deliver(f, 3), 0);

	got = slurp(in_dir(f, "cmdline", out, sizeof(out)), &len);
	assert_non_null(memmem(got, len, "consumer.sh", 11)); /* it is the right file */
	assert_null(memmem(got, len, SECRET, strlen(SECRET)));
	free(got);
	got = slurp(in_dir(f, "environ", out, sizeof(out)), &len);
	assert_non_null(memmem(got, len, "ROTSEC_ACCOUNT", 14));
	assert_null(memmem(got, len, SECRET, strlen(SECRET)));
	free(got);
	/* ...while it did get it where it belongs. */
	assert_file_is(in_dir(f, "stdin", out, sizeof(out)), SECRET "\n");
}

static void
command_stdout_goes_to_dev_null_stderr_to_us_and_it_inherits_no_daemon_descriptor(void **state)
{
	struct fx *f = *state;
	char out[160], marker[160], *fds;
	int fd;

	/* A descriptor the "daemon" opened without O_CLOEXEC, as a library might. */
	in_dir(f, "inherited-marker", marker, sizeof(marker));
	fd = open(marker, O_RDONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	/* Read the links before any redirection of the shell's own output. */
	use_script(f, "fd1=$(readlink /proc/$$/fd/1); fd2=$(readlink /proc/$$/fd/2)\n"
	              "echo \"$fd1\" > \"$1/fd1\"; echo \"$fd2\" > \"$1/fd2\"\n"
	              "for fd in /proc/$$/fd/*; do readlink \"$fd\"; done > \"$1/fds\"\n"
	              "echo 'noise on stdout'; echo 'noise on stderr' >&2\n");
	assert_int_equal(deliver(f, 1), 0);
	close(fd);
	assert_file_is(in_dir(f, "fd1", out, sizeof(out)), "/dev/null\n");
	fds = slurp(in_dir(f, "fd2", out, sizeof(out)), NULL);
	assert_memory_equal(fds, "pipe:", 5);
	free(fds);
	fds = slurp(in_dir(f, "fds", out, sizeof(out)), NULL);
	assert_non_null(strstr(fds, "pipe:")); /* stdin */
	assert_null(strstr(fds, "inherited-marker"));
	free(fds);
	/* It succeeded: what it said on stderr is nobody's business. */
	assert_string_equal(f->why, "");
}

static void command_runs_in_a_process_group_of_its_own(void **state)
{
	struct fx *f = *state;
	char out[160], *stat, *p;
	long pid, pgrp;

	use_script(f, "cat /proc/$$/stat > \"$1/stat\"\n");
	assert_int_equal(deliver(f, 1), 0);
	stat = slurp(in_dir(f, "stat", out, sizeof(out)), NULL);
	/* "pid (comm) state ppid pgrp ..."; comm may hold spaces, so parse after ')'. */
	pid = strtol(stat, NULL, 10);
	p = strrchr(stat, ')');
	assert_non_null(p);
	assert_int_equal(sscanf(p + 1, " %*c %*d %ld", &pgrp), 1);
	assert_int_equal(pgrp, pid);
	assert_int_not_equal(pgrp, (long)getpgrp());
	free(stat);
}

static void command_exiting_with_status_1_is_echild(void **state)
{
	struct fx *f = *state;

	use_script(f, "cat >/dev/null\nexit 1\n");
	assert_int_equal(deliver(f, 1), -ECHILD);
	assert_non_null(strstr(f->why, "exited with status 1"));
	assert_non_null(strstr(f->why, f->script));
	assert_why_clean(f);
}

static void command_that_fails_says_why_with_the_end_of_its_stderr(void **state)
{
	struct fx *f = *state;

	use_script(f, "cat >/dev/null\necho 'connecting to db1' >&2\n"
	              "echo 'error: connection refused' >&2\nexit 3\n");
	assert_int_equal(deliver(f, 1), -ECHILD);
	assert_non_null(strstr(f->why, "exited with status 3; stderr: connecting to db1\\n"
	                               "error: connection refused"));
	assert_null(strchr(f->why, '\n'));
}

/* No piece of SECRET 8 characters long or longer is in f->why. */
static void assert_why_has_no_piece(const struct fx *f)
{
	for (size_t i = 0; i + 8 <= strlen(SECRET); i++)
		if (memmem(f->why, strlen(f->why), SECRET + i, 8))
			fail_msg("why carries a piece of the secret: %s", f->why);
}

static void command_echoing_its_stdin_secret_to_stderr_has_it_redacted(void **state)
{
	struct fx *f = *state;

	use_script(f, "read -r pw\necho \"usage: push-pw HOST, not '$pw'\" >&2\nexit 2\n");
	assert_int_equal(deliver(f, 1), -ECHILD);
	assert_non_null(strstr(f->why, "stderr: usage: push-pw HOST, not '[redacted]'"));
	assert_why_clean(f);
	assert_why_has_no_piece(f);
}

static void command_writing_the_secret_in_pieces_or_cut_short_has_it_redacted(void **state)
{
	struct fx *f = *state;

	/* Its first 10 characters, a pause (another read on our side), the rest; then the
	 * first 20 characters alone, as a tool that truncates what it shows would. */
	use_script(f, "read -r pw\n"
	              "printf '%s' \"$pw\" | head -c 10 >&2\nsleep 0.2\n"
	              "printf '%s\\n' \"$pw\" | tail -c +11 >&2\n"
	              "printf 'retry with %s...\\n' \"$(printf '%s' \"$pw\" | head -c 20)\" >&2\n"
	              "exit 1\n");
	assert_int_equal(deliver(f, 1), -ECHILD);
	assert_non_null(strstr(f->why, "stderr: [redacted]\\nretry with [redacted]..."));
	assert_why_has_no_piece(f);
}

static void
command_writing_much_to_stderr_before_reading_stdin_neither_blocks_nor_times_out(void **state)
{
	struct fx *f = *state;
	const char *s;

	/* 1 MiB: far more than a pipe holds before anyone reads it. */
	use_script(f, "head -c 1048576 /dev/zero | tr '\\0' a >&2\n"
	              "cat >/dev/null\necho '\\tthe end' >&2\nexit 1\n");
	f->d.timeout = 20;
	assert_int_equal(deliver(f, 1), -ECHILD);
	s = strstr(f->why, "; stderr: ...aaa");
	assert_non_null(s);
	assert_true(strlen(s) <= strlen("; stderr: ") + RS_STDERR_KEEP + 3);
	assert_string_equal(f->why + strlen(f->why) - 12, "aaa\\tthe end");
}

static void command_that_times_out_says_what_it_wrote_until_then(void **state)
{
	struct fx *f = *state;

	use_script(f, "echo 'waiting for the lock on db1' >&2\nsleep 60\n");
	f->d.timeout = 1;
	assert_int_equal(deliver(f, 1), -ETIMEDOUT);
	assert_non_null(strstr(f->why, "was killed; stderr: waiting for the lock on db1"));
}

static void verify_command_printing_the_secret_it_checks_has_it_redacted(void **state)
{
	struct fx *f = *state;

	use_script(f, "echo \"login as $ROTSEC_ACCOUNT with " SECRET " failed\" >&2\nexit 1\n");
	f->acc.verify_argv = f->argv;
	f->why[0] = '\0';
	assert_int_equal(rs_run_verify(&f->acc, 4, &f->s, f->why, sizeof(f->why)), -ECHILD);
	assert_non_null(strstr(f->why, "stderr: login as svc-test with [redacted] failed"));
	assert_why_clean(f);
	f->acc.verify_argv = NULL;
}

static void command_killed_by_a_signal_is_echild(void **state)
{
	struct fx *f = *state;

	use_script(f, "kill -TERM $$\nsleep 5\n");
	assert_int_equal(deliver(f, 1), -ECHILD);
	assert_non_null(strstr(f->why, "killed by signal 15"));
}

static void command_that_outlives_its_timeout_is_killed_with_its_whole_process_group(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1, nap = {0, 10L * 1000 * 1000};
	char out[160], *s;
	pid_t child, grandchild, w = 0;
	int status = 0, killed = 0;

	/* Orphans of the killed command come to us, so the grandchild can be reaped here
	 * and its death observed (PID 1 in a container may never reap it). */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	use_script(f, "sleep 60 &\n"
	              "echo $! > \"$1/grandchild\"\n"
	              "echo $$ > \"$1/child\"\n"
	              "sleep 60\n");
	/* 3 s: long enough for a loaded machine to start the script and write its pids
	 * before the kill. Only the lower bound is checked: the timeout is not cut short. */
	f->d.timeout = 3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(deliver(f, 1), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(f->why, "did not finish within 3 s"));
	assert_true(t1.tv_sec - t0.tv_sec >= 3);

	s = slurp(in_dir(f, "child", out, sizeof(out)), NULL);
	child = (pid_t)atoi(s);
	free(s);
	s = slurp(in_dir(f, "grandchild", out, sizeof(out)), NULL);
	grandchild = (pid_t)atoi(s);
	free(s);
	assert_true(child > 1 && grandchild > 1);

	/* Reap what the kill left of the group: the grandchild and the script's foreground
	 * sleep, both orphaned to us. waitpid(-pgid) only ever picks members of that group. */
	for (int i = 0; i < 6000; i++) {
		int st = 0;

		w = waitpid(-child, &st, WNOHANG);
		if (w == grandchild) {
			status = st;
			killed = 1;
		}
		if (w < 0)
			break; /* ECHILD: none left */
		if (w == 0)
			nanosleep(&nap, NULL);
	}
	assert_int_equal(errno, ECHILD);
	/* The grandchild comes to us only when it outlives the script for a moment: if the
	 * group's SIGKILL took it first, the script, still in its wait, may have reaped it
	 * itself. Either way it is gone; when it is ours, SIGKILL is what ended it. */
	if (killed) {
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
	}
	assert_int_equal(kill(grandchild, 0), -1);
	assert_int_equal(errno, ESRCH);
	/* Nothing is left in the command's process group. */
	assert_int_equal(kill(-child, 0), -1);
	assert_int_equal(errno, ESRCH);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void command_that_exits_0_without_reading_stdin_succeeds(void **state)
{
	struct fx *f = *state;

	use_script(f, "exit 0\n");
	assert_int_equal(deliver(f, 1), 0);
	assert_string_equal(f->why, "");
}

static void command_closing_stdin_unread_neither_kills_us_with_sigpipe_nor_fails(void **state)
{
	struct fx *f = *state;
	const size_t big = 1 << 20;
	sigset_t pending, mask;

	/* More than a pipe holds: our write is certain to meet a closed pipe (EPIPE, and
	 * SIGPIPE, whose default action would end this process and fail the test). */
	rs_secret_free(&f->s);
	assert_int_equal(rs_secret_alloc(&f->s, big), 0);
	memset(f->s.buf, 'y', big);
	use_script(f, "exec 0<&-\nsleep 0.1\nexit 0\n");
	assert_int_equal(deliver(f, 1), 0);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGPIPE));
}

static void command_that_does_not_exist_is_enoent(void **state)
{
	struct fx *f = *state;
	char path[160];

	use_script(f, "exit 0\n");
	f->argv[0] = in_dir(f, "no-such-program", path, sizeof(path));
	assert_int_equal(deliver(f, 1), -ENOENT);
	assert_non_null(strstr(f->why, "cannot execute"));
}

static void command_that_is_not_executable_is_eacces(void **state)
{
	struct fx *f = *state;

	use_script(f, "exit 0\n");
	assert_int_equal(chmod(f->script, 0644), 0);
	assert_int_equal(deliver(f, 1), -EACCES);
}

static void command_runs_as_the_configured_user_with_only_its_groups(void **state)
{
	struct fx *f = *state;
	char outdir[160], out[200], *ids;
	char *tok, *save = NULL;

	/* nobody must be able to reach the script and write its findings. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	in_dir(f, "out", outdir, sizeof(outdir));
	assert_int_equal(mkdir(outdir, 0700), 0);
	assert_int_equal(chown(outdir, NOBODY, NOGROUP), 0);
	use_script(f, "d=\"$1/out\"\n"
	              "id -u > \"$d/ids\"; id -g >> \"$d/ids\"; id -G >> \"$d/ids\"\n"
	              "cat > \"$d/stdin\"\n");
	strcpy(f->d.user, "nobody");
	f->d.run_uid = NOBODY;
	f->d.run_gid = NOGROUP;
	assert_int_equal(deliver(f, 1), 0);

	(void)snprintf(out, sizeof(out), "%s/ids", outdir);
	ids = slurp(out, NULL);
	tok = strtok_r(ids, "\n", &save);
	assert_string_equal(tok, "65534");
	tok = strtok_r(NULL, "\n", &save);
	assert_string_equal(tok, "65534");
	/* The daemon's own groups (root's) are gone. */
	tok = strtok_r(NULL, " \n", &save);
	for (; tok; tok = strtok_r(NULL, " \n", &save))
		assert_string_not_equal(tok, "0");
	free(ids);
	(void)snprintf(out, sizeof(out), "%s/stdin", outdir);
	assert_file_is(out, SECRET "\n");
}

/* Once the child has switched to the configured user, that user may stop it (SIGSTOP)
 * before it reaches execve: the daemon must still give up at the timeout and kill it,
 * not wait for an exec that never comes. The stop point stands for that user's kill(2);
 * the alarm fails the test instead of hanging it. */
static void command_stopped_by_its_user_before_exec_is_killed_at_the_timeout(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	int r;

	assert_int_equal(chmod(f->dir, 0755), 0);
	use_script(f, "cat >/dev/null\n");
	strcpy(f->d.user, "nobody");
	f->d.run_uid = NOBODY;
	f->d.run_gid = NOGROUP;
	f->d.timeout = 1;
	setenv("ROTSEC_FAULT_STOP", "command.dropped", 1);
	alarm(30);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = deliver(f, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	unsetenv("ROTSEC_FAULT_STOP");
	assert_int_equal(r, -ETIMEDOUT);
	assert_non_null(strstr(f->why, "was killed"));
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	assert_why_clean(f);
}

static void command_delivery_refuses_a_relative_program(void **state)
{
	struct fx *f = *state;
	char *argv[] = {"true", NULL};

	f->d.kind = RS_DELIVER_COMMAND;
	f->d.argv = argv;
	f->d.argc = 1;
	assert_int_equal(deliver(f, 1), -EINVAL);
}

/* ---- sealed ---- */

static void sealed_delivery_writes_a_box_that_opens_with_the_matching_key_only(void **state)
{
	struct fx *f = *state;
	char prefix[160], pub[200], key[200], other[200], sealed[160], *box;
	struct rs_secret got = {0};
	struct stat st;
	size_t len;

	in_dir(f, "consumer", prefix, sizeof(prefix));
	(void)snprintf(pub, sizeof(pub), "%s.pub", prefix);
	(void)snprintf(key, sizeof(key), "%s.key", prefix);
	assert_int_equal(rs_keygen_files(prefix, f->why, sizeof(f->why)), 0);
	in_dir(f, "other", other, sizeof(other));
	assert_int_equal(rs_keygen_files(other, f->why, sizeof(f->why)), 0);
	strncat(other, ".key", sizeof(other) - strlen(other) - 1);

	f->d.kind = RS_DELIVER_SEALED;
	f->d.sealed_to = pub;
	assert_int_equal(rs_read_public_key(pub, f->d.sealed_pk, f->why, sizeof(f->why)), 0);
	f->d.file = in_dir(f, "svc-test.sealed", sealed, sizeof(sealed));
	f->d.mode = 0644;
	assert_int_equal(deliver(f, 1), 0);

	assert_int_equal(stat(sealed, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	box = slurp(sealed, &len);
	assert_int_equal(len, crypto_box_SEALBYTES + strlen(SECRET));
	assert_null(memmem(box, len, SECRET, strlen(SECRET)));
	assert_int_equal(rs_unseal((unsigned char *)box, len, key, &got, f->why, sizeof(f->why)),
	                 0);
	assert_int_equal(got.len, strlen(SECRET));
	assert_memory_equal(got.buf, SECRET, got.len);
	rs_secret_free(&got);
	assert_int_equal(rs_unseal((unsigned char *)box, len, other, &got, f->why, sizeof(f->why)),
	                 -EBADMSG);
	assert_null(got.buf);
	free(box);
}

static void sealed_delivery_refuses_a_mode_writable_by_others(void **state)
{
	struct fx *f = *state;

	f->d.kind = RS_DELIVER_SEALED;
	f->d.sealed_to = "/nonexistent.pub";
	f->d.mode = 0646;
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_int_equal(entries(f->dir), 0);
}

/* As the config refuses it: a member of the file's group could swap in a box of their own
 * as well as anyone else could. */
static void sealed_delivery_refuses_a_mode_writable_by_group(void **state)
{
	struct fx *f = *state;

	f->d.kind = RS_DELIVER_SEALED;
	f->d.sealed_to = "/nonexistent.pub";
	f->d.mode = 0664;
	assert_int_equal(deliver(f, 1), -EPERM);
	assert_int_equal(entries(f->dir), 0);
}

/* ---- labels ---- */

static void deliveries_are_labelled_by_kind_and_target(void **state)
{
	char buf[256];
	struct rs_delivery d = {.kind = RS_DELIVER_FILE, .file = "/run/rotsec/x.pw"};
	char *argv[] = {"/usr/local/bin/push", "--quiet", NULL};

	(void)state;
	rs_delivery_label(&d, buf, sizeof(buf));
	assert_string_equal(buf, "file /run/rotsec/x.pw");
	d.kind = RS_DELIVER_SEALED;
	d.file = "/var/lib/rotsec/outbox/x.sealed";
	rs_delivery_label(&d, buf, sizeof(buf));
	assert_string_equal(buf, "sealed /var/lib/rotsec/outbox/x.sealed");
	d.kind = RS_DELIVER_COMMAND;
	d.file = NULL;
	d.argv = argv;
	d.argc = 2;
	rs_delivery_label(&d, buf, sizeof(buf));
	assert_string_equal(buf, "command /usr/local/bin/push");
	rs_delivery_label(&d, buf, 8);
	assert_string_equal(buf, "command");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(file_delivery_creates_the_file_with_exact_owner_group_mode_and_content),
	        T(file_delivery_replaces_an_existing_file_with_a_new_inode),
	        T(file_delivery_refuses_a_symlink_at_the_destination),
	        T(file_delivery_refuses_to_replace_a_directory),
	        T(file_delivery_refuses_any_mode_bit_for_others),
	        T(file_delivery_into_a_missing_directory_fails_and_leaves_nothing),
	        T(file_delivery_refuses_a_directory_writable_by_group),
	        T(file_delivery_into_a_directory_owned_by_the_file_owner_is_allowed),
	        T(file_delivery_refuses_a_directory_owned_by_somebody_else),
	        T(file_delivery_refuses_a_relative_path),
	        T(file_delivery_failing_at_write_keeps_the_old_file_and_no_temp_file),
	        T(file_delivery_failing_before_commit_keeps_the_old_file_and_no_temp_file),
	        T(file_delivery_failing_after_temp_creation_leaves_no_temp_file),
	        T(command_receives_the_secret_and_a_newline_on_stdin),
	        T(command_receives_a_secret_larger_than_the_pipe_buffer_whole),
	        T(command_environment_is_exactly_path_account_and_generation),
	        T(command_never_sees_the_secret_in_its_argv_or_environment),
	        T(command_stdout_goes_to_dev_null_stderr_to_us_and_it_inherits_no_daemon_descriptor),
	        T(command_runs_in_a_process_group_of_its_own),
	        T(command_exiting_with_status_1_is_echild),
	        T(command_that_fails_says_why_with_the_end_of_its_stderr),
	        T(command_echoing_its_stdin_secret_to_stderr_has_it_redacted),
	        T(command_writing_the_secret_in_pieces_or_cut_short_has_it_redacted),
	        T(command_writing_much_to_stderr_before_reading_stdin_neither_blocks_nor_times_out),
	        T(command_that_times_out_says_what_it_wrote_until_then),
	        T(verify_command_printing_the_secret_it_checks_has_it_redacted),
	        T(command_killed_by_a_signal_is_echild),
	        T(command_that_outlives_its_timeout_is_killed_with_its_whole_process_group),
	        T(command_stopped_by_its_user_before_exec_is_killed_at_the_timeout),
	        T(command_that_exits_0_without_reading_stdin_succeeds),
	        T(command_closing_stdin_unread_neither_kills_us_with_sigpipe_nor_fails),
	        T(command_that_does_not_exist_is_enoent),
	        T(command_that_is_not_executable_is_eacces),
	        T(command_runs_as_the_configured_user_with_only_its_groups),
	        T(command_delivery_refuses_a_relative_program),
	        T(sealed_delivery_writes_a_box_that_opens_with_the_matching_key_only),
	        T(sealed_delivery_refuses_a_mode_writable_by_others),
	        T(sealed_delivery_refuses_a_mode_writable_by_group),
	        T(deliveries_are_labelled_by_kind_and_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
