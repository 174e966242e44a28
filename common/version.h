#ifndef ROTSEC_VERSION_H
#define ROTSEC_VERSION_H
/* rotsec's version, written here and nowhere else by hand: the Makefile reads it (make
 * set-version VERSION=x.y.z rewrites it, the man page headers and debian/changelog's
 * first entry together) and tests/sh/t-version.sh checks that the binaries, the man pages,
 * the metrics and the Debian package all say the same. */
#define ROTSEC_VERSION "0.2.0"
#endif
