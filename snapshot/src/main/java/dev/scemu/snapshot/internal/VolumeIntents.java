package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Long operations of the volume's users that must survive a power cut as a durable mark: a restore
 * that has not finished, and temporary snapshots (a backup's) that must not outlive a crash. They
 * live in the superblock (store block 0) after the layout fields, so setting or clearing one is ONE
 * block write with FUA (block writes are atomic: old or new superblock after a cut, never a mix).
 *
 * <pre>
 * superblock bytes (the layout fields occupy 0..144, see {@link StoreLayout})
 * 144 u32 flags                     bit 0: restore incomplete; other bits zero
 * 148 u16 restoreNoteLength (<= 64) 150 u16 temporaryCount (<= 3)
 * 152 64 bytes restore note, UTF-8, zero padded (what was being restored, for messages)
 * 216 temporaryCount x 88 bytes, slot k at 216 + 88k:
 *     0  u64 idFloor     (the volume's next snapshot id when the intent was written: the
 *                         snapshot has this id or a higher one)
 *     8  u64 snapshotId  (0 until the snapshot exists; then its id)
 *     16 u16 nameLength (1..64)   18 6 bytes zero   24 64 bytes name, UTF-8, zero padded
 * 480 end (fits the smallest block, 512 bytes); the rest of the block is zero
 * </pre>
 *
 * <p>Earlier writers left bytes 144.. zero, which decodes as "no intents": the superblock keeps
 * version 1.
 *
 * <p>Ordering (see {@link SnapshotVolumeImpl}): a temporary snapshot's slot (idFloor, name) is
 * durable before the snapshot's journal record, its id is recorded after, and the slot is cleared
 * only after the deletion's checkpoint is durable. At open, every snapshot a slot names (by id,
 * or by name with an id of at least idFloor) is deleted and the slots cleared.
 */
record VolumeIntents(boolean restoreIncomplete, String restoreNote, List<Temporary> temporaries) {

    static final int OFFSET = 144;
    static final int MAX_NOTE_BYTES = 64;
    static final int MAX_TEMPORARIES = 3;
    static final int SLOT_BYTES = 88;
    static final int SLOTS_OFFSET = 216;
    static final int END = SLOTS_OFFSET + MAX_TEMPORARIES * SLOT_BYTES;
    static final VolumeIntents NONE = new VolumeIntents(false, "", List.of());

    /** A temporary snapshot: removed at the next open if it still exists. */
    record Temporary(long idFloor, long snapshotId, String name) {
    }

    VolumeIntents {
        restoreNote = truncate(restoreNote == null ? "" : restoreNote);
        temporaries = List.copyOf(temporaries);
        if (temporaries.size() > MAX_TEMPORARIES) {
            throw new IllegalArgumentException(temporaries.size() + " temporary snapshots, at most " + MAX_TEMPORARIES);
        }
    }

    VolumeIntents withRestore(boolean incomplete, String note) {
        return new VolumeIntents(incomplete, incomplete ? note : "", temporaries);
    }

    VolumeIntents withTemporaries(List<Temporary> list) {
        return new VolumeIntents(restoreIncomplete, restoreNote, list);
    }

    /** Cuts a note to at most 64 UTF-8 bytes on a character boundary. */
    private static String truncate(String note) {
        String s = note;
        while (s.getBytes(StandardCharsets.UTF_8).length > MAX_NOTE_BYTES) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    /** Writes the intents into a superblock image (before it is sealed). */
    void encode(ByteBuffer superblock) {
        ByteBuffer b = superblock.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = OFFSET; i < END; i++) {
            b.put(i, (byte) 0);
        }
        b.putInt(OFFSET, restoreIncomplete ? 1 : 0);
        byte[] note = restoreNote.getBytes(StandardCharsets.UTF_8);
        b.putShort(148, (short) note.length);
        b.putShort(150, (short) temporaries.size());
        b.put(152, note);
        for (int k = 0; k < temporaries.size(); k++) {
            Temporary t = temporaries.get(k);
            int at = SLOTS_OFFSET + k * SLOT_BYTES;
            byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
            b.putLong(at, t.idFloor());
            b.putLong(at + 8, t.snapshotId());
            b.putShort(at + 16, (short) name.length);
            b.put(at + 24, name);
        }
    }

    /** Decodes the intents of a verified superblock. */
    static VolumeIntents decode(ByteBuffer superblock) {
        ByteBuffer b = superblock.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int flags = b.getInt(OFFSET);
        int noteLength = b.getShort(148) & 0xFFFF;
        int count = b.getShort(150) & 0xFFFF;
        if ((flags & ~1) != 0 || noteLength > MAX_NOTE_BYTES || count > MAX_TEMPORARIES) {
            throw PageSeal.corrupt("superblock intents: flags 0x" + Integer.toHexString(flags) + ", restore note of "
                    + noteLength + " bytes (max " + MAX_NOTE_BYTES + "), " + count + " temporary snapshots (max "
                    + MAX_TEMPORARIES + ")");
        }
        byte[] note = new byte[noteLength];
        b.get(152, note);
        List<Temporary> list = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            int at = SLOTS_OFFSET + k * SLOT_BYTES;
            int nameLength = b.getShort(at + 16) & 0xFFFF;
            long idFloor = b.getLong(at);
            long id = b.getLong(at + 8);
            if (nameLength < 1 || nameLength > 64 || idFloor < 1 || (id != 0 && id < idFloor)) {
                throw PageSeal.corrupt("superblock temporary snapshot slot " + k + ": id floor " + idFloor + ", id " + id
                        + ", name length " + nameLength);
            }
            byte[] name = new byte[nameLength];
            b.get(at + 24, name);
            list.add(new Temporary(idFloor, id, new String(name, StandardCharsets.UTF_8)));
        }
        return new VolumeIntents((flags & 1) != 0, new String(note, StandardCharsets.UTF_8), list);
    }
}
