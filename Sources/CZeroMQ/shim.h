#ifndef CHORUS_CZEROMQ_SHIM_H
#define CHORUS_CZEROMQ_SHIM_H

#include <zmq.h>

#endif
