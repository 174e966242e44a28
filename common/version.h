#ifndef ROTSEC_VERSION_H
#define ROTSEC_VERSION_H
#define ROTSEC_VERSION "0.1.0"
#endif
