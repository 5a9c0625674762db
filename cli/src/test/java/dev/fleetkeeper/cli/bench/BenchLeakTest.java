package dev.fleetkeeper.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fleetkeeper.cli.CliRun;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BenchLeakTest {

    @Test
    void benchLeak_printsConfusionPerShape_precisionRecall_andCpu() {
        CliRun.Result r = CliRun.run((String) null, "bench", "leak", "--series", "5", "--seed", "3",
                "--instances", "3", "--scans", "0");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("on 35 generated series (5 per shape, seed 3)");
        assertThat(r.lines()).anySatisfy(l -> assertThat(l).matches("steady growth +yes +5 +\\d+ .*"));
        assertThat(r.lines()).anySatisfy(l -> assertThat(l).matches("step then flat +no +5 +\\d+ .*"));
        assertThat(r.lines()).anySatisfy(l -> assertThat(l).matches("all +35 .*"));
        assertThat(r.out()).containsPattern("precision +[01]\\.\\d{3}").containsPattern("recall +[01]\\.\\d{3}");
        assertThat(r.out()).contains("tracking 3 instances").doesNotContain("our scan");
    }

    @Test
    void bench_listsLeak() {
        CliRun.Result r = CliRun.run((String) null, "bench", "--help");

        assertThat(r.out()).contains("scan", "ingest", "leak");
    }
}
