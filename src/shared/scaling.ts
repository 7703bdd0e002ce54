/**
 * The autoscaling contract between the exporter and the deployment manifests: KEDA (and
 * the Knative autoscaler-keda extension) scale consumers on this Prometheus query, so the
 * exporter must serve this metric and the manifests must ask for exactly this.
 */

/** Gauge of waiting + prioritized + active chunks, labelled by `queue`. */
export const QUEUE_DEPTH_METRIC = 'batchinfer_queue_depth';

/**
 * The target labels that tell exporter replicas apart. Every replica reads the same Redis and
 * publishes the same values, so a query takes one replica's value (`max without` these) before
 * it sums: a plain `sum()` over two replicas would double the depth and every cost figure.
 */
export const REPLICA_LABELS = ['instance', 'pod'] as const;

/** `expr` with exporter replicas collapsed into one series each. */
export function oneReplica(expr: string): string {
  return `max without (${REPLICA_LABELS.join(', ')}) (${expr})`;
}

/** The query KEDA polls: chunks not finished yet on the chunk queue, counted once however many exporters run. */
export const SCALE_QUERY = `sum(${oneReplica(`${QUEUE_DEPTH_METRIC}{queue="chunks"}`)})`;
