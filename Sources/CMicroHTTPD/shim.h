#ifndef CHORUS_CMICROHTTPD_SHIM_H
#define CHORUS_CMICROHTTPD_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>

// MHD_start_daemon takes its options as C variadic arguments, which Swift cannot pass; this
// takes the few options Chorus sets as ordinary parameters. `address` decides the port (0
// for any free one) and, with MHD_USE_IPv6 in `flags` for an IPv6 one, the interface.
static inline struct MHD_Daemon *chorus_mhd_start_daemon(
    unsigned int flags,
    const struct sockaddr *address,
    MHD_AccessHandlerCallback handler,
    void *handler_context,
    MHD_LogCallback logger,
    void *logger_context,
    unsigned int connection_limit,
    unsigned int connection_timeout_seconds
) {
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handler, handler_context,
        MHD_OPTION_SOCK_ADDR, address,
        MHD_OPTION_EXTERNAL_LOGGER, logger, logger_context,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_seconds,
        MHD_OPTION_END
    );
}

// MHD_get_daemon_info is variadic too; this asks it only for the port the daemon is bound to.
static inline uint16_t chorus_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
