package dev.scemu.nbd.internal;

import java.io.IOException;

/** The peer's byte stream cannot be parsed any further: the connection is closed (hard disconnect). */
final class ProtocolViolationException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolViolationException(String message) {
        super(message);
    }
}
