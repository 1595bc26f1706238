package example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Backend;
import io.batchwise.backend.Backends;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the one dependency put on the class path, checked from the consumer's side: exactly the Batchwise
 * jars and the linux-x86_64 natives (no other platform's), and the API boundary of the Batchwise jars.
 *
 * <p>The boundary is enforced by Java access control, not by JPMS: implementation classes are
 * package-private, so a consumer cannot name them. This test fails when a public type appears outside
 * the API packages, or when a backend jar exposes more than its provider class.
 */
class ClasspathTest {
    /** The packages of batchwise-core a user may name types from (the public API). */
    static final Set<String> CORE_API = Set.of("io.batchwise", "io.batchwise.backend", "io.batchwise.data", "io.batchwise.layer",
            "io.batchwise.loss", "io.batchwise.inference", "io.batchwise.models", "io.batchwise.plan", "io.batchwise.train",
            // the service-provider interface: for modules that extend the trainer (batchwise-spark), not for users
            "io.batchwise.spi");
    /** The backend jars expose their ServiceLoader provider only. */
    static final Map<String, Set<String>> BACKEND_API = Map.of(
            "batchwise-reference", Set.of("io.batchwise.reference.ReferenceBackend"),
            "batchwise-onednn", Set.of("io.batchwise.onednn.OneDnnBackend"));
    /** Automatic-Module-Name each jar must declare, for consumers on the module path. */
    static final Map<String, String> MODULE_NAMES = Map.of(
            "batchwise-reference", "io.batchwise.reference",
            "batchwise-onednn", "io.batchwise.onednn");

    /** artifactId[:classifier] of each jar on the test class path, to its file. */
    private static final Map<String, Path> JARS = new TreeMap<>();

    @BeforeAll
    static void readClassPath() {
        // Surefire runs the tests through a manifest-only jar and passes the real class path in this property.
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : cp.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (entry.endsWith(".jar") && p.getParent() != null && p.getParent().getParent() != null) {
                String version = p.getParent().getFileName().toString();
                String artifactId = p.getParent().getParent().getFileName().toString();
                String file = p.getFileName().toString();
                String prefix = artifactId + "-" + version;
                String rest = file.startsWith(prefix) ? file.substring(prefix.length(), file.length() - ".jar".length()) : "";
                JARS.put(rest.startsWith("-") ? artifactId + ":" + rest.substring(1) : artifactId, p);
            }
        }
        assertTrue(JARS.containsKey("batchwise-core"), "no batchwise-core on the class path: " + cp);
    }

    private static Set<String> jarsUnder(String groupPath) {
        String sep = File.separator;
        String needle = sep + groupPath.replace("/", sep) + sep;
        return JARS.entrySet().stream().filter(e -> e.getValue().toString().contains(needle))
                .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theOneDependencyBringsTheBatchwiseJarsAndTheLinuxX8664NativesOnly() {
        assertEquals(new TreeSet<>(List.of("batchwise-core", "batchwise-onednn", "batchwise-platform-linux-x86_64",
                "batchwise-reference")), jarsUnder("io/batchwise"));
        assertEquals(new TreeSet<>(List.of("dnnl", "dnnl:linux-x86_64", "javacpp", "javacpp:linux-x86_64",
                "opencl", "opencl:linux-x86_64")), jarsUnder("org/bytedeco"));
        Set<String> names = Backends.all().stream().map(Backend::name).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(Set.of("onednn", "reference"), names);
    }

    @Test
    void coreExposesTypesOnlyInTheApiPackages() throws IOException {
        Map<String, Set<String>> byPackage = new TreeMap<>();
        for (String type : accessibleTypes(JARS.get("batchwise-core"))) {
            byPackage.computeIfAbsent(type.substring(0, type.lastIndexOf('.')), k -> new TreeSet<>()).add(type);
        }
        for (Map.Entry<String, Set<String>> e : byPackage.entrySet()) {
            assertTrue(CORE_API.contains(e.getKey()), "public types outside the API packages: " + e.getValue());
        }
        assertEquals(new TreeSet<>(CORE_API), byPackage.keySet(), "an API package without public types: update CORE_API");
    }

    @Test
    void backendJarsExposeTheirProviderOnly() throws IOException {
        for (Map.Entry<String, Set<String>> e : BACKEND_API.entrySet()) {
            assertEquals(e.getValue(), accessibleTypes(JARS.get(e.getKey())), e.getKey());
        }
    }

    @Test
    void platformJarHoldsNoCode() throws IOException {
        try (JarFile jar = new JarFile(JARS.get("batchwise-platform-linux-x86_64").toFile())) {
            assertFalse(jar.stream().anyMatch(e -> e.getName().endsWith(".class")));
        }
    }

    @Test
    void jarsDeclareTheirModuleNames() throws IOException {
        for (Map.Entry<String, String> e : MODULE_NAMES.entrySet()) {
            assertEquals(e.getValue(), moduleName(JARS.get(e.getKey())), e.getKey());
        }
        assertEquals("io.batchwise.core", moduleName(JARS.get("batchwise-core")), "batchwise-core");
    }

    private static String moduleName(Path jar) throws IOException {
        try (JarFile f = new JarFile(jar.toFile())) {
            return f.getManifest() == null ? null : f.getManifest().getMainAttributes().getValue("Automatic-Module-Name");
        }
    }

    /** The types of a jar that code outside its package can name: public, and public all the way out. */
    private static Set<String> accessibleTypes(Path path) throws IOException {
        assertTrue(path != null && Files.isRegularFile(path), "not on the class path: " + path);
        Set<String> out = new TreeSet<>();
        List<String> classes = new ArrayList<>();
        try (JarFile jar = new JarFile(path.toFile())) {
            for (Enumeration<JarEntry> en = jar.entries(); en.hasMoreElements(); ) {
                String n = en.nextElement().getName();
                if (n.endsWith(".class") && !n.endsWith("module-info.class") && !n.endsWith("package-info.class")) {
                    classes.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                }
            }
        }
        assertFalse(classes.isEmpty(), "no classes in " + path);
        ClassLoader loader = ClasspathTest.class.getClassLoader();
        for (String name : classes) {
            Class<?> c;
            try {
                c = Class.forName(name, false, loader); // not initialised: no native library is loaded here
            } catch (ClassNotFoundException e) {
                throw new AssertionError(e);
            }
            boolean accessible = !c.isAnonymousClass() && !c.isLocalClass();
            for (Class<?> k = c; k != null && accessible; k = k.getDeclaringClass()) {
                accessible = Modifier.isPublic(k.getModifiers());
            }
            if (accessible) {
                out.add(c.getName());
            }
        }
        return out;
    }
}
