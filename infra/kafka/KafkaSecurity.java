import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Readiness probe and security setup for the local SASL broker, compiled by kafka.sh
 * against the cached Kafka jars (next to KafkaProbe, which speaks PLAINTEXT only).
 *
 * Connects as the admin principal with the client settings in CLIENT_PROPERTIES (a file
 * of mode 600 written by kafka.sh: SASL_SSL trusting the local CA by default, or
 * SASL_PLAINTEXT with PFM_KAFKA_TLS=0), waits until the broker lists a live broker, then (when
 * given) upserts the SCRAM credentials of USERS_FILE ("name password" per line) and
 * creates the ACLs of ACLS_FILE ("principal RESOURCE_TYPE PATTERN_TYPE name OPERATION"
 * per line, all ALLOW from any host). Both are idempotent: run on every start.
 *
 * Usage: java -cp 'libs/*:dir' KafkaSecurity CLIENT_PROPERTIES TIMEOUT_SECONDS PID|0 [USERS_FILE ACLS_FILE]
 * Exit codes: 0 ready (and set up), 1 not ready or setup failed, 2 bad usage, 3 PID exited.
 */
public final class KafkaSecurity {
    private KafkaSecurity() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 5) {
            System.err.println("usage: KafkaSecurity CLIENT_PROPERTIES TIMEOUT_SECONDS PID|0 [USERS_FILE ACLS_FILE]");
            System.exit(2);
        }
        Properties props = new Properties();
        try (var in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            props.load(in);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        long pid = Long.parseLong(args[2]);
        try (Admin admin = Admin.create(KafkaProbe.withProbeTimeouts(props, "pfm-kafka-security"))) {
            String ready = KafkaProbe.waitReady(admin, deadline, pid, props.getProperty("security.protocol", "SASL_PLAINTEXT"));
            if (ready == null) {
                System.exit(1);
            }
            if (args.length == 5) {
                int users = upsertUsers(admin, Path.of(args[3]));
                int acls = createAcls(admin, Path.of(args[4]));
                System.out.println(ready + "; " + users + " SCRAM users, " + acls + " ACLs in place");
            } else {
                System.out.println(ready);
            }
        }
    }

    private static List<String[]> rows(Path file, int fields) throws Exception {
        List<String[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String[] f = l.split("\\s+");
            if (f.length != fields) {
                throw new IllegalArgumentException(file + ": expected " + fields + " fields: " + l);
            }
            out.add(f);
        }
        return out;
    }

    private static int upsertUsers(Admin admin, Path file) throws Exception {
        List<UserScramCredentialAlteration> alterations = new ArrayList<>();
        for (String[] f : rows(file, 2)) {
            alterations.add(new UserScramCredentialUpsertion(f[0], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[1]));
        }
        if (!alterations.isEmpty()) {
            admin.alterUserScramCredentials(alterations).all().get(30, TimeUnit.SECONDS);
        }
        return alterations.size();
    }

    private static int createAcls(Admin admin, Path file) throws Exception {
        List<AclBinding> bindings = new ArrayList<>();
        for (String[] f : rows(file, 5)) {
            ResourcePattern pattern = new ResourcePattern(ResourceType.valueOf(f[1]), f[3], PatternType.valueOf(f[2]));
            AccessControlEntry entry = new AccessControlEntry("User:" + f[0], "*", AclOperation.valueOf(f[4]), AclPermissionType.ALLOW);
            bindings.add(new AclBinding(pattern, entry));
        }
        if (!bindings.isEmpty()) {
            admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
        }
        return bindings.size();
    }
}
