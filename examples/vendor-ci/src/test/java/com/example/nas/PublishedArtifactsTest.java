package com.example.nas;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.net.URL;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;

/** The jars this project resolved are the published ones: each names its Automatic-Module-Name. */
class PublishedArtifactsTest {

    @Test
    void everyScemuJarOnTheClasspathCarriesItsAutomaticModuleName() throws Exception {
        assertEquals("dev.scemu.core", moduleName(dev.scemu.core.BlockDevice.class));
        assertEquals("dev.scemu.raid", moduleName(dev.scemu.raid.RaidArray.class));
        assertEquals("dev.scemu.snapshot", moduleName(dev.scemu.snapshot.SnapshotVolume.class));
        assertEquals("dev.scemu.unit", moduleName(dev.scemu.unit.StorageControlUnit.class));
        assertEquals("dev.scemu.testkit", moduleName(dev.scemu.testkit.SimulatedController.class));
    }

    private static String moduleName(Class<?> type) throws Exception {
        URL jar = type.getProtectionDomain().getCodeSource().getLocation();
        try (InputStream in = jar.openStream(); JarInputStream jarIn = new JarInputStream(in)) {
            Manifest manifest = jarIn.getManifest();
            return manifest == null ? null : manifest.getMainAttributes().getValue("Automatic-Module-Name");
        }
    }
}
