package dev.scemu.flash.internal;

import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Journal payloads of a firmware update (operation type {@link #OP_FIRMWARE_UPDATE}).
 *
 * <pre>
 *  BEGIN payload: old image SHA-256 (32) | new image SHA-256 (32) | u16 migration count |
 *                 count x ( u8 nameLength, name, u16 fromVersion, u16 toVersion, u8 forward )
 *  STEP payload:  MIGRATION_STARTED / MIGRATION_DONE: u16 migration index; others: empty
 * </pre>
 */
final class UpdateRecord {

    /** "FW". */
    static final int OP_FIRMWARE_UPDATE = 0x4657;

    /** Step indices, in the order an update appends them. */
    static final int STEP_STAGED_VERIFIED = 1;
    static final int STEP_MIGRATION_STARTED = 2;
    static final int STEP_MIGRATION_DONE = 3;
    static final int STEP_FLASH_PROGRAMMING = 4;
    static final int STEP_FLASH_VERIFIED = 5;
    static final int STEP_SWITCHED = 6;
    static final int STEP_CONFIRMED = 7;
    static final int STEP_REVERTING = 8;
    static final int STEP_BACKUP_REFRESHED = 9;

    /** A planned migration as journaled. */
    record PlannedStep(String format, int fromVersion, int toVersion, boolean forward) {
    }

    final byte[] oldSha256;
    final byte[] newSha256;
    final List<PlannedStep> plan;

    UpdateRecord(byte[] oldSha256, byte[] newSha256, List<PlannedStep> plan) {
        this.oldSha256 = oldSha256;
        this.newSha256 = newSha256;
        this.plan = List.copyOf(plan);
    }

    ByteBuffer encode() {
        ByteBuffer out = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        out.put(oldSha256).put(newSha256).putShort((short) plan.size());
        for (PlannedStep step : plan) {
            byte[] name = step.format().getBytes(StandardCharsets.UTF_8);
            out.put((byte) name.length).put(name).putShort((short) step.fromVersion()).putShort((short) step.toVersion())
                    .put((byte) (step.forward() ? 1 : 0));
        }
        return out.flip();
    }

    static UpdateRecord decode(ByteBuffer payload) {
        ByteBuffer in = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        try {
            byte[] oldSha = new byte[32];
            byte[] newSha = new byte[32];
            in.get(oldSha).get(newSha);
            int count = in.getShort() & 0xFFFF;
            List<PlannedStep> plan = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                byte[] name = new byte[in.get() & 0xFF];
                in.get(name);
                plan.add(new PlannedStep(new String(name, StandardCharsets.UTF_8), in.getShort() & 0xFFFF,
                        in.getShort() & 0xFFFF, in.get() != 0));
            }
            return new UpdateRecord(oldSha, newSha, plan);
        } catch (java.nio.BufferUnderflowException e) {
            throw new FlashException(FlashError.JOURNAL_ERROR, "firmware update journal payload of "
                    + payload.remaining() + " bytes is truncated");
        }
    }

    static ByteBuffer index(int index) {
        return ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(0, (short) index);
    }

    /** The migration index of a MIGRATION_STARTED / MIGRATION_DONE step of an update planning {@code planSize} migrations. */
    static int indexOf(ByteBuffer payload, int planSize) {
        if (payload.remaining() < 2) {
            throw new FlashException(FlashError.JOURNAL_ERROR, "firmware update journal step payload of "
                    + payload.remaining() + " bytes has no 2-byte migration index");
        }
        int index = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN).getShort(payload.position()) & 0xFFFF;
        if (index >= planSize) {
            throw new FlashException(FlashError.JOURNAL_ERROR, "firmware update journal step names migration " + index
                    + " of a plan of " + planSize);
        }
        return index;
    }
}
