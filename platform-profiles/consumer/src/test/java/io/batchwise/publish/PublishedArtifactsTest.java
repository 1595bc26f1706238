package io.batchwise.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The staging repository that {@code mvn verify} deployed every published module to (batchwise-bom's {@code staging}
 * execution of maven-deploy-plugin), checked against what Maven Central requires of a deployment, as
 * {@link Staging} reads it: the files a consumer downloads, the POMs as they are published (not this build's model).
 *
 * <p>Signatures ({@code .asc}) are not checked: signing needs the release key and is out of this build's scope.
 */
class PublishedArtifactsTest {
    private static final String GROUP = "io.batchwise";
    private static final String BOM = "batchwise-bom";
    private static Staging staging;

    @BeforeAll
    static void read() throws Exception {
        String dir = System.getProperty("batchwise.staging");
        String version = System.getProperty("batchwise.version");
        assertNotNull(dir, "system property batchwise.staging (set by the surefire configuration)");
        assertNotNull(version, "system property batchwise.version");
        staging = Staging.read(Path.of(dir), GROUP, version);
    }

    /** The BOM lists exactly the artifacts with code (jar packaging) that were deployed, at the project version. */
    @Test
    void bomListsEveryDeployedJarArtifactAndNothingElse() {
        Pom bom = staging.pom(BOM);
        assertNull(bom.parent(), "batchwise-bom must have no parent: importing it would bring the parent's"
                + " dependencyManagement (build-only versions) along");
        assertEquals("pom", bom.packaging());
        TreeSet<String> managed = new TreeSet<>();
        for (Pom.Dependency d : bom.managedDependencies()) {
            assertEquals(GROUP, d.groupId(), "batchwise-bom manages " + d + ": only Batchwise artifacts belong in it");
            assertNull(d.scope(), "batchwise-bom: " + d + " has a scope; it imports nothing and scopes nothing");
            assertEquals(staging.version(), bom.interpolate(d.version()), "batchwise-bom: version of " + d);
            assertTrue(managed.add(d.artifactId()), "batchwise-bom lists " + d.artifactId() + " twice");
        }
        TreeSet<String> jars = new TreeSet<>();
        staging.artifacts().forEach((id, a) -> {
            if (!a.pom().packaging().equals("pom")) {
                jars.add(id);
            }
        });
        assertTrue(jars.contains("batchwise-core") && jars.size() >= 10, "deployed jar artifacts: " + jars);
        assertEquals(jars, managed, "batchwise-bom must list every deployed Batchwise jar artifact and only those (after"
                + " removing a module, `mvn clean` empties the staging repository)");
    }

    /** Central: a jar comes with its POM, sources and javadoc jars; every file with its checksums. */
    @Test
    void everyArtifactHasPomJarSourcesJavadocAndChecksums() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Staging.Artifact a : staging.artifacts().values()) {
            List<String> needed = a.pom().packaging().equals("pom") ? List.of(":pom")
                    : List.of(":pom", ":jar", "sources:jar", "javadoc:jar");
            for (String key : needed) {
                Path f = a.files().get(key);
                if (f == null) {
                    problems.add(a.artifactId() + ": no " + key + " (has " + a.files().keySet() + ")");
                    continue;
                }
                for (String algorithm : List.of("SHA-1", "MD5")) {
                    Path sum = f.resolveSibling(f.getFileName() + "." + algorithm.replace("-", "").toLowerCase());
                    if (!Files.isRegularFile(sum)) {
                        problems.add(a.artifactId() + ": no " + sum.getFileName());
                    } else if (!Files.readString(sum).trim().startsWith(digest(f, algorithm))) {
                        problems.add(a.artifactId() + ": " + sum.getFileName() + " does not match the file");
                    }
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    /** Every jar carries the license; sources hold the code, javadoc the API docs (or, without code, a README). */
    @Test
    void jarsCarryTheLicenseSourcesAndDocs() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Staging.Artifact a : staging.artifacts().values()) {
            if (a.pom().packaging().equals("pom")) {
                continue;
            }
            try (ZipFile jar = new ZipFile(a.files().get(":jar").toFile());
                 ZipFile sources = new ZipFile(a.files().get("sources:jar").toFile());
                 ZipFile javadoc = new ZipFile(a.files().get("javadoc:jar").toFile())) {
                for (ZipFile z : List.of(jar, sources)) {
                    ZipEntry license = z.getEntry("META-INF/LICENSE");
                    if (license == null) {
                        problems.add(Path.of(z.getName()).getFileName() + ": no META-INF/LICENSE");
                        continue;
                    }
                    String text = new String(z.getInputStream(license).readAllBytes(), StandardCharsets.UTF_8);
                    if (!text.contains("Apache License") || !text.contains("Version 2.0, January 2004")
                            || !text.contains("END OF TERMS AND CONDITIONS")) {
                        problems.add(Path.of(z.getName()).getFileName() + ": META-INF/LICENSE is not the Apache License 2.0 text");
                    }
                }
                long classes = jar.stream().filter(e -> e.getName().endsWith(".class")).count();
                long java = sources.stream().filter(e -> e.getName().endsWith(".java")).count();
                if (classes > 0) {
                    if (java == 0) {
                        problems.add(a.artifactId() + ": classes but no .java in the sources jar");
                    }
                    if (javadoc.getEntry("index.html") == null) {
                        problems.add(a.artifactId() + ": the javadoc jar has no index.html");
                    }
                    jar.stream().map(ZipEntry::getName)
                            .filter(n -> n.endsWith(".class") && !n.contains("$") && !n.equals("module-info.class"))
                            .map(n -> n.substring(0, n.lastIndexOf('/') + 1))
                            .distinct()
                            .filter(pkg -> sources.getEntry(pkg + "package-info.java") == null && publicTypeIn(jar, pkg))
                            .forEach(pkg -> problems.add(a.artifactId() + ": public package " + pkg + " has no package-info.java"));
                } else if (javadoc.getEntry("README.txt") == null) {
                    problems.add(a.artifactId() + ": no code, and its javadoc jar has no README.txt saying where the docs are");
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    /** Central's required metadata, in each POM or inherited through parents that were deployed too. */
    @Test
    void everyPomHasCentralsRequiredMetadata() {
        List<String> problems = new ArrayList<>();
        for (Staging.Artifact a : staging.artifacts().values()) {
            String id = a.artifactId();
            Pom pom = a.pom();
            if (pom.text("name") == null || pom.text("description") == null) {
                problems.add(id + ": no name or description of its own");
            }
            List<Pom> chain = staging.chain(pom, problems);
            String url = Pom.inherited(chain, "url");
            if (url == null || !url.startsWith("https://")) {
                problems.add(id + ": url " + url);
            }
            Element licenses = Pom.inheritedElement(chain, "licenses");
            if (licenses == null || Pom.children(licenses, "license").stream()
                    .anyMatch(l -> Pom.childText(l, "name") == null || Pom.childText(l, "url") == null)
                    || Pom.children(licenses, "license").isEmpty()) {
                problems.add(id + ": no license with a name and a url");
            }
            Element developers = Pom.inheritedElement(chain, "developers");
            if (developers == null || Pom.children(developers, "developer").isEmpty()
                    || Pom.children(developers, "developer").stream().anyMatch(d -> Pom.childText(d, "name") == null)) {
                problems.add(id + ": no developer with a name");
            }
            for (String scm : List.of("connection", "developerConnection", "url")) {
                Element s = Pom.inheritedElement(chain, "scm");
                String v = s == null ? null : pom.interpolate(chain, Pom.childText(s, scm));
                if (v == null || v.contains("${")) {
                    problems.add(id + ": scm/" + scm + " " + v);
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    /** One version throughout: every POM, parent and Batchwise dependency; a release references no snapshot. */
    @Test
    void oneVersionThroughout() {
        List<String> problems = new ArrayList<>();
        boolean release = !staging.version().endsWith("-SNAPSHOT");
        for (Staging.Artifact a : staging.artifacts().values()) {
            Pom pom = a.pom();
            List<Pom> chain = staging.chain(pom, problems);
            if (!staging.version().equals(pom.version())) {
                problems.add(a.artifactId() + ": version " + pom.version());
            }
            if (pom.parent() != null && !staging.version().equals(pom.parent().version())) {
                problems.add(a.artifactId() + ": parent " + pom.parent());
            }
            List<Pom.Dependency> deps = new ArrayList<>(pom.dependencies());
            deps.addAll(pom.managedDependencies());
            for (Pom.Dependency d : deps) {
                String v = d.version() == null ? null : pom.interpolate(chain, d.version());
                if (d.groupId().equals(GROUP) && v != null && !v.contains("${") && !v.equals(staging.version())) {
                    problems.add(a.artifactId() + ": depends on " + d.artifactId() + ":" + v);
                }
            }
            if (release && pom.raw().contains("SNAPSHOT")) {
                problems.add(a.artifactId() + ": a release POM that mentions a SNAPSHOT");
            }
        }
        assertEquals(List.of(), problems);
    }

    /** The modules that are not published (benchmarks, these tests) were not deployed. */
    @Test
    void unpublishedModulesAreNotDeployed() {
        assertFalse(staging.artifacts().containsKey("batchwise-benchmarks"));
        assertFalse(staging.artifacts().containsKey("batchwise-platform-consumer-tests"));
        assertTrue(staging.artifacts().containsKey("batchwise-parent"), "the parent POMs are published with the modules");
    }

    private static boolean publicTypeIn(ZipFile jar, String pkg) {
        return jar.stream().anyMatch(e -> {
            String n = e.getName();
            if (!n.startsWith(pkg) || n.indexOf('/', pkg.length()) >= 0 || !n.endsWith(".class") || n.contains("$")) {
                return false;
            }
            try (InputStream in = jar.getInputStream(e)) {
                byte[] b = in.readAllBytes();
                return isPublic(b);
            } catch (IOException x) {
                throw new java.io.UncheckedIOException(x);
            }
        });
    }

    /** ACC_PUBLIC of a class file: the access flags follow the constant pool. */
    private static boolean isPublic(byte[] b) {
        int count = ((b[8] & 0xff) << 8) | (b[9] & 0xff);
        int p = 10;
        for (int i = 1; i < count; i++) {
            int tag = b[p] & 0xff;
            switch (tag) {
                case 1 -> p += 3 + (((b[p + 1] & 0xff) << 8) | (b[p + 2] & 0xff));
                case 3, 4, 9, 10, 11, 12, 17, 18 -> p += 5;
                case 5, 6 -> {
                    p += 9;
                    i++;
                }
                case 7, 8, 16, 19, 20 -> p += 3;
                case 15 -> p += 4;
                default -> throw new IllegalStateException("constant pool tag " + tag);
            }
        }
        int access = ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
        return (access & 0x0001) != 0;
    }

    private static String digest(Path f, String algorithm) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(Files.readAllBytes(f)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The staging repository: per artifactId, the files of {@code version} (a snapshot's latest timestamp). */
    record Staging(String version, Map<String, Artifact> artifacts) {
        record Artifact(String artifactId, Pom pom, Map<String, Path> files) {
        }

        static Staging read(Path root, String group, String version) throws Exception {
            Path groupDir = root.resolve(group.replace('.', '/'));
            assertTrue(Files.isDirectory(groupDir), groupDir + " is missing: the published modules deploy there in `mvn verify`");
            Map<String, Artifact> artifacts = new TreeMap<>();
            try (Stream<Path> dirs = Files.list(groupDir)) {
                for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                    String id = dir.getFileName().toString();
                    Path vdir = dir.resolve(version);
                    if (!Files.isDirectory(vdir)) {
                        fail(id + " was deployed, but not at " + version + " (`mvn clean` empties the staging repository)");
                    }
                    Map<String, Path> files = files(vdir, id, version);
                    Path pomFile = files.get(":pom");
                    assertNotNull(pomFile, id + ": no POM in " + vdir);
                    artifacts.put(id, new Artifact(id, Pom.read(pomFile), files));
                }
            }
            return new Staging(version, artifacts);
        }

        /** "classifier:extension" to file; for a snapshot, the files maven-metadata.xml names as the latest. */
        private static Map<String, Path> files(Path vdir, String id, String version) throws Exception {
            Map<String, Path> files = new LinkedHashMap<>();
            if (version.endsWith("-SNAPSHOT")) {
                Path meta = vdir.resolve("maven-metadata.xml");
                assertTrue(Files.isRegularFile(meta), "no " + meta);
                Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(meta.toFile());
                var list = d.getElementsByTagName("snapshotVersion");
                for (int i = 0; i < list.getLength(); i++) {
                    Element sv = (Element) list.item(i);
                    String classifier = Pom.childText(sv, "classifier");
                    String ext = Pom.childText(sv, "extension");
                    String value = Pom.childText(sv, "value");
                    Path f = vdir.resolve(id + "-" + value + (classifier == null ? "" : "-" + classifier) + "." + ext);
                    assertTrue(Files.isRegularFile(f), meta + " names " + f.getFileName() + ", which is missing");
                    files.put((classifier == null ? "" : classifier) + ":" + ext, f);
                }
            } else {
                Pattern p = Pattern.compile(Pattern.quote(id + "-" + version) + "(?:-([^.]+))?\\.(pom|jar)");
                try (Stream<Path> s = Files.list(vdir)) {
                    for (Path f : s.sorted().toList()) {
                        Matcher m = p.matcher(f.getFileName().toString());
                        if (m.matches()) {
                            files.put((m.group(1) == null ? "" : m.group(1)) + ":" + m.group(2), f);
                        }
                    }
                }
            }
            return files;
        }

        Pom pom(String artifactId) {
            Artifact a = artifacts.get(artifactId);
            assertNotNull(a, artifactId + " was not deployed; deployed: " + artifacts.keySet());
            return a.pom();
        }

        /** {@code pom} and its parents, nearest first; a parent that was not deployed is a problem. */
        List<Pom> chain(Pom pom, List<String> problems) {
            List<Pom> chain = new ArrayList<>();
            for (Pom p = pom; p != null; ) {
                chain.add(p);
                Pom.Dependency parent = p.parent();
                if (parent == null) {
                    break;
                }
                Artifact a = parent.groupId().equals(GROUP) ? artifacts.get(parent.artifactId()) : null;
                if (a == null) {
                    problems.add(pom.artifactId() + ": parent " + parent + " was not deployed");
                    break;
                }
                p = a.pom();
            }
            return chain;
        }
    }

    /** A published POM as text: the elements Central reads, before any inheritance. */
    record Pom(Element root, String raw) {
        record Dependency(String groupId, String artifactId, String version, String scope) {
            @Override
            public String toString() {
                return groupId + ":" + artifactId + ":" + version;
            }
        }

        static Pom read(Path file) throws Exception {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(false);
            Document d = f.newDocumentBuilder().parse(file.toFile());
            return new Pom(d.getDocumentElement(), Files.readString(file));
        }

        String text(String name) {
            return childText(root, name);
        }

        String artifactId() {
            return text("artifactId");
        }

        String packaging() {
            String p = text("packaging");
            return p == null ? "jar" : p;
        }

        String version() {
            return text("version") != null ? text("version") : parent() == null ? null : parent().version();
        }

        Dependency parent() {
            Element p = child(root, "parent");
            return p == null ? null : dependency(p);
        }

        List<Dependency> dependencies() {
            Element deps = child(root, "dependencies");
            return deps == null ? List.of() : children(deps, "dependency").stream().map(Pom::dependency).toList();
        }

        List<Dependency> managedDependencies() {
            Element dm = child(root, "dependencyManagement");
            Element deps = dm == null ? null : child(dm, "dependencies");
            return deps == null ? List.of() : children(deps, "dependency").stream().map(Pom::dependency).toList();
        }

        /** {@code ${...}} in {@code value} from the project's coordinates and the properties of {@code chain}. */
        String interpolate(List<Pom> chain, String value) {
            if (value == null) {
                return null;
            }
            String v = value;
            for (int round = 0; round < 10 && v.contains("${"); round++) {
                v = v.replace("${project.version}", version());
                for (int i = chain.size() - 1; i >= 0; i--) {
                    Element props = child(chain.get(i).root(), "properties");
                    if (props == null) {
                        continue;
                    }
                    for (Node n = props.getFirstChild(); n != null; n = n.getNextSibling()) {
                        if (n instanceof Element e && chainDefinesLast(chain, i, e.getTagName())) {
                            v = v.replace("${" + e.getTagName() + "}", e.getTextContent().trim());
                        }
                    }
                }
            }
            return v;
        }

        String interpolate(String value) {
            return interpolate(List.of(this), value);
        }

        /** Whether no POM nearer than {@code chain[i]} defines property {@code name} (the nearest wins). */
        private static boolean chainDefinesLast(List<Pom> chain, int i, String name) {
            for (int j = 0; j < i; j++) {
                Element props = child(chain.get(j).root(), "properties");
                if (props != null && child(props, name) != null) {
                    return false;
                }
            }
            return true;
        }

        /** The nearest POM's text of a top-level element, interpolated. */
        static String inherited(List<Pom> chain, String name) {
            for (Pom p : chain) {
                if (p.text(name) != null) {
                    return chain.get(0).interpolate(chain, p.text(name));
                }
            }
            return null;
        }

        static Element inheritedElement(List<Pom> chain, String name) {
            for (Pom p : chain) {
                Element e = child(p.root(), name);
                if (e != null) {
                    return e;
                }
            }
            return null;
        }

        private static Dependency dependency(Element e) {
            return new Dependency(childText(e, "groupId"), childText(e, "artifactId"), childText(e, "version"),
                    childText(e, "scope"));
        }

        static Element child(Element e, String name) {
            List<Element> c = children(e, name);
            return c.isEmpty() ? null : c.get(0);
        }

        static List<Element> children(Element e, String name) {
            List<Element> out = new ArrayList<>();
            for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element c && c.getTagName().equals(name)) {
                    out.add(c);
                }
            }
            return out;
        }

        static String childText(Element e, String name) {
            Element c = child(e, name);
            if (c == null) {
                return null;
            }
            String t = c.getTextContent().trim();
            return t.isEmpty() ? null : t;
        }
    }
}
