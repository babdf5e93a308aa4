package dev.scemu.nbd;

/**
 * Whether an {@link NbdServer} offers TLS ({@code NBD_OPT_STARTTLS}), with nbdkit's meaning of
 * {@code --tls=off|on|require}. TLS applies to TCP connections; connections over the unix domain
 * socket are local (guarded by the socket file's permissions) and always run without TLS.
 */
public enum NbdTlsMode {
    /** No TLS: {@code NBD_OPT_STARTTLS} is answered {@code NBD_REP_ERR_UNSUP} (the protocol's NOTLS mode). */
    OFF,
    /** TLS offered; a client may also go on without it. */
    ON,
    /**
     * TLS required before anything else (the protocol's FORCEDTLS mode): every option other than
     * {@code NBD_OPT_STARTTLS} and {@code NBD_OPT_ABORT} is answered {@code NBD_REP_ERR_TLS_REQD},
     * {@code NBD_OPT_EXPORT_NAME} without TLS closes the connection.
     */
    REQUIRE
}
