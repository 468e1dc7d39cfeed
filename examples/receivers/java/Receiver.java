// An example Hookshot webhook receiver in Java (17 or newer), JDK only. It
// verifies X-ActiGraph-Signature against every secret in WEBHOOK_SECRETS,
// answers the validation handshake, deduplicates on X-ActiGraph-Delivery and
// logs one JSON line per request to stdout.
//
//   WEBHOOK_SECRETS=s3cret RECEIVER_ADDR=127.0.0.1:9000 java Receiver.java
//
// Java decodes environment variables by the locale: run it under a UTF-8
// locale (LC_ALL=C.UTF-8, for example) if a secret has non-ASCII characters.
//
// It speaks plain HTTP so that it runs on a laptop; Hookshot sends to http://
// URLs only when its operator allows them (HOOKSHOT_ALLOW_HTTP). In production
// a receiver sits behind HTTPS: a TLS-terminating proxy, or
// com.sun.net.httpserver.HttpsServer with a certificate.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Receiver {
    static final String PREFIX = "X-ActiGraph-";
    static final int MAX_BODY = 10 * 1024 * 1024;
    static final int MAX_SEEN = 10_000;

    private final List<SecretKeySpec> secrets = new ArrayList<>();

    // The most recent delivery ids, oldest first. In memory only to keep the
    // example short: a real receiver records the id in its database, in the
    // transaction that stores the event, so that a restart or a second
    // instance still knows it.
    private final Map<String, Boolean> seen = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_SEEN;
        }
    };

    // Several secrets, so that a rotation is a matter of adding the new one
    // beside the old one and later dropping the old one. The key is the
    // secret's UTF-8 bytes.
    Receiver(String secretList) {
        for (String s : secretList.split(",")) {
            if (!s.isEmpty()) {
                secrets.add(new SecretKeySpec(s.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            }
        }
    }

    public static void main(String[] args) throws IOException {
        Receiver receiver = new Receiver(System.getenv().getOrDefault("WEBHOOK_SECRETS", ""));
        if (receiver.secrets.isEmpty()) {
            System.err.println("set WEBHOOK_SECRETS to the webhook's HMAC secret (several separated by commas during a rotation)");
            System.exit(2);
        }
        String addr = System.getenv().getOrDefault("RECEIVER_ADDR", "127.0.0.1:9000");
        int colon = addr.lastIndexOf(':');
        HttpServer server = HttpServer.create(
                new InetSocketAddress(addr.substring(0, colon), Integer.parseInt(addr.substring(colon + 1))), 0);
        server.createContext("/hooks", receiver::serve);
        server.setExecutor(Executors.newFixedThreadPool(16));
        server.start();
        InetSocketAddress bound = server.getAddress();
        log(Map.of("msg", "listening", "addr", bound.getHostString() + ":" + bound.getPort()));
    }

    // Reports whether any signature is base64(HMAC-SHA256(secret, body)) for
    // any secret, comparing in constant time.
    boolean signatureMatches(byte[] body, List<String> signatures) throws GeneralSecurityException {
        for (SecretKeySpec secret : secrets) {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(secret);
            byte[] expected = Base64.getEncoder().encode(mac.doFinal(body));
            for (String signature : signatures) {
                if (MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.UTF_8))) {
                    return true;
                }
            }
        }
        return false;
    }

    // Records delivery and reports whether it was new.
    boolean firstTime(String delivery) {
        synchronized (seen) {
            return seen.put(delivery, Boolean.TRUE) == null;
        }
    }

    void forget(String delivery) {
        synchronized (seen) {
            seen.remove(delivery);
        }
    }

    // Where a real receiver's work starts. Hookshot waits for the answer (15 s
    // at most by default), so store the event or queue it, and do anything
    // slow after answering. Parse the verified bytes themselves, with the JSON
    // library of your choice: the signature covers them, not a re-encoding.
    void handle(String event, byte[] body) {
    }

    void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String delivery = header(exchange, "Delivery");
            String event = header(exchange, "Event");
            Answer answer = (status, verified, duplicate, error) -> {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("msg", "delivery");
                line.put("delivery", delivery);
                line.put("event", event);
                line.put("verified", verified);
                line.put("duplicate", duplicate);
                line.put("status", status);
                if (error != null) {
                    line.put("error", error);
                }
                log(line);
                if (status >= 400) {
                    // The body may be unread: close rather than read it as the next request.
                    exchange.getResponseHeaders().set("Connection", "close");
                }
                exchange.sendResponseHeaders(status, -1);
            };

            if (!exchange.getRequestMethod().equals("POST") || !exchange.getRequestURI().getPath().equals("/hooks")) {
                answer.send(404, false, false, "no such route");
                return;
            }
            // During a rotation the new secret's signature is in -Next; either may match.
            List<String> signatures = new ArrayList<>();
            for (String name : List.of("Signature", "Signature-Next")) {
                if (!header(exchange, name).isEmpty()) {
                    signatures.add(header(exchange, name));
                }
            }
            if (signatures.isEmpty()) {
                answer.send(401, false, false, "no signature");
                return;
            }
            String length = exchange.getRequestHeaders().getFirst("Content-Length");
            if (length != null && Long.parseLong(length) > MAX_BODY) {
                answer.send(413, false, false, "body over " + MAX_BODY + " bytes");
                return;
            }
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                // One byte more than the limit tells a body that lied about its length.
                body = in.readNBytes(MAX_BODY + 1);
            }
            if (body.length > MAX_BODY) {
                answer.send(413, false, false, "body over " + MAX_BODY + " bytes");
                return;
            }
            // The raw bytes are verified before anything parses them. The
            // validation request is signed too: only the webhook's owner can
            // validate it against this URL.
            boolean verified;
            try {
                verified = signatureMatches(body, signatures);
            } catch (GeneralSecurityException e) {
                throw new IOException("computing HMAC-SHA256", e);
            }
            if (!verified) {
                answer.send(401, false, false, "the signature does not match the body under any secret");
                return;
            }
            if (event.equals("validation")) {
                exchange.getResponseHeaders().set(PREFIX + "Hook-Secret", header(exchange, "Hook-Secret"));
                answer.send(200, true, false, null);
                return;
            }
            // Hookshot delivers at least once: a repeat gets 200 so that it
            // stops, and is not processed again.
            if (!firstTime(delivery)) {
                answer.send(200, true, true, null);
                return;
            }
            try {
                handle(event, body);
            } catch (RuntimeException e) {
                forget(delivery); // so that Hookshot's retry is processed
                answer.send(500, true, false, "processing: " + e.getMessage());
                return;
            }
            answer.send(200, true, false, null);
        }
    }

    interface Answer {
        void send(int status, boolean verified, boolean duplicate, String error) throws IOException;
    }

    static String header(HttpExchange exchange, String name) {
        String value = exchange.getRequestHeaders().getFirst(PREFIX + name);
        return value == null ? "" : value;
    }

    // The JDK has no JSON library; this writes the flat objects logged here.
    static void log(Map<String, ?> fields) {
        StringBuilder out = new StringBuilder("{");
        for (Map.Entry<String, ?> field : fields.entrySet()) {
            if (out.length() > 1) {
                out.append(',');
            }
            quote(out, field.getKey());
            out.append(':');
            if (field.getValue() instanceof String s) {
                quote(out, s);
            } else {
                out.append(field.getValue());
            }
        }
        System.out.println(out.append('}'));
    }

    static void quote(StringBuilder out, String s) {
        out.append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
