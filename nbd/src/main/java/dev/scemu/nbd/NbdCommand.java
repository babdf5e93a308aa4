package dev.scemu.nbd;

import dev.scemu.nbd.internal.NbdProtocol;

/** Transmission-phase request types the server counts in {@link NbdStats}. */
public enum NbdCommand {
    READ(NbdProtocol.NBD_CMD_READ),
    WRITE(NbdProtocol.NBD_CMD_WRITE),
    DISC(NbdProtocol.NBD_CMD_DISC),
    FLUSH(NbdProtocol.NBD_CMD_FLUSH),
    TRIM(NbdProtocol.NBD_CMD_TRIM),
    WRITE_ZEROES(NbdProtocol.NBD_CMD_WRITE_ZEROES),
    /** A hint to bring a range into cache: validated and answered, nothing else (the server keeps no cache). */
    CACHE(NbdProtocol.NBD_CMD_CACHE),
    /** Allocation status of a range ({@code base:allocation}). */
    BLOCK_STATUS(NbdProtocol.NBD_CMD_BLOCK_STATUS),
    /** Any request type this server does not implement (answered with EINVAL). */
    OTHER(-1);

    private static final NbdCommand[] BY_CODE = new NbdCommand[8];

    static {
        for (NbdCommand command : values()) {
            if (command.code >= 0) {
                BY_CODE[command.code] = command;
            }
        }
    }

    private final int code;

    NbdCommand(int code) {
        this.code = code;
    }

    /** The request type on the wire; -1 for {@link #OTHER}. */
    public int code() {
        return code;
    }

    /** The command of wire type {@code type}; {@link #OTHER} if unknown. */
    public static NbdCommand of(int type) {
        NbdCommand command = type >= 0 && type < BY_CODE.length ? BY_CODE[type] : null;
        return command == null ? OTHER : command;
    }
}
