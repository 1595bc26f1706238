package io.batchwise.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * A graceful stop on SIGINT (Ctrl-C) and SIGTERM (what a preemptible VM or a cluster scheduler
 * sends): the first signal calls {@code onFirst} (the trainer finishes its optimizer step and writes a
 * checkpoint) and the run ends with status 128 + the signal's number (130, 143); a second signal ends
 * the process at once with that status. {@link #close()} puts the previous handlers back.
 *
 * <p>Uses {@code sun.misc.Signal} (module jdk.unsupported, in every JDK since 9): the only way for Java
 * code to handle a signal without ending the JVM. Where it is missing the JVM's default applies (the
 * process ends; the last checkpoint stays valid).
 */
final class StopSignals implements AutoCloseable {
    private final List<Signal> signals = new ArrayList<>();
    private final List<SignalHandler> previous = new ArrayList<>();
    private volatile int received; // the first signal's number, 0 until one arrives

    StopSignals(PrintWriter err, Runnable onFirst) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal s = new Signal(name);
                previous.add(Signal.handle(s, sig -> {
                    if (received != 0) {
                        Runtime.getRuntime().halt(128 + received); // second signal: stop now
                    }
                    received = sig.getNumber();
                    err.printf("%nstopping    SIG%s: finishing the current step and writing a checkpoint (signal again to"
                            + " stop at once)%n", sig.getName());
                    err.flush();
                    onFirst.run();
                }));
                signals.add(s);
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // this platform or JVM does not let the signal be handled (e.g. -Xrs): default behaviour
            }
        }
    }

    /** The first signal's number, 0 when none arrived. */
    int received() {
        return received;
    }

    /** The exit status for the signal received: 128 + its number. */
    int exitStatus() {
        return 128 + received;
    }

    @Override
    public void close() {
        for (int i = 0; i < signals.size(); i++) {
            Signal.handle(signals.get(i), previous.get(i));
        }
    }
}
