/*
 * Build-time defaults of every path rotsec uses (ARCHITECTURE.md, contract §1). Each one can be
 * changed at run time: the config file for rotsecd and rotsecctl, store=/run= for the PAM module,
 * ROTSEC_STORE_DIR (secure_getenv, safety-checked) for the NSS module. Tests never use
 * these defaults.
 */
#ifndef ROTSEC_PATHS_H
#define ROTSEC_PATHS_H

#ifndef RS_DEFAULT_CONFIG
#define RS_DEFAULT_CONFIG "/etc/rotsec/rotsec.conf"
#endif
#ifndef RS_DEFAULT_STORE_DIR
#define RS_DEFAULT_STORE_DIR "/var/lib/rotsec"
#endif
#ifndef RS_DEFAULT_STATE_DIR
#define RS_DEFAULT_STATE_DIR "/var/lib/rotsec/state"
#endif
#ifndef RS_DEFAULT_KEY_FILE
#define RS_DEFAULT_KEY_FILE "/etc/rotsec/rotsec.key"
#endif
#ifndef RS_DEFAULT_RUN_DIR
#define RS_DEFAULT_RUN_DIR "/run/rotsec"
#endif
#ifndef RS_DEFAULT_AUDIT_LOG
#define RS_DEFAULT_AUDIT_LOG "/var/log/rotsec/audit.jsonl"
#endif
#ifndef RS_DEFAULT_METRICS_FILE
#define RS_DEFAULT_METRICS_FILE "/var/lib/prometheus/node-exporter/rotsec.prom"
#endif
#ifndef RS_DEFAULT_PASSWD_FILE
#define RS_DEFAULT_PASSWD_FILE "/etc/passwd"
#endif
#ifndef RS_DEFAULT_GROUP_FILE
#define RS_DEFAULT_GROUP_FILE "/etc/group"
#endif

#endif
