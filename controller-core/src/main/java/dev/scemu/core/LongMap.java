package dev.scemu.core;

import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * A map from {@code long} keys to objects, open addressing with linear probing and backward-shift
 * deletion: no boxing and no entry object per key. For the undo log of a {@link FaultInjectingDevice},
 * where a {@code TreeMap<Long, ...>} lookup and insert per written block (a boxed key, a dozen
 * dependent loads, an entry) was the largest item of the emulated write path once the versions had
 * left the heap. Order is not kept: callers that need the keys in order ask for {@link #sortedKeys}.
 *
 * <p>Not thread-safe.
 */
final class LongMap<V> {

    private static final int MIN_CAPACITY = 16;

    private long[] keys;
    private Object[] values; // null: the slot is free
    private int size;
    private int mask;

    LongMap() {
        allocate(MIN_CAPACITY);
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    @SuppressWarnings("unchecked")
    V get(long key) {
        for (int i = slotOf(key); ; i = (i + 1) & mask) {
            Object value = values[i];
            if (value == null) {
                return null;
            }
            if (keys[i] == key) {
                return (V) value;
            }
        }
    }

    /** Maps {@code key} to {@code value} (not null), replacing what it mapped to. */
    void put(long key, V value) {
        if (value == null) {
            throw new IllegalArgumentException("null value");
        }
        int i = slotOf(key);
        while (values[i] != null) {
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        if (++size * 2 > values.length) {
            rehash(values.length * 2);
        }
    }

    /** Removes {@code key}; returns what it mapped to, or null. */
    @SuppressWarnings("unchecked")
    V remove(long key) {
        int i = slotOf(key);
        while (values[i] != null) {
            if (keys[i] == key) {
                V removed = (V) values[i];
                deleteAt(i);
                return removed;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    /** Removes every key; keeps the table while it is small, shrinks it after a large fill. */
    void clear() {
        if (values.length > 4 * MIN_CAPACITY && size * 8 < values.length) {
            allocate(MIN_CAPACITY);
        } else {
            Arrays.fill(values, null);
        }
        size = 0;
    }

    /** Calls {@code action} for every entry, in no particular order; the map must not change meanwhile. */
    @SuppressWarnings("unchecked")
    void forEach(BiConsumer<Long, V> action) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                action.accept(keys[i], (V) values[i]);
            }
        }
    }

    /** The keys, ascending. */
    long[] sortedKeys() {
        long[] result = new long[size];
        int n = 0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                result[n++] = keys[i];
            }
        }
        Arrays.sort(result);
        return result;
    }

    private int slotOf(long key) {
        long h = key * 0x9E3779B97F4A7C15L; // Fibonacci hashing: consecutive block numbers spread out
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Empties slot {@code i} and moves later entries of its probe run back, so every lookup still finds them. */
    private void deleteAt(int i) {
        values[i] = null;
        size--;
        int hole = i;
        for (int j = (i + 1) & mask; values[j] != null; j = (j + 1) & mask) {
            int home = slotOf(keys[j]);
            // the entry at j may move to the hole if its home is not in (hole, j] (cyclically)
            boolean stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!stays) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                values[j] = null;
                hole = j;
            }
        }
    }

    private void rehash(int capacity) {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        allocate(capacity);
        for (int i = 0; i < oldValues.length; i++) {
            if (oldValues[i] != null) {
                int j = slotOf(oldKeys[i]);
                while (values[j] != null) {
                    j = (j + 1) & mask;
                }
                keys[j] = oldKeys[i];
                values[j] = oldValues[i];
            }
        }
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        values = new Object[capacity];
        mask = capacity - 1;
    }
}
