import java.util.Collection;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;

/**
 * Readiness probe for the local broker, compiled by kafka.sh against the cached Kafka jars.
 *
 * Asks the broker itself (Admin describeCluster = a Metadata request over the PLAINTEXT
 * listener) until it answers with at least one live broker, or until the deadline.
 * In KRaft the metadata response only lists registered, unfenced brokers, so an answer
 * with nodes means clients can create topics, produce and consume.
 *
 * Usage: java -cp 'libs/*:probe' KafkaProbe BOOTSTRAP TIMEOUT_SECONDS [PID]
 * (without SASL; with it, KafkaSecurity calls waitReady as the admin).
 * Exit codes: 0 ready, 1 not ready before the deadline, 2 bad usage, 3 PID exited.
 */
public final class KafkaProbe {
    private KafkaProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaProbe BOOTSTRAP TIMEOUT_SECONDS [PID]");
            System.exit(2);
        }
        String bootstrap = args[0];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        long pid = args.length > 2 ? Long.parseLong(args[2]) : 0L;

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(withProbeTimeouts(props, "pfm-kafka-probe"))) {
            String ready = waitReady(admin, deadline, pid, "PLAINTEXT");
            if (ready == null) {
                System.exit(1);
            }
            System.out.println(ready);
        }
    }

    /** Short request timeouts and quick reconnects, so a probe loop notices a ready broker soon. */
    public static Properties withProbeTimeouts(Properties props, String clientId) {
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "100");
        return props;
    }

    /**
     * Asks until the broker lists at least one live broker: returns a one-line summary, or null
     * (after saying why on stderr) when the deadline passes. Exits with 3 when PID (if > 0) dies.
     * KafkaSecurity waits the same way before it sets up users and ACLs.
     */
    public static String waitReady(Admin admin, long deadline, long pid, String protocol) throws InterruptedException {
        String lastError = "no answer yet";
        while (true) {
            if (pid > 0 && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                System.err.println("broker process " + pid + " exited before it became ready");
                System.exit(3);
            }
            long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (leftMs <= 0) {
                break;
            }
            int callTimeout = (int) Math.max(500, Math.min(3000, leftMs));
            try {
                DescribeClusterResult cluster = admin.describeCluster(new DescribeClusterOptions().timeoutMs(callTimeout));
                Collection<Node> nodes = cluster.nodes().get(callTimeout + 500L, TimeUnit.MILLISECONDS);
                if (!nodes.isEmpty()) {
                    String clusterId = cluster.clusterId().get(callTimeout, TimeUnit.MILLISECONDS);
                    Node controller = cluster.controller().get(callTimeout, TimeUnit.MILLISECONDS);
                    return "up: cluster " + clusterId + ", brokers " + nodes.size() + ", controller id "
                        + (controller == null ? "?" : controller.idString()) + " (" + protocol + ")";
                }
                lastError = "broker answered but lists no live brokers yet";
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                lastError = cause.getClass().getSimpleName() + ": " + cause.getMessage();
            }
            Thread.sleep(200);
        }
        System.err.println("broker not ready: " + lastError);
        return null;
    }
}
