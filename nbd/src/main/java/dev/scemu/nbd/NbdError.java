package dev.scemu.nbd;

/** Error codes of the nbd module, carried by {@link NbdException}. */
public enum NbdError {
    /** The server configuration is invalid (no export, duplicate or over-long name, no listener). */
    INVALID_CONFIGURATION,
    /** A listening socket could not be opened or bound. */
    BIND_FAILED,
    /** The operation needs a started server (or one that is not started yet). */
    WRONG_STATE
}
