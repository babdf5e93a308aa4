package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Media;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Member flushes run at the same time, and each member's failure is reported on its own. */
class MemberFlushesTest {

    /** A member whose flush waits until every member's flush has started (a sequential flush never gets there). */
    private static final class BarrierFlush extends ForwardingBlockDevice {
        private final CyclicBarrier barrier;
        private final CoreError failWith;
        volatile boolean flushed;

        BarrierFlush(String name, CyclicBarrier barrier, CoreError failWith) {
            super(name, Media.memory(name, new BlockGeometry(4096, 16)), true);
            this.barrier = barrier;
            this.failWith = failWith;
        }

        @Override
        protected void doFlush() {
            try {
                barrier.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                throw new CoreException(CoreError.IO_ERROR, name() + ": flushes did not overlap: " + e);
            }
            if (failWith != null) {
                throw new CoreException(failWith, name() + " failed its flush");
            }
            super.doFlush();
            flushed = true;
        }
    }

    @Test
    void everyMemberFlushesAtOnceAndAFailureStaysWithItsMember() {
        CyclicBarrier barrier = new CyclicBarrier(4);
        List<BarrierFlush> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(new BarrierFlush("m" + i, barrier, i == 2 ? CoreError.DEVICE_FAILED : null));
        }
        try {
            CoreException[] errors = MemberFlushes.flushAll(new ArrayList<BlockDevice>(members));
            assertThat(errors[0]).isNull();
            assertThat(errors[1]).isNull();
            assertThat(errors[2].code()).isEqualTo(CoreError.DEVICE_FAILED);
            assertThat(errors[3]).isNull();
            assertThat(members).filteredOn(m -> m.flushed).extracting(BlockDevice::name).containsExactly("m0", "m1", "m3");
        } finally {
            members.forEach(BlockDevice::close);
        }
    }
}
