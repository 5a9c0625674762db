package dev.fleetkeeper.agent.service.supervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The XML-RPC codec on the shapes supervisord sends, and on hostile input. */
@Timeout(10)
class SupervisorXmlRpcTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void decode_readsSupervisordsProcessInfoShapes() {
        String xml = "<?xml version='1.0'?>\n<methodResponse><params><param><value><array><data>"
                + "<value><struct>"
                + "<member><name>name</name><value><string>web_00</string></value></member>"
                + "<member><name>pid</name><value><int>4242</int></value></member>"
                + "<member><name>start</name><value><i4>1795326342</i4></value></member>"
                + "<member><name>untyped</name><value>a &amp; b</value></member>"
                + "<member><name>ok</name><value><boolean>1</boolean></value></member>"
                + "<member><name>none</name><value><nil/></value></member>"
                + "</struct></value>"
                + "<value><array><data><value><string>added</string></value></data></array></value>"
                + "</data></array></value></param></params></methodResponse>\n";

        Object v = XmlRpc.decodeResponse(bytes(xml));

        assertThat(v).isInstanceOf(List.class);
        List<?> list = (List<?>) v;
        @SuppressWarnings("unchecked")
        Map<String, Object> info = (Map<String, Object>) list.get(0);
        assertThat(info).containsEntry("name", "web_00").containsEntry("pid", 4242).containsEntry("start", 1795326342)
                .containsEntry("untyped", "a & b").containsEntry("ok", true).containsEntry("none", null);
        assertThat(list.get(1)).isEqualTo(List.of("added"));
    }

    @Test
    void decode_faultBecomesAFaultWithItsSymbolicName() {
        String xml = "<?xml version='1.0'?><methodResponse><fault><value><struct>"
                + "<member><name>faultCode</name><value><int>10</int></value></member>"
                + "<member><name>faultString</name><value><string>BAD_NAME: web:web_07</string></value></member>"
                + "</struct></value></fault></methodResponse>";

        assertThatThrownBy(() -> XmlRpc.decodeResponse(bytes(xml)))
                .isInstanceOfSatisfying(XmlRpc.Fault.class, f -> {
                    assertThat(f.code()).isEqualTo(10);
                    assertThat(f.name()).isEqualTo("BAD_NAME");
                    assertThat(f.text()).isEqualTo("BAD_NAME: web:web_07");
                });
    }

    @Test
    void decode_refusesExternalEntities_soAResponseCannotReadLocalFiles(@TempDir Path tmp) throws Exception {
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, "TOP-SECRET-VALUE");
        String xml = "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM \"" + secret.toUri() + "\">]>"
                + "<methodResponse><params><param><value><string>&x;</string></value></param></params></methodResponse>";

        assertThatThrownBy(() -> XmlRpc.decodeResponse(bytes(xml)))
                .isInstanceOf(XmlRpc.MalformedResponse.class)
                .hasMessageNotContaining("TOP-SECRET-VALUE");
    }

    @Test
    void encode_escapesMarkupAndTypesEachParameter() {
        String xml = new String(XmlRpc.encodeCall("supervisor.startProcess", Arrays.asList("a<b&c", true, 7)),
                StandardCharsets.UTF_8);

        assertThat(xml).contains("<methodName>supervisor.startProcess</methodName>",
                "<value><string>a&lt;b&amp;c</string></value>", "<value><boolean>1</boolean></value>",
                "<value><int>7</int></value>");
    }
}
