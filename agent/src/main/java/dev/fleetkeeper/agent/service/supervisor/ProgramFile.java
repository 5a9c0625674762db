package dev.fleetkeeper.agent.service.supervisor;

import dev.fleetkeeper.agent.service.DriverException;
import dev.fleetkeeper.agent.service.ServiceSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The {@code [program:x]} section the agent writes for a service whose supervisord config file
 * it owns: rendering (pure) and the atomic write. Stateless and thread-safe.
 *
 * <p>Two parsers read what is written here, and both shape the quoting: Python's configparser
 * (a {@code ;} or {@code #} after whitespace starts a comment, even inside quotes) and then
 * supervisord, which expands {@code %(name)s} in most values (so a literal {@code %} is
 * {@code %%}), splits {@code command} like a POSIX shell, and splits {@code environment} with a
 * non-POSIX shlex that has no escapes (so a value is single- or double-quoted, never both).
 * A value neither can carry is refused with the reason, rather than written wrongly.
 */
final class ProgramFile {

    private static final Pattern SAFE_WORD = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern COMMENT_START = Pattern.compile("\\s[;#]");

    private ProgramFile() {
    }

    /** The name supervisord gives instance {@code instance} of {@code program} with {@code instances} processes. */
    static String processName(String program, int instances, int instance) {
        return instances == 1 ? program : String.format("%s_%02d", program, instance);
    }

    /** The command line as written to {@code command=}, before %-escaping: POSIX-shell quoted words. */
    static String commandLine(ServiceSpec spec) {
        List<String> words = new ArrayList<>();
        words.add(spec.command());
        words.addAll(spec.args());
        StringBuilder b = new StringBuilder();
        for (String w : words) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(shellQuote(w));
        }
        return b.toString();
    }

    /** The whole file for {@code spec}: a header comment and its {@code [program:x]} section. */
    static String render(ServiceSpec spec) {
        ServiceSpec.SupervisorSpec sv = spec.supervisor();
        String program = sv.program();
        if (spec.command().isEmpty()) {
            throw refuse(spec, "command is empty; a program supervisord runs needs a command");
        }
        StringBuilder b = new StringBuilder(512);
        b.append("; Written by the fleetkeeper agent for service '").append(spec.name()).append("'");
        if (!spec.version().isEmpty()) {
            b.append(", release ").append(oneLine(spec, "version", spec.version()));
        }
        b.append(".\n; Changes here are overwritten: change the service in agent.yaml instead.\n");
        b.append("[program:").append(program).append("]\n");
        line(b, "command", value(spec, "command", commandLine(spec)));
        line(b, "numprocs", Integer.toString(spec.instances()));
        line(b, "process_name", spec.instances() == 1 ? "%(program_name)s" : "%(program_name)s_%(process_num)02d");
        if (spec.workingDir() != null) {
            line(b, "directory", value(spec, "workingDir", spec.workingDir().toString()));
        }
        if (!spec.user().isEmpty()) {
            line(b, "user", value(spec, "user", spec.user()));
        }
        line(b, "environment", environment(spec));
        // The agent starts the program itself, after its pre-flight (a free port, a sane pidfile,
        // writable paths): supervisord's own autostart would bypass it. After a reboot the agent,
        // which starts with the host, starts it.
        line(b, "autostart", "false");
        line(b, "autorestart", switch (spec.restart()) {
            case ALWAYS -> "true";
            case ON_FAILURE -> "unexpected";
            case NEVER -> "false";
        });
        line(b, "exitcodes", "0");
        // startsecs: how long a process must stay up to count as started. One second is
        // supervisord's default; the spec's startTimeout is a different thing (when a start is stuck).
        line(b, "startsecs", "1");
        line(b, "startretries", "3");
        line(b, "stopsignal", spec.stopSignal());
        line(b, "stopwaitsecs", Long.toString(Math.max(1, (spec.stopTimeout().toMillis() + 999) / 1000)));
        // The stop signal and the SIGKILL go to the whole process group, so that a worker's children
        // do not outlive it holding its port (incident 1).
        line(b, "stopasgroup", "true");
        line(b, "killasgroup", "true");
        line(b, "redirect_stderr", "true");
        if (spec.logs().dir() != null) {
            line(b, "stdout_logfile", value(spec, "logs.dir", spec.logs().dir().toString())
                    + "/%(program_name)s_%(process_num)02d.log");
        } else {
            line(b, "stdout_logfile", "AUTO");
        }
        line(b, "stdout_logfile_maxbytes", Long.toString(spec.logs().maxBytes()));
        line(b, "stdout_logfile_backups", Integer.toString(spec.logs().keep()));
        return b.toString();
    }

    /**
     * Writes {@code content} to {@code file} atomically (a temporary file in the same directory,
     * then a rename), so that supervisord never reads half a section. Returns false when the
     * file already held exactly this.
     */
    static boolean write(ServiceSpec spec, Path file, String content) {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        try {
            if (Files.isRegularFile(file) && java.util.Arrays.equals(Files.readAllBytes(file), bytes)) {
                return false;
            }
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                Files.write(tmp, bytes);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
            return true;
        } catch (IOException e) {
            throw new DriverException("service '" + spec.name() + "': cannot write its supervisord program file " + file
                    + " (" + e + "): the agent's user (" + System.getProperty("user.name")
                    + ") must be able to write that directory; it is supervisor.configFile in agent.yaml, and must"
                    + " match the files= of supervisord's [include] section.", e);
        }
    }

    private static String environment(ServiceSpec spec) {
        Map<String, String> env = new TreeMap<>(spec.env());
        env.put("FLEETKEEPER_SERVICE", spec.name());
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (!ENV_NAME.matcher(e.getKey()).matches()) {
                throw refuse(spec, "environment variable name '" + e.getKey() + "' is not a valid name");
            }
            if (e.getKey().equals("FLEETKEEPER_INSTANCE")) {
                continue;
            }
            b.append(e.getKey()).append('=').append(envQuote(spec, e.getKey(), e.getValue())).append(',');
        }
        // The instance index, expanded by supervisord per process.
        b.append("FLEETKEEPER_INSTANCE=\"%(process_num)d\"");
        return b.toString();
    }

    private static String envQuote(ServiceSpec spec, String key, String v) {
        String checked = value(spec, "env " + key, v);
        if (v.startsWith("'") || v.startsWith("\"") || v.endsWith("'") || v.endsWith("\"")) {
            throw refuse(spec, "env " + key + " starts or ends with a quote, which supervisord strips");
        }
        if (!v.contains("\"")) {
            return '"' + checked + '"';
        }
        if (!v.contains("'")) {
            return '\'' + checked + '\'';
        }
        throw refuse(spec, "env " + key + " holds both ' and \"; supervisord's environment= cannot quote that");
    }

    /** Checks what configparser cannot carry and escapes % for supervisord's expansion. */
    private static String value(ServiceSpec spec, String key, String v) {
        oneLine(spec, key, v);
        if (COMMENT_START.matcher(v).find()) {
            throw refuse(spec, key + " '" + v + "' has a ';' or '#' after a space, which supervisord's config parser"
                    + " reads as the start of a comment");
        }
        return v.replace("%", "%%");
    }

    private static String oneLine(ServiceSpec spec, String key, String v) {
        if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
            throw refuse(spec, key + " contains a line break or NUL, which a supervisord config line cannot hold");
        }
        return v;
    }

    /**
     * Splits a command line into words as supervisord does (Python's {@code shlex.split}, POSIX
     * mode: single quotes literal, double quotes with backslash escapes, backslash outside quotes).
     */
    static List<String> splitCommand(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote == '\'') {
                if (c == '\'') {
                    quote = 0;
                } else {
                    w.append(c);
                }
            } else if (quote == '"') {
                if (c == '"') {
                    quote = 0;
                } else if (c == '\\' && i + 1 < line.length() && "\\\"$`".indexOf(line.charAt(i + 1)) >= 0) {
                    w.append(line.charAt(++i));
                } else {
                    w.append(c);
                }
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(w.toString());
                    w.setLength(0);
                    inWord = false;
                }
            } else {
                inWord = true;
                if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '\\' && i + 1 < line.length()) {
                    w.append(line.charAt(++i));
                } else {
                    w.append(c);
                }
            }
        }
        if (inWord) {
            words.add(w.toString());
        }
        return words;
    }

    private static String shellQuote(String w) {
        if (!w.isEmpty() && SAFE_WORD.matcher(w).matches()) {
            return w;
        }
        return "'" + w.replace("'", "'\"'\"'") + "'";
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(key).append('=').append(value).append('\n');
    }

    private static DriverException refuse(ServiceSpec spec, String why) {
        return new DriverException("service '" + spec.name() + "': cannot write its supervisord program: " + why
                + ". Change it in agent.yaml (or wrap the command in a script).");
    }
}
