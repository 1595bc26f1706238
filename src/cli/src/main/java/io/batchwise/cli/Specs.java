package io.batchwise.cli;

import io.batchwise.models.Models;
import io.batchwise.plan.Budget;
import io.batchwise.train.BatchSize;
import io.batchwise.train.Optimizer;
import io.batchwise.train.Schedule;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Values of the command-line flags and their picocli converters. A converter that refuses a value
 * throws {@link TypeConversionException}; picocli then names the flag: {@code Invalid value for
 * option '--batch': ...}.
 */
final class Specs {
    private Specs() {
    }

    /** {@code --batch N|full}. */
    record Batch(int samples) {
        static final Batch FULL = new Batch(0);

        BatchSize size() {
            return samples == 0 ? BatchSize.full() : samples == 1 ? BatchSize.stochastic() : BatchSize.mini(samples);
        }

        @Override
        public String toString() {
            return samples == 0 ? "full" : String.valueOf(samples);
        }
    }

    static final class BatchConverter implements ITypeConverter<Batch> {
        @Override
        public Batch convert(String v) {
            if (v.trim().equalsIgnoreCase("full")) {
                return Batch.FULL;
            }
            return new Batch(positive(v, "a number of samples (1 = stochastic) or 'full'"));
        }
    }

    /** {@code --micro-batch auto|N}: {@code samples == 0} is auto. */
    record MicroBatch(int samples) {
        static final MicroBatch AUTO = new MicroBatch(0);

        boolean auto() {
            return samples == 0;
        }

        @Override
        public String toString() {
            return auto() ? "auto" : String.valueOf(samples);
        }
    }

    static final class MicroBatchConverter implements ITypeConverter<MicroBatch> {
        @Override
        public MicroBatch convert(String v) {
            if (v.trim().equalsIgnoreCase("auto")) {
                return MicroBatch.AUTO;
            }
            return new MicroBatch(positive(v, "'auto' or a number of samples"));
        }
    }

    /** {@code --memory-budget auto|SIZE}: {@code budget == null} is auto. */
    record MemoryBudget(Budget budget) {
        static final MemoryBudget AUTO = new MemoryBudget(null);
        /** What {@code auto} leaves free on the host besides the Java heap. */
        static final long AUTO_MARGIN = 512L << 20;

        boolean auto() {
            return budget == null;
        }

        /** The explicit budget, or what {@code backend} may use (host memory, or free device memory for cudnn). */
        Budget resolve(io.batchwise.backend.Backend backend) {
            return auto() ? backend.automaticBudget(AUTO_MARGIN) : budget;
        }

        @Override
        public String toString() {
            return auto() ? "auto" : budget.toString();
        }
    }

