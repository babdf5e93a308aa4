package dev.scemu.testkit;

import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/** Resolves {@link StorageControlUnit} parameters from {@link SimulatedController}; closes the unit after the test. */
public final class SimulatedControllerExtension implements ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(SimulatedControllerExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == StorageControlUnit.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        SimulatedController spec = context.getTestMethod()
                .map(m -> m.getAnnotation(SimulatedController.class))
                .or(() -> context.getTestClass().map(c -> c.getAnnotation(SimulatedController.class)))
                .orElseThrow(() -> new ParameterResolutionException("@SimulatedController is missing"));
        UnitConfig config = UnitConfig.builder().level(spec.level()).disks(spec.disks(), (long) spec.diskMib() << 20)
                .chunkBytes(spec.chunkKib() << 10).seed(spec.seed()).build();
        StorageControlUnit unit = StorageControlUnit.create(config);
        context.getStore(NAMESPACE).put(parameter.getIndex() + ":" + context.getUniqueId(),
                unit); // JUnit closes AutoCloseable store values after the test
        return unit;
    }
}
