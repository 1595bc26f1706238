package io.batchwise.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.batchwise.backend.Executor;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One close order for every backend's plan: executors first (each unbinding itself), then the plan. */
class BoundExecutorsTest {
    private final List<String> events = new ArrayList<>();
    private final BoundExecutors<Executor> executors = new BoundExecutors<>();

    /** An executor whose close records itself and unbinds, as the backends' executors do. */
    private Executor executor(String name) {
        Executor[] self = new Executor[1];
        self[0] = (Executor) Proxy.newProxyInstance(Executor.class.getClassLoader(), new Class<?>[] {Executor.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                        events.add(name + " closed, plan closed: " + executors.closed());
                        executors.unbound(self[0]);
                        return null;
                    }
                    return switch (method.getName()) { // identity, as the backends' executors have
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        case "toString" -> name;
                        default -> throw new UnsupportedOperationException(method.getName());
                    };
                });
        return self[0];
    }

    @Test
    void closingThePlanClosesOpenExecutorsFirstAndOnlyOnce() {
        executors.bind(() -> executor("a"));
        Executor b = executors.bind(() -> executor("b"));
        executors.bind(() -> executor("c"));
        b.close(); // closed by its user: no longer the plan's to close
        events.clear();
        assertTrue(executors.close());
        assertEquals(List.of("a closed, plan closed: false", "c closed, plan closed: false"), events);
        assertTrue(executors.closed());
        assertFalse(executors.close(), "a second close frees nothing");
        assertEquals(2, events.size());
    }

    @Test
    void aClosedPlanBindsNothing() {
        executors.close();
        var e = assertThrows(IllegalStateException.class, () -> executors.bind(() -> executor("late")));
        assertEquals("the plan is closed", e.getMessage());
        assertThrows(IllegalStateException.class, executors::requireOpen);
    }
}
