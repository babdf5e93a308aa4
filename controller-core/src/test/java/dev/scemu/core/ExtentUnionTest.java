package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ExtentUnionTest {

    @Test
    void mergesOverlappingAndAdjacentExtentsInAnyOrderAndDropsEmptyOnes() {
        assertThat(Extent.union(List.of(Extent.of(100, 10), Extent.of(0, 4), Extent.of(4, 2), Extent.of(105, 20),
                Extent.of(50, 0), Extent.of(8, 1), Extent.of(101, 2))))
                .containsExactly(Extent.of(0, 6), Extent.of(8, 1), Extent.of(100, 25));
        assertThat(Extent.union(List.of())).isEmpty();
        assertThat(Extent.union(List.of(Extent.of(7, 0)))).isEmpty();
    }

    @Test
    void differenceKeepsTheBlocksTheRemovedExtentsDoNotCover() {
        List<Extent> from = List.of(Extent.of(0, 10), Extent.of(20, 10), Extent.of(40, 5));
        assertThat(Extent.difference(from, List.of(Extent.of(2, 3), Extent.of(8, 14), Extent.of(25, 1))))
                .containsExactly(Extent.of(0, 2), Extent.of(5, 3), Extent.of(22, 3), Extent.of(26, 4), Extent.of(40, 5));
        assertThat(Extent.difference(from, List.of())).isEqualTo(from);
        assertThat(Extent.difference(from, List.of(Extent.of(0, 100)))).isEmpty();
        assertThat(Extent.difference(List.of(), from)).isEmpty();
    }
}
