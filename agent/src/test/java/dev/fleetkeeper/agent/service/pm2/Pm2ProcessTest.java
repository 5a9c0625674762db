package dev.fleetkeeper.agent.service.pm2;

import com.google.gson.JsonParseException;
import dev.fleetkeeper.agent.service.ManagerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reading {@code pm2 jlist} output, including the noise PM2 prints around it. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class Pm2ProcessTest {

    private static final String ENTRY = "{\"pid\":27899,\"name\":\"web\",\"pm_id\":4,\"monit\":{\"memory\":59166720},"
            + "\"pm2_env\":{\"status\":\"waiting restart\",\"instance_var\":\"NODE_APP_INSTANCE\","
            + "\"NODE_APP_INSTANCE\":1,\"restart_time\":7,\"exit_code\":3,\"pm_uptime\":1795326341409,"
            + "\"pm_exec_path\":\"/srv/app/server.js\",\"args\":[\"4100\"],\"instances\":2,"
            + "\"exec_mode\":\"fork_mode\",\"pm_out_log_path\":\"/l/web-4.log\",\"pm_err_log_path\":\"/l/web-4.log\"}}";

    @Test
    void jlist_afterTheDaemonSpawnBannerAndColouredWarnings_isRead() {
        String out = "\n                        -------------\n__/\\\\\\\\ banner [x]\n"
                + "\u001B[32m[PM2] \u001B[39mSpawning PM2 daemon with pm2_home=/tmp/h\n"
                + "[PM2] PM2 Successfully daemonized\n" + "[" + ENTRY + "]\n" + "[PM2][WARN] trailing [noise]\n";

        List<Pm2Process> procs = Pm2Process.parseJlist(out);

        assertThat(procs).singleElement().satisfies(p -> {
            assertThat(p.pmId()).isEqualTo(4);
            assertThat(p.instance()).isEqualTo(1);
            assertThat(p.pid()).isEqualTo(27899);
            assertThat(p.status()).isEqualTo("waiting restart");
            assertThat(p.restarts()).isEqualTo(7);
            assertThat(p.exitCode()).isEqualTo(3);
            assertThat(p.args()).containsExactly("4100");
            assertThat(p.memory()).isEqualTo(59166720L);
            assertThat(p.outLog()).isEqualTo("/l/web-4.log");
        });
    }

    @Test
    void jlist_emptyList_afterNoise_isEmpty_andNoArrayAtAll_isAnError() {
        assertThat(Pm2Process.parseJlist("[PM2] Spawning PM2 daemon\n[]\n")).isEmpty();
        assertThatThrownBy(() -> Pm2Process.parseJlist("[PM2][ERROR] Daemon not launched"))
                .isInstanceOf(JsonParseException.class).hasMessageContaining("Daemon not launched");
    }

    @Test
    void waitingRestart_afterAnExitPm2WillNotRestart_isExited_otherwiseBackoff() {
        String exitedClean = "[{\"pid\":0,\"name\":\"w\",\"pm_id\":0,\"pm2_env\":{\"status\":\"waiting restart\","
                + "\"NODE_APP_INSTANCE\":0,\"exit_code\":0,\"autorestart\":true,\"stop_exit_codes\":[0]}}]";
        String crashed = exitedClean.replace("\"exit_code\":0", "\"exit_code\":3");

        assertThat(Pm2Driver.statusOf(Pm2Process.parseJlist(exitedClean).get(0)).state())
                .isEqualTo(ManagerState.EXITED);
        assertThat(Pm2Driver.statusOf(Pm2Process.parseJlist(crashed).get(0)).state())
                .isEqualTo(ManagerState.BACKOFF);
    }
}
