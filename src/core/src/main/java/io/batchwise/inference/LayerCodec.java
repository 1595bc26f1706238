package io.batchwise.inference;

import io.batchwise.Shape;
import io.batchwise.layer.Add;
import io.batchwise.layer.AvgPool2d;
import io.batchwise.layer.BatchNorm;
import io.batchwise.layer.Concat;
import io.batchwise.layer.Conv2d;
import io.batchwise.layer.Dense;
import io.batchwise.layer.Dropout;
import io.batchwise.layer.ELU;
import io.batchwise.layer.Flatten;
import io.batchwise.layer.GELU;
import io.batchwise.layer.GlobalAvgPool2d;
import io.batchwise.layer.Init;
import io.batchwise.layer.Input;
import io.batchwise.layer.Layer;
import io.batchwise.layer.LeakyReLU;
import io.batchwise.layer.MaxPool2d;
import io.batchwise.layer.ReLU;
import io.batchwise.layer.Sigmoid;
import io.batchwise.layer.Softmax;
import io.batchwise.layer.Tanh;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Layer specs (and their initialisers) to bytes and back, one tag byte then the record's components in declaration
 * order (ints and floats big-endian, booleans one byte 0 or 1). The tag is the {@link Kind}'s position: append new
 * kinds at the end, never reorder.
 *
 * <p>Java 17 has no exhaustive switch over a sealed interface's types (JEP 441 came in 21), so the check is split in
 * two: {@link Kind} names one constant per permitted {@link Layer} class, which {@link Kind}'s initialiser checks
 * against {@code Layer.class.getPermittedSubclasses()} (a new layer without a kind fails on first use and in
 * LayerCodecTest); and {@link #write} and {@link #read} are switch expressions over {@link Kind} with no default,
 * so the compiler refuses a kind that either forgets (in {@link #write} a switch
 * expression whose value is unused, since a switch statement need not be exhaustive).
 */
final class LayerCodec {
    private LayerCodec() {
    }

    enum Kind {
        INPUT(Input.class), DENSE(Dense.class), CONV2D(Conv2d.class), MAX_POOL2D(MaxPool2d.class),
        AVG_POOL2D(AvgPool2d.class), GLOBAL_AVG_POOL2D(GlobalAvgPool2d.class), FLATTEN(Flatten.class), RELU(ReLU.class),
        LEAKY_RELU(LeakyReLU.class), ELU(ELU.class), GELU(GELU.class), TANH(Tanh.class), SIGMOID(Sigmoid.class),
        SOFTMAX(Softmax.class), BATCH_NORM(BatchNorm.class), DROPOUT(Dropout.class), ADD(Add.class), CONCAT(Concat.class);

        private static final Kind[] ALL = values();

        static {
            Set<Class<?>> covered = new HashSet<>();
            for (Kind k : ALL) {
                covered.add(k.type);
            }
            Set<Class<?>> permitted = new HashSet<>(Arrays.asList(Layer.class.getPermittedSubclasses()));
            if (!covered.equals(permitted)) {
                permitted.removeAll(covered);
                throw new IllegalStateException("LayerCodec.Kind does not cover the layers " + permitted);
            }
        }

        final Class<? extends Layer> type;

        Kind(Class<? extends Layer> type) {
            this.type = type;
        }

        static Kind of(Layer layer) {
            for (Kind k : ALL) {
                if (k.type == layer.getClass()) {
                    return k;
                }
            }
            throw new AssertionError("unreachable: every permitted layer has a kind");
        }
    }

    /** The initialisers (a sealed interface too), by the same rule. */
    enum InitKind {
        HE_NORMAL(Init.HeNormal.class), HE_UNIFORM(Init.HeUniform.class), GLOROT_NORMAL(Init.GlorotNormal.class),
        GLOROT_UNIFORM(Init.GlorotUniform.class), ZEROS(Init.Zeros.class), CONSTANT(Init.Constant.class);

        private static final InitKind[] ALL = values();

        static {
            Set<Class<?>> covered = new HashSet<>();
            for (InitKind k : ALL) {
                covered.add(k.type);
            }
            if (!covered.equals(new HashSet<>(Arrays.asList(Init.class.getPermittedSubclasses())))) {
                throw new IllegalStateException("LayerCodec.InitKind does not cover the initialisers "
                        + Arrays.toString(Init.class.getPermittedSubclasses()));
            }
        }

        final Class<? extends Init> type;

        InitKind(Class<? extends Init> type) {
            this.type = type;
        }

        static InitKind of(Init init) {
            for (InitKind k : ALL) {
                if (k.type == init.getClass()) {
                    return k;
                }
            }
            throw new AssertionError("unreachable: every permitted initialiser has a kind");
        }
    }

    /** A field that does not decode: the message, the offset is added by the caller. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    static void write(DataOutputStream out, Layer layer) throws IOException {
        Kind k = Kind.of(layer);
        out.writeByte(k.ordinal());
        // A switch expression (its value unused) because only those must cover every constant.
        boolean unused = switch (k) {
            case INPUT -> {
                writeShape(out, ((Input) layer).shape());
                yield true;
            }
            case DENSE -> {
                Dense d = (Dense) layer;
                out.writeInt(d.units());
                out.writeBoolean(d.bias());
                writeInit(out, d.weightInit());
                writeInit(out, d.biasInit());
                yield true;
            }
            case CONV2D -> {
                Conv2d c = (Conv2d) layer;
                ints(out, c.outChannels(), c.kernelH(), c.kernelW(), c.strideH(), c.strideW(), c.padH(), c.padW(),
                        c.dilationH(), c.dilationW());
                out.writeBoolean(c.bias());
                writeInit(out, c.weightInit());
                writeInit(out, c.biasInit());
                yield true;
            }
            case MAX_POOL2D -> {
                MaxPool2d p = (MaxPool2d) layer;
                ints(out, p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.padH(), p.padW());
                yield true;
            }
            case AVG_POOL2D -> {
                AvgPool2d p = (AvgPool2d) layer;
                ints(out, p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.padH(), p.padW());
                out.writeBoolean(p.countIncludePad());
                yield true;
            }
            case LEAKY_RELU -> floats(out, ((LeakyReLU) layer).slope());
            case ELU -> floats(out, ((ELU) layer).alpha());
            case BATCH_NORM -> floats(out, ((BatchNorm) layer).epsilon(), ((BatchNorm) layer).momentum());
            case DROPOUT -> floats(out, ((Dropout) layer).rate());
            case GLOBAL_AVG_POOL2D, FLATTEN, RELU, GELU, TANH, SIGMOID, SOFTMAX, ADD, CONCAT -> true; // no hyper-parameters
        };
    }

    /**
     * The layer at {@code buf}'s position; the record's constructor checks the values (an IllegalArgumentException
     * becomes {@link Malformed}). BufferUnderflowException when the data ends inside it.
     */
    static Layer read(ByteBuffer buf) throws Malformed {
        int tag = buf.get() & 0xff;
        if (tag >= Kind.ALL.length) {
            throw new Malformed("layer tag " + tag + " is no layer this Batchwise knows (0.." + (Kind.ALL.length - 1) + ")");
        }
        Kind k = Kind.ALL[tag];
        try {
            return switch (k) {
                case INPUT -> new Input(readShape(buf));
                case DENSE -> new Dense(buf.getInt(), bool(buf), readInit(buf), readInit(buf));
                case CONV2D -> new Conv2d(buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(),
                        buf.getInt(), buf.getInt(), buf.getInt(), bool(buf), readInit(buf), readInit(buf));
                case MAX_POOL2D -> new MaxPool2d(buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(),
                        buf.getInt());
                case AVG_POOL2D -> new AvgPool2d(buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(), buf.getInt(),
                        buf.getInt(), bool(buf));
                case GLOBAL_AVG_POOL2D -> new GlobalAvgPool2d();
                case FLATTEN -> new Flatten();
                case RELU -> new ReLU();
                case LEAKY_RELU -> new LeakyReLU(buf.getFloat());
                case ELU -> new ELU(buf.getFloat());
                case GELU -> new GELU();
                case TANH -> new Tanh();
                case SIGMOID -> new Sigmoid();
                case SOFTMAX -> new Softmax();
                case BATCH_NORM -> new BatchNorm(buf.getFloat(), buf.getFloat());
                case DROPOUT -> new Dropout(buf.getFloat());
                case ADD -> new Add();
                case CONCAT -> new Concat();
            };
        } catch (IllegalArgumentException e) {
            throw new Malformed(k.type.getSimpleName() + ": " + e.getMessage());
        }
    }

    /** Rank (1 byte, 1..8) then the dimensions (4 bytes each). */
    static void writeShape(DataOutputStream out, Shape s) throws IOException {
        out.writeByte(s.rank());
        for (int d : s.dims()) {
            out.writeInt(d);
        }
    }

    static Shape readShape(ByteBuffer buf) throws Malformed {
        int rank = buf.get() & 0xff;
        if (rank < 1 || rank > MAX_RANK) {
            throw new Malformed("shape rank " + rank + " is outside 1.." + MAX_RANK);
        }
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            dims[i] = buf.getInt();
        }
        try {
            return Shape.of(dims);
        } catch (IllegalArgumentException e) {
            throw new Malformed(e.getMessage());
        }
    }

    /** Ranks above this are corruption: layers take per-sample shapes of rank 1 or 3. */
    static final int MAX_RANK = 8;

    private static void writeInit(DataOutputStream out, Init init) throws IOException {
        InitKind k = InitKind.of(init);
        out.writeByte(k.ordinal());
        boolean unused = switch (k) {
            case CONSTANT -> floats(out, ((Init.Constant) init).value());
            case HE_NORMAL, HE_UNIFORM, GLOROT_NORMAL, GLOROT_UNIFORM, ZEROS -> true; // no value
        };
    }

    private static Init readInit(ByteBuffer buf) throws Malformed {
        int tag = buf.get() & 0xff;
        if (tag >= InitKind.ALL.length) {
            throw new Malformed("initialiser tag " + tag + " is outside 0.." + (InitKind.ALL.length - 1));
        }
        return switch (InitKind.ALL[tag]) {
            case HE_NORMAL -> Init.heNormal();
            case HE_UNIFORM -> Init.heUniform();
            case GLOROT_NORMAL -> Init.glorotNormal();
            case GLOROT_UNIFORM -> Init.glorotUniform();
            case ZEROS -> Init.zeros();
            case CONSTANT -> Init.constant(buf.getFloat());
        };
    }

    private static boolean bool(ByteBuffer buf) throws Malformed {
        byte b = buf.get();
        if (b != 0 && b != 1) {
            throw new Malformed("flag " + b + " is neither 0 nor 1");
        }
        return b == 1;
    }

    private static void ints(DataOutputStream out, int... values) throws IOException {
        for (int v : values) {
            out.writeInt(v);
        }
    }

    private static boolean floats(DataOutputStream out, float... values) throws IOException {
        for (float v : values) {
            out.writeInt(Float.floatToRawIntBits(v)); // raw, as the weights: decoding then encoding gives the same bytes
        }
        return true;
    }
}
