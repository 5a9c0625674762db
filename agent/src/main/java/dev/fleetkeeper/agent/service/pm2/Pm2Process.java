package dev.fleetkeeper.agent.service.pm2;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One entry of {@code pm2 jlist}: the fields the driver uses, read with Gson. Immutable.
 *
 * @param pmId          PM2's id, what per-process commands take
 * @param name          the app name
 * @param instance      the instance index from the app's instance variable (NODE_APP_INSTANCE), -1 if absent
 * @param pid           0 when PM2 runs no process for it
 * @param status        PM2's status word (online, stopped, errored, waiting restart...)
 * @param uptimeMillis  pm_uptime: when PM2 last started it (epoch ms), 0 if unknown
 * @param restarts      restart_time
 * @param exitCode      pm2_env.exit_code, -1 if absent
 * @param execPath      pm_exec_path, the script PM2 runs
 * @param interpreter   exec_interpreter ("node", "none", a path)
 * @param args          the script's arguments
 * @param instances     the app's configured instance count, -1 if absent
 * @param execMode      fork_mode or cluster_mode
 * @param outLog        pm_out_log_path, "" if none
 * @param errLog        pm_err_log_path, "" if none
 * @param memory        monit.memory in bytes, -1 if absent
 * @param autorestart   whether PM2 restarts it when it exits
 * @param stopExitCodes exit codes after which PM2 does not restart it
 */
record Pm2Process(int pmId, String name, int instance, int pid, String status, long uptimeMillis, int restarts,
                  int exitCode, String execPath, String interpreter, List<String> args, int instances,
                  String execMode, String outLog, String errLog, long memory, boolean autorestart,
                  List<Integer> stopExitCodes) {

    Pm2Process {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        args = List.copyOf(args);
        stopExitCodes = List.copyOf(stopExitCodes);
    }

    /**
     * The processes in {@code output}, the standard output of {@code pm2 jlist}. PM2 may print
     * other things around the JSON (the banner and "Spawning PM2 daemon" when the command started
     * the daemon, coloured warnings), so the array is found as the first '[' from which a strict
     * parse reads an array of objects; what follows it is ignored.
     *
     * @throws JsonParseException when no such array is there
     */
    static List<Pm2Process> parseJlist(String output) {
        for (int at = output.indexOf('['); at >= 0; at = output.indexOf('[', at + 1)) {
            JsonArray array = tryArray(output, at);
            if (array != null) {
                List<Pm2Process> out = new ArrayList<>(array.size());
                for (JsonElement e : array) {
                    out.add(of(e.getAsJsonObject()));
                }
                return List.copyOf(out);
            }
        }
        String shown = output.strip();
        throw new JsonParseException("no JSON array of processes in pm2 jlist output: '"
                + (shown.length() > 200 ? shown.substring(0, 200) + "..." : shown) + "'");
    }

    private static JsonArray tryArray(String text, int at) {
        JsonReader reader = new JsonReader(new StringReader(text.substring(at)));
        reader.setStrictness(Strictness.STRICT);
        try {
            JsonElement e = JsonParser.parseReader(reader);
            if (!e.isJsonArray()) {
                return null;
            }
            for (JsonElement item : e.getAsJsonArray()) {
                if (!item.isJsonObject()) {
                    return null;
                }
            }
            return e.getAsJsonArray();
        } catch (JsonParseException | IllegalStateException e) {
            return null;
        }
    }

    private static Pm2Process of(JsonObject p) {
        JsonObject env = object(p, "pm2_env");
        JsonObject monit = object(p, "monit");
        String instanceVar = string(env, "instance_var", "NODE_APP_INSTANCE");
        List<String> args = new ArrayList<>();
        JsonElement a = env.get("args");
        if (a != null && a.isJsonArray()) {
            for (JsonElement x : a.getAsJsonArray()) {
                args.add(x.isJsonPrimitive() ? x.getAsString() : x.toString());
            }
        } else if (a != null && a.isJsonPrimitive()) {
            args.add(a.getAsString());
        }
        List<Integer> stopCodes = new ArrayList<>();
        JsonElement c = env.get("stop_exit_codes");
        for (JsonElement x : c == null || c.isJsonNull() ? new JsonArray()
                : c.isJsonArray() ? c.getAsJsonArray() : singleton(c)) {
            try {
                stopCodes.add(Integer.parseInt(x.getAsString().strip()));
            } catch (NumberFormatException | UnsupportedOperationException | IllegalStateException e) {
                // not a code PM2 would match either
            }
        }
        JsonElement auto = env.get("autorestart");
        boolean autorestart = auto == null || !auto.isJsonPrimitive() || !"false".equals(auto.getAsString());
        return new Pm2Process(
                (int) number(p, "pm_id", number(env, "pm_id", -1)),
                string(p, "name", string(env, "name", "")),
                (int) number(env, instanceVar, -1),
                (int) number(p, "pid", 0),
                string(env, "status", ""),
                number(env, "pm_uptime", 0),
                (int) number(env, "restart_time", 0),
                (int) number(env, "exit_code", -1),
                string(env, "pm_exec_path", ""),
                string(env, "exec_interpreter", ""),
                args,
                (int) number(env, "instances", -1),
                string(env, "exec_mode", ""),
                string(env, "pm_out_log_path", ""),
                string(env, "pm_err_log_path", ""),
                number(monit, "memory", -1),
                autorestart,
                stopCodes);
    }

    private static JsonArray singleton(JsonElement e) {
        JsonArray a = new JsonArray();
        a.add(e);
        return a;
    }

    private static JsonObject object(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    private static String string(JsonObject o, String key, String dflt) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : dflt;
    }

    /** A number, also one PM2 wrote as a string ("0" for NODE_APP_INSTANCE); {@code dflt} otherwise. */
    private static long number(JsonObject o, String key, long dflt) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive()) {
            return dflt;
        }
        try {
            return e.getAsJsonPrimitive().isNumber() ? e.getAsLong() : Long.parseLong(e.getAsString().strip());
        } catch (NumberFormatException ex) {
            return dflt;
        }
    }
}
