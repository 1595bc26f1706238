package io.batchwise.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Availability;
import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import org.junit.jupiter.api.Test;

/** What the backend says when the native library does not load, checked without breaking an install. */
class OneDnnAvailabilityTest {

    @Test
    void missingNativesNameThePlatformAndBothArtifacts() {
        String m = OneDnnAvailability.missingMessage(
                new UnsatisfiedLinkError("no jnidnnl in java.library.path"), "linux-arm64");
        assertTrue(m.contains("linux-arm64"), m);
        assertTrue(m.contains("UnsatisfiedLinkError: no jnidnnl in java.library.path"), m);
        assertTrue(m.contains("org.bytedeco:dnnl:3.11-1.5.13 with classifier linux-arm64"), m);
        assertTrue(m.contains("org.bytedeco:opencl:3.0-1.5.13 with classifier linux-arm64"), m);
        assertFalse(m.contains("OpenCL preset, which is missing"), m);
    }

    @Test
    void aMissingOpenClPresetIsCalledOut() {
        Throwable t = new ExceptionInInitializerError(new TypeNotPresentException("org.bytedeco.opencl.presets.OpenCL",
                new ClassNotFoundException("org.bytedeco.opencl.presets.OpenCL")));
        String m = OneDnnAvailability.missingMessage(t, "macosx-arm64");
        assertTrue(m.contains("OpenCL preset, which is missing"), m);
        assertTrue(m.contains("TypeNotPresentException"), m);
        assertTrue(m.contains("org.bytedeco:opencl:3.0-1.5.13 with classifier macosx-arm64"), m);
    }

    @Test
    void platformFromTheJvmWhenJavaCppIsMissing() {
        assertEquals("linux-x86_64", OneDnnAvailability.fallbackPlatform("Linux", "amd64"));
        assertEquals("macosx-arm64", OneDnnAvailability.fallbackPlatform("Mac OS X", "aarch64"));
        assertEquals("windows-x86_64", OneDnnAvailability.fallbackPlatform("Windows 11", "amd64"));
    }

    @Test
    void availableHereAndCached() {
        Backend b = new OneDnnBackend();
        Availability a = b.availability();
        assertTrue(a.available(), a.reason());
        assertTrue(a.reason().startsWith("oneDNN 3."), a.reason());
        assertSame(a, new OneDnnBackend().availability(), "probed once");
        assertEquals("onednn", Backends.get("onednn").name());
        assertEquals(10, b.priority());
    }
}
