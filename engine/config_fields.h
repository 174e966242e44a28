/*
 * The policy and account settings of rotsec.conf, each described once.
 *
 * A setting is declared in the struct that holds it, given its built-in value, read and
 * checked by the loader, inherited from `defaults`, printed by `rotsecctl check
 * --effective` and freed. Each of those expands the tables below (X-macros, the device
 * OpenSSH's servconf.h uses to keep its configuration structure and its parsing code in
 * step), so a setting added here is declared, defaulted, loaded, printed and freed, or
 * the build fails; nothing is held in step by hand.
 *
 * RS_POLICY_FIELDS(X) lists X(key, kind, ctype, default, min, max): the settings of
 * struct rs_policy_cfg, written in `defaults` or in an account, which inherits from
 * `defaults` every one it does not write.
 *   key      the setting's name in rotsec.conf, and its field's
 *   kind     how it is written and stored:
 *              DURATION  a string such as "90s", "2h" or "1h30m"; seconds
 *              INT       an integer from min to max
 *              ALPHABET  "alnum", "base64url", "printable" or the characters themselves;
 *                        the field key_spec holds it as written, key the parsed set
 *              COST      "interactive" or "moderate"
 *              WINDOW    "HH:MM-HH:MM" in local time; fields key_start and key_end, in
 *                        minutes after midnight, -1 when there is no window
 *   ctype    the field's C type
 *   default  the built-in value, in the config's own syntax; NULL for none
 *   min, max the range of an INT (0 for the other kinds)
 */
#ifndef ROTSEC_CONFIG_FIELDS_H
#define ROTSEC_CONFIG_FIELDS_H

#define RS_POLICY_FIELDS(X)                                                                        \
	X(rotate_every, DURATION, int64_t, "30d", 0, 0)                                            \
	X(grace, DURATION, int64_t, "1h", 0, 0)                                                    \
	X(max_grace, DURATION, int64_t, "24h", 0, 0)                                               \
	/* characters in a secret */                                                               \
	X(length, INT, size_t, "32", 1, RS_SECRET_MAX)                                             \
	X(alphabet, ALPHABET, struct rs_alphabet, "alnum", 0, 0)                                   \
	/* of the Argon2id hash of a secret under 128 bits */                                      \
	X(hash_cost, COST, enum rs_hash_cost, "interactive", 0, 0)                                 \
	/* may wrap midnight: window_end < window_start */                                         \
	X(window, WINDOW, int, NULL, 0, 0)                                                         \
	X(jitter, DURATION, int64_t, "0s", 0, 0)                                                   \
	/* 0: off */                                                                               \
	X(rotate_after_use, DURATION, int64_t, "0s", 0, 0)                                         \
	/* 0: off */                                                                               \
	X(quiet_revoke, DURATION, int64_t, "0s", 0, 0)                                             \
	/* revoked hashes kept as tripwires */                                                     \
	X(tripwire_keep, INT, unsigned, "3", 0, RS_TRIPWIRE_MAX)                                   \
	/* delivery backoff: the first retry after a failure, and the longest wait */              \
	X(retry_min, DURATION, int64_t, "30s", 0, 0)                                               \
	X(retry_max, DURATION, int64_t, "1h", 0, 0)

/*
 * RS_ACCOUNT_FIELDS(X) lists X(key, kind, default, missing): the settings of one entry
 * of `accounts`, in struct rs_account_cfg.
 *   kind     how it is written and stored:
 *              NAME      a name rotsec defines (shadow-utils' rules), char[RS_NAME_MAX + 1]
 *              ID        a uid: 1 to 4294967294 but 65535, uint32_t
 *              GROUP     the name of a group, of the config or of group_file
 *              GROUPS    an array of group names; fields key and nkey, as written
 *              TEXT      a string that goes into passwd lines, char *
 *              PATH      an absolute path that goes into passwd lines, char *
 *              BOOL      true or false
 *              DELIVER   a list of delivery entries; fields key and nkey
 *              COMMAND   an array [ "/absolute/program", "arg", ... ]; field key_argv,
 *                        NULL-terminated, or NULL when not written
 *   default  the value when the setting is not written (or is invalid), in the config's
 *            syntax; NULL for none (empty)
 *   missing  for a required setting, what to add when it is not written (an error); NULL
 *            when it is optional
 */
#define RS_ACCOUNT_FIELDS(X)                                                                       \
	X(name, NAME, NULL, "\"...\"")                                                             \
	X(uid, ID, NULL, "NUMBER")                                                                 \
	/* primary group */                                                                        \
	X(group, GROUP, NULL, "\"NAME\"")                                                          \
	/* supplementary groups */                                                                 \
	X(groups, GROUPS, NULL, NULL)                                                              \
	X(gecos, TEXT, "", NULL)                                                                   \
	X(home, PATH, "/nonexistent", NULL)                                                        \
	X(shell, PATH, "/usr/sbin/nologin", NULL)                                                  \
	X(disabled, BOOL, "false", NULL)                                                           \
	X(deliver, DELIVER, NULL, NULL)                                                            \
	/* checks that the consumers work with a new secret */                                     \
	X(verify, COMMAND, NULL, NULL)

#endif
