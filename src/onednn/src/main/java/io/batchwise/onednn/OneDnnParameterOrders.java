package io.batchwise.onednn;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;

import io.batchwise.Graph;
import io.batchwise.Node;
import io.batchwise.backend.ParameterLayout;
import io.batchwise.backend.Parameters;
import io.batchwise.backend.PlanOptions;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;

/**
 * Which weights the oneDNN backend stores in a kernel's layout instead of the logical one, so that no step
 * reorders them in (values) and out (gradients): LeNet-5's conv2 weights in {@code Acdb16a}, its first inner
 * product's in channels-last {@code acdb} (7 weight reorders per step were 15% of a b=1 step's primitive time).
 *
 * <p>The layout must hold for every plan of a graph, whatever its micro-batch, because one {@link Parameters}
 * serves them all: a probe plans the forward pass once at micro-batch {@link #PROBE} with plain weights and keeps
 * each weight layout a convolution or inner product chose, where it is a padding-free permutation of the plain
 * tensor that a {@code format_tag} names (an inner product's only when unblocked with the output dimension
 * outermost: its gradient accumulation reads it as a 2-D matrix). Plans of other micro-batches try the stored
 * layout first and reorder only if their kernel wants another. Cached per graph (weakly: graphs are immutable).
 */
final class OneDnnParameterOrders {
    /** The micro-batch the probe plans at (LeNet-5 picks the same weight layouts from 1 to 512). */
    static final int PROBE = 32;

    /** A stored layout: a oneDNN format tag over the dims the planner gives the weight. */
    record Stored(String tag, long[] dims) {
        memory.desc md() {
            return md(memory.data_type.f32);
        }

        /** The same layout over elements of {@code type} (a bf16 plan's copy of a source in the weights' order). */
        memory.desc md(memory.data_type type) {
            return new memory.desc(dims, type, memory.format_tag.valueOf(tag));
        }
    }

    private static final Map<Graph, Map<String, Stored>> CACHE = Collections.synchronizedMap(new WeakHashMap<>());

    private OneDnnParameterOrders() {
    }

    /** Slot key ({@code node.param}) to stored layout, for the weights that have one. */
    static Map<String, Stored> of(Graph graph) {
        Map<String, Stored> m = CACHE.get(graph);
        if (m == null) {
            m = probe(graph);
            CACHE.put(graph, m);
        }
        return m;
    }

    /** The element orders {@link Parameters} translates logical reads and writes with. */
    static Map<String, Parameters.Order> orders(Graph graph) {
        Map<String, Parameters.Order> out = new LinkedHashMap<>();
        of(graph).forEach((key, s) -> out.put(key, new Parameters.Order(s.tag(), logicalIndices(s))));
        return out;
    }

    private static Map<String, Stored> probe(Graph graph) {
        Map<String, Stored> chosen = new LinkedHashMap<>();
        try (OneDnnResources res = new OneDnnResources(); PointerScope scope = new PointerScope()) {
            OneDnnPlanner p = new OneDnnPlanner(OneDnnRuntime.get(), graph, PROBE, PlanOptions.forTraining(), res, Map.of(), chosen);
            for (Node n : graph.nodes()) {
                p.step = p.forwardStep(n);
                OneDnnLayer.of(n).forward(p);
            }
        } catch (RuntimeException e) {
            return Map.of(); // a graph oneDNN cannot plan: plain storage, and plan() reports the reason
        }
        return Collections.unmodifiableMap(chosen);
    }

    /**
     * The format tag naming {@code md} when it is worth storing: not plain, f32, no padding (same bytes as the
     * plain tensor); {@code unblockedOnly}: also no inner blocks and dimension 0 outermost. Null otherwise.
     */
    static String tagOf(memory.desc md, boolean unblockedOnly) {
        long[] dims = OneDnnMd.dims(md);
        if (OneDnnMd.isPlain(md) || md.get_data_type().value != memory.data_type.f32.value
                || md.get_size() != 4 * OneDnnMd.product(dims)
                || (unblockedOnly && md.get_inner_nblks() != 0)) { // (no unblocked tag would match: spares the scan)
            return null;
        }
        // The tag spelled from the blocking names it in one check; ties it cannot break (dims of size 1 have arbitrary
        // strides) fall back to asking every tag of this rank.
        String derived = spelledTag(dims, OneDnnMd.strides(md), OneDnnMd.innerBlocks(md), OneDnnMd.innerIndices(md));
        if (eligible(derived, dims.length, unblockedOnly) && describes(derived, dims, md)) {
            return derived;
        }
        for (memory.format_tag t : memory.format_tag.values()) {
            if (eligible(t.name(), dims.length, unblockedOnly) && describes(t.name(), dims, md)) {
                return t.name();
            }
        }
        return null;
    }

