package dev.fleetkeeper.cli.command;

import dev.fleetkeeper.proto.v1.ProcessSort;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** The orders {@code ps --sort} accepts, by the word typed. */
enum ProcessOrder {
    MEM(ProcessSort.PROCESS_SORT_MEMORY),
    CPU(ProcessSort.PROCESS_SORT_CPU),
    PID(ProcessSort.PROCESS_SORT_PID);

    private final ProcessSort sort;

    ProcessOrder(ProcessSort sort) {
        this.sort = sort;
    }

    ProcessSort toProto() {
        return sort;
    }

    /** Accepts {@code mem}, {@code cpu}, {@code pid} in any case. */
    static final class Converter implements ITypeConverter<ProcessOrder> {
        @Override
        public ProcessOrder convert(String value) {
            try {
                return ProcessOrder.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("'" + value + "' (expected: one of "
                        + Arrays.stream(values()).map(o -> o.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "))
                        + ")");
            }
        }
    }
}
