package dev.scemu.testkit.sim;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What a simulation did and saw: the list of events and a running 64-bit hash over every event,
 * every byte read from the host volume and every piece of state observed (member states,
 * firmware version, snapshot list, meters). Two runs of the same seed give the same hash; the
 * hash is what the determinism test compares.
 */
public final class Trace {

    private static final long PRIME = 0x100000001B3L;

    private final List<TraceEvent> events = new ArrayList<>();
    private final Map<EventType, Integer> counts = new EnumMap<>(EventType.class);
    private long hash = 0xCBF29CE484222325L;
    private long bytesHashed;

    /** Records an event and folds it into the hash. */
    public void record(TraceEvent event) {
        events.add(event);
        counts.merge(event.type(), 1, Integer::sum);
        mixLong(event.step());
        mixLong(event.timeNanos());
        mixLong(event.type().ordinal());
        mixString(event.detail());
    }

    /** Folds {@code length} bytes of {@code buffer} from {@code offset} (absolute) into the hash. */
    public void mixBytes(ByteBuffer buffer, int offset, int length) {
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            mixLong(buffer.getLong(offset + i));
        }
        for (; i < length; i++) {
            mixLong(buffer.get(offset + i));
        }
        bytesHashed += length;
    }

    /** Folds an observed value into the hash. */
    public void mixLong(long value) {
        long h = (hash ^ value) * PRIME;
        hash = h ^ (h >>> 29);
    }

    /** Folds observed state (a description) into the hash. */
    public void mixString(String text) {
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            mixLong(b);
        }
        mixLong(text.length());
    }

    /** The running hash, as 16 hex digits. */
    public String hashHex() {
        return String.format("%016x", hash);
    }

    public long hash() {
        return hash;
    }

    /** Bytes of host data folded into the hash. */
    public long bytesHashed() {
        return bytesHashed;
    }

    public List<TraceEvent> events() {
        return Collections.unmodifiableList(events);
    }

    /** Events of each type. */
    public Map<EventType, Integer> counts() {
        return Collections.unmodifiableMap(counts);
    }

    public int count(EventType type) {
        return counts.getOrDefault(type, 0);
    }

    /** The last {@code n} events, one per line (for failure messages). */
    public String tail(int n) {
        StringBuilder out = new StringBuilder();
        for (int i = Math.max(0, events.size() - n); i < events.size(); i++) {
            out.append("  ").append(events.get(i)).append('\n');
        }
        return out.toString();
    }
}
