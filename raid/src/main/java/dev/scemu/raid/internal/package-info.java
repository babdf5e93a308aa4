/**
 * Implementation of the raid module: md v1.2 superblock and bitmap codecs, address mapping of each
 * level, parity, stripe locking and the array engine. Not part of the API.
 */
package dev.scemu.raid.internal;
