package dev.fleetkeeper.agent.service.pm2;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.ServiceSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Translates a {@link ServiceSpec} into the PM2 ecosystem file the driver writes, and into what
 * {@code pm2 jlist} should then report. Stateless; pure functions.
 *
 * <p>How the spec's command becomes PM2's fields: a command named {@code node} or
 * {@code nodejs} runs its first non-option argument as the PM2 script, with that node as the
 * interpreter and the options before it ({@code --max-old-space-size=512}) as node_args, so
 * PM2's Node integration (NODE_APP_INSTANCE, its memory figures) applies; any other command is
 * run as a PM2 script with interpreter "none" (PM2 executes it directly).
 */
final class Pm2Ecosystem {

    private static final Pattern NODE = Pattern.compile("nodejs|node(\\d+)?");

    private Pm2Ecosystem() {
    }

    /** What PM2 is asked to run: the script, its interpreter ("none" for an executable), node options, arguments. */
    record Launch(String script, String interpreter, List<String> nodeArgs, List<String> args) {
        Launch {
            nodeArgs = List.copyOf(nodeArgs);
            args = List.copyOf(args);
        }
    }

    static Launch launchOf(ServiceSpec spec) {
        String command = spec.command();
        if (command.isEmpty()) {
            throw new DriverException("service '" + spec.name() + "': command is missing; the PM2 driver writes the "
                    + "app's script from it (command: node, args: [server.js] or command: /path/to/executable)");
        }
        String base = Path.of(command).getFileName().toString();
        List<String> args = spec.args();
        if (NODE.matcher(base).matches()) {
            int i = 0;
            while (i < args.size() && args.get(i).startsWith("-")) {
                i++;
            }
            if (i < args.size()) {
                return new Launch(args.get(i), command, args.subList(0, i), args.subList(i + 1, args.size()));
            }
        }
        return new Launch(command, "none", List.of(), args);
    }

    /**
     * The ecosystem file for {@code spec}: one app named {@code app}, fork mode, the spec's
     * instances, environment, stop timeout and restart policy; stdout and stderr of each
     * instance go to the same file {@code logFile} (PM2 adds "-PM_ID" to it when there are
     * several instances), so that one file holds the output in the order it was written.
     */
    static String json(ServiceSpec spec, String app, Path cwd, Path logFile) {
        Launch launch = launchOf(spec);
        JsonObject a = new JsonObject();
        a.addProperty("name", app);
        a.addProperty("script", launch.script());
        a.addProperty("interpreter", launch.interpreter());
        if (!launch.nodeArgs().isEmpty()) {
            a.add("node_args", array(launch.nodeArgs()));
        }
        a.add("args", array(launch.args()));
        a.addProperty("cwd", cwd.toString());
        a.addProperty("exec_mode", "fork");
        a.addProperty("instances", spec.instances());
        JsonObject env = new JsonObject();
        for (Map.Entry<String, String> e : new TreeMap<>(spec.env()).entrySet()) {
            env.addProperty(e.getKey(), e.getValue());
        }
        env.addProperty("FLEETKEEPER_SERVICE", spec.name());
        env.addProperty("FLEETKEEPER_VERSION", spec.version());
        a.add("env", env);
        a.addProperty("kill_timeout", spec.stopTimeout().toMillis());
        switch (spec.restart()) {
            case ALWAYS -> a.addProperty("autorestart", true);
            case ON_FAILURE -> {
                a.addProperty("autorestart", true);
                JsonArray codes = new JsonArray();
                codes.add(0);
                a.add("stop_exit_codes", codes);
            }
            case NEVER -> a.addProperty("autorestart", false);
        }
        if (spec.restart() != ServiceSpec.RestartPolicy.NEVER) {
            // PM2's exponential backoff starts at this delay and grows by 1.5 up to its own cap
            // of 15 s; it resets after 30 s up. backoff.max and backoff.resetAfter have no PM2
            // setting. Not set for NEVER: PM2 would then show "waiting restart" for good.
            a.addProperty("exp_backoff_restart_delay", spec.backoff().initial().toMillis());
        }
        a.addProperty("out_file", logFile.toString());
        a.addProperty("error_file", logFile.toString());
        a.addProperty("merge_logs", false);
        // No git lookups of the app directory (vizion) and no PM2.io probes: the agent watches.
        a.addProperty("vizion", false);
        a.addProperty("pmx", false);
        a.addProperty("automation", false);
        JsonArray apps = new JsonArray();
        apps.add(a);
        JsonObject root = new JsonObject();
        root.add("apps", apps);
        return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
    }

    private static JsonArray array(List<String> values) {
        JsonArray out = new JsonArray();
        values.forEach(out::add);
        return out;
    }

    /** {@code values} as a list for a message: ['a', 'b']. */
    static String show(List<String> values) {
        List<String> quoted = new ArrayList<>(values.size());
        values.forEach(v -> quoted.add("'" + v + "'"));
        return "[" + String.join(", ", quoted) + "]";
    }
}
