package dev.scemu.flash;

import java.util.List;

/**
 * The result of a boot inspection (S1–S4) or an on-demand / periodic inspection.
 *
 * @param flash what the flash held when inspected
 * @param backup what the backup slot held when inspected
 * @param running the running image afterwards
 * @param events the events raised by this inspection (detections, recoveries, backup work)
 */
public record InspectionReport(ImageCheck flash, ImageCheck backup, FirmwareImage running, List<FirmwareEvent> events) {

    public InspectionReport {
        events = List.copyOf(events);
    }

    /** Whether a copy was found damaged or missing (and repaired). */
    public boolean foundProblems() {
        return events.stream().anyMatch(e -> e.type() != FirmwareEvent.Type.INSPECTED
                && e.type() != FirmwareEvent.Type.BOOTED);
    }

    public boolean has(FirmwareEvent.Type type) {
        return events.stream().anyMatch(e -> e.type() == type);
    }

    @Override
    public String toString() {
        return "inspection: " + flash + "; " + backup + "; running " + (running == null ? "none" : running.version())
                + "; events " + events;
    }
}
