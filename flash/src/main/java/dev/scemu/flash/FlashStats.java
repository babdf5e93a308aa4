package dev.scemu.flash;

/**
 * Counters of a {@link FlashDevice}.
 *
 * @param bytesRead bytes returned by reads
 * @param pagesProgrammed page program operations (a program spanning pages counts each page)
 * @param bytesProgrammed bytes handed to program operations
 * @param eraseBlocksErased erase operations
 * @param bytesErased bytes erased ({@code eraseBlocksErased * eraseBlockSizeBytes})
 */
public record FlashStats(long bytesRead, long pagesProgrammed, long bytesProgrammed, long eraseBlocksErased,
                         long bytesErased) {
}