    static final class MemoryBudgetConverter implements ITypeConverter<MemoryBudget> {
        @Override
        public MemoryBudget convert(String v) {
            if (v.trim().equalsIgnoreCase("auto")) {
                return MemoryBudget.AUTO;
            }
            try {
                return new MemoryBudget(Budget.parse(v));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /** The optimizers and their default learning rates. */
    enum OptimizerName {
        SGD(0.1), MOMENTUM(0.01), NESTEROV(0.01), ADAM(3e-3), ADAMW(4e-3), ADAGRAD(0.01), RMSPROP(1e-3), ADADELTA(1.0);

        final double defaultLr;

        OptimizerName(double defaultLr) {
            this.defaultLr = defaultLr;
        }

        /**
         * Momentum 0.9 for momentum and Nesterov; otherwise PyTorch's defaults. {@code weightDecay}:
         * L2 added to the gradient, or decoupled for AdamW; {@code null} keeps the default (0, AdamW 0.1).
         */
        Optimizer create(Double lr, Double weightDecay) {
            double r = lr == null ? defaultLr : lr;
            double wd = weightDecay == null ? (this == ADAMW ? 0.1 : 0) : weightDecay;
            return switch (this) {
                case SGD -> new Optimizer.Sgd(r, 0, 0, false, wd);
                case MOMENTUM -> new Optimizer.Sgd(r, 0.9, 0, false, wd);
                case NESTEROV -> new Optimizer.Sgd(r, 0.9, 0, true, wd);
                case ADAM -> new Optimizer.Adam(r, 0.9, 0.999, 1e-8, wd);
                case ADAMW -> new Optimizer.AdamW(r, 0.9, 0.999, 1e-8, wd);
                case ADAGRAD -> new Optimizer.Adagrad(r, 0, wd, 0, 1e-10);
                case RMSPROP -> new Optimizer.RmsProp(r, 0.99, 1e-8, wd, 0, false);
                case ADADELTA -> new Optimizer.Adadelta(r, 0.9, 1e-6, wd);
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final class OptimizerConverter implements ITypeConverter<OptimizerName> {
        @Override
        public OptimizerName convert(String v) {
            for (OptimizerName o : OptimizerName.values()) {
                if (o.toString().equalsIgnoreCase(v.trim())) {
                    return o;
                }
            }
            throw new TypeConversionException("'" + v + "' is not an optimizer; choose one of "
                    + String.join(", ", List.of(OptimizerName.values()).stream().map(Object::toString).toList()));
        }
    }

    static final class ModelConverter implements ITypeConverter<String> {
        @Override
        public String convert(String v) {
            String m = v.trim().toLowerCase(Locale.ROOT);
            try {
                Models.byName(m);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            return m.startsWith("lenet") ? "lenet" : m.startsWith("resnet") ? "resnet-small" : m;
        }
    }

    /**
     * {@code --schedule}: {@code constant}, {@code cosine[:MIN]} (annealed from 1 to MIN over the
     * run's planned steps), {@code step:EVERY:GAMMA}, {@code exp:GAMMA}, and any of these after a
     * linear warm-up over N steps or P percent of the run: {@code warmup:N[+SCHEDULE]},
     * {@code warmup:P%[+SCHEDULE]}.
     */
    record ScheduleSpec(String text) {
        Schedule build(long totalSteps) {
            return parse(text, Math.max(1, totalSteps));
        }

        private static Schedule parse(String t, long total) {
            String s = t.trim().toLowerCase(Locale.ROOT);
            if (s.startsWith("warmup:")) {
                String rest = s.substring("warmup:".length());
                int plus = rest.indexOf('+');
                String count = plus < 0 ? rest : rest.substring(0, plus);
                long n = count.endsWith("%")
                        ? Math.max(1, Math.round(total * Double.parseDouble(count.substring(0, count.length() - 1)) / 100))
                        : Long.parseLong(count);
                Schedule after = plus < 0 ? Schedule.constant() : parse(rest.substring(plus + 1), Math.max(1, total - n));
                return Schedule.warmup(n, after);
            }
            String[] f = s.split(":");
            switch (f[0]) {
                case "constant":
                    if (f.length == 1) {
                        return Schedule.constant();
                    }
                    break;
                case "cosine":
                    if (f.length <= 2) {
                        return Schedule.cosine(total, f.length == 2 ? Double.parseDouble(f[1]) : 0);
                    }
                    break;
                case "step":
                    if (f.length == 3) {
                        return Schedule.step(Long.parseLong(f[1]), Double.parseDouble(f[2]));
                    }
                    break;
                case "exp":
                    if (f.length == 2) {
                        return Schedule.exponential(Double.parseDouble(f[1]));
                    }
                    break;
                default:
                    break;
            }
            throw new IllegalArgumentException("'" + t + "' is not a schedule");
        }

        @Override
        public String toString() {
            return text;
        }
    }

    static final class ScheduleConverter implements ITypeConverter<ScheduleSpec> {
        @Override
        public ScheduleSpec convert(String v) {
            ScheduleSpec spec = new ScheduleSpec(v);
            try {
                spec.build(1000);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("'" + v + "' is not a schedule (" + e.getMessage() + "); write constant, cosine,"
                        + " cosine:MIN, step:EVERY:GAMMA, exp:GAMMA or warmup:N[+SCHEDULE] (N steps or P%)");
            }
            return spec;
        }
    }

    /** A positive integer (the {@code N} of several flags). */
    static final class PositiveInt implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String v) {
            return positive(v, "a positive whole number");
        }
    }

    static final class PositiveLong implements ITypeConverter<Long> {
        @Override
        public Long convert(String v) {
            try {
                long n = Long.parseLong(v.trim());
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new TypeConversionException("'" + v + "' is not a positive whole number");
        }
    }

    static final class NonNegativeLong implements ITypeConverter<Long> {
        @Override
        public Long convert(String v) {
            try {
                long n = Long.parseLong(v.trim());
                if (n >= 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new TypeConversionException("'" + v + "' is not a whole number >= 0");
        }
    }

    static final class NonNegativeDouble implements ITypeConverter<Double> {
        @Override
        public Double convert(String v) {
            try {
                double d = Double.parseDouble(v.trim());
                if (d >= 0 && Double.isFinite(d)) {
                    return d;
                }
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new TypeConversionException("'" + v + "' is not a number >= 0");
        }
    }

    static final class PositiveDouble implements ITypeConverter<Double> {
        @Override
        public Double convert(String v) {
            try {
                double d = Double.parseDouble(v.trim());
                if (d > 0 && Double.isFinite(d)) {
                    return d;
                }
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new TypeConversionException("'" + v + "' is not a positive number");
        }
    }

    static int positive(String v, String expected) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new TypeConversionException("'" + v + "' is not " + expected);
    }

    /** {@code ghost} or {@code exact}. */
    /** {@code fp32} or {@code bf16}. */
    static final class PrecisionConverter implements ITypeConverter<io.batchwise.backend.Precision> {
        @Override
        public io.batchwise.backend.Precision convert(String v) {
            try {
                return io.batchwise.backend.Precision.parse(v);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    static final class BatchNormConverter implements ITypeConverter<io.batchwise.train.BatchNormMode> {
        @Override
        public io.batchwise.train.BatchNormMode convert(String v) {
            return switch (v.toLowerCase(java.util.Locale.ROOT)) {
                case "ghost" -> io.batchwise.train.BatchNormMode.GHOST;
                case "exact" -> io.batchwise.train.BatchNormMode.EXACT;
                default -> throw new TypeConversionException("'" + v + "' is not a BatchNorm mode: use ghost or exact");
            };
        }
    }
}