    /**
     * Whether tag {@code name} can be stored for a weight of rank {@code rank}: its leading letters name the dims (a..f,
     * capitals for blocked ones; digits start the blocks); {@code unblockedOnly}: no blocks, dimension 0 outermost.
     */
    private static boolean eligible(String name, int rank, boolean unblockedOnly) {
        String letters = name.replaceAll("[0-9].*$", "");
        return letters.length() == rank && letters.matches("[a-fA-F]+")
                && (!unblockedOnly || (name.equals(letters) && letters.charAt(0) == 'a'));
    }

    /** Whether format tag {@code name} over {@code dims} is exactly {@code md}. */
    private static boolean describes(String name, long[] dims, memory.desc md) {
        try (memory.desc d = new memory.desc(dims, memory.data_type.f32, memory.format_tag.valueOf(name))) {
            return d.equals(md);
        } catch (RuntimeException e) {
            return false; // no such tag, or not for these dims
        }
    }

    /**
     * A tag spelled from a blocking: outer dims by decreasing stride (capitals for blocked ones), then the inner
     * blocks ({@code Acdb16a}, {@code ABcd16a16b}, {@code acdb}); whether it exists is for {@link #describes}.
     */
    private static String spelledTag(long[] dims, long[] strides, long[] blocks, long[] idx) {
        Integer[] order = new Integer[dims.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(strides[y], strides[x])); // stable: ties keep logical order
        StringBuilder name = new StringBuilder();
        for (int d : order) {
            boolean blocked = false;
            for (long b : idx) {
                blocked |= b == d;
            }
            char c = (char) ('a' + d);
            name.append(blocked ? Character.toUpperCase(c) : c);
        }
        for (int i = 0; i < blocks.length; i++) {
            name.append(blocks[i]).append((char) ('a' + idx[i]));
        }
        return name.toString();
    }

    /** For each stored element, the logical (row-major) index it holds: a reorder of 0, 1, 2, ... into the layout. */
    static int[] logicalIndices(Stored s) {
        int n = Math.toIntExact(OneDnnMd.product(s.dims()));
        OneDnnRuntime rt = OneDnnRuntime.get();
        try (PointerScope scope = new PointerScope();
             memory.desc plain = new memory.desc(s.dims(), memory.data_type.s32, OneDnnMd.rowMajorStrides(s.dims()));
             memory.desc stored = new memory.desc(s.dims(), memory.data_type.s32, memory.format_tag.valueOf(s.tag()));
             IntPointer from = new IntPointer(n);
             IntPointer to = new IntPointer(n)) {
            int[] iota = new int[n];
            Arrays.setAll(iota, i -> i);
            from.put(iota);
            try (memory a = new memory(plain, rt.engine, from);
                 memory b = new memory(stored, rt.engine, to);
                 reorder r = new reorder(a, b);
                 IntMemoryMap args = new IntMemoryMap()) {
                args.put(DNNL_ARG_FROM, a);
                args.put(DNNL_ARG_TO, b);
                r.execute(rt.stream, args);
                rt.stream._wait();
            }
            int[] out = new int[n];
            to.get(out);
            return out;
        }
    }

    /** Whether {@code p}'s storage orders are the layouts {@code want} (a plan's) says. */
    static boolean matches(Map<String, Stored> want, Parameters p) {
        if (!want.keySet().equals(p.orders().keySet())) {
            return false;
        }
        for (Map.Entry<String, Stored> e : want.entrySet()) {
            if (!e.getValue().tag().equals(p.orders().get(e.getKey()).layout())) {
                return false;
            }
        }
        return true;
    }

    /** Slot key of a node's parameter, as {@link ParameterLayout.Slot#key()} writes it. */
    static String key(Node node, String param) {
        return node.name() + "." + param;
    }
}
