/*
 * The trust rule's walk (common/trust.c): every way a path can fail the rule, for what
 * rotsec reads (links followed only out of directories that pass) and what it writes
 * (no link at all, missing directories made root's), and the programs it runs.
 * Runs as root: "another user" is uid 65534 (nobody), by chown.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "trust.h"
#include "unit_util.h"

#define NOBODY 65534

struct fx {
	char dir[64];
	char why[1024];
	char path[PATH_MAX];
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	if (!ut_mkdtemp(f.dir, sizeof(f.dir)))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ut_rm_rf(f->dir);
	return 0;
}

/* symlink TARGET (f->dir/target when abs) at f->dir/rel. */
static void link_at(struct fx *f, const char *target, bool abs, const char *rel)
{
	char t[PATH_MAX];

	(void)snprintf(t, sizeof(t), "%s%s%s", abs ? f->dir : "", abs ? "/" : "", target);
	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	assert_int_equal(symlink(t, f->path), 0);
}

/* f->dir/rel, in f->path (and returned). */
static const char *at(struct fx *f, const char *rel)
{
	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	return f->path;
}

static void mkdir_at(struct fx *f, const char *rel, mode_t mode, uid_t uid)
{
	assert_int_equal(mkdir(at(f, rel), 0700), 0);
	assert_int_equal(chown(f->path, uid, 0), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

static void file_at(struct fx *f, const char *rel, const char *text, mode_t mode, uid_t uid)
{
	assert_int_equal(ut_write_file(at(f, rel), text, strlen(text), mode), 0);
	assert_int_equal(chown(f->path, uid, 0), 0);
	assert_int_equal(chmod(f->path, mode), 0);
}

/* rs_trust_file on rel with no flags: the fd (closed) or the error, why in f->why. */
static int read_rc(struct fx *f, const char *rel)
{
	struct rs_trust t = {0};
	char path[PATH_MAX];
	int fd;

	(void)snprintf(path, sizeof(path), "%s", at(f, rel));
	f->why[0] = '\0';
	fd = rs_trust_file(path, &t, f->why, sizeof(f->why));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return fd;
}

static void assert_why(struct fx *f, const char *part)
{
	if (!strstr(f->why, part))
		fail_msg("why \"%s\" lacks \"%s\"", f->why, part);
}

static void root_file_in_root_directories_is_read_through_the_fd_checked(void **state)
{
	struct fx *f = *state;
	struct rs_trust t = {0};
	char buf[16] = "";
	int fd;

	mkdir_at(f, "etc", 0755, 0);
	file_at(f, "etc/a.conf", "hello", 0644, 0);
	fd = rs_trust_file(at(f, "etc/a.conf"), &t, f->why, sizeof(f->why));
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 5);
	assert_string_equal(buf, "hello");
	assert_true(S_ISREG(t.st.st_mode));
	close(fd);
}

static void file_of_another_user_is_refused_with_chown_as_the_fix(void **state)
{
	struct fx *f = *state;

	file_at(f, "a.conf", "x", 0644, NOBODY);
	assert_int_equal(read_rc(f, "a.conf"), -EPERM);
	assert_why(f, "is not owned by root (uid 65534)");
	assert_why(f, "chown root ");
}

static void group_or_world_writable_file_is_refused_with_chmod_as_the_fix(void **state)
{
	struct fx *f = *state;

	file_at(f, "g.conf", "x", 0664, 0);
	file_at(f, "o.conf", "x", 0646, 0);
	assert_int_equal(read_rc(f, "g.conf"), -EPERM);
	assert_why(f, "is writable by group or others (mode 0664): chmod go-w ");
	assert_int_equal(read_rc(f, "o.conf"), -EPERM);
	assert_why(f, "(mode 0646)");
}

/* A POSIX ACL entry for uid 65534 with rw, the mask rw: the mode's group bits become the
 * mask, and the walk names the ACL. */
static int add_acl_write(const char *path)
{
	const uint16_t ent[][2] = {{0x01, 6}, {0x02, 6}, {0x04, 4}, {0x10, 6}, {0x20, 4}};
	const uint32_t ids[] = {UINT32_MAX, NOBODY, UINT32_MAX, UINT32_MAX, UINT32_MAX};
	unsigned char acl[4 + 5 * 8];

	memset(acl, 0, sizeof(acl));
	acl[0] = 2; /* version, little-endian */
	for (size_t i = 0; i < 5; i++) {
		unsigned char *e = acl + 4 + 8 * i;

		e[0] = (unsigned char)ent[i][0];
		e[2] = (unsigned char)ent[i][1];
		for (int b = 0; b < 4; b++)
			e[4 + b] = (unsigned char)(ids[i] >> (8 * b));
	}
	return setxattr(path, "system.posix_acl_access", acl, sizeof(acl), 0);
}

static void acl_granting_write_to_another_user_is_refused_and_named(void **state)
{
	struct fx *f = *state;

	file_at(f, "acl.conf", "x", 0644, 0);
	if (add_acl_write(at(f, "acl.conf")) < 0)
		skip(); /* no POSIX ACLs on this file system */
	assert_int_equal(read_rc(f, "acl.conf"), -EPERM);
	assert_why(f, "an ACL lets uid 65534 write it");
	assert_why(f, "chmod go-w");
	/* The fix the message gives is enough: chmod sets the mask. */
	assert_int_equal(chmod(at(f, "acl.conf"), 0644), 0);
	assert_int_equal(read_rc(f, "acl.conf"), 0);
}

static void directory_above_of_another_user_or_writable_is_refused(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "u", 0755, NOBODY);
	file_at(f, "u/a.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "u/a.conf"), -EPERM);
	assert_why(f, "/u is not owned by root (uid 65534)");
	mkdir_at(f, "g", 0775, 0);
	file_at(f, "g/a.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "g/a.conf"), -EPERM);
	assert_why(f, "/g is writable by group or others (mode 0775)");
}

static void a_users_own_file_is_judged_alone_and_read_as_a_stream(void **state)
{
	struct fx *f = *state;
	char line[16] = "";
	FILE *in;
	int fd;

	/* The directory is another user's: rs_trust_file refuses it, the file alone is
	 * judged by rs_trust_file_only. */
	mkdir_at(f, "home", 0755, NOBODY);
	file_at(f, "home/ok.conf", "hello\n", 0600, 0);
	file_at(f, "home/g.conf", "x", 0664, 0);
	file_at(f, "home/u.conf", "x", 0600, NOBODY);
	assert_int_equal(read_rc(f, "home/ok.conf"), -EPERM);
	fd = rs_trust_file_only(at(f, "home/ok.conf"), RS_TRUST_SELF, f->why, sizeof(f->why));
	assert_int_equal(rs_trust_stream(fd, f->path, &in, f->why, sizeof(f->why)), 0);
	assert_non_null(fgets(line, sizeof(line), in));
	assert_string_equal(line, "hello\n");
	(void)fclose(in);
	fd = rs_trust_file_only(at(f, "home/g.conf"), RS_TRUST_SELF, f->why, sizeof(f->why));
	assert_int_equal(fd, -EPERM);
	assert_why(f, "chmod go-w");
	/* A failed open passes through the stream with its why. */
	assert_int_equal(rs_trust_stream(fd, f->path, &in, f->why, sizeof(f->why)), -EPERM);
	assert_null(in);
	assert_why(f, "chmod go-w");
	fd = rs_trust_file_only(at(f, "home/u.conf"), RS_TRUST_SELF, f->why, sizeof(f->why));
	assert_int_equal(fd, -EPERM);
	assert_why(f, "is not owned by root (uid 65534)");
	assert_int_equal(rs_trust_file_only(at(f, "home"), 0, f->why, sizeof(f->why)), -EISDIR);
	assert_int_equal(rs_trust_file_only(at(f, "none"), 0, f->why, sizeof(f->why)), -ENOENT);
}

static void sticky_directory_may_be_world_writable_over_an_entry_of_roots(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "tmp", 01777, 0);
	file_at(f, "tmp/root.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "tmp/root.conf"), 0);
	mkdir_at(f, "tmp/rootdir", 0755, 0);
	file_at(f, "tmp/rootdir/a.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "tmp/rootdir/a.conf"), 0);
	mkdir_at(f, "tmp/theirs", 0755, NOBODY);
	file_at(f, "tmp/theirs/a.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "tmp/theirs/a.conf"), -EPERM);
	assert_why(f, "which others can write");
	/* A second name, in the sticky directory, for a file of root's. */
	file_at(f, "rootfile", "x", 0644, 0);
	{
		char src[PATH_MAX];

		(void)snprintf(src, sizeof(src), "%s", f->path);
		assert_int_equal(link(src, at(f, "tmp/linked.conf")), 0);
	}
	assert_int_equal(read_rc(f, "tmp/linked.conf"), -EPERM);
	assert_why(f, "has 2 hard links");
	/* Not sticky: nothing in it can be trusted. */
	mkdir_at(f, "open", 0777, 0);
	file_at(f, "open/a.conf", "x", 0644, 0);
	assert_int_equal(read_rc(f, "open/a.conf"), -EPERM);
}

static void link_out_of_a_safe_directory_is_followed_and_its_target_checked(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "etc", 0755, 0);
	mkdir_at(f, "real", 0755, 0);
	file_at(f, "real/a.conf", "x", 0644, 0);
	link_at(f, "../real/a.conf", false, "etc/rel.conf");
	link_at(f, "real", true, "etc/dirlink");
	assert_int_equal(read_rc(f, "etc/rel.conf"), 0);
	assert_int_equal(read_rc(f, "etc/dirlink/a.conf"), 0);
	/* The same links to where another user writes: the target is refused. */
	mkdir_at(f, "theirs", 0777, 0);
	file_at(f, "theirs/a.conf", "x", 0644, 0);
	link_at(f, "theirs/a.conf", true, "etc/bad.conf");
	assert_int_equal(read_rc(f, "etc/bad.conf"), -EPERM);
	assert_why(f, "/theirs is writable by group or others");
}

static void link_planted_by_another_user_is_not_followed(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "real", 0755, 0);
	file_at(f, "real/a.conf", "x", 0644, 0);
	/* In a directory of theirs: the directory fails. */
	mkdir_at(f, "home", 0755, NOBODY);
	link_at(f, "real/a.conf", true, "home/a.conf");
	assert_int_equal(read_rc(f, "home/a.conf"), -EPERM);
	assert_why(f, "/home is not owned by root");
	/* In a sticky directory: their link is theirs to repoint. */
	mkdir_at(f, "tmp", 01777, 0);
	link_at(f, "real/a.conf", true, "tmp/a.conf");
	assert_int_equal(lchown(at(f, "tmp/a.conf"), NOBODY, NOBODY), 0);
	assert_int_equal(read_rc(f, "tmp/a.conf"), -EPERM);
	assert_why(f, "chown -h root");
}

static void link_loop_is_refused(void **state)
{
	struct fx *f = *state;

	link_at(f, "b", false, "a");
	link_at(f, "a", false, "b");
	assert_int_equal(read_rc(f, "a"), -ELOOP);
}

static void not_a_regular_file_and_relative_paths_are_refused(void **state)
{
	struct fx *f = *state;
	struct rs_trust t = {0};

	mkdir_at(f, "d", 0755, 0);
	assert_int_equal(read_rc(f, "d"), -EISDIR);
	assert_int_equal(read_rc(f, "missing"), -ENOENT);
	assert_int_equal(rs_trust_file("etc/passwd", &t, f->why, sizeof(f->why)), -EINVAL);
	assert_int_equal(rs_trust_dir("tmp", &t, f->why, sizeof(f->why)), -EINVAL);
}

/* rs_trust_dir for a path rotsec writes. */
static int write_dir_rc(struct fx *f, const char *rel, unsigned flags, mode_t mode, uid_t owner)
{
	struct rs_trust t = {.flags = RS_TRUST_WRITE | flags, .mode = mode, .last_owner = owner};
	char path[PATH_MAX];
	int fd;

	(void)snprintf(path, sizeof(path), "%s", at(f, rel));
	f->why[0] = '\0';
	fd = rs_trust_dir(path, &t, f->why, sizeof(f->why));
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static void path_rotsec_writes_follows_no_link_even_a_safe_one(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "real", 0755, 0);
	link_at(f, "real", false, "link");
	assert_int_equal(write_dir_rc(f, "real", 0, 0, 0), 0);
	assert_int_equal(write_dir_rc(f, "link", 0, 0, 0), -EPERM);
	assert_why(f, "is a symbolic link (to real)");
	mkdir_at(f, "real/sub", 0755, 0);
	assert_int_equal(write_dir_rc(f, "link/sub", 0, 0, 0), -EPERM);
	assert_int_equal(write_dir_rc(f, "real/sub/..", 0, 0, 0), -EINVAL);
}

static void missing_directories_are_made_roots_with_their_modes(void **state)
{
	struct fx *f = *state;
	struct stat st;

	/* A setgid parent would hand its group and bit down: the walk sets both. */
	mkdir_at(f, "sgid", 02755, 0);
	assert_int_equal(chown(at(f, "sgid"), 0, NOBODY), 0);
	assert_int_equal(chmod(f->path, 02755), 0);
	assert_int_equal(write_dir_rc(f, "sgid/a/b/state", RS_TRUST_MKDIR, 0700, 0), 0);
	assert_int_equal(stat(at(f, "sgid/a"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(stat(at(f, "sgid/a/b/state"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Made once: the second walk finds it and leaves it as it is. */
	assert_int_equal(chmod(f->path, 0750), 0);
	assert_int_equal(write_dir_rc(f, "sgid/a/b/state", RS_TRUST_MKDIR, 0700, 0), 0);
	assert_int_equal(stat(at(f, "sgid/a/b/state"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
}

static void existing_unsafe_directory_is_refused_not_repaired(void **state)
{
	struct fx *f = *state;
	struct stat st;

	mkdir_at(f, "store", 0777, 0);
	assert_int_equal(write_dir_rc(f, "store", RS_TRUST_MKDIR, 0755, 0), -EPERM);
	assert_why(f, "chmod go-w");
	assert_int_equal(stat(at(f, "store"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	mkdir_at(f, "theirs", 0755, NOBODY);
	assert_int_equal(write_dir_rc(f, "theirs/store", RS_TRUST_MKDIR, 0755, 0), -EPERM);
	assert_int_equal(stat(at(f, "theirs/store"), &st), -1);
}

static void last_directory_may_be_the_file_owners_and_never_writable(void **state)
{
	struct fx *f = *state;

	mkdir_at(f, "home", 0700, NOBODY);
	assert_int_equal(write_dir_rc(f, "home", 0, 0, NOBODY), 0);
	assert_int_equal(write_dir_rc(f, "home", 0, 0, 1), -EPERM);
	assert_int_equal(write_dir_rc(f, "home", 0, 0, 0), -EPERM);
	/* Sticky is an exception for directories above, not the one written into. */
	mkdir_at(f, "tmp", 01777, 0);
	assert_int_equal(write_dir_rc(f, "tmp", 0, 0, 0), -EPERM);
	mkdir_at(f, "tmp/nd", 0700, NOBODY);
	assert_int_equal(write_dir_rc(f, "tmp/nd", 0, 0, NOBODY), 0);
}

static void parent_of_a_file_path_and_its_name(void **state)
{
	struct fx *f = *state;
	struct rs_trust t = {.flags = RS_TRUST_WRITE};
	const char *name;
	int fd;

	mkdir_at(f, "out", 0755, 0);
	fd = rs_trust_parent(at(f, "out/a.pw"), &t, &name, f->why, sizeof(f->why));
	assert_true(fd >= 0);
	assert_string_equal(name, "a.pw");
	close(fd);
	assert_int_equal(rs_trust_parent(at(f, "out/"), &t, &name, f->why, sizeof(f->why)),
	                 -EINVAL);
	assert_int_equal(rs_trust_parent(at(f, "out/.."), &t, &name, f->why, sizeof(f->why)),
	                 -EINVAL);
}

static void program_and_its_interpreter_are_checked_as_execve_runs_them(void **state)
{
	struct fx *f = *state;
	char script[PATH_MAX + 32];

	assert_int_equal(rs_trust_exec("/bin/sh", 0, f->why, sizeof(f->why)), 0);
	mkdir_at(f, "bin", 0755, 0);
	file_at(f, "bin/ok", "#!/bin/sh\nexit 0\n", 0755, 0);
	assert_int_equal(rs_trust_exec(at(f, "bin/ok"), 0, f->why, sizeof(f->why)), 0);
	file_at(f, "bin/noexec", "#!/bin/sh\n", 0644, 0);
	assert_int_equal(rs_trust_exec(at(f, "bin/noexec"), 0, f->why, sizeof(f->why)), -EACCES);
	assert_why(f, "is not executable");
	assert_int_equal(rs_trust_exec(at(f, "bin/none"), 0, f->why, sizeof(f->why)), -ENOENT);
	file_at(f, "bin/theirs", "#!/bin/sh\n", 0755, NOBODY);
	assert_int_equal(rs_trust_exec(at(f, "bin/theirs"), 0, f->why, sizeof(f->why)), -EPERM);
	/* A root script whose interpreter another user can replace. */
	mkdir_at(f, "u", 0755, NOBODY);
	file_at(f, "u/interp", "#!/bin/sh\n", 0755, 0);
	(void)snprintf(script, sizeof(script), "#!%s -e\necho\n", at(f, "u/interp"));
	file_at(f, "bin/script", script, 0755, 0);
	assert_int_equal(rs_trust_exec(at(f, "bin/script"), 0, f->why, sizeof(f->why)), -EPERM);
	assert_why(f, "(the interpreter of ");
	file_at(f, "bin/relative", "#!interp\n", 0755, 0);
	assert_int_equal(rs_trust_exec(at(f, "bin/relative"), 0, f->why, sizeof(f->why)), -EPERM);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(root_file_in_root_directories_is_read_through_the_fd_checked),
	        T(file_of_another_user_is_refused_with_chown_as_the_fix),
	        T(group_or_world_writable_file_is_refused_with_chmod_as_the_fix),
	        T(acl_granting_write_to_another_user_is_refused_and_named),
	        T(directory_above_of_another_user_or_writable_is_refused),
	        T(a_users_own_file_is_judged_alone_and_read_as_a_stream),
	        T(sticky_directory_may_be_world_writable_over_an_entry_of_roots),
	        T(link_out_of_a_safe_directory_is_followed_and_its_target_checked),
	        T(link_planted_by_another_user_is_not_followed),
	        T(link_loop_is_refused),
	        T(not_a_regular_file_and_relative_paths_are_refused),
	        T(path_rotsec_writes_follows_no_link_even_a_safe_one),
	        T(missing_directories_are_made_roots_with_their_modes),
	        T(existing_unsafe_directory_is_refused_not_repaired),
	        T(last_directory_may_be_the_file_owners_and_never_writable),
	        T(parent_of_a_file_path_and_its_name),
	        T(program_and_its_interpreter_are_checked_as_execve_runs_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
