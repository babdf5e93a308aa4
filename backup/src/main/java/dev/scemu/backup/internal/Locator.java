package dev.scemu.backup.internal;

/**
 * The locator record ('SCBL'), always the last {@link #RECORD_BYTES} bytes of an image, so a
 * reader finds the trailer from the end. Payload: {@code u64 trailerOffset, u32 trailerLength}.
 */
record Locator(long trailerOffset, int trailerLength) {

    static final int PAYLOAD_BYTES = 12;
    static final int RECORD_BYTES = RecordHeader.BYTES + PAYLOAD_BYTES;

    byte[] toRecord() {
        byte[] payload = new Bin.Writer(PAYLOAD_BYTES).u64(trailerOffset).u32(trailerLength).toArray();
        return RecordHeader.seal(ArchiveLayout.LOCATOR_MAGIC, ArchiveLayout.FORMAT_VERSION, 0, payload);
    }

    static Locator fromPayload(byte[] payload) {
        Bin.Reader r = new Bin.Reader(payload, "locator");
        Locator locator = new Locator(r.u64(), r.u32());
        r.expectEnd();
        return locator;
    }
}
