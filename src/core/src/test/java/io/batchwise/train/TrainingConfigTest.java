package io.batchwise.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.batchwise.backend.Precision;
import io.batchwise.loss.MeanSquaredError;
import io.batchwise.plan.Budget;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.Test;

/** The one place every training entry point takes its settings from: defaults, checks, and a whole copy. */
class TrainingConfigTest {

    /** The smallest entry point: the shared settings and nothing else. */
    static final class Settings extends TrainingConfig.Builder<Settings> {
        @Override
        protected Settings self() {
            return this;
        }

        TrainingConfig build() {
            return build("Probe", true);
        }
    }

    /** Every setting away from its default. */
    private static TrainingConfig everyOneSet() {
        return new Settings().loss(new io.batchwise.loss.SoftmaxCrossEntropy(0.1f)).optimizer(Optimizer.Adam.of(3e-3)).schedule(Schedule.cosine(100, 0))
                .batch(BatchSize.mini(48)).microBatch(12).memoryBudget(Budget.host(1 << 20)).seed(7).shuffle(false)
                .dropLast(true).clipGradientNorm(2).reportGradientNorm(true).batchNorm(BatchNormMode.EXACT)
                .precision(Precision.BF16_MIXED).noiseScaleDecay(0.9).measureNoiseScale(true).noiseScaleEvery(3)
                .adaptiveBatch(AdaptiveBatch.upTo(512)).build();
    }

    @Test
    void missingSettingsAreNamedTogether() {
        var e = assertThrows(IllegalStateException.class, () -> new Settings().build());
        assertEquals("Probe needs loss, optimizer, batch, microBatch or memoryBudget", e.getMessage());
        var f = assertThrows(IllegalStateException.class, () -> new Settings().loss(new MeanSquaredError())
                .optimizer(Optimizer.Sgd.plain(0.1)).batch(BatchSize.full()).build());
        assertEquals("Probe needs microBatch or memoryBudget", f.getMessage());
    }

    @Test
    void defaults() {
        TrainingConfig c = new Settings().loss(new MeanSquaredError()).optimizer(Optimizer.Sgd.plain(0.1))
                .batch(BatchSize.mini(4)).microBatch(2).build();
        assertEquals(1, c.seed());
        assertEquals(true, c.shuffle());
        assertEquals(false, c.dropLast());
        assertEquals(0, c.clipNorm());
        assertEquals(BatchNormMode.GHOST, c.batchNorm());
        assertEquals(Precision.FLOAT32, c.precision());
        assertEquals(0.95, c.noiseScaleDecay());
        assertEquals(1, c.noiseScaleEvery());
        assertEquals(null, c.budget());
        assertEquals(null, c.adaptiveBatch());
    }

    /** {@code config(c)} takes every setting: each public accessor of the copy answers as the original's does. */
    @Test
    void aConfigCopiesWhole() throws Exception {
        TrainingConfig original = everyOneSet();
        TrainingConfig copy = new Settings().config(original).build();
        TrainingConfig defaults = new Settings().loss(new MeanSquaredError()).optimizer(Optimizer.Sgd.plain(0.1))
                .batch(BatchSize.mini(4)).microBatch(2).build();
        int compared = 0;
        for (Method m : TrainingConfig.class.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == 0) {
                assertEquals(m.invoke(original), m.invoke(copy), m.getName());
                assertNotEquals(m.invoke(defaults), m.invoke(original), m.getName() + " is at its default in everyOneSet()");
                compared++;
            }
        }
        assertEquals(17, compared, "settings compared");
    }

    @Test
    void settingsAreCheckedWhenSet() {
        assertThrows(IllegalArgumentException.class, () -> new Settings().microBatch(0));
        assertThrows(IllegalArgumentException.class, () -> new Settings().clipGradientNorm(-1));
        assertThrows(IllegalArgumentException.class, () -> new Settings().clipGradientNorm(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new Settings().noiseScaleEvery(0));
        assertThrows(IllegalArgumentException.class, () -> new Settings().noiseScaleDecay(1.5));
        assertThrows(NullPointerException.class, () -> new Settings().precision(null));
        var e = assertThrows(IllegalStateException.class, () -> new Settings().loss(new MeanSquaredError())
                .optimizer(Optimizer.Sgd.plain(0.1)).batch(BatchSize.mini(4)).microBatch(2).noiseScaleDecay(-1)
                .adaptiveBatch(AdaptiveBatch.upTo(64)).build());
        assertEquals("an adaptive batch needs the noise scale: noiseScaleDecay is -1.0", e.getMessage());
    }
}
