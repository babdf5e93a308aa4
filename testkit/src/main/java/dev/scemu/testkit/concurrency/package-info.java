/**
 * A concurrency checker that can fail: workers (threads or NBD connections) issue overlapping
 * reads, writes, FUA writes and flushes while snapshots are taken and deleted and power is cut at
 * a seeded instant; every operation's start and end is recorded on one clock and the history is
 * checked block by block. Entry point: {@link dev.scemu.testkit.concurrency.ConcurrencyChecker};
 * rules: {@link dev.scemu.testkit.concurrency.HistoryChecker}; see {@code docs/testkit.md}.
 */
package dev.scemu.testkit.concurrency;
