/*
 * One way to read a directory: every entry of an open directory, handed to a callback.
 * The callers are the cleanups of temp files that a killed writer left behind (the
 * store's, rs_atomic_cleanup; the journals', rs_journal_cleanup).
 */
#ifndef ROTSEC_DIRSCAN_H
#define ROTSEC_DIRSCAN_H

/* Call fn(name, arg) for each entry of the directory `dirfd` ("." and ".." included), in
 * the order readdir gives. dirfd stays open and its offset untouched: the scan reads a
 * descriptor of its own. A nonzero return of fn stops the scan and is returned; otherwise
 * 0, or a negative errno when the directory cannot be read. */
int rs_dir_scan(int dirfd, int (*fn)(const char *name, void *arg), void *arg);

#endif
