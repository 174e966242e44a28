/*
 * pam_dlcheck: load a PAM module the way libpam does and check what it exports.
 *
 *   pam_dlcheck MODULE
 *
 * dlopen(RTLD_NOW) must succeed (every symbol resolved: nothing missing at login time),
 * the six pam_sm_* entry points must be found, and none of the module's internals
 * (its own helpers, common/, tinycdb) may be: a host program or another module defining
 * the same name must never be able to take their place, nor call them.
 * Prints one line per problem; exit status 0 when there is none.
 */
#include <dlfcn.h>
#include <stdio.h>

static const char *const entry[] = {
        "pam_sm_authenticate", "pam_sm_setcred",      "pam_sm_acct_mgmt",
        "pam_sm_chauthtok",    "pam_sm_open_session", "pam_sm_close_session",
};

static const char *const internal[] = {
        "rs_pam_authenticate", "rs_pam_parse_args", "rs_pam_lookup",  "rs_pam_store_acquire",
        "rs_pam_logtext",      "rs_policy_verify",  "rs_hash_verify", "rs_store_acquire",
        "rs_store_init",       "rs_usage_record",   "rs_map_find",    "rs_open_safe_dir",
        "rs_crypto_init",      "rs_name_valid",     "cdb_find",       "cdb_init",
};

int main(int argc, char **argv)
{
	void *h;
	size_t i;
	int bad = 0;

	if (argc != 2) {
		(void)fprintf(stderr, "usage: pam_dlcheck MODULE\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++)
		if (!dlsym(h, entry[i])) {
			printf("missing entry point %s\n", entry[i]);
			bad = 1;
		}
	for (i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		if (dlsym(h, internal[i])) {
			printf("internal symbol %s is exported\n", internal[i]);
			bad = 1;
		}
	dlclose(h);
	return bad;
}
