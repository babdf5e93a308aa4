package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.BASE_ALLOCATION;
import static dev.scemu.nbd.internal.NbdProtocol.MAX_STRING_BYTES;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The data of {@code NBD_OPT_LIST_META_CONTEXT} and {@code NBD_OPT_SET_META_CONTEXT}, parsed and
 * checked, and the one metadata context this server knows ({@code base:allocation}).
 *
 * <pre>
 * 0        u32  export name length N (at most 4096)
 * 4        N    export name (UTF-8)
 * 4+N      u32  number of queries Q
 * 8+N      Q × (u32 query length L (at most 4096), L bytes of query (UTF-8))
 * </pre>
 *
 * The lengths must account for the option data exactly, and every string must be valid UTF-8
 * without NUL; otherwise the option is invalid ({@code NBD_REP_ERR_INVALID}, nothing changes).
 *
 * <p>Queries: in a LIST, no query or {@code base:} (the namespace) or {@code base:allocation}
 * names the context; in a SET only {@code base:allocation} selects it (a namespace alone selects
 * nothing, as the spec asks). Other queries are valid and match nothing.
 */
record MetaContextRequest(String exportName, List<String> queries) {

    /** Thrown for option data that does not parse; the message names the offending value. */
    static final class InvalidException extends Exception {
        InvalidException(String message) {
            super(message);
        }
    }

    static MetaContextRequest parse(byte[] data, String what) throws InvalidException {
        ByteBuffer in = ByteBuffer.wrap(data);
        String name = string(in, what, "export name");
        if (in.remaining() < 4) {
            throw new InvalidException(what + ": " + in.remaining() + " bytes left where the query count (4 bytes) belongs");
        }
        long count = in.getInt() & 0xffffffffL;
        if (count > in.remaining() / 4) {
            throw new InvalidException(what + ": " + count + " queries cannot fit in the " + in.remaining()
                    + " bytes left");
        }
        List<String> queries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            queries.add(string(in, what, "query " + i));
        }
        if (in.hasRemaining()) {
            throw new InvalidException(what + ": " + in.remaining() + " bytes after the last of " + count + " queries");
        }
        return new MetaContextRequest(name, List.copyOf(queries));
    }

    /** Whether a LIST names {@code base:allocation}. */
    boolean listsAllocation() {
        return queries.isEmpty() || queries.contains("base:") || queries.contains(BASE_ALLOCATION);
    }

    /** Whether a SET selects {@code base:allocation}. */
    boolean selectsAllocation() {
        return queries.contains(BASE_ALLOCATION);
    }

    private static String string(ByteBuffer in, String what, String field) throws InvalidException {
        if (in.remaining() < 4) {
            throw new InvalidException(what + ": " + in.remaining() + " bytes left where the " + field
                    + " length (4 bytes) belongs");
        }
        long length = in.getInt() & 0xffffffffL;
        if (length > MAX_STRING_BYTES || length > in.remaining()) {
            throw new InvalidException(what + ": " + field + " length " + length + " exceeds "
                    + (length > MAX_STRING_BYTES ? "the protocol's " + MAX_STRING_BYTES + "-byte limit"
                    : "the " + in.remaining() + " bytes left"));
        }
        ByteBuffer bytes = in.slice(in.position(), (int) length);
        in.position(in.position() + (int) length);
        String value;
        try {
            value = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidException(what + ": " + field + " is not valid UTF-8");
        }
        if (value.indexOf('\0') >= 0) {
            throw new InvalidException(what + ": " + field + " contains NUL");
        }
        return value;
    }
}
