package dev.fleetkeeper.agent.service.supervisor;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * XML-RPC encoding of calls and decoding of responses, with the JDK's StAX parser: the subset
 * supervisord speaks (Python's {@code xmlrpc.client}). Stateless and thread-safe.
 *
 * <p>Values map to Java as: string and untyped value: {@link String}; int, i4: {@link Integer};
 * i8: {@link Long}; boolean: {@link Boolean}; double: {@link Double}; array: {@link List};
 * struct: {@link Map} (in document order); nil: null; base64: byte[]; dateTime.iso8601: its text.
 *
 * <p>DTDs and external entities are refused: a response is data from a socket, and must not
 * make the agent (often root) read local files or reach out anywhere.
 */
final class XmlRpc {

    private static final XMLInputFactory FACTORY = newFactory();

    private XmlRpc() {
    }

    /** A fault response: supervisord's code and text ({@code "BAD_NAME: web:web_07"}). */
    static final class Fault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final int code;
        private final String text;

        Fault(int code, String text) {
            super("fault " + code + ": " + text);
            this.code = code;
            this.text = text;
        }

        int code() {
            return code;
        }

        String text() {
            return text;
        }

        /** The symbolic name supervisord puts first ({@code BAD_NAME}), or "" if there is none. */
        String name() {
            int colon = text.indexOf(':');
            String head = colon < 0 ? text : text.substring(0, colon);
            return head.matches("[A-Z_]+") ? head : "";
        }
    }

    /** A response that is not well-formed XML-RPC. */
    static final class MalformedResponse extends RuntimeException {
        private static final long serialVersionUID = 1L;

        MalformedResponse(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The request body of a call of {@code method} with {@code params}. */
    static byte[] encodeCall(String method, List<?> params) {
        StringBuilder b = new StringBuilder(128);
        b.append("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
        escape(method, b);
        b.append("</methodName><params>");
        for (Object p : params) {
            b.append("<param>");
            encodeValue(p, b);
            b.append("</param>");
        }
        b.append("</params></methodCall>\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void encodeValue(Object v, StringBuilder b) {
        b.append("<value>");
        if (v instanceof String s) {
            b.append("<string>");
            escape(s, b);
            b.append("</string>");
        } else if (v instanceof Integer i) {
            b.append("<int>").append(i).append("</int>");
        } else if (v instanceof Boolean z) {
            b.append("<boolean>").append(z ? '1' : '0').append("</boolean>");
        } else if (v instanceof List<?> list) {
            b.append("<array><data>");
            for (Object e : list) {
                encodeValue(e, b);
            }
            b.append("</data></array>");
        } else if (v instanceof Map<?, ?> map) {
            b.append("<struct>");
            for (Map.Entry<?, ?> e : map.entrySet()) {
                b.append("<member><name>");
                escape(String.valueOf(e.getKey()), b);
                b.append("</name>");
                encodeValue(e.getValue(), b);
                b.append("</member>");
            }
            b.append("</struct>");
        } else {
            throw new IllegalArgumentException("XML-RPC parameter: " + (v == null ? "null" : v.getClass().getName())
                    + " (expected: String, Integer, Boolean, List or Map)");
        }
        b.append("</value>");
    }

    private static void escape(String s, StringBuilder b) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                default -> b.append(c);
            }
        }
    }

    /**
     * The value of a {@code methodResponse}; throws {@link Fault} for a fault response and
     * {@link MalformedResponse} for anything that is not XML-RPC.
     */
    static Object decodeResponse(byte[] body) {
        XMLStreamReader r = null;
        try {
            r = FACTORY.createXMLStreamReader(new ByteArrayInputStream(body));
            nextElement(r, "methodResponse");
            r.nextTag();
            String what = r.getLocalName();
            if (what.equals("fault")) {
                nextElement(r, "value");
                Object v = readValue(r);
                if (!(v instanceof Map<?, ?> m) || !(m.get("faultCode") instanceof Integer code)) {
                    throw new MalformedResponse("fault without a faultCode: " + v, null);
                }
                throw new Fault(code, String.valueOf(m.get("faultString")));
            }
            if (!what.equals("params")) {
                throw new MalformedResponse("expected <params> or <fault>, found <" + what + ">", null);
            }
            nextElement(r, "param");
            nextElement(r, "value");
            return readValue(r);
        } catch (XMLStreamException | NumberFormatException e) {
            throw new MalformedResponse("not an XML-RPC response: " + e.getMessage(), e);
        } finally {
            if (r != null) {
                try {
                    r.close();
                } catch (XMLStreamException ignored) {
                    // Nothing held but the byte array.
                }
            }
        }
    }

    /** Advances to the next start element, which must be {@code name}. */
    private static void nextElement(XMLStreamReader r, String name) throws XMLStreamException {
        while (r.hasNext()) {
            int ev = r.next();
            if (ev == XMLStreamConstants.START_ELEMENT) {
                if (!r.getLocalName().equals(name)) {
                    throw new MalformedResponse("expected <" + name + ">, found <" + r.getLocalName() + ">", null);
                }
                return;
            }
            if (ev == XMLStreamConstants.DTD) {
                throw new MalformedResponse("a DOCTYPE in an XML-RPC response is refused", null);
            }
        }
        throw new MalformedResponse("expected <" + name + ">, found the end of the document", null);
    }

    /** Reads a value; the reader is on {@code <value>} and ends on {@code </value>}. */
    private static Object readValue(XMLStreamReader r) throws XMLStreamException {
        StringBuilder text = new StringBuilder();
        Object typed = null;
        boolean hasType = false;
        while (true) {
            int ev = r.next();
            switch (ev) {
                case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE ->
                        text.append(r.getText());
                case XMLStreamConstants.START_ELEMENT -> {
                    if (hasType) {
                        throw new MalformedResponse("two types in one <value>", null);
                    }
                    typed = readTyped(r, r.getLocalName());
                    hasType = true;
                }
                case XMLStreamConstants.END_ELEMENT -> {
                    return hasType ? typed : text.toString();
                }
                case XMLStreamConstants.END_DOCUMENT -> throw new MalformedResponse("unterminated <value>", null);
                default -> {
                    // Comments and processing instructions carry nothing.
                }
            }
        }
    }

    /** Reads a typed value; the reader is on its start tag and ends on its end tag. */
    private static Object readTyped(XMLStreamReader r, String type) throws XMLStreamException {
        switch (type) {
            case "string":
                return r.getElementText();
            case "int":
            case "i4":
                return Integer.valueOf(r.getElementText().trim());
            case "i8":
                return Long.valueOf(r.getElementText().trim());
            case "boolean":
                return "1".equals(r.getElementText().trim());
            case "double":
                return Double.valueOf(r.getElementText().trim());
            case "dateTime.iso8601":
                return r.getElementText().trim();
            case "base64":
                return Base64.getMimeDecoder().decode(r.getElementText().trim());
            case "nil":
                r.getElementText();
                return null;
            case "array": {
                List<Object> out = new ArrayList<>();
                nextElement(r, "data");
                while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
                    if (!r.getLocalName().equals("value")) {
                        throw new MalformedResponse("expected <value> in <data>, found <" + r.getLocalName() + ">", null);
                    }
                    out.add(readValue(r));
                }
                r.nextTag(); // </array>
                return out;
            }
            case "struct": {
                Map<String, Object> out = new LinkedHashMap<>();
                while (r.nextTag() == XMLStreamConstants.START_ELEMENT) {
                    if (!r.getLocalName().equals("member")) {
                        throw new MalformedResponse("expected <member> in <struct>, found <" + r.getLocalName() + ">", null);
                    }
                    nextElement(r, "name");
                    String name = r.getElementText();
                    nextElement(r, "value");
                    out.put(name, readValue(r));
                    r.nextTag(); // </member>
                }
                return out;
            }
            default:
                throw new MalformedResponse("unknown XML-RPC type <" + type + ">", null);
        }
    }

    private static XMLInputFactory newFactory() {
        XMLInputFactory f = XMLInputFactory.newFactory();
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        f.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, false);
        return f;
    }
}
